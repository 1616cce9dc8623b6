package reconcile

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/esremote/esremote/reconcile/world"
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
type contests struct {
	mu sync.Mutex
	m  map[string]*contest // local + "\x00" + key
}

type contest struct {
	desired, other string
	// flips are the times a pass found the key flipped back to other,
	// newest last, within the window.
	flips []time.Time
}

// check records one pass's external drift of a connection's settings at
// now and reports the keys now contested. A key is contested when, at
// least threshold times within window, a pass found the same foreign
// value where esremote had written the same desired value, whatever the
// passes in between found; it is reported contested from then on, and
// held (no longer rewritten) from the next flip. That one last write lets
// a second esremote on the other side of the fight count its own
// threshold too, so both report the contest (and alert) before both stand
// down. A key's count starts again when the spec's value or the foreign
// value changes; flips older than the window are forgotten.
func (cs *contests) check(local string, p *ConnectionPlan, threshold int, window time.Duration, now time.Time) (contested, held []*Change) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.m == nil {
		cs.m = map[string]*contest{}
	}
	cutoff := now.Add(-window)
	for k, st := range cs.m {
		st.flips = slices.DeleteFunc(st.flips, func(t time.Time) bool { return !t.After(cutoff) })
		if len(st.flips) == 0 {
			delete(cs.m, k)
		}
	}
	for _, ch := range p.Changes {
		if ch.Resource != ResourceClusterSetting || ch.Origin != OriginExternal {
			continue
		}
		k := local + "\x00" + ch.Key
		st := cs.m[k]
		if st == nil || st.desired != ch.Desired || st.other != ch.Actual {
			st = &contest{desired: ch.Desired, other: ch.Actual}
			cs.m[k] = st
		}
		st.flips = append(st.flips, now)
		if len(st.flips) >= threshold {
			contested = append(contested, ch)
		}
		if len(st.flips) > threshold {
			held = append(held, ch)
		}
	}
	return contested, held
}

// holdContested reports the contested keys of an alias, with a finding
// naming both values so an operator can settle who owns the setting, and
// stops rewriting the held ones: they leave the cluster's PUT (the rest of
// the alias is still corrected) and their changes are marked.
func holdContested(cp *ClusterPlan, p *ConnectionPlan, contested, held []*Change) {
	p.Contested = true
	for _, ch := range contested {
		p.Findings = append(p.Findings, Finding{Severity: "error", Code: CodeContested,
			Message: fmt.Sprintf("%s keeps flipping back: esremote writes %s, another writer sets %s", ch.Key, orNone(ch.Desired), orNone(ch.Actual)),
			Fix:     "find the other writer (another esremote, Terraform, a person in Kibana) and decide who owns the setting; list it under ignore: if it is theirs"})
	}
	if len(held) == 0 {
		return
	}
	for _, ch := range held {
		delete(cp.Put.Persistent, ch.Key)
		ch.Err = fmt.Errorf("contested: not rewritten until the spec or the live value changes")
	}
	for _, ch := range p.Changes {
		if ch.Resource == ResourceClusterSetting && ch.Err == nil {
			return // other keys still need correcting: the alias is written without the contested ones
		}
	}
	p.SettingsChanged = false
	prefix := world.RemoteKey(p.Conn.Alias, "")
	for k := range cp.Put.Persistent {
		if strings.HasPrefix(k, prefix) {
			delete(cp.Put.Persistent, k)
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "(unset)"
	}
	return s
}
