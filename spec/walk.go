package spec

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// maxDepth bounds how deep the walk follows the spec types. The deepest
// spec field is about eight levels down; the YAML parser bounds the rest.
const maxDepth = 32

var (
	durationType  = reflect.TypeFor[Duration]()
	trustType     = reflect.TypeFor[Trust]()
	secretRefType = reflect.TypeFor[SecretRef]()
)

// walker checks one document's node tree against a Go type: node kinds,
// scalar types, unknown and duplicate keys. It records the position of
// every field it sees, by path ("remote.proxy_address", "roles[0].name").
type walker struct {
	file     string
	pos      map[string]Pos
	problems Problems
	// lost are the paths whose value could not be decoded (a wrong type,
	// a secret written inline): validation says nothing more about them,
	// since what it would see there is not what was written.
	lost []string
}

// errorf records a problem that loses nothing: an unknown field or a key
// set twice. The rest of the document decodes as written.
func (w *walker) errorf(n *yaml.Node, format string, a ...any) {
	w.problems = append(w.problems, Problem{Pos: nodePos(w.file, n), Severity: SeverityError, Message: fmt.Sprintf(format, a...)})
}

// fail records a problem with the value at path, which stays unset.
func (w *walker) fail(n *yaml.Node, path string, format string, a ...any) {
	w.errorf(n, format, a...)
	w.lost = append(w.lost, path)
}

// field is one YAML key of a struct type.
type field struct {
	name  string
	typ   reflect.Type
	index int
}

// fieldCache maps a struct type to its YAML fields, in declaration order.
var fieldCache sync.Map // reflect.Type -> []field

func yamlFields(t reflect.Type) []field {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.([]field)
	}
	var fs []field
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" || !sf.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		fs = append(fs, field{name: name, typ: sf.Type, index: i})
	}
	fieldCache.Store(t, fs)
	return fs
}

// walk checks n against t and stores what it decodes in out (a settable
// value of type t). key is the mapping key n is the value of (nil for
// sequence items and the root); positions of collections are recorded at
// their key, of scalars at the value. Once the walk of a document found no
// problem, out holds the decoded document: decoding is this one pass, so
// what was checked is exactly what is used.
func (w *walker) walk(n, key *yaml.Node, out reflect.Value, path string) {
	t := out.Type()
	if strings.Count(path, ".")+strings.Count(path, "[") > maxDepth {
		w.fail(n, path, "%s: nested too deeply", label(path))
		return
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	at := n
	if key != nil && n.Kind != yaml.ScalarNode {
		at = key
	}
	w.pos[path] = nodePos(w.file, at)
	if isNull(n) {
		return // unset; required fields are checked by validation
	}
	switch t {
	case durationType:
		if n.Kind != yaml.ScalarNode {
			w.fail(at, path, "%s: expected a duration such as 30s or 90d, got %s", label(path), describe(n))
			return
		}
		d, err := ParseDuration(n.Value)
		if err != nil {
			w.fail(n, path, "%s: %v", label(path), err)
		}
		out.SetInt(int64(d))
		return
	case trustType:
		w.trust(n, at, out.Addr().Interface().(*Trust), path)
		return
	case secretRefType:
		if n.Kind == yaml.ScalarNode {
			// Never echo the value: it may be the secret itself.
			w.fail(n, path, "%s holds a secret value inline: secrets never live in spec files; name one instead: {credential: NAME}, {file: PATH} or {env: VAR}", label(path))
			return
		}
	}
	switch t.Kind() {
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		out.Set(p)
		w.walk(n, key, p.Elem(), path)
	case reflect.Struct:
		w.mapping(n, at, out, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.fail(at, path, "%s: expected a list, got %s", label(path), describe(n))
			return
		}
		out.Set(reflect.MakeSlice(t, len(n.Content), len(n.Content)))
		for i, item := range n.Content {
			w.walk(item, nil, out.Index(i), path+"["+strconv.Itoa(i)+"]")
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			w.fail(at, path, "%s: expected a string, got %s", label(path), describe(n))
			return
		}
		out.SetString(n.Value)
	case reflect.Bool:
		var v bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
			w.fail(at, path, "%s: expected true or false, got %s", label(path), describe(n))
			return
		}
		out.SetBool(v)
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			w.fail(at, path, "%s: expected a whole number, got %s", label(path), describe(n))
			return
		}
		var v int
		if err := n.Decode(&v); err != nil {
			w.fail(n, path, "%s: %q is out of range", label(path), n.Value)
			return
		}
		out.SetInt(int64(v))
	default:
		w.fail(at, path, "%s: unsupported field type %s", label(path), t)
	}
}

