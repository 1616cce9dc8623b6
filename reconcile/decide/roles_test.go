package decide

import (
	"errors"
	"fmt"
	"testing"

	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// One row per ownership rule of Roles: what the specs declare, the
// live roles, the ledger's records → written, deleted, conflict, foreign,
// forgotten.
func TestDiffRolesOwnershipRules(t *testing.T) {
	const local = "ech"
	role := spec.Role{Name: "reader", RemoteIndices: []spec.RemoteIndices{{Names: []string{"logs-*"}, Privileges: []string{"read"}}}}
	conn := &spec.Connection{Name: "c", Local: local, Alias: "a", Policy: spec.PolicyEnforce, Roles: []spec.Role{role}}
	mine := DesiredRole(conn, role)
	handMade := world.Role{Cluster: []string{"monitor"}}
	type outcome struct{ writes, deletes, conflicts, foreign, forgets []string }
	for _, tc := range []struct {
		name     string
		declared bool // the spec set declares conn
		failed   bool // conn failed to prepare this pass
		live     *world.Role
		owned    *world.Role // what the ledger says esremote wrote
		scoped   bool
		want     outcome
	}{
		{name: "declared, absent: created", declared: true, want: outcome{writes: []string{"reader"}}},
		{name: "declared, owned, changed since: rewritten", declared: true, live: &handMade, owned: &mine, want: outcome{writes: []string{"reader"}}},
		{name: "declared, not owned, different: conflict", declared: true, live: &handMade, want: outcome{conflicts: []string{"reader"}}},
		{name: "declared, not owned, already as wanted: nothing", declared: true, live: &mine},
		{name: "declared by a connection that failed to prepare: kept", declared: true, failed: true, live: &mine, owned: &mine},
		{name: "not declared, owned, unchanged: deleted", live: &mine, owned: &mine, want: outcome{deletes: []string{"reader"}}},
		{name: "not declared, owned, changed since: foreign, kept", live: &handMade, owned: &mine, want: outcome{foreign: []string{"reader"}}},
		{name: "not declared, owned, gone: record forgotten", owned: &mine, want: outcome{forgets: []string{"reader"}}},
		{name: "not declared, owned, but --only: kept", live: &mine, owned: &mine, scoped: true},
		{name: "not declared, not owned: not ours, kept", live: &handMade},
	} {
		t.Run(tc.name, func(t *testing.T) {
			led, _ := ledger.Open("")
			if tc.owned != nil {
				led.SetRole(local, "reader", &ledger.Record{Fingerprint: ledger.Fingerprint(CanonicalRole(*tc.owned)), Connection: "c"})
			}
			set := &spec.Set{Clusters: []*spec.Cluster{{Name: local}}}
			cp := &ClusterPlan{Local: local}
			if tc.declared {
				set.Connections = []*spec.Connection{conn}
				p := &ConnectionPlan{Conn: conn}
				if tc.failed {
					p.Err = errors.New("remote down")
				}
				cp.Connections = []*ConnectionPlan{p}
			}
			live := map[string]world.Role{}
			if tc.live != nil {
				live["reader"] = *tc.live
			}
			Roles(set, set.Clusters[0], cp, "8.19.3", live, led, tc.scoped)
			var got outcome
			for name := range cp.RoleWrites {
				got.writes = append(got.writes, name)
			}
			for _, d := range cp.RoleDeletes {
				got.deletes = append(got.deletes, d.Name)
			}
			for _, p := range cp.Connections {
				for _, ch := range p.Changes {
					if errors.Is(ch.Err, ErrConflict) {
						got.conflicts = append(got.conflicts, ch.Key)
					}
				}
			}
			for _, u := range cp.Unmanaged {
				if u.Reason == "foreign" {
					got.foreign = append(got.foreign, u.Name)
				}
			}
			got.forgets = cp.RoleForgets
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
