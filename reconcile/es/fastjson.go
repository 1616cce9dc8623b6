package es

import (
	"bytes"
	"strconv"
	"sync/atomic"
	"unicode/utf8"
)

// A steady pass reads GET /_cluster/settings and GET /_remote/info of
// every local cluster, and encoding/json spent more CPU on those two
// answers than anything else in the engine (a validating scan of the whole
// body, then a reflective decode matching each field name): at 200
// clusters of 25 aliases, 5,000 alias objects and 20,000 settings per pass
// (BENCHMARKS.md).
//
// The decoders below read the shape Elasticsearch sends for those answers
// in one pass over the bytes, and give up on anything else: a string with
// an escape, invalid UTF-8 or a control character, a field they do not
// know (encoding/json would also take "Connected" for "connected"), a
// repeated field, null, an integer field that is not a plain integer, bytes
// after the value. Giving up returns ok false, and the caller decodes with
// encoding/json, so that what comes out — the value or the error — is
// encoding/json's whatever the body (TestFastDecodersMatchEncodingJSON,
// FuzzFastDecoders).

// lexer reads JSON tokens from b, from i.
type lexer struct {
	b []byte
	i int
}

func (l *lexer) ws() {
	for l.i < len(l.b) {
		switch l.b[l.i] {
		case ' ', '\t', '\n', '\r':
			l.i++
		default:
			return
		}
	}
}

// eat consumes c, after any whitespace, if it comes next.
func (l *lexer) eat(c byte) bool {
	l.ws()
	if l.i < len(l.b) && l.b[l.i] == c {
		l.i++
		return true
	}
	return false
}

// end reports whether only whitespace is left.
func (l *lexer) end() bool {
	l.ws()
	return l.i == len(l.b)
}

// str reads a string with no escape, no control character and valid
// UTF-8, and returns its bytes between the quotes (a view of b).
func (l *lexer) str() ([]byte, bool) {
	l.ws()
	if l.i >= len(l.b) || l.b[l.i] != '"' {
		return nil, false
	}
	start, ascii := l.i+1, true
	for j := start; j < len(l.b); j++ {
		switch c := l.b[j]; {
		case c == '"':
			s := l.b[start:j]
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			l.i = j + 1
			return s, true
		case c == '\\', c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// boolean reads true or false.
func (l *lexer) boolean() (v, ok bool) {
	l.ws()
	switch {
	case hasPrefix(l.b[l.i:], "true"):
		l.i += 4
		return true, true
	case hasPrefix(l.b[l.i:], "false"):
		l.i += 5
		return false, true
	}
	return false, false
}

func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }

// number reads a number of JSON's grammar and returns its text; integer
// reports whether it has no fraction and no exponent.
func (l *lexer) number() (text []byte, integer, ok bool) {
	l.ws()
	b, start, i := l.b, l.i, l.i
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return nil, false, false
	}
	integer = true
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return nil, false, false
		}
		integer = false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return nil, false, false
		}
		integer = false
	}
	l.i = i
	return b[start:i], integer, true
}

// scalar reads a string (as str), a number, true, false or null, and
// returns the value's bytes as they stand in b, quotes included.
func (l *lexer) scalar() ([]byte, bool) {
	l.ws()
	if l.i >= len(l.b) {
		return nil, false
	}
	start := l.i
	switch c := l.b[l.i]; {
	case c == '"':
		if _, ok := l.str(); !ok {
			return nil, false
		}
	case c == 't' || c == 'f':
		if _, ok := l.boolean(); !ok {
			return nil, false
		}
	case c == 'n':
		if !hasPrefix(l.b[l.i:], "null") {
			return nil, false
		}
		l.i += 4
	default:
		if _, _, ok := l.number(); !ok {
			return nil, false
		}
	}
	return l.b[start:l.i], true
}

// settingValue reads a scalar or an array of scalars and returns its bytes
// as they stand in b: what encoding/json hands Value.UnmarshalJSON.
func (l *lexer) settingValue() ([]byte, bool) {
	l.ws()
	if !l.eat('[') {
		return l.scalar()
	}
	start := l.i - 1
	if !l.eat(']') {
		for {
			if _, ok := l.scalar(); !ok {
				return nil, false
			}
			if l.eat(']') {
				break
			}
			if !l.eat(',') {
				return nil, false
			}
		}
	}
	return l.b[start:l.i], true
}

// object reads {"key": value, ...}, calling member for each key with the
// lexer at its value; member reads the value and reports whether it could.
func (l *lexer) object(member func(key []byte) bool) bool {
	if !l.eat('{') {
		return false
	}
	if l.eat('}') {
		return true
	}
	for {
		key, ok := l.str()
		if !ok || !l.eat(':') || !member(key) {
			return false
		}
		if l.eat('}') {
			return true
		}
		if !l.eat(',') {
			return false
		}
	}
}

// stringCache makes strings of byte views, handing out the last string
// of the same slot again when the bytes are the same: an answer repeats a
// few values (the mode, the proxy address, "30s", "true") for every alias,
// and the slot (of the length and the first and last bytes) mostly tells
// them apart.
type stringCache struct{ last [16]string }

func (c *stringCache) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	slot := (len(b) + int(b[0]) + int(b[len(b)-1])) % len(c.last)
	if c.last[slot] != string(b) { // compares without allocating
		c.last[slot] = string(b)
	}
	return c.last[slot]
}

// keyTable holds the keys (setting keys, aliases) of a client's last
// answer of one kind, to hand out again: a steady estate answers the same
// keys every pass, and a pass then makes none of them anew. Safe for
// concurrent use; a table is replaced whole, never changed.
type keyTable struct {
	last atomic.Pointer[map[string]string]
}

