package world

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Value is one cluster setting value in the form Elasticsearch stores and
// returns it (es-api.md §3.2): a string — numbers and booleans included, as
// "18" and "true" — or a list of strings; or [Null], which in a PUT removes
// the key.
//
// The zero Value is invalid: it is neither a string nor Null, so a
// forgotten value can never turn into a silent delete. PutSettings rejects
// it.
type Value struct {
	kind valueKind
	str  string
	list []string
}

type valueKind uint8

const (
	kindInvalid valueKind = iota
	kindNull
	kindString
	kindList
)

// Null removes a key when sent in PutSettings.
var Null = Value{kind: kindNull}

// String returns a string setting value.
func String(s string) Value { return Value{kind: kindString, str: s} }

// List returns a list setting value (e.g. seeds). The items are copied.
func List(items ...string) Value {
	return Value{kind: kindList, list: append([]string{}, items...)}
}

// Bool returns b the way Elasticsearch stores it: "true" or "false".
func Bool(b bool) Value { return String(strconv.FormatBool(b)) }

// Int returns n the way Elasticsearch stores it, e.g. "18".
func Int(n int) Value { return String(strconv.Itoa(n)) }

// IsValid reports whether v is a string, a list or Null (not the zero Value).
func (v Value) IsValid() bool { return v.kind != kindInvalid }

// IsNull reports whether v is Null.
func (v Value) IsNull() bool { return v.kind == kindNull }

// IsList reports whether v is a list.
func (v Value) IsList() bool { return v.kind == kindList }

// Str returns a string value as is, and a list joined with ",". It is
// empty for Null.
func (v Value) Str() string {
	if v.kind == kindList {
		return strings.Join(v.list, ",")
	}
	return v.str
}

// Items returns the value as Elasticsearch reads a list setting: a list's
// items, or a string split on commas with spaces trimmed (so "h1:9300,
// h2:9300" and ["h1:9300","h2:9300"] give the same seeds, es-api.md §3.2).
// Null and "" give no items.
func (v Value) Items() []string {
	switch v.kind {
	case kindList:
		return slices.Clone(v.list)
	case kindString:
		if strings.TrimSpace(v.str) == "" {
			return nil
		}
		parts := strings.Split(v.str, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		return parts
	}
	return nil
}

// Equal reports whether v and w are exactly the same value: same kind and
// same string or items in the same order. Use Items to compare list
// settings that may be stored in either form.
func (v Value) Equal(w Value) bool {
	return v.kind == w.kind && v.str == w.str && slices.Equal(v.list, w.list)
}

// String renders v for humans: a string as is, a list as a JSON array,
// Null as "null".
func (v Value) String() string {
	switch v.kind {
	case kindNull:
		return "null"
	case kindList:
		b, _ := json.Marshal(v.list)
		return string(b)
	case kindString:
		return v.str
	}
	return "<invalid>"
}

// MarshalJSON writes a JSON string, an array of strings, or null.
func (v Value) MarshalJSON() ([]byte, error) {
	switch v.kind {
	case kindNull:
		return []byte("null"), nil
	case kindString:
		return json.Marshal(v.str)
	case kindList:
		if v.list == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(v.list)
	}
	return nil, errors.New("invalid (zero) setting value")
}

// UnmarshalJSON reads a value as Elasticsearch's Settings.fromXContent
// does: strings as is, numbers and booleans as their text, arrays as lists
// of the items' text, null as Null. Objects are rejected: use flat settings.
func (v *Value) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, []byte("null")) {
		*v = Null
		return nil
	}
	if len(data) > 0 && data[0] == '[' {
		var raw []json.RawMessage
		if err := json.Unmarshal(data, &raw); err != nil {
			return err
		}
		items := make([]string, 0, len(raw))
		for _, r := range raw {
			s, err := scalarText(r)
			if err != nil {
				return fmt.Errorf("setting list item: %w", err)
			}
			items = append(items, s)
		}
		*v = Value{kind: kindList, list: items}
		return nil
	}
	s, err := scalarText(data)
	if err != nil {
		return err
	}
	*v = String(s)
	return nil
}

// scalarText returns the string form of a JSON string, number or boolean.
// A plain string (no escape, valid UTF-8) and true/false, what a settings
// answer is made of, are read without a decoder: a steady pass reads every
// alias's settings of every cluster.
func scalarText(data json.RawMessage) (string, error) {
	if n := len(data); n >= 2 && data[0] == '"' && data[n-1] == '"' {
		if in := data[1 : n-1]; bytes.IndexByte(in, '\\') < 0 && bytes.IndexByte(in, '"') < 0 && !hasControl(in) && utf8.Valid(in) {
			return string(in), nil
		}
	}
	switch string(data) {
	case "true", "false":
		return string(data), nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return "", err
	}
	switch t := x.(type) {
	case string:
		return t, nil
	case json.Number:
		return t.String(), nil
	case bool:
		return strconv.FormatBool(t), nil
	}
	return "", fmt.Errorf("setting value must be a string, number, boolean or list, got %s", data)
}

// hasControl reports whether b holds a byte JSON forbids unescaped in a
// string (below 0x20): the decoder then says why.
func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}

// ValueOf converts a Go value into the Value Elasticsearch would store for
// it: nil gives Null; string, bool and integers give strings; []string
// gives a list.
func ValueOf(x any) (Value, error) {
	switch t := x.(type) {
	case nil:
		return Null, nil
	case Value:
		return t, nil
	case string:
		return String(t), nil
	case bool:
		return Bool(t), nil
	case int:
		return Int(t), nil
	case int64:
		return String(strconv.FormatInt(t, 10)), nil
	case []string:
		return List(t...), nil
	}
	return Value{}, fmt.Errorf("no setting value for %T", x)
}

// RemotePrefix starts every remote-cluster setting key.
const RemotePrefix = "cluster.remote."

// aliasPattern is the alias part of Elasticsearch's affix key regex
// (es-api.md §1.1): ASCII letters, digits, "_" and "-", at least one.
var aliasPattern = regexp.MustCompile(`^[-\w]+$`)

// ValidAlias reports whether Elasticsearch accepts alias as a remote
// cluster alias. Other names make every key "not recognized".
func ValidAlias(alias string) bool { return aliasPattern.MatchString(alias) }

// RemoteKey returns the flat setting key "cluster.remote.<alias>.<suffix>".
func RemoteKey(alias, suffix string) string { return RemotePrefix + alias + "." + suffix }

// RemoteSettings groups the remote-cluster keys of flat settings by alias:
// alias → suffix → value. Other keys are left out.
func RemoteSettings(flat map[string]Value) map[string]map[string]Value {
	out := make(map[string]map[string]Value)
	for k, v := range flat {
		alias, suffix, ok := SplitRemoteKey(k)
		if !ok {
			continue
		}
		if out[alias] == nil {
			out[alias] = make(map[string]Value)
		}
		out[alias][suffix] = v
	}
	return out
}
