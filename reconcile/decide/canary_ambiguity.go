package decide

import (
	"strings"

	"github.com/esremote/esremote/reconcile/world"
)

// CanaryAmbiguous reports whether an access (the spec's) already grants
// some canary name: then every managed key authorizes every canary, and a
// request proves nothing about which key is in use.
//
// The canary names are esremote-canary-<id> for every key id, lowercase:
// Elasticsearch makes API key ids with UUIDs.base64UUID (URL-safe base64,
// [A-Za-z0-9_-]), lowered to [a-z0-9_-]. The set taken here is that prefix
// followed by one or more of those characters, of any length: larger than
// the ids Elasticsearch makes (20 characters), so a pattern is never
// called unambiguous when some key's canary could match it.
//
// A name of a key's access is an index privilege pattern
// (RoleDescriptor.IndicesPrivileges, compiled by Automatons.patterns):
// * matches any string, ? any one character, \ escapes the next one,
// /.../ is a Lucene regular expression. There is no exclusion: a leading
// - is a literal character there (exclusions exist only in the index
// expressions of requests), so "-x" matches only names starting with -,
// never a canary. A name holding commas is read as its comma-separated
// parts, each a pattern: the harsher reading. The question is whether a
// pattern's language and the canary set intersect, decided exactly
// (canaryIntersects), not by trying sample names. A regular expression is
// taken as ambiguous.
func CanaryAmbiguous(a world.CrossClusterAccess) bool {
	var names []string
	for _, s := range a.Search {
		names = append(names, s.Names...)
	}
	for _, r := range a.Replication {
		names = append(names, r.Names...)
	}
	for _, n := range names {
		for _, part := range strings.Split(n, ",") {
			if strings.HasPrefix(part, "/") {
				return true
			}
			if canaryIntersects(part) {
				return true
			}
		}
	}
	return false
}

// canaryIDChar reports whether c can appear in a lowercased key id.
func canaryIDChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// canaryIntersects reports whether the wildcard pattern p matches some
// canary name. It walks the product of p's positions and the canary
// automaton's states: states 0..len(CanaryPrefix)-1 expect the prefix's
// next character, len(CanaryPrefix) expects a first id character, and
// len(CanaryPrefix)+1 (accepting) has read at least one.
func canaryIntersects(p string) bool {
	const idStart = len(CanaryPrefix)
	const accept = idStart + 1
	// step is the canary state after reading c in state q, or -1.
	step := func(q int, c byte) int {
		if q < idStart {
			if c == CanaryPrefix[q] {
				return q + 1
			}
			return -1
		}
		if canaryIDChar(c) {
			return accept
		}
		return -1
	}
	// anyStep lists the canary states reachable from q by one character.
	anyStep := func(q int) int {
		if q < idStart {
			return q + 1
		}
		return accept
	}
	type state struct{ i, q int }
	seen := map[state]bool{}
	stack := []state{{0, 0}}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[s] {
			continue
		}
		seen[s] = true
		if s.i == len(p) {
			if s.q == accept {
				return true
			}
			continue
		}
		push := func(i, q int) {
			if q >= 0 {
				stack = append(stack, state{i, q})
			}
		}
		switch c := p[s.i]; {
		case c == '*':
			push(s.i+1, s.q)        // matches nothing more
			push(s.i, anyStep(s.q)) // matches one more character
		case c == '?':
			push(s.i+1, anyStep(s.q))
		case c == '\\' && s.i+1 < len(p):
			push(s.i+2, step(s.q, p[s.i+1]))
		default:
			push(s.i+1, step(s.q, c))
		}
	}
	return false
}

// CanaryIndex is a managed key's canary name: esremote-canary-<key id,
// lowercase>, a name only that key's access grants.
func CanaryIndex(keyID string) string { return CanaryPrefix + strings.ToLower(keyID) }

// WithCanary is a key's access with its canary name added, so that a
// request for the canary is authorized only while the local cluster sends
// that very key.
func WithCanary(a world.CrossClusterAccess, keyID string) world.CrossClusterAccess {
	out := world.CrossClusterAccess{Search: append([]world.SearchAccess{}, a.Search...), Replication: a.Replication}
	out.Search = append(out.Search, world.SearchAccess{Names: []string{CanaryIndex(keyID)}})
	return out
}
