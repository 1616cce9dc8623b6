package recovery_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/recovery"
	"github.com/esremote/esremote/spec"
)

const matchClusters = `apiVersion: esremote/v1
kind: Cluster
name: local
elasticsearch:
  url: https://local.example:9243
  auth: {basic: {username: u, password: {env: PW}}}
deployment:
  platform: ech
  api: https://api.example
  auth: {api_key: {env: K}}
  id: 0123456789abcdef0123456789abcdef
---
apiVersion: esremote/v1
kind: Cluster
name: remote
elasticsearch:
  url: https://remote.example:9243
  auth: {basic: {username: u, password: {env: PW}}}
---
apiVersion: esremote/v1
kind: Connection
name: keyed
local: local
alias: keyed
remote:
  cluster: remote
  proxy_address: remote.example:9443
security: api_key
api_key:
  managed: true
  access:
    search: [{names: ["logs-*"]}]
roles:
  - name: reader
    remote_indices: [{names: ["logs-*"], privileges: [read]}]
---
apiVersion: esremote/v1
kind: Connection
name: certs
local: local
alias: certs
remote:
  proxy_address: other.example:9400
security: certificate
`

// matchWorld loads the table's spec set and computes what each
// connection writes, as Read does.
func matchWorld(t *testing.T) (*spec.Set, map[string]*reconcile.DesiredAlias) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "specs.yaml"), []byte(matchClusters), 0o644); err != nil {
		t.Fatal(err)
	}
	set, problems, err := spec.Load(dir)
	if err != nil {
		t.Fatalf("%v: %v", err, problems)
	}
	desired := map[string]*reconcile.DesiredAlias{}
	for _, c := range set.Connections {
		d, err := reconcile.Desire(c, reconcile.EndpointOf(set.Cluster("remote")))
		if err != nil {
			t.Fatal(err)
		}
		desired[c.Name] = d
	}
	return set, desired
}

func keyOf(id, inst, conn, local, alias string) es.APIKey {
	return es.APIKey{ID: id, Name: "esremote-" + conn, Type: "cross_cluster", Creation: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		Metadata: map[string]any{"managed_by": "esremote", "installation": inst, "connection": conn, "local": local, "alias": alias, "access_hash": "h1"}}
}

func roleOf(conn, inst string) es.Role {
	md := map[string]any{"managed_by": "esremote", "connection": conn}
	if inst != "" {
		md["installation"] = inst
	}
	return es.Role{RemoteIndices: []es.RemoteIndicesPrivileges{{Clusters: []string{"keyed"}, Names: []string{"logs-*"}, Privileges: []string{"read"}}}, Metadata: md}
}

