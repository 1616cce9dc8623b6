package decide

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// TestHoldsContested is contention's table: how many earlier flips of the
// same values within the window make this pass's flip contested (at the
// threshold) or held (past it); a change of either value, or flips older
// than the window, start the count again; no memory holds nothing.
func TestHoldsContested(t *testing.T) {
	now := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	const key = "cluster.remote.a.skip_unavailable"
	ago := func(ds ...time.Duration) []time.Time {
		var out []time.Time
		for _, d := range ds {
			out = append(out, now.Add(-d))
		}
		return out
	}
	for _, tc := range []struct {
		name            string
		flips           *Flips // nil: no memory of the key
		nilHolds        bool
		contested, held bool
	}{
		{name: "no memory", nilHolds: true},
		{name: "first flip"},
		{name: "second flip", flips: &Flips{Desired: "false", Other: "true", At: ago(time.Minute)}},
		{name: "third flip: contested, written once more", flips: &Flips{Desired: "false", Other: "true", At: ago(2*time.Minute, time.Minute)}, contested: true},
		{name: "fourth flip: held", flips: &Flips{Desired: "false", Other: "true", At: ago(3*time.Minute, 2*time.Minute, time.Minute)}, contested: true, held: true},
		{name: "flips older than the window", flips: &Flips{Desired: "false", Other: "true", At: ago(3*time.Hour, 2*time.Hour, time.Hour)}},
		{name: "the other writer's value changed", flips: &Flips{Desired: "false", Other: "maybe", At: ago(3*time.Minute, 2*time.Minute, time.Minute)}},
		{name: "the spec's value changed", flips: &Flips{Desired: "other", Other: "true", At: ago(3*time.Minute, 2*time.Minute, time.Minute)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h *Holds
			if !tc.nilHolds {
				h = &Holds{Threshold: 3, Window: time.Hour, Flips: map[string]Flips{}}
				if tc.flips != nil {
					h.Flips[HoldKey("l", key)] = *tc.flips
				}
			}
			ch := &Change{Resource: drift.ResourceClusterSetting, Key: key, Origin: drift.OriginExternal, Desired: "false", Actual: "true", Action: drift.ActionUpdate}
			p := &ConnectionPlan{Conn: &spec.Connection{Name: "c", Alias: "a", Policy: spec.PolicyEnforce}, Changes: []*Change{ch}, SettingsChanged: true}
			other := world.RemoteKey("a", "mode")
			cp := &ClusterPlan{Local: "l", Connections: []*ConnectionPlan{p},
				Put: Put{Persistent: map[string]*string{key: &ch.Desired, other: &ch.Desired}}}
			var before map[string]Flips
			if h != nil {
				before = map[string]Flips{}
				for k, f := range h.Flips {
					f.At = slices.Clone(f.At)
					before[k] = f
				}
			}
			h.Hold(cp, now)
			if got := len(p.Findings) > 0 && p.Findings[0].Code == drift.CodeContested; got != tc.contested || p.Contested != tc.contested {
				t.Errorf("contested %v (findings %v), want %v", got, p.Findings, tc.contested)
			}
			_, written := cp.Put.Persistent[key]
			if written == tc.held {
				t.Errorf("the key is in the PUT: %v; held %v", written, tc.held)
			}
			if tc.held && (ch.Err == nil || !strings.HasPrefix(ch.Err.Error(), "contested")) {
				t.Errorf("a held change says %v", ch.Err)
			}
			if tc.held && (len(cp.Put.Persistent) != 0 || p.SettingsChanged) {
				t.Errorf("the alias's only change is held, yet its PUT holds %v", cp.Put.Persistent)
			}
			if h != nil && !reflect.DeepEqual(h.Flips, before) {
				t.Errorf("deciding changed the memory: %v, was %v", h.Flips, before)
			}
		})
	}
}
