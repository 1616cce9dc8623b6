package decide

import (
	"testing"

	"github.com/esremote/esremote/reconcile/world"
)

// Whether a pattern of a key's access can match some key's canary
// (esremote-canary-<id, lowercase>), decided by intersection: patterns
// that match a canary only for some ids (*canary-a*) or only through
// their wildcard's middle (*-canary-*) are ambiguous; patterns no canary
// name can match are not, whatever sample name one would try.
func TestCanaryAmbiguousByIntersection(t *testing.T) {
	for _, tc := range []struct {
		pattern   string
		ambiguous bool
	}{
		{"*", true},
		{"esremote-*", true},
		{"*-canary-*", true},
		{"*canary-a*", true}, // a key id starting with a: the one sample "x0" missed it
		{"*canary-*9", true},
		{"esremote-canary-*", true},
		{"esremote-canary-?", true},
		{"?sremote-canary-*", true},
		{"*-*-*", true},
		{"e*", true},
		{"*_*", true},                  // an id may hold _
		{"logs-*,esremote-*", true},    // a comma list: each part
		{"/esremote-.*/", true},        // a regular expression: taken as ambiguous
		{"esremote-canary-\\*", false}, // an escaped *: the literal name "esremote-canary-*"
		{"logs-*", false},
		{"esremote-canary-", false}, // no id
		{"*canary-A*", false},       // ids are lowercased
		{"*canary-a.b*", false},     // no . in an id
		{"-esremote-*", false},      // no exclusion in privileges: a literal leading -
		{"esremote-canary", false},
		{"canary-*", false},
		{"*-canary", true}, // the id "x-canary": ids hold letters and -
		{"esremote-canary-*x*!", false},
		{"", false},
	} {
		a := world.CrossClusterAccess{Search: []world.SearchAccess{{Names: []string{tc.pattern}}}}
		if got := CanaryAmbiguous(a); got != tc.ambiguous {
			t.Errorf("%q: ambiguous %t, want %t", tc.pattern, got, tc.ambiguous)
		}
		r := world.CrossClusterAccess{Replication: []world.ReplicationAccess{{Names: []string{tc.pattern}}}}
		if got := CanaryAmbiguous(r); got != tc.ambiguous {
			t.Errorf("%q as replication: ambiguous %t, want %t", tc.pattern, got, tc.ambiguous)
		}
	}
}

// The decision agrees with matching: every canary of a set of ids is
// matched by an ambiguous pattern that names it, and canaryIntersects
// finds what a brute-force check over those canaries finds.
func TestCanaryIntersectsAgreesWithMatching(t *testing.T) {
	ids := []string{"a", "abc", "x0", "zz_-9", "qk7trj8bqwyluzhz3xyz"}
	patterns := []string{"*canary-a*", "*c", "*-9", "*_*", "esremote-canary-???", "*9", "logs-*", "*z", "?*?*?*-canary-?"}
	for _, p := range patterns {
		brute := false
		for _, id := range ids {
			brute = brute || wildcardMatch(p, CanaryPrefix+id) // the ids are lowercase already
		}
		if brute && !canaryIntersects(p) {
			t.Errorf("%q matches a canary but canaryIntersects says no", p)
		}
	}
}

// wildcardMatch is the test's own matcher (* and ? only).
func wildcardMatch(p, s string) bool {
	if p == "" {
		return s == ""
	}
	switch p[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if wildcardMatch(p[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && wildcardMatch(p[1:], s[1:])
	}
	return s != "" && s[0] == p[0] && wildcardMatch(p[1:], s[1:])
}