// mapping checks a struct-typed node: a mapping whose keys are fields.
func (w *walker) mapping(n, at *yaml.Node, out reflect.Value, path string) {
	t := out.Type()
	if n.Kind != yaml.MappingNode {
		w.fail(at, path, "%s: expected a mapping, got %s", label(path), describe(n))
		return
	}
	fields := yamlFields(t)
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			w.fail(k, path, "%s: a key must be a plain name, not %s", label(path), describe(k))
			continue
		}
		if k.Value == "<<" {
			w.fail(k, path, "%s: YAML merge keys (<<) are not supported: write the fields out", label(path))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			w.errorf(k, "%s: key %q is already set at line %d: remove one", label(path), k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		child := join(path, k.Value)
		fi := -1
		for _, f := range fields {
			if f.name == k.Value {
				fi = f.index
				break
			}
		}
		if fi < 0 {
			if t == secretRefType && (k.Value == "value" || k.Value == "secret") {
				w.fail(k, path, "%s holds a secret value inline: secrets never live in spec files; name one instead: {credential: NAME}, {file: PATH} or {env: VAR}", label(path))
				continue
			}
			if secretLike(k.Value) {
				// A value pasted where a key goes (an API key, a token): the
				// error must not print it, since validate runs in CI logs.
				w.errorf(k, "unknown field in %s: its name (%d characters, not shown) looks like a secret value: remove it; secrets never live in spec files, name one instead: {credential: NAME}, {file: PATH} or {env: VAR}", labelOr(path, "document"), len(k.Value))
				continue
			}
			names := make([]string, len(fields))
			for j, f := range fields {
				names[j] = f.name
			}
			hint := didYouMean(k.Value, names)
			w.errorf(k, "unknown field %q in %s%s", k.Value, labelOr(path, "document"), hint)
			if hint != "" {
				// The value was meant for the field the hint names: do not
				// also report that field as missing.
				w.lost = append(w.lost, join(path, closest(k.Value, names)))
			}
			continue
		}
		w.walk(v, k, out.Field(fi), child)
	}
}

// trust checks and decodes "all" or a list of scalars.
func (w *walker) trust(n, at *yaml.Node, out *Trust, path string) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value != TrustAll {
			w.fail(n, path, `%s: expected "all" or a list of cluster IDs, got %q`, label(path), n.Value)
		}
		out.All = true
	case yaml.SequenceNode:
		out.ClusterIDs = make([]string, 0, len(n.Content))
		for i, item := range n.Content {
			ip := fmt.Sprintf("%s[%d]", path, i)
			if item.Kind == yaml.AliasNode && item.Alias != nil {
				item = item.Alias
			}
			w.pos[ip] = nodePos(w.file, item)
			if item.Kind != yaml.ScalarNode {
				w.fail(item, ip, "%s: expected a cluster ID, got %s", ip, describe(item))
				continue
			}
			out.ClusterIDs = append(out.ClusterIDs, item.Value)
		}
	default:
		w.fail(at, path, `%s: expected "all" or a list of cluster IDs, got %s`, label(path), describe(n))
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func label(path string) string { return labelOr(path, "document") }

func labelOr(path, root string) string {
	if path == "" {
		return root
	}
	return path
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names a node's kind for messages, without its value (which
// could be a secret).
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return "a string"
		case "!!int":
			return "a number"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!null":
			return "null"
		}
		return "a scalar"
	}
	return "an empty document"
}

// didYouMean returns ` (did you mean "x"?)` for the closest candidate
// within a small edit distance, or "".
func didYouMean(s string, candidates []string) string {
	best := closest(s, candidates)
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// closest returns the candidate within a small edit distance of s, or "".
func closest(s string, candidates []string) string {
	best, bestD := "", len(s)/3+2
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b)) // no hint for keys this long; bound the work
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// secretLike reports whether a field name looks like a secret value
// pasted in the wrong place rather than a misspelt field: 16 characters
// or more and either a secret's known shape (a PEM block, an Elastic
// service token) or the mix a random token has (upper and lower case and
// digits, or base64's + / =). Field names are lowercase words joined by
// _ - or ., so no real one is caught.
func secretLike(name string) bool {
	if len(name) < 16 {
		return false
	}
	if strings.HasPrefix(name, "-----BEGIN") || strings.HasPrefix(name, "essu_") || strings.HasPrefix(name, "AAEAA") {
		return true
	}
	var upper, lower, digit bool
	for _, r := range name {
		switch {
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= '0' && r <= '9':
			digit = true
		case r == '+' || r == '/' || r == '=':
			return true
		}
	}
	return upper && lower && digit
}
