package decide

import (
	"fmt"
	"strings"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/world"
)

// Contention (DESIGN §5): a key esremote wrote that keeps flipping back to
// the same foreign value is contested, and from one flip later held (no
// longer rewritten). What counts is the daemon's memory of earlier passes'
// flips (Holds), passed in: the decision says what is held given that
// history and never changes it; the daemon records this pass's flips
// after the decision.

// Holds is the daemon's memory a decision weighs: the flips of each key,
// within Window, and how many make a contest (Threshold). A nil Holds
// holds nothing (plan, and one-shot apply's first sight of a flip).
type Holds struct {
	Threshold int
	Window    time.Duration
	// Flips are the keys found flipped back by earlier passes, by
	// HoldKey.
	Flips map[string]Flips
}

// Flips is one key's history: esremote's value, the other writer's, and
// the times a pass found the key flipped back, oldest first.
type Flips struct {
	Desired, Other string
	At             []time.Time
}

// HoldKey is where a key's flips are kept.
func HoldKey(local, key string) string { return local + "\x00" + key }

// Contested decides, for one connection's external drift of its cluster
// settings found at now, the keys contested (this flip makes at least
// Threshold within Window, the same foreign value where esremote wrote
// the same desired value, whatever the passes in between found) and the
// keys held (more than Threshold). A key's count starts again when the
// spec's value or the foreign value changes. Holding from the flip after
// the threshold leaves one last write, which lets a second esremote on the
// other side of the fight count its own threshold too, so both report the
// contest (and alert) before both stand down.
func (h *Holds) Contested(local string, p *ConnectionPlan, now time.Time) (contested, held []*Change) {
	if h == nil {
		return nil, nil
	}
	cutoff := now.Add(-h.Window)
	for _, ch := range p.Changes {
		if ch.Resource != drift.ResourceClusterSetting || ch.Origin != drift.OriginExternal {
			continue
		}
		n := 1 // this pass's flip
		if st, ok := h.Flips[HoldKey(local, ch.Key)]; ok && st.Desired == ch.Desired && st.Other == ch.Actual {
			for _, t := range st.At {
				if t.After(cutoff) {
					n++
				}
			}
		}
		if n >= h.Threshold {
			contested = append(contested, ch)
		}
		if n > h.Threshold {
			held = append(held, ch)
		}
	}
	return contested, held
}

// Hold applies the holds to a decided cluster: each enforced connection's
// contested keys are reported, with a finding naming both values so an
// operator can settle who owns the setting, and the held ones are no
// longer rewritten: they leave the cluster's PUT (the rest of the alias is
// still corrected) and their changes say why.
func (h *Holds) Hold(cp *ClusterPlan, now time.Time) {
	if h == nil {
		return
	}
	for _, p := range cp.Connections {
		if !p.Enforced() {
			continue
		}
		if contested, held := h.Contested(cp.Local, p, now); len(contested) > 0 {
			holdContested(cp, p, contested, held)
		}
	}
}

func holdContested(cp *ClusterPlan, p *ConnectionPlan, contested, held []*Change) {
	p.Contested = true
	for _, ch := range contested {
		p.Findings = append(p.Findings, Finding{Severity: "error", Code: drift.CodeContested,
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
		if ch.Resource == drift.ResourceClusterSetting && ch.Err == nil {
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
