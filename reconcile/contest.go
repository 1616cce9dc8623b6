package reconcile

import (
	"slices"
	"sync"
	"time"

	"github.com/esremote/esremote/reconcile/decide"
)

// DefaultContestThreshold is how many times within DefaultContestWindow a
// key esremote wrote must flip back to the same foreign value before
// esremote calls it contested and stops rewriting it: enough to ride out a
// human fixing something twice, few enough that two writers do not fight
// for long.
const DefaultContestThreshold = 3

// DefaultContestWindow is how far back flips count. Flips are counted by
// rate, not by consecutive passes: a foreign writer slower than the
// resync (Terraform, a cron job, a second daemon with a longer period)
// leaves in-sync passes between its flips, and must still be caught; an
// hour holds a few flips of an hourly job.
const DefaultContestWindow = time.Hour

// contests remembers, across the passes of one Reconciler (the daemon),
// the keys that keep being changed back after esremote corrected them.
// The decision weighs a copy of it (holds, decide.Holds); the pass
// records its flips after the decision (record).
type contests struct {
	mu sync.Mutex
	m  map[string]*decide.Flips // decide.HoldKey(local, key)
}

// holds is the memory as the decision weighs it, the flips older than
// window at now forgotten: a copy, so that deciding leaves it alone.
func (cs *contests) holds(threshold int, window time.Duration, now time.Time) *decide.Holds {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.forget(now.Add(-window))
	h := &decide.Holds{Threshold: threshold, Window: window, Flips: make(map[string]decide.Flips, len(cs.m))}
	for k, st := range cs.m {
		h.Flips[k] = decide.Flips{Desired: st.Desired, Other: st.Other, At: slices.Clone(st.At)}
	}
	return h
}

// forget drops the flips at or before cutoff (under mu).
func (cs *contests) forget(cutoff time.Time) {
	for k, st := range cs.m {
		st.At = slices.DeleteFunc(st.At, func(t time.Time) bool { return !t.After(cutoff) })
		if len(st.At) == 0 {
			delete(cs.m, k)
		}
	}
}

// record remembers one decided cluster's external drift of its enforced
// connections' settings at now (decide.Holds.Contested counts it): a
// key's count starts again when the spec's value or the foreign value
// changes; flips older than window are forgotten.
func (cs *contests) record(cp *ClusterPlan, window time.Duration, now time.Time) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.m == nil {
		cs.m = map[string]*decide.Flips{}
	}
	cs.forget(now.Add(-window))
	for _, p := range cp.Connections {
		if !p.Enforced() {
			continue
		}
		for _, ch := range p.Changes {
			if ch.Resource != ResourceClusterSetting || ch.Origin != OriginExternal {
				continue
			}
			k := decide.HoldKey(cp.Local, ch.Key)
			st := cs.m[k]
			if st == nil || st.Desired != ch.Desired || st.Other != ch.Actual {
				st = &decide.Flips{Desired: ch.Desired, Other: ch.Actual}
				cs.m[k] = st
			}
			st.At = append(st.At, now)
		}
	}
}
