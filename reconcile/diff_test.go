package reconcile

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/reconcile/es"
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
			out[es.RemoteKey(alias, k)] = v
		}
		return out
	}
	record := func(led *Ledger, alias string, m map[string]string, pending bool) {
		fps := map[string]string{}
		for k, v := range m {
			fps[es.RemoteKey(alias, k)] = Fingerprint(es.Normalize(k, v))
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
		ledger   func(*Ledger)
		declared []string // aliases declared by any connection of the set
		conns    []*ConnectionPlan
		scoped   bool
		want     outcome
	}{
		{name: "owned, live matches the record, not declared: deleted",
			live: map[string]map[string]string{"a": want}, ledger: func(l *Ledger) { record(l, "a", want, false) },
			want: outcome{put: []string{"a"}, deleted: []string{"a"}}},
		{name: "owned but changed by someone since: foreign, kept",
			live: map[string]map[string]string{"a": handMade}, ledger: func(l *Ledger) { record(l, "a", want, false) },
			want: outcome{unmanaged: map[string]string{"a": "foreign"}}},
		{name: "never written by esremote, not declared: unmanaged, kept",
			live: map[string]map[string]string{"a": handMade},
			want: outcome{unmanaged: map[string]string{"a": "unmanaged"}}},
		{name: "pending record whose write never landed: unmanaged, kept",
			live: map[string]map[string]string{"a": handMade}, ledger: func(l *Ledger) { record(l, "a", want, true) },
			want: outcome{unmanaged: map[string]string{"a": "unmanaged"}}},
		{name: "pending record whose write landed: owned, deleted",
			live: map[string]map[string]string{"a": want}, ledger: func(l *Ledger) { record(l, "a", want, true) },
			want: outcome{put: []string{"a"}, deleted: []string{"a"}}},
		{name: "owned, declared by a connection that failed to prepare: kept",
			live: map[string]map[string]string{"a": want}, ledger: func(l *Ledger) { record(l, "a", want, false) },
			declared: []string{"a"}, conns: []*ConnectionPlan{{Conn: &spec.Connection{Name: "conn-a", Local: local, Alias: "a"}, Err: errors.New("remote down")}},
			want: outcome{}},
		{name: "owned, not declared, but the spec set is scoped (--only): kept",
			live: map[string]map[string]string{"a": want}, ledger: func(l *Ledger) { record(l, "a", want, false) },
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
			live: map[string]map[string]string{"a": handMade}, ledger: func(l *Ledger) { record(l, "a", want, false) },
			declared: []string{"a"}, conns: []*ConnectionPlan{conn("a", spec.PolicyEnforce)},
			want: outcome{put: []string{"a"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			led, err := OpenLedger("")
			if err != nil {
				t.Fatal(err)
			}
			if tc.ledger != nil {
				tc.ledger(led)
			}
			obs := &Observed{Local: local, Persistent: map[string]string{}, Transient: map[string]string{}, Remote: map[string]RemoteStatus{}}
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
				alias, _, _ := es.SplitRemoteKey(k)
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
				!slices.Equal(got.conflict, tc.want.conflict) || !mapsEqual(got.unmanaged, tc.want.unmanaged) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			for _, p := range cp.Connections {
				if slices.Contains(got.conflict, p.Conn.Name) {
					for _, ch := range p.Changes {
						if !errors.Is(ch.Err, errConflict) {
							t.Errorf("conflict change %s %s is not held: %v", ch.Action, ch.Key, ch.Err)
						}
					}
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// One row per identity rule: the ledger's cluster_uuid for the name, the
// other clusters observed in the pass, what the cluster answers.
func TestIdentityRules(t *testing.T) {
	for _, tc := range []struct {
		name     string
		recorded map[string]string // ledger: name → uuid
		observed map[string]string // pass: name → uuid
		declared []string
		want     string // error code, "" for none
	}{
		{name: "first contact: no record", observed: map[string]string{"a": "U1"}, declared: []string{"a"}},
		{name: "same cluster as recorded", recorded: map[string]string{"a": "U1"}, observed: map[string]string{"a": "U1"}, declared: []string{"a"}},
		{name: "another cluster answers at the name", recorded: map[string]string{"a": "U1"}, observed: map[string]string{"a": "U2"}, declared: []string{"a"}, want: CodeIdentityChanged},
		{name: "two Clusters in the pass are one cluster", observed: map[string]string{"a": "U1", "b": "U1"}, declared: []string{"a", "b"}, want: CodeDuplicateCluster},
		{name: "another declared name was recorded with this uuid", recorded: map[string]string{"b": "U1"}, observed: map[string]string{"a": "U1"}, declared: []string{"a", "b"}, want: CodeDuplicateCluster},
		{name: "a departed name once had this uuid: fine", recorded: map[string]string{"old": "U1"}, observed: map[string]string{"a": "U1"}, declared: []string{"a"}},
		{name: "a cluster that does not say its uuid", recorded: map[string]string{"a": "U1"}, observed: map[string]string{"a": ""}, declared: []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			led, _ := OpenLedger("")
			for n, u := range tc.recorded {
				led.SetClusterUUID(n, u)
			}
			set := &spec.Set{}
			for _, n := range tc.declared {
				set.Clusters = append(set.Clusters, &spec.Cluster{Name: n})
			}
			ps := &passState{r: &Reconciler{ledger: led}, ledger: led, set: set, snap: newSnapshot()}
			for n, u := range tc.observed {
				ps.snap.locals[n] = observation{obs: &Observed{Local: n, UUID: u}}
			}
			err := ps.identity("a", ps.snap.local("a").obs)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want+":")):
				t.Errorf("error %v, want %s", err, tc.want)
			}
		})
	}
}

// Only keys that carry this installation's id can be orphans; DeliveredKeyID
// names the key the keystore holds while a new one is pending.
func TestDeliveredKeyID(t *testing.T) {
	for _, tc := range []struct {
		rec  *KeyRecord
		want string
	}{
		{nil, ""},
		{&KeyRecord{ID: "new"}, "new"},
		{&KeyRecord{ID: "new", Pending: true}, ""},
		{&KeyRecord{ID: "new", Pending: true, Delivered: "old"}, "old"},
	} {
		if got := tc.rec.DeliveredKeyID(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.rec, got, tc.want)
		}
	}
}

// Desire keeps the endpoint's server_name when proxy_address names the
// endpoint, and leaves it to the spec when it names another host.
func TestDesireServerName(t *testing.T) {
	ep := Endpoint{Host: "abc.ece.sim", ServerName: "abc.ece.sim"}
	for _, tc := range []struct{ addr, name, want string }{
		{"", "", "abc.ece.sim"},
		{"abc.ece.sim:9443", "", "abc.ece.sim"},
		{"ABC.ece.sim:9443", "", "abc.ece.sim"},
		{"lb.example.com:9443", "", ""},
		{"lb.example.com:9443", "abc.ece.sim", "abc.ece.sim"},
	} {
		c := &spec.Connection{Name: "c", Alias: "a", Security: spec.SecurityAPIKey, Remote: spec.Remote{Cluster: "r", ProxyAddress: tc.addr, ServerName: tc.name}}
		d, err := Desire(c, ep)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Settings["cluster.remote.a.server_name"]; got != tc.want {
			t.Errorf("proxy_address %q server_name %q: got %q, want %q", tc.addr, tc.name, got, tc.want)
		}
	}
}

// One row per ownership rule of diffRoles: what the specs declare, the
// live roles, the ledger's records → written, deleted, conflict, foreign,
// forgotten.
func TestDiffRolesOwnershipRules(t *testing.T) {
	const local = "ech"
	role := spec.Role{Name: "reader", RemoteIndices: []spec.RemoteIndices{{Names: []string{"logs-*"}, Privileges: []string{"read"}}}}
	conn := &spec.Connection{Name: "c", Local: local, Alias: "a", Policy: spec.PolicyEnforce, Roles: []spec.Role{role}}
	mine := desiredRole(conn, role)
	handMade := es.Role{Cluster: []string{"monitor"}}
	type outcome struct{ writes, deletes, conflicts, foreign, forgets []string }
	for _, tc := range []struct {
		name     string
		declared bool // the spec set declares conn
		failed   bool // conn failed to prepare this pass
		live     *es.Role
		owned    *es.Role // what the ledger says esremote wrote
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
			led, _ := OpenLedger("")
			if tc.owned != nil {
				led.SetRole(local, "reader", &Record{Fingerprint: Fingerprint(canonicalRole(*tc.owned)), Connection: "c"})
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
			live := map[string]es.Role{}
			if tc.live != nil {
				live["reader"] = *tc.live
			}
			diffRoles(set, set.Clusters[0], cp, "8.19.3", live, led, tc.scoped)
			var got outcome
			for name := range cp.RoleWrites {
				got.writes = append(got.writes, name)
			}
			for _, d := range cp.RoleDeletes {
				got.deletes = append(got.deletes, d.Name)
			}
			for _, p := range cp.Connections {
				for _, ch := range p.Changes {
					if errors.Is(ch.Err, errConflict) {
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

// One row per ownership rule of keys: only keys of this installation that
// the ledger does not know are orphans.
func TestClassifyKey(t *testing.T) {
	meta := func(inst, local, alias string) map[string]any {
		m := map[string]any{"managed_by": ManagedBy, "local": local, "alias": alias}
		if inst != "" {
			m[MetaInstallation] = inst
		}
		return m
	}
	rec := &KeyRecord{ID: "k1", Previous: &KeyRecord{ID: "k0"}}
	for _, tc := range []struct {
		name string
		key  es.APIKey
		rec  *KeyRecord
		want keyClass
	}{
		{"the ledger's key", es.APIKey{ID: "k1", Name: "esremote-c", Metadata: meta("me", "l", "a")}, rec, keyRecorded},
		{"the key being rotated out", es.APIKey{ID: "k0", Name: "esremote-c", Metadata: meta("me", "l", "a")}, rec, keyRecorded},
		{"ours, unknown to the ledger (a crash): orphan", es.APIKey{ID: "k2", Name: "esremote-c", Metadata: meta("me", "l", "a")}, rec, keyOrphan},
		{"ours, no ledger record at all: orphan", es.APIKey{ID: "k2", Name: "esremote-c", Metadata: meta("me", "l", "a")}, nil, keyOrphan},
		{"another installation, same link: contested", es.APIKey{ID: "k3", Name: "esremote-c", Metadata: meta("other", "l", "a")}, rec, keySameLinkOtherInstallation},
		{"another installation, another link: left alone", es.APIKey{ID: "k3", Name: "esremote-c", Metadata: meta("other", "l2", "a")}, rec, keyOtherInstallation},
		{"no installation id (before ids): left alone", es.APIKey{ID: "k4", Name: "esremote-c", Metadata: meta("", "l2", "a")}, rec, keyOtherInstallation},
		{"not managed by esremote", es.APIKey{ID: "k5", Name: "esremote-c", Metadata: map[string]any{}}, rec, keyNotOurs},
		{"invalidated already", es.APIKey{ID: "k6", Name: "esremote-c", Invalidated: true, Metadata: meta("me", "l", "a")}, rec, keyNotOurs},
		{"another connection's name", es.APIKey{ID: "k7", Name: "esremote-d", Metadata: meta("me", "l", "a")}, rec, keyNotOurs},
	} {
		if got := classifyKey(tc.key, "esremote-c", tc.rec, "me", "l", "a"); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
