package decide

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// One row per ownership rule of Diff (DESIGN §5): given the desired
// aliases, what the cluster holds and what the ledger records, which
// aliases are written, deleted, held as a conflict or left alone.
func TestDiffOwnershipRules(t *testing.T) {
	const local = "ech"
	want := map[string]string{"mode": "proxy", "proxy_address": "r.sim:9443", "server_name": "r.sim"}
	handMade := map[string]string{"mode": "proxy", "proxy_address": "other.sim:9443", "server_name": "other.sim"}
	flat := func(alias string, m map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[world.RemoteKey(alias, k)] = v
		}
		return out
	}
	record := func(led *ledger.Ledger, alias string, m map[string]string, pending bool) {
		fps := map[string]string{}
		for k, v := range m {
			fps[world.RemoteKey(alias, k)] = ledger.Fingerprint(world.Normalize(k, v))
		}
		if err := led.SetAlias(local, alias, "conn-"+alias, fps, pending, time.Unix(0, 0)); err != nil {
			t.Fatal(err)
		}
	}
	conn := func(alias string, policy spec.Policy) *ConnectionPlan {
		c := &spec.Connection{Name: "conn-" + alias, Local: local, Alias: alias, Policy: policy,
			Remote: spec.Remote{ProxyAddress: "r.sim:9443", ServerName: "r.sim"}}
		d, err := Desire(c, Endpoint{})
		if err != nil {
			t.Fatal(err)
		}
		return &ConnectionPlan{Conn: c, Desired: d}
	}
	type outcome struct {
		put       []string // aliases in the PUT (written or nulled)
		deleted   []string // aliases deleted as owned
		conflict  []string // connections held as conflicts
		unmanaged map[string]string
	}
	for _, tc := range []struct {
		name     string
		live     map[string]map[string]string // alias → suffix → value
		ledger   func(*ledger.Ledger)
		declared []string // aliases declared by any connection of the set
		conns    []*ConnectionPlan
		scoped   bool
		want     outcome
	}{
		{name: "owned, live Matches the record, not declared: deleted",
			live: map[string]map[string]string{"a": want}, ledger: func(l *ledger.Ledger) { record(l, "a", want, false) },
			want: outcome{put: []string{"a"}, deleted: []string{"a"}}},
		{name: "owned but changed by someone since: foreign, kept",
			live: map[string]map[string]string{"a": handMade}, ledger: func(l *ledger.Ledger) { record(l, "a", want, false) },
			want: outcome{unmanaged: map[string]string{"a": "foreign"}}},
		{name: "never written by esremote, not declared: unmanaged, kept",
			live: map[string]map[string]string{"a": handMade},
			want: outcome{unmanaged: map[string]string{"a": "unmanaged"}}},
		{name: "pending record whose write never landed: unmanaged, kept",
			live: map[string]map[string]string{"a": handMade}, ledger: func(l *ledger.Ledger) { record(l, "a", want, true) },
			want: outcome{unmanaged: map[string]string{"a": "unmanaged"}}},
		{name: "pending record whose write landed: owned, deleted",
			live: map[string]map[string]string{"a": want}, ledger: func(l *ledger.Ledger) { record(l, "a", want, true) },
			want: outcome{put: []string{"a"}, deleted: []string{"a"}}},
		{name: "owned, declared by a connection that failed to prepare: kept",
			live: map[string]map[string]string{"a": want}, ledger: func(l *ledger.Ledger) { record(l, "a", want, false) },
			declared: []string{"a"}, conns: []*ConnectionPlan{{Conn: &spec.Connection{Name: "conn-a", Local: local, Alias: "a"}, Err: errors.New("remote down")}},
			want: outcome{}},
		{name: "owned, not declared, but the spec set is scoped (--only): kept",
			live: map[string]map[string]string{"a": want}, ledger: func(l *ledger.Ledger) { record(l, "a", want, false) },
			scoped: true, want: outcome{}},
		{name: "not owned, declared and different: conflict, not written",
			live: map[string]map[string]string{"a": handMade}, declared: []string{"a"}, conns: []*ConnectionPlan{conn("a", spec.PolicyEnforce)},
			want: outcome{conflict: []string{"conn-a"}}},
		{name: "not owned, declared, policy report: drift shown, no conflict, not written",
			live: map[string]map[string]string{"a": handMade}, declared: []string{"a"}, conns: []*ConnectionPlan{conn("a", spec.PolicyReport)},
			want: outcome{}},
		{name: "not owned, declared and already as wanted: nothing to do",
			live: map[string]map[string]string{"a": want}, declared: []string{"a"}, conns: []*ConnectionPlan{conn("a", spec.PolicyEnforce)},
			want: outcome{}},
		{name: "absent, declared: created",
			declared: []string{"a"}, conns: []*ConnectionPlan{conn("a", spec.PolicyEnforce)},
			want: outcome{put: []string{"a"}}},
		{name: "owned, declared, changed by someone: corrected",
			live: map[string]map[string]string{"a": handMade}, ledger: func(l *ledger.Ledger) { record(l, "a", want, false) },
			declared: []string{"a"}, conns: []*ConnectionPlan{conn("a", spec.PolicyEnforce)},
			want: outcome{put: []string{"a"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			led, err := ledger.Open("")
			if err != nil {
				t.Fatal(err)
			}
			if tc.ledger != nil {
				tc.ledger(led)
			}
			obs := &world.Observed{Local: local, Persistent: map[string]string{}, Transient: map[string]string{}, Remote: map[string]world.RemoteStatus{}}
			for alias, m := range tc.live {
				for k, v := range flat(alias, m) {
					obs.Persistent[k] = v
				}
			}
			all := map[string]bool{}
			for _, a := range tc.declared {
				all[a] = true
			}
			cp := Diff(local, tc.conns, all, obs, led, tc.scoped)
			var got outcome
			seen := map[string]bool{}
			for k := range cp.Put.Persistent {
				alias, _, _ := world.SplitRemoteKey(k)
				if !seen[alias] {
					seen[alias] = true
					got.put = append(got.put, alias)
				}
			}
			for _, d := range cp.Deletions {
				got.deleted = append(got.deleted, d.Alias)
			}
			for _, p := range cp.Connections {
				for _, f := range p.Findings {
					if f.Code == CodeConflict {
						got.conflict = append(got.conflict, p.Conn.Name)
					}
				}
			}
			for _, u := range cp.Unmanaged {
				if got.unmanaged == nil {
					got.unmanaged = map[string]string{}
				}
				got.unmanaged[u.Name] = u.Reason
			}
			slices.Sort(got.put)
			if !slices.Equal(got.put, tc.want.put) || !slices.Equal(got.deleted, tc.want.deleted) ||
				!slices.Equal(got.conflict, tc.want.conflict) || !maps.Equal(got.unmanaged, tc.want.unmanaged) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			for _, p := range cp.Connections {
				if slices.Contains(got.conflict, p.Conn.Name) {
					for _, ch := range p.Changes {
						if !errors.Is(ch.Err, ErrConflict) {
							t.Errorf("conflict change %s %s is not held: %v", ch.Action, ch.Key, ch.Err)
						}
					}
				}
			}
		})
	}
}
