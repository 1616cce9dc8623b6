package daemon

import (
	"encoding/json"
	"slices"

	"github.com/esremote/esremote/spec"
)

// AffectedLocals names the local clusters whose pass can change when the
// spec set goes from old to new: the locals of connections added, removed
// or changed, and of connections whose local or remote Cluster changed.
// The daemon passes only those after a file change, so an edit in a large
// estate does not wait for every cluster's turn; the periodic resync still
// covers everything.
//
// It returns nil — "pass everything" — whenever it cannot tell: no old
// set, a TrustedEnvironment changed (trust spans deployments), or nothing
// in the documents changed although the digest did (a CA file changed
// under unchanged YAML).
func AffectedLocals(old, new *spec.Set) []string {
	if old == nil || new == nil {
		return nil
	}
	if !sameDocs(old.TrustedEnvironments, new.TrustedEnvironments, func(t *spec.TrustedEnvironment) string { return t.Name }) {
		return nil
	}
	changedClusters := map[string]bool{}
	diffDocs(old.Clusters, new.Clusters, func(c *spec.Cluster) string { return c.Name }, func(name string) { changedClusters[name] = true })
	targets := map[string]bool{}
	diffDocs(old.Connections, new.Connections, func(c *spec.Connection) string { return c.Name }, func(name string) {
		for _, s := range []*spec.Set{old, new} {
			if c := s.Connection(name); c != nil {
				targets[c.Local] = true
			}
		}
	})
	for _, s := range []*spec.Set{old, new} {
		for _, c := range s.Connections {
			if changedClusters[c.Local] || changedClusters[c.Remote.Cluster] {
				targets[c.Local] = true
			}
		}
	}
	if len(targets) == 0 {
		return nil
	}
	return slices.Sorted(func(yield func(string) bool) {
		for t := range targets {
			if !yield(t) {
				return
			}
		}
	})
}

// diffDocs calls changed with the name of every document added, removed
// or changed between two lists of one kind.
func diffDocs[T any](old, new []T, name func(T) string, changed func(string)) {
	index := func(docs []T) map[string]string {
		m := map[string]string{}
		for _, d := range docs {
			b, _ := json.Marshal(d)
			m[name(d)] = string(b)
		}
		return m
	}
	o, n := index(old), index(new)
	for k, v := range o {
		if n[k] != v {
			changed(k)
		}
	}
	for k := range n {
		if _, ok := o[k]; !ok {
			changed(k)
		}
	}
}

func sameDocs[T any](old, new []T, name func(T) string) bool {
	same := true
	diffDocs(old, new, name, func(string) { same = false })
	return same
}
