package spec

import (
	"cmp"
	"encoding/base64"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
)

// minRemembered is the shortest value Remember keeps: a shorter one would
// be found inside ordinary words and scrub messages into nonsense. Keys,
// tokens and passwords are longer.
const minRemembered = 6

// remembered is every secret value this process has held, longest first,
// so that Scrub replaces a value before any shorter value inside it.
//
// It is process-wide on purpose: a proxy or a control plane that echoes a
// request (its Authorization header, a keystore body) can put any
// credential into any error, from any client, and every output must be
// clean of every one of them. It only grows: a rotated key may still be
// echoed by a request in flight. It holds a few values per cluster and
// control plane, plus one per key rotation.
var remembered struct {
	sync.RWMutex
	values []string
	set    map[string]bool
}

// Remember adds secret values to those Scrub removes, with the forms they
// travel in: the secret half of an encoded API key (base64 of "id:key")
// too. Resolve and NewSecret remember what they return; call it for values
// derived on the way out, such as a basic-auth header.
func Remember(values ...string) {
	var add []string
	for _, v := range values {
		add = append(add, v)
		if raw, err := base64.StdEncoding.DecodeString(v); err == nil {
			if _, key, ok := strings.Cut(string(raw), ":"); ok {
				add = append(add, key)
			}
		}
	}
	remembered.Lock()
	defer remembered.Unlock()
	if remembered.set == nil {
		remembered.set = map[string]bool{}
	}
	changed := false
	for _, v := range add {
		if len(v) < minRemembered || remembered.set[v] {
			continue
		}
		remembered.set[v] = true
		remembered.values = append(remembered.values, v)
		changed = true
	}
	if changed {
		slices.SortFunc(remembered.values, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	}
}

// RememberBasic remembers a username and password as they travel in an
// Authorization: Basic header, and the password itself.
func RememberBasic(user, password string) {
	Remember(password, base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
}

// Scrub replaces every remembered secret value in s with "<redacted>".
func Scrub(s string) string {
	if len(s) < minRemembered {
		return s
	}
	remembered.RLock()
	defer remembered.RUnlock()
	// Values are longest first, and none longer than s can be inside it:
	// start at the first that fits. (Nothing is replaced before that
	// point, so s still has its length there.) A report scrubs every
	// string it holds, most of them shorter than any credential.
	vs := remembered.values
	first := sort.Search(len(vs), func(i int) bool { return len(vs[i]) <= len(s) })
	for _, v := range vs[first:] {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, redacted)
		}
	}
	return s
}

// ScrubAll scrubs, in place, every string reachable from v (a pointer to
// a struct such as a report): struct fields, slices, arrays and map
// values. Unexported fields are left alone.
func ScrubAll(v any) {
	scrubValue(reflect.ValueOf(v))
}

func scrubValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			scrubValue(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				scrubValue(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			scrubValue(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := v.MapIndex(k)
			if e.Kind() == reflect.String {
				if s := Scrub(e.String()); s != e.String() {
					v.SetMapIndex(k, reflect.ValueOf(s).Convert(e.Type()))
				}
				continue
			}
			// Map elements are not addressable: scrub a copy, store it.
			c := reflect.New(e.Type()).Elem()
			c.Set(e)
			scrubValue(c)
			v.SetMapIndex(k, c)
		}
	case reflect.String:
		if v.CanSet() {
			if s := Scrub(v.String()); s != v.String() {
				v.SetString(s)
			}
		}
	}
}
