package reconcile

import (
	"fmt"
	"github.com/esremote/esremote/reconcile/es"
	"strings"
	"sync"
)

// DefaultContestThreshold is how many passes in a row a key esremote wrote
// must flip back to the same foreign value before esremote calls it
// contested and stops rewriting it: enough to ride out a human fixing
// something twice, few enough that two writers do not fight for long.
const DefaultContestThreshold = 3

// CodeContested is the finding of a contested connection.
const CodeContested = "contested"

// contests remembers, across the passes of one Reconciler (the daemon),
// the keys that keep being changed back after esremote corrected them.
type contests struct {
	mu sync.Mutex
	m  map[string]*contest // local + "\x00" + key
}

type contest struct {
	desired, other string
	flips          int
}

// check records one pass's external drift of a connection's settings and
// reports the keys now contested. A key is contested when, threshold
// passes in a row, esremote found the same foreign value where it had
// written the same desired value; it is reported contested from then on,
// and held (no longer rewritten) from the next flip. That one last write
// lets a second esremote on the other side of the fight count its own
// threshold too, so both report the contest (and alert) before both stand
// down. A key stops being contested as soon as the spec's value or the
// foreign value changes, or the drift stops.
func (cs *contests) check(local string, p *ConnectionPlan, threshold int) (contested, held []*Change) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.m == nil {
		cs.m = map[string]*contest{}
	}
	prefix := local + "\x00" + es.RemoteKey(p.Conn.Alias, "")
	seen := map[string]bool{}
	for _, ch := range p.Changes {
		if ch.Resource != ResourceClusterSetting || ch.Origin != OriginExternal {
			continue
		}
		k := local + "\x00" + ch.Key
		seen[k] = true
		st := cs.m[k]
		if st != nil && st.desired == ch.Desired && st.other == ch.Actual {
			st.flips++
		} else {
			st = &contest{desired: ch.Desired, other: ch.Actual, flips: 1}
			cs.m[k] = st
		}
		if st.flips >= threshold {
			contested = append(contested, ch)
		}
		if st.flips > threshold {
			held = append(held, ch)
		}
	}
	for k := range cs.m {
		if strings.HasPrefix(k, prefix) && !seen[k] {
			delete(cs.m, k)
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
	p.settings = false
	prefix := es.RemoteKey(p.Conn.Alias, "")
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
