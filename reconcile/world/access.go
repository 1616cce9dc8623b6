package world

import "strings"

// Summary is how a key's access shows in reports and diagnoses:
// "search=logs-* replication=archive-*".
func (a CrossClusterAccess) Summary() string {
	var parts []string
	var s, r []string
	for _, e := range a.Search {
		s = append(s, e.Names...)
	}
	for _, e := range a.Replication {
		r = append(r, e.Names...)
	}
	if len(s) > 0 {
		parts = append(parts, "search="+strings.Join(s, ","))
	}
	if len(r) > 0 {
		parts = append(parts, "replication="+strings.Join(r, ","))
	}
	return strings.Join(parts, " ")
}