// keys is one decode's view of a keyTable (nil: none).
type keys struct {
	known  map[string]string
	missed bool // some key was not in known
}

func (t *keyTable) view() (k keys) {
	if t != nil {
		if m := t.last.Load(); m != nil {
			k.known = *m
		}
	}
	return k
}

// str is the string of key b: known's when it holds it.
func (k *keys) str(b []byte) string {
	if s, ok := k.known[string(b)]; ok { // looks up without allocating
		return s
	}
	k.missed = true
	return string(b)
}

// keep makes the keys of maps t's table when some key was new.
func keep[V any](t *keyTable, k *keys, maps ...map[string]V) {
	if t == nil || !k.missed {
		return
	}
	n := 0
	for _, m := range maps {
		n += len(m)
	}
	next := make(map[string]string, n)
	for _, m := range maps {
		for s := range m {
			next[s] = s
		}
	}
	t.last.Store(&next)
}

// decodeSettings reads a GET /_cluster/settings?flat_settings=true answer
// into s the way Settings' encoding/json decode does; ok false leaves s
// unusable and the caller decodes with encoding/json. Keys are taken from
// and kept in t (may be nil).
func decodeSettings(body []byte, t *keyTable) (s Settings, ok bool) {
	l := &lexer{b: body}
	k := t.view()
	defer func() {
		if ok {
			keep(t, &k, s.Persistent, s.Transient)
		}
	}()
	var seen [2]bool
	var cache stringCache
	ok = l.object(func(key []byte) bool {
		var m *map[string]Value
		var i int
		switch string(key) {
		case "persistent":
			m, i = &s.Persistent, 0
		case "transient":
			m, i = &s.Transient, 1
		default:
			return false
		}
		if seen[i] {
			return false
		}
		seen[i] = true
		// Sized for a key per `":` of the rest of the body (every key as
		// Elasticsearch writes it; the two scopes' names too), so that the
		// map is made once.
		*m = make(map[string]Value, bytes.Count(l.b[l.i:], []byte(`":`)))
		return l.object(func(key []byte) bool {
			raw, ok := l.settingValue()
			if !ok {
				return false
			}
			var v Value
			switch {
			case raw[0] == '"':
				v = String(cache.get(raw[1 : len(raw)-1])) // what Value.UnmarshalJSON makes of a string without escapes
			case string(raw) == "true" || string(raw) == "false":
				v = String(cache.get(raw))
			default:
				if v.UnmarshalJSON(raw) != nil {
					return false
				}
			}
			(*m)[k.str(key)] = v
			return true
		})
	}) && l.end()
	return s, ok
}

// remoteInfoFields are RemoteInfo's JSON names, in the order of the bits
// decodeRemoteInfo keeps of the ones it has read.
var remoteInfoFields = [...]string{"connected", "mode", "proxy_address", "server_name",
	"num_proxy_sockets_connected", "max_proxy_socket_connections", "seeds", "num_nodes_connected",
	"max_connections_per_cluster", "initial_connect_timeout", "skip_unavailable", "cluster_credentials"}

// decodeRemoteInfo reads a GET /_remote/info answer the way its
// encoding/json decode into map[string]RemoteInfo does; ok false and the
// caller decodes with encoding/json. Aliases are taken from and kept in t
// (may be nil).
func decodeRemoteInfo(body []byte, t *keyTable) (map[string]RemoteInfo, bool) {
	l := &lexer{b: body}
	k := t.view()
	// Every alias has "connected": the count sizes the map once.
	out := make(map[string]RemoteInfo, bytes.Count(body, []byte(`"connected"`)))
	var cache stringCache
	ok := l.object(func(alias []byte) bool {
		var ri RemoteInfo
		var seen uint16
		if !l.object(func(key []byte) bool {
			f := -1
			for i, name := range remoteInfoFields {
				if string(key) == name {
					f = i
					break
				}
			}
			if f < 0 || seen&(1<<f) != 0 {
				return false
			}
			seen |= 1 << f
			switch f {
			case 0, 10:
				v, ok := l.boolean()
				if !ok {
					return false
				}
				if f == 0 {
					ri.Connected = v
				} else {
					ri.SkipUnavailable = v
				}
			case 4, 5, 7, 8:
				text, integer, ok := l.number()
				if !ok || !integer {
					return false
				}
				n, err := strconv.ParseInt(string(text), 10, strconv.IntSize)
				if err != nil {
					return false
				}
				switch f {
				case 4:
					ri.NumProxySocketsConnected = int(n)
				case 5:
					ri.MaxProxySocketConnections = int(n)
				case 7:
					ri.NumNodesConnected = int(n)
				case 8:
					ri.MaxConnectionsPerCluster = int(n)
				}
			case 6:
				if !l.eat('[') {
					return false
				}
				ri.Seeds = []string{}
				if l.eat(']') {
					return true
				}
				for {
					s, ok := l.str()
					if !ok {
						return false
					}
					ri.Seeds = append(ri.Seeds, string(s))
					if l.eat(']') {
						return true
					}
					if !l.eat(',') {
						return false
					}
				}
			default:
				s, ok := l.str()
				if !ok {
					return false
				}
				v := cache.get(s)
				switch f {
				case 1:
					ri.Mode = v
				case 2:
					ri.ProxyAddress = v
				case 3:
					ri.ServerName = v
				case 9:
					ri.InitialConnectTimeout = v
				case 11:
					ri.ClusterCredentials = v
				}
			}
			return true
		}) {
			return false
		}
		out[k.str(alias)] = ri
		return true
	}) && l.end()
	if ok {
		keep(t, &k, out)
	}
	return out, ok
}
