package sim

import (
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
)

// encodeJSON writes v as json.NewEncoder(w).Encode(v) does, byte for byte
// (TestEncodeJSONMatchesEncodingJSON): sorted map keys, HTML characters
// escaped, a newline after. The answers of a steady pass are maps of maps
// of strings, booleans and numbers, and encoding/json's reflection and key
// sorting were a quarter of the sim's CPU in the benchmarks (BENCHMARKS.md);
// those kinds are written here, anything else by encoding/json.
func encodeJSON(w io.Writer, v any) error {
	bp := scratch.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 1<<16 { // an odd huge answer is not kept
			scratch.Put(bp)
		}
	}()
	b, ok := appendJSON((*bp)[:0], v)
	if !ok {
		return json.NewEncoder(w).Encode(v)
	}
	b = append(b, '\n')
	*bp = b
	_, err := w.Write(b)
	return err
}

// scratch holds the buffers encodeJSON writes into before copying to the
// response, as encoding/json keeps its own (encodeStatePool).
var scratch = sync.Pool{New: func() any { return new([]byte) }}

// appendJSON appends v's JSON to b. ok is false when encoding/json would
// fail on some part of v.
func appendJSON(b []byte, v any) (_ []byte, ok bool) {
	switch t := v.(type) {
	case nil:
		return append(b, "null"...), true
	case string:
		return appendString(b, t), true
	case bool:
		return strconv.AppendBool(b, t), true
	case int:
		return strconv.AppendInt(b, int64(t), 10), true
	case int64:
		return strconv.AppendInt(b, t, 10), true
	case remoteInfoEntry:
		return t.appendJSON(b), true
	case []string:
		if t == nil {
			return append(b, "null"...), true
		}
		b = append(b, '[')
		for i, s := range t {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		return append(b, ']'), true
	case []any:
		if t == nil {
			return append(b, "null"...), true
		}
		b = append(b, '[')
		for i, x := range t {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendJSON(b, x); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	case map[string]any:
		if t == nil {
			return append(b, "null"...), true
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendString(b, k), ':')
			if b, ok = appendJSON(b, t[k]); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	}
	j, err := json.Marshal(v) // the same bytes as within an Encode of the whole
	if err != nil {
		return b, false
	}
	return append(b, j...), true
}

// appendString appends s quoted. A string of printable ASCII with nothing
// to escape is copied; any other goes through encoding/json, which escapes
// quotes, backslashes, control and HTML characters, U+2028 and U+2029, and
// replaces invalid UTF-8.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			j, _ := json.Marshal(s) // a string always encodes
			return append(b, j...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