// TestMatch is the pure matching: live objects → ledger records and what
// is not recovered, with why.
func TestMatch(t *testing.T) {
	set, desired := matchWorld(t)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	// base is a world where everything is provable: this installation's
	// key, the keystore entry, both aliases as the spec writes them, the
	// role with its metadata.
	base := func() *recovery.Live {
		pers := map[string]string{}
		for _, d := range desired {
			for k, v := range d.Settings {
				pers[k] = v
			}
		}
		return &recovery.Live{
			UUIDs:      map[string]string{"local": "uuid-local", "remote": "uuid-remote"},
			Keys:       map[string][]es.APIKey{"remote": {keyOf("k1", "inst-a", "keyed", "local", "keyed")}},
			Roles:      map[string]map[string]es.Role{"local": {"reader": roleOf("keyed", "inst-a")}},
			Persistent: map[string]map[string]string{"local": pers},
			Transient:  map[string]map[string]string{"local": {}},
			Keystore:   map[string]map[string]bool{"local": {"cluster.remote.keyed.credentials": true}},
			Desired:    desired,
		}
	}
	type want struct {
		installation string // "" : any new one
		ok           bool
		recovered    []string // kind:name
		not          []string // kind:name:part of why
	}
	cases := []struct {
		name  string
		edit  func(*recovery.Live)
		given string
		want  want
	}{
		{name: "everything provable", edit: func(*recovery.Live) {},
			want: want{installation: "inst-a", ok: true,
				recovered: []string{"key:k1", "keystore:cluster.remote.keyed.credentials", "alias:keyed", "alias:certs", "role:reader", "cluster_uuid:uuid-local", "cluster_uuid:uuid-remote"}}},
		{name: "alias edited by hand", edit: func(l *recovery.Live) {
			l.Persistent["local"]["cluster.remote.certs.proxy_address"] = "elsewhere.example:9400"
		},
			want: want{installation: "inst-a", ok: true, recovered: []string{"key:k1", "alias:keyed"},
				not: []string{"alias:certs:proxy_address is elsewhere.example:9400"}}},
		{name: "extra live setting", edit: func(l *recovery.Live) { l.Persistent["local"]["cluster.remote.certs.transport.compress"] = "true" },
			want: want{installation: "inst-a", ok: true, not: []string{"alias:certs:transport.compress is set, the spec does not set it"}}},
		{name: "transient setting", edit: func(l *recovery.Live) {
			l.Transient["local"]["cluster.remote.certs.skip_unavailable"] = "true"
		}, want: want{installation: "inst-a", ok: true, not: []string{"alias:certs:transient"}}},
		{name: "another installation's key next to ours", edit: func(l *recovery.Live) {
			l.Keys["remote"] = append(l.Keys["remote"], keyOf("k2", "inst-b", "other", "local", "other"))
		}, want: want{installation: "inst-a", ok: true, recovered: []string{"key:k1"}, not: []string{"key:k2:no managed api_key connection"}}},
		{name: "several installations on the spec's connection", edit: func(l *recovery.Live) {
			l.Keys["remote"] = append(l.Keys["remote"], keyOf("k2", "inst-b", "keyed", "local", "keyed"))
		}, want: want{ok: false, not: []string{"installation:inst-a:picks none", "installation:inst-b:picks none"}}},
		{name: "another setup's key for a connection of the same name elsewhere does not vote", edit: func(l *recovery.Live) {
			l.Keys["remote"] = append(l.Keys["remote"], keyOf("k3", "inst-c", "keyed", "elsewhere", "keyed"))
		}, want: want{installation: "inst-a", ok: true, recovered: []string{"key:k1", "alias:keyed"}, not: []string{"key:k3:another installation (inst-c)"}}},
		{name: "the operator picks the installation", given: "inst-b", edit: func(l *recovery.Live) {
			l.Keys["remote"] = append(l.Keys["remote"], keyOf("k2", "inst-b", "keyed", "local", "keyed"))
		}, want: want{installation: "inst-b", ok: true, recovered: []string{"key:k2", "alias:keyed"},
			not: []string{"key:k1:another installation (inst-a)", "role:reader:another installation (inst-a)"}}},
		{name: "two live keys mid-rotation", edit: func(l *recovery.Live) {
			l.Keys["remote"] = append(l.Keys["remote"], keyOf("k2", "inst-a", "keyed", "local", "keyed"))
		}, want: want{installation: "inst-a", ok: true, recovered: []string{"alias:certs"},
			not: []string{"key:k1, k2:which one the keystore holds", "alias:keyed:managed key was not recovered"}}},
		{name: "key made for another alias", edit: func(l *recovery.Live) {
			l.Keys["remote"] = []es.APIKey{keyOf("k1", "inst-a", "keyed", "local", "old-alias")}
		}, want: want{installation: "inst-a", ok: true, not: []string{"key:k1:made for local → old-alias", "alias:keyed:managed key was not recovered"}}},
		{name: "keystore entry missing", edit: func(l *recovery.Live) { l.Keystore["local"] = map[string]bool{} },
			want: want{installation: "inst-a", ok: true, recovered: []string{"key:k1", "alias:keyed"},
				not: []string{"keystore:cluster.remote.keyed.credentials:no such entry"}}},
		{name: "role without metadata", edit: func(l *recovery.Live) {
			r := roleOf("keyed", "")
			r.Metadata = map[string]any{}
			l.Roles["local"]["reader"] = r
		}, want: want{installation: "inst-a", ok: true, not: []string{"role:reader:no esremote metadata"}}},
		{name: "role written before roles carried the installation", edit: func(l *recovery.Live) { l.Roles["local"]["reader"] = roleOf("keyed", "") },
			want: want{installation: "inst-a", ok: true, recovered: []string{"role:reader"}}},
		{name: "role of a connection the specs lack", edit: func(l *recovery.Live) { l.Roles["local"]["gone"] = roleOf("departed", "inst-a") },
			want: want{installation: "inst-a", ok: true, recovered: []string{"role:reader"}, not: []string{"role:gone:do not declare"}}},
		{name: "a cluster did not answer", edit: func(l *recovery.Live) { l.Errors = map[string]string{"cluster remote": "connection refused"} },
			want: want{installation: "inst-a", ok: false}},
		{name: "no keys at all: a new installation", edit: func(l *recovery.Live) {
			l.Keys["remote"] = nil
			l.Roles["local"] = map[string]es.Role{}
		}, want: want{ok: true, recovered: []string{"alias:certs"}, not: []string{"alias:keyed:managed key was not recovered"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			live := base()
			tc.edit(live)
			res := recovery.Match(set, live, tc.given, now)
			if res.OK() != tc.want.ok {
				t.Errorf("OK %v (errors %v, ambiguous %v); want %v", res.OK(), res.Errors, res.Ambiguous, tc.want.ok)
			}
			switch {
			case tc.want.installation != "" && res.Installation != tc.want.installation:
				t.Errorf("installation %q; want %q", res.Installation, tc.want.installation)
			case tc.want.installation == "" && tc.want.ok && (res.Installation == "" || res.Installation == "inst-a"):
				t.Errorf("installation %q; want a new one", res.Installation)
			}
			var got []string
			for _, it := range res.Recovered {
				got = append(got, it.Kind+":"+it.Name)
			}
			for _, w := range tc.want.recovered {
				if !slices.Contains(got, w) {
					t.Errorf("recovered %v; want %s", got, w)
				}
			}
			for _, w := range tc.want.not {
				parts := strings.SplitN(w, ":", 3)
				if !slices.ContainsFunc(res.NotRecovered, func(it recovery.Item) bool {
					return it.Kind == parts[0] && it.Name == parts[1] && strings.Contains(it.Why, parts[2])
				}) {
					t.Errorf("not recovered %+v; want %s", res.NotRecovered, w)
				}
				// What is not recovered is never in the ledger either.
				if parts[0] == recovery.KindAlias && res.OK() && res.Ledger().Alias("local", parts[1]) != nil {
					t.Errorf("alias %s is in the ledger though not recovered", parts[1])
				}
				if parts[0] == recovery.KindRole && res.OK() && res.Ledger().Role("local", parts[1]) != nil {
					t.Errorf("role %s is in the ledger though not recovered", parts[1])
				}
			}
			if !res.OK() {
				if doc, _ := res.Document(); doc != nil {
					t.Errorf("a ledger document although recovery is not OK")
				}
				return
			}
			led := res.Ledger()
			// Every recovered item is in the ledger, with what the engine
			// compares.
			for _, it := range res.Recovered {
				switch it.Kind {
				case recovery.KindKey:
					k := led.Key(it.Connection)
					if k == nil || k.ID != it.Name || k.Local != "local" || k.Alias != "keyed" || k.Remote != "remote" || k.AccessHash != "h1" || k.Pending {
						t.Errorf("ledger key of %s: %+v", it.Connection, k)
					}
					if ks := led.Keystore("local", "cluster.remote.keyed.credentials"); ks != nil && ks.Fingerprint != k.Fingerprint {
						t.Errorf("keystore fingerprint %s, key's %s: the engine would rotate", ks.Fingerprint, k.Fingerprint)
					}
				case recovery.KindAlias:
					rec := led.Alias("local", it.Name)
					d := desired[it.Connection]
					if rec == nil || rec.Connection != it.Connection || len(rec.Keys) != len(d.Settings) {
						t.Fatalf("ledger alias %s: %+v", it.Name, rec)
					}
					for k, v := range d.Settings {
						if rec.Keys[k] != reconcile.SettingFingerprint(k, v) {
							t.Errorf("alias %s key %s: fingerprint %s, the engine's %s", it.Name, k, rec.Keys[k], reconcile.SettingFingerprint(k, v))
						}
					}
				case recovery.KindRole:
					if rec := led.Role("local", it.Name); rec == nil || rec.Fingerprint != reconcile.RoleFingerprint(live.Roles["local"][it.Name]) {
						t.Errorf("ledger role %s: %+v", it.Name, rec)
					}
				case recovery.KindCluster:
					if led.ClusterUUID(it.Target) != it.Name {
						t.Errorf("ledger uuid of %s: %s; want %s", it.Target, led.ClusterUUID(it.Target), it.Name)
					}
				}
			}
			if len(led.KeyConnections()) != count(res.Recovered, recovery.KindKey) || len(led.Aliases("local")) != count(res.Recovered, recovery.KindAlias) ||
				len(led.Roles("local")) != count(res.Recovered, recovery.KindRole) {
				t.Errorf("the ledger holds more than was recovered: keys %v, aliases %v, roles %v; recovered %+v", led.KeyConnections(), led.Aliases("local"), led.Roles("local"), res.Recovered)
			}
		})
	}
}

func count(items []recovery.Item, kind string) int {
	n := 0
	for _, it := range items {
		if it.Kind == kind {
			n++
		}
	}
	return n
}
