package decide

import (
	"maps"
	"slices"
)

// sortedKeys returns m's keys in order: every decision iterates in a
// fixed order, so the same inputs give the same plan.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
