package reconcile

// The failures of issue 15 ("a temporary fault deletes roles", "another
// setup's key is invalidated", "a hand-made alias or role is taken over",
// "the wrong cluster is written", and the five of point 5), each driven
// against the simulated world. Every test here failed on 344d4aa.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// roleOn reports whether cluster holds a role of that name.
func roleOn(tw *testWorld, cluster, role string) bool {
	_, ok := tw.srv.World.State()[cluster].Roles[role]
	return ok
}

// requested reports whether the sim received "METHOD path" for target
// since the last reset (path may end in * for a prefix).
func requested(tw *testWorld, target, method, path string) bool {
	for _, r := range tw.srv.Log() {
		if r.Target != target || r.Method != method {
			continue
		}
		if p, ok := strings.CutSuffix(path, "*"); ok && strings.HasPrefix(r.Path, p) || r.Path == path {
			return true
		}
	}
	return false
}

func findingCodes(c drift.Connection) []string {
	var out []string
	for _, f := range c.Findings {
		out = append(out, f.Code)
	}
	return out
}

func anyRemoved(rep *drift.Report) bool {
	for _, c := range rep.Connections {
		if slices.Contains(findingCodes(c), "connection_removed") {
			return true
		}
	}
	return false
}

// handMadeKeyConn is a connection whose key was made by hand and whose
// secret comes from an environment variable.
const handMadeKeyConn = `apiVersion: esremote/v1
kind: Connection
name: analytics-to-ece-logs
local: ech-analytics
alias: ece-prod-logs
remote:
  cluster: ece-prod-logs
security: api_key
api_key:
  managed: false
  credentials: {env: HANDMADE_KEY}
settings:
  skip_unavailable: true
roles:
  - name: logs-remote-reader
    remote_indices: [{names: ["logs-*"], privileges: [read]}]
`

// Failure 1: after a good apply, a temporary fault (the remote's GET /
// answering 503, the ECE control plane answering 503, an {env:} secret
// unset), also under policy: report, must not delete the connection's
// role nor report the connection as gone.
func TestFaultKeepsRoles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		conn   string
		policy string
		fault  func(tw *testWorld)
	}{
		{name: "remote GET / 503", conn: apiKeyConn, fault: func(tw *testWorld) {
			tw.srv.Fault(sim.Fault{Target: "ece-prod-logs", Method: "GET", Path: "/", Kind: sim.FaultStatus, Status: 503})
		}},
		{name: "ECE control plane 503", conn: apiKeyConn, fault: func(tw *testWorld) {
			tw.srv.Fault(sim.Fault{Target: "ece", Kind: sim.FaultStatus, Status: 503})
		}},
		{name: "env secret unset", conn: handMadeKeyConn, fault: func(tw *testWorld) { delete(tw.env, "HANDMADE_KEY") }},
		{name: "policy report, remote 503", conn: apiKeyConn, policy: "report", fault: func(tw *testWorld) {
			tw.srv.Fault(sim.Fault{Target: "ece-prod-logs", Method: "GET", Path: "/", Kind: sim.FaultStatus, Status: 503})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tw := newTestWorld(t, sim.DefaultWorld())
			tw.fast("its subject is not the platform's delays: the keystore load delay is TestRotationByProofWithKeystoreReloadDelay's subject, the 10 s connect wait per settings PUT toward an address that answers nothing TestSettingsPutConnectWaitNeitherMisreportsNorWritesTwice's")
			if tc.conn == handMadeKeyConn {
				_, encoded, err := tw.srv.World.CreateCrossClusterKey("ece-prod-logs", "by-hand", `{"search":[{"names":["logs-*"]}]}`, 0)
				if err != nil {
					t.Fatal(err)
				}
				tw.env["HANDMADE_KEY"] = encoded
			}
			tw.write("conn.yaml", tc.conn)
			tw.pass(ModeApply)
			if !roleOn(tw, "ech-analytics", "logs-remote-reader") {
				t.Fatal("the first apply did not write the role")
			}
			if tc.policy != "" {
				tw.write("conn.yaml", strings.Replace(tc.conn, "settings:\n", "policy: "+tc.policy+"\nsettings:\n", 1))
			}
			tc.fault(tw)
			// apply, then a daemon pass (the daemon's passes are the same
			// Pass, in ModeRun), as on every outage.
			for _, mode := range []Mode{ModeApply, ModeRun} {
				tw.srv.World.ResetLog()
				rep := tw.pass(mode).Report(drift.TriggerApply, "")
				if !roleOn(tw, "ech-analytics", "logs-remote-reader") || requested(tw, "ech-analytics", "DELETE", "/_security/role/*") {
					t.Errorf("%s: the role was deleted during a temporary fault", mode)
				}
				if anyRemoved(rep) {
					t.Errorf("%s: the report says the connection left the specs: %+v", mode, rep.Connections)
				}
			}
		})
	}
}

// twoSetupWorld has two ECH deployments that can each be the local end
// of a managed-key link to the ECE deployment.
func twoSetupWorld(t *testing.T) *sim.World {
	w, err := sim.NewWorld(sim.WorldSpec{
		ControlPlanes: map[string]sim.ControlPlaneSpec{sim.PlatformECH: {}, sim.PlatformECE: {}},
		Clusters: []sim.ClusterSpec{
			{Name: "ech-analytics", Version: "8.19.3", Platform: sim.PlatformECH},
			{Name: "ech-second", Version: "8.19.3", Platform: sim.PlatformECH},
			{Name: "ece-prod-logs", Version: "8.19.3", Platform: sim.PlatformECE, Indices: []string{"logs-app"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// Failure 2: two independent setups (own specs, own state dirs) both with
// a Connection named logs to the same remote must not invalidate each
// other's keys as orphans.
func TestOtherInstallationKeysLeftAlone(t *testing.T) {
	tw := newTestWorld(t, twoSetupWorld(t))
	tw.fast("asserts the link connected by the apply that wrote its key; the platform's keystore load delay is the subject of TestRotationByProofWithKeystoreReloadDelay and TestKeystoreLoadingIsReportedAsLoading")
	conn := func(local string) string {
		return strings.NewReplacer("name: analytics-to-ece-logs", "name: logs", "local: ech-analytics", "local: "+local).Replace(apiKeyConn)
	}
	dirB, stateB := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(dirB, "clusters.yaml"), []byte(mustRead(t, filepath.Join(tw.dir, "clusters.yaml"))), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirB, "conn.yaml"), []byte(conn("ech-second")), 0o644); err != nil {
		t.Fatal(err)
	}
	tw.write("conn.yaml", conn("ech-analytics"))
	rB, err := New(Options{StateDir: stateB, Getenv: func(k string) string { return tw.env[k] }, VerifyTimeout: 500e6, VerifyInterval: 10e6})
	if err != nil {
		t.Fatal(err)
	}
	var reps [2]*drift.Report
	for range 3 {
		reps[0] = tw.pass(ModeApply).Report(drift.TriggerApply, "")
		res, err := rB.Pass(t.Context(), loadDir(t, dirB), ModeApply, "")
		if err != nil {
			t.Fatal(err)
		}
		reps[1] = res.Report(drift.TriggerApply, "")
	}
	active := 0
	for _, k := range tw.srv.World.State()["ece-prod-logs"].APIKeys {
		if k.Name == "esremote-logs" && k.Active {
			active++
		}
	}
	if active != 2 {
		t.Errorf("%d active esremote-logs keys on the remote, want 2 (one per setup)", active)
	}
	for i, local := range []string{"ech-analytics", "ech-second"} {
		if !tw.srv.World.LinkStatus(local, "ece-prod-logs").Connected {
			t.Errorf("setup %d: the link of %s died", i, local)
		}
		c := findConn(t, reps[i], "logs")
		if c.Sync != drift.SyncInSync || !slices.Contains(findingCodes(c), CodeForeignKey) {
			t.Errorf("setup %d: %s, findings %v; want in_sync with a %s finding naming the other setup's key", i, c.Sync, findingCodes(c), CodeForeignKey)
		}
	}
}

// Failure 3: an alias, keystore entry or role that exists but was made by
// hand is never overwritten when a spec names it, and never deleted when
// that spec is removed.
func TestHandMadeObjectsNotTakenOver(t *testing.T) {
	t.Run("alias and keystore", func(t *testing.T) {
		tw := newTestWorld(t, sim.DefaultWorld())
		tw.fast("its subject is not the platform's delays: the keystore load delay is TestRotationByProofWithKeystoreReloadDelay's subject, the 10 s connect wait per settings PUT toward an address that answers nothing TestSettingsPutConnectWaitNeitherMisreportsNorWritesTwice's")
		w := tw.srv.World
		ece, _ := w.Cluster("ece-prod-logs")
		for k, v := range map[string]string{"mode": "proxy", "proxy_address": ece.Endpoint + ":9443", "server_name": ece.Endpoint, "skip_unavailable": "false"} {
			if err := w.SetSetting("ech-analytics", "persistent", "cluster.remote.ece-prod-logs."+k, v); err != nil {
				t.Fatal(err)
			}
		}
		_, encoded, err := w.CreateCrossClusterKey("ece-prod-logs", "made-by-hand", `{"search":[{"names":["logs-*"]}]}`, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.SetKeystore("ech-analytics", "cluster.remote.ece-prod-logs.credentials", encoded); err != nil {
			t.Fatal(err)
		}
		before, _ := tw.srv.World.Settings("ech-analytics", "persistent")
		tw.write("conn.yaml", apiKeyConn) // alias ece-prod-logs exists, made by hand
		tw.srv.World.ResetLog()
		rep := tw.pass(ModeApply).Report(drift.TriggerApply, "")
		c := findConn(t, rep, "analytics-to-ece-logs")
		if c.Sync != drift.SyncFailed || !slices.Contains(findingCodes(c), CodeConflict) {
			t.Errorf("apply: %s %v; want failed with a conflict finding", c.Sync, findingCodes(c))
		}
		// Nothing of the connection is written: not its settings, key or
		// keystore, and not its role either (issue 22 point 5: the role
		// was created although the report said "nothing of this
		// connection is written").
		if w := tw.writes(); len(w) > 0 {
			t.Errorf("a connection refused as a conflict was written: %v", w)
		}
		if roleOn(tw, "ech-analytics", "logs-remote-reader") {
			t.Error("the role of a connection refused as a conflict was created")
		}
		ks, _ := tw.srv.World.Keystore("ech-analytics")
		if ks["cluster.remote.ece-prod-logs.credentials"] != encoded {
			t.Error("the hand-made keystore entry was replaced")
		}
		tw.remove("conn.yaml")
		tw.pass(ModeApply)
		after, _ := tw.srv.World.Settings("ech-analytics", "persistent")
		for k, v := range before {
			if strings.HasPrefix(k, "cluster.remote.ece-prod-logs.") && after[k] == nil {
				t.Errorf("removing the spec deleted the hand-made %s (was %v)", k, v)
			}
		}
	})
	t.Run("certificate link", func(t *testing.T) {
		// A certificate link whose alias was made by hand: its trust is
		// not written on either deployment (it was, before the cluster
		// was even observed).
		tw := newTestWorld(t, sim.DefaultWorld())
		tw.fast("its subject is not the platform's delays: the keystore load delay is TestRotationByProofWithKeystoreReloadDelay's subject, the 10 s connect wait per settings PUT toward an address that answers nothing TestSettingsPutConnectWaitNeitherMisreportsNorWritesTwice's")
		w := tw.srv.World
		if err := w.SetSetting("ech-analytics", "persistent", "cluster.remote.ece-prod-logs.mode", "sniff"); err != nil {
			t.Fatal(err)
		}
		if err := w.SetSetting("ech-analytics", "persistent", "cluster.remote.ece-prod-logs.seeds", "10.0.0.1:9300"); err != nil {
			t.Fatal(err)
		}
		tw.write("conn.yaml", certConn)
		tw.srv.World.ResetLog()
		rep := tw.pass(ModeApply).Report(drift.TriggerApply, "")
		c := findConn(t, rep, "analytics-to-logs-cert")
		if c.Sync != drift.SyncFailed || !slices.Contains(findingCodes(c), CodeConflict) {
			t.Errorf("apply: %s %v; want failed with a conflict finding", c.Sync, findingCodes(c))
		}
		if w := tw.writes(); len(w) > 0 {
			t.Errorf("a certificate link refused as a conflict was written: %v", w)
		}
		if n := len(trustChanges(c)); n == 0 {
			t.Error("the refused link's trust changes are not shown")
		}
		for _, ch := range trustChanges(c) {
			if ch.Applied || ch.Error == "" {
				t.Errorf("trust change of a refused link: applied %v error %q", ch.Applied, ch.Error)
			}
		}
	})
	t.Run("role", func(t *testing.T) {
		tw := newTestWorld(t, sim.DefaultWorld())
		tw.fast("its subject is not the platform's delays: the keystore load delay is TestRotationByProofWithKeystoreReloadDelay's subject, the 10 s connect wait per settings PUT toward an address that answers nothing TestSettingsPutConnectWaitNeitherMisreportsNorWritesTwice's")
		body := []byte(`{"cluster":["monitor"],"metadata":{"owner":"ops"}}`)
		if err := tw.srv.World.PutRole("ech-analytics", "logs-remote-reader", body); err != nil {
			t.Fatal(err)
		}
		tw.write("conn.yaml", apiKeyConn)
		tw.srv.World.ResetLog()
		rep := tw.pass(ModeApply).Report(drift.TriggerApply, "")
		if requested(tw, "ech-analytics", "PUT", "/_security/role/logs-remote-reader") || requested(tw, "ech-analytics", "POST", "/_security/role/logs-remote-reader") {
			t.Error("the hand-made role was overwritten")
		}
		if c := findConn(t, rep, "analytics-to-ece-logs"); !slices.Contains(findingCodes(c), CodeConflict) || c.Sync != drift.SyncFailed {
			t.Errorf("apply: %s %v; want failed with a conflict finding", c.Sync, findingCodes(c))
		}
		tw.remove("conn.yaml")
		tw.pass(ModeApply)
		if !roleOn(tw, "ech-analytics", "logs-remote-reader") {
			t.Error("removing the spec deleted the hand-made role")
		}
	})
}

// Failure 4: a Cluster whose url now reaches another cluster (holding the
// same alias, as a restored snapshot would) gets no writes, and two
// Cluster documents for one cluster get none either.
func TestWrongClusterNotWritten(t *testing.T) {
	t.Run("url moved to another cluster", func(t *testing.T) {
		tw := newTestWorld(t, sim.DefaultWorld())
		tw.write("conn.yaml", proxyConn)
		tw.pass(ModeApply)
		// The same alias, by hand, on onprem-search; then ech-analytics's
		// url is pointed there and the connection removed.
		live, _ := tw.srv.World.Settings("ech-analytics", "persistent")
		for k, v := range live {
			if strings.HasPrefix(k, "cluster.remote.onprem.") {
				if err := tw.srv.World.SetSetting("onprem-search", "persistent", k, v); err != nil {
					t.Fatal(err)
				}
			}
		}
		clusters := mustRead(t, filepath.Join(tw.dir, "clusters.yaml"))
		tw.write("clusters.yaml", strings.Replace(clusters, tw.srv.ClusterURL("ech-analytics"), tw.srv.ClusterURL("onprem-search"), 1))
		// onprem-search needs ech-analytics's credentials in this test's
		// env: it uses basic auth of its own, so point the password too.
		_, pw := tw.srv.BasicAuth("onprem-search")
		tw.env["ES_PASSWORD_ECH_ANALYTICS"] = pw
		user, _ := tw.srv.BasicAuth("onprem-search")
		tw.write("clusters.yaml", strings.Replace(mustRead(t, filepath.Join(tw.dir, "clusters.yaml")), "username: "+mustUser(tw, "ech-analytics")+", password: {env: ES_PASSWORD_ECH_ANALYTICS}", "username: "+user+", password: {env: ES_PASSWORD_ECH_ANALYTICS}", 1))
		tw.remove("conn.yaml")
		tw.srv.World.ResetLog()
		rep := tw.pass(ModeApply).Report(drift.TriggerApply, "")
		if requested(tw, "onprem-search", "PUT", "/_cluster/settings") {
			t.Error("the other cluster's alias was written")
		}
		after, _ := tw.srv.World.Settings("onprem-search", "persistent")
		if after["cluster.remote.onprem.mode"] == nil {
			t.Error("the other cluster's hand-made alias was deleted")
		}
		if !strings.Contains(errorText(rep, "ech-analytics"), CodeIdentityChanged) {
			t.Errorf("no %s error: %+v", CodeIdentityChanged, rep.Errors)
		}
	})
	t.Run("two Cluster documents, one cluster", func(t *testing.T) {
		tw := newTestWorld(t, sim.DefaultWorld())
		clusters := mustRead(t, filepath.Join(tw.dir, "clusters.yaml"))
		i := strings.Index(clusters, "---\napiVersion: esremote/v1\nkind: Cluster\nname: onprem-search\n")
		doc := clusters[i:]
		if j := strings.Index(clusters[i+4:], "---\n"); j >= 0 {
			doc = clusters[i : i+4+j]
		}
		tw.write("clusters.yaml", clusters+strings.Replace(doc, "name: onprem-search", "name: onprem-copy", 1))
		link := strings.NewReplacer("local: ech-analytics", "local: onprem-search", "alias: onprem", "alias: hub").Replace(proxyConn)
		tw.write("conn.yaml", link+"---\n"+strings.NewReplacer("name: analytics-to-onprem", "name: copy-to-onprem", "local: onprem-search", "local: onprem-copy", "skip_unavailable: true", "skip_unavailable: false").Replace(link))
		tw.srv.World.ResetLog()
		rep := tw.pass(ModeApply).Report(drift.TriggerApply, "")
		if requested(tw, "onprem-search", "PUT", "/_cluster/settings") {
			t.Error("a cluster declared twice was written")
		}
		for _, name := range []string{"onprem-search", "onprem-copy"} {
			if !strings.Contains(errorText(rep, name), CodeDuplicateCluster) {
				t.Errorf("%s: no %s error: %+v", name, CodeDuplicateCluster, rep.Errors)
			}
		}
	})
}

func mustUser(tw *testWorld, name string) string {
	u, _ := tw.srv.BasicAuth(name)
	return u
}

// Failure 5a: removing a Connection together with its local Cluster
// invalidates the managed key on the remote, and what is left on the
// departed cluster is reported, not forgotten.
func TestRemovedWithLocalClusterInvalidatesKey(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.fast("its subject is not the platform's delays: the keystore load delay is TestRotationByProofWithKeystoreReloadDelay's subject, the 10 s connect wait per settings PUT toward an address that answers nothing TestSettingsPutConnectWaitNeitherMisreportsNorWritesTwice's")
	tw.write("conn.yaml", apiKeyConn)
	tw.pass(ModeApply)
	id := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID
	tw.remove("conn.yaml")
	clusters := mustRead(t, filepath.Join(tw.dir, "clusters.yaml"))
	i := strings.Index(clusters, "---\napiVersion: esremote/v1\nkind: Cluster\nname: ech-analytics\n")
	j := strings.Index(clusters[i+4:], "---\n")
	tw.write("clusters.yaml", clusters[:i]+clusters[i+4+j:])
	// Another cluster gets a write in the same pass, before the key's
	// invalidation.
	tw.write("onprem.yaml", `apiVersion: esremote/v1
kind: Connection
name: onprem-to-partner
local: onprem-search
alias: partner
remote: {proxy_address: "partner.example.com:9300", server_name: partner.example.com}
security: certificate
`)
	// The key's remote answers its identity read slowly: the pass still
	// writes nothing before that observation is in (it was started with
	// the others and not waited for, so under load it was answered after
	// the other cluster's PUT).
	if _, err := tw.srv.Fault(sim.Fault{Target: "ece-prod-logs", Method: "GET", Path: "/", Kind: sim.FaultLatency, Latency: 300 * time.Millisecond, Times: 1}); err != nil {
		t.Fatal(err)
	}
	tw.srv.World.ResetLog()
	rep := tw.pass(ModeApply).Report(drift.TriggerApply, "")
	// The remote was read with the pass's observations, not after its
	// first write, but for the invalidation's precondition, read right
	// before it (issue 22 point 3).
	log := tw.srv.Log()
	if first := slices.IndexFunc(log, func(r sim.Request) bool { return r.Method != "GET" }); first < 0 {
		t.Error("the key was not invalidated")
	} else {
		for _, r := range log[first:] {
			if r.Method == "GET" && !verification(r) && !precondition(r) {
				t.Errorf("an observation read after the first write: %s %s", r.Target, r.Endpoint)
			}
		}
	}
	for _, k := range tw.srv.World.State()["ece-prod-logs"].APIKeys {
		if k.ID == id && k.Active {
			t.Errorf("key %s of the removed connection is still active", id)
		}
	}
	if text := errorText(rep, "ech-analytics"); !strings.Contains(text, CodeUnreachableOwned) || !strings.Contains(text, "ece-prod-logs") {
		t.Errorf("no %s error naming the alias left on ech-analytics: %+v", CodeUnreachableOwned, rep.Errors)
	}
}

// Failure 5b: renaming an alias removes cluster.remote.<old>.credentials
// from the keystore.
func TestRenamedAliasRemovesOldKeystoreEntry(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("conn.yaml", apiKeyConn)
	tw.pass(ModeApply)
	tw.write("conn.yaml", strings.Replace(apiKeyConn, "alias: ece-prod-logs", "alias: logs", 1))
	rep := tw.pass(ModeApply).Report(drift.TriggerApply, "")
	ks, _ := tw.srv.World.Keystore("ech-analytics")
	if _, ok := ks["cluster.remote.ece-prod-logs.credentials"]; ok {
		t.Errorf("the old alias's keystore entry is still there: %v", slices.Sorted(mapsKeys(ks)))
	}
	if _, ok := ks["cluster.remote.logs.credentials"]; !ok {
		t.Errorf("the new alias has no keystore entry: %v", slices.Sorted(mapsKeys(ks)))
	}
	if c := findConn(t, rep, "analytics-to-ece-logs"); c.Sync != drift.SyncCorrected {
		t.Errorf("renamed link: %s %q", c.Sync, c.Error)
	}
	if led := tw.reconciler(true).Ledger(); led.Keystore("ech-analytics", "cluster.remote.ece-prod-logs.credentials") != nil {
		t.Error("the ledger still records the old entry")
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// failingStore is a FileStore whose saves fail once full is set (a full
// disk).
type failingStore struct {
	FileStore
	full *atomic.Bool
}

func (s failingStore) Save(b []byte) error {
	if s.full.Load() {
		return errors.New("write ledger.json: no space left on device")
	}
	return s.FileStore.Save(b)
}

// Failure 5c: with the state dir full, no role is written without its
// ownership record (and no key created, no settings put).
func TestFullStateDirWritesNothing(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("conn.yaml", apiKeyConn)
	full := &atomic.Bool{}
	r, err := New(Options{Store: failingStore{FileStore{Dir: tw.state}, full}, Getenv: func(k string) string { return tw.env[k] },
		VerifyTimeout: 500e6, VerifyInterval: 10e6})
	if err != nil {
		t.Fatal(err)
	}
	full.Store(true)
	tw.srv.World.ResetLog()
	res, err := r.Pass(t.Context(), tw.load(), ModeApply, "")
	if err != nil {
		t.Fatal(err)
	}
	if w := tw.writes(); len(w) != 0 {
		t.Errorf("requests sent without their ledger records: %v", w)
	}
	if c := findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs"); c.Sync == drift.SyncCorrected {
		t.Errorf("reported %s although nothing could be recorded", c.Sync)
	}
	// The role alone: the link exists, only the role is new.
	full.Store(false)
	tw.write("conn.yaml", strings.Replace(apiKeyConn, "roles:\n  - name: logs-remote-reader", "roles:\n  - name: other-reader", 1))
	r.Pass(t.Context(), tw.load(), ModeApply, "")
	tw.write("conn.yaml", apiKeyConn)
	full.Store(true)
	tw.srv.World.ResetLog()
	r.Pass(t.Context(), tw.load(), ModeApply, "")
	if roleOn(tw, "ech-analytics", "logs-remote-reader") {
		t.Error("a role was written without its ownership record")
	}
}

// Failure 5d: proxy_address naming the derived endpoint next to
// remote.cluster keeps the server_name (the ECH/ECE proxy routes by it).
func TestProxyAddressOfEndpointKeepsServerName(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.fast("asserts the link connected by the apply that wrote its key; the platform's keystore load delay is the subject of TestRotationByProofWithKeystoreReloadDelay and TestKeystoreLoadingIsReportedAsLoading")
	ece, _ := tw.srv.World.Cluster("ece-prod-logs")
	tw.write("conn.yaml", strings.Replace(apiKeyConn, "  cluster: ece-prod-logs\n", "  cluster: ece-prod-logs\n  proxy_address: \""+ece.Endpoint+":9443\"\n", 1))
	rep := tw.pass(ModeApply).Report(drift.TriggerApply, "")
	live, _ := tw.srv.World.Settings("ech-analytics", "persistent")
	if live["cluster.remote.ece-prod-logs.server_name"] != ece.Endpoint {
		t.Errorf("server_name = %v, want %s", live["cluster.remote.ece-prod-logs.server_name"], ece.Endpoint)
	}
	if c := findConn(t, rep, "analytics-to-ece-logs"); c.Health != drift.HealthConnected {
		t.Errorf("link %s", c.Health)
	}
}

// Failure 5f: after a keystore write answered 409, the diagnosis names
// the key the keystore still holds, not the new key that never got there.
func TestKeystoreConflictDiagnosisNamesHeldKey(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("conn.yaml", apiKeyConn)
	tw.pass(ModeApply)
	old := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID
	if err := tw.srv.World.InvalidateKey("ece-prod-logs", old); err != nil {
		t.Fatal(err)
	}
	tw.srv.Fault(sim.Fault{Target: "ech", Method: "PATCH", Path: "/api/v1/deployments/*/elasticsearch/*/keystore", Kind: sim.FaultStatus, Status: 409})
	rep := tw.pass(ModeApply).Report(drift.TriggerApply, "")
	c := findConn(t, rep, "analytics-to-ece-logs")
	for _, f := range c.Findings {
		if f.Code == CodeDisconnected && strings.Contains(f.Message, "does not exist") {
			t.Errorf("the diagnosis blames the undelivered key: %s", f.Message)
		}
	}
	if got := tw.reconciler(true).ManagedKeyID("analytics-to-ece-logs"); got != old {
		t.Errorf("ManagedKeyID = %q, want the key the keystore holds (%s)", got, old)
	}
}

// Failure 1, certificate model: with the ECE control plane answering 503,
// the trust esremote wrote on the ECH side for the link is kept.
func TestFaultKeepsTrust(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("conn.yaml", certConn)
	tw.pass(ModeApply)
	before, err := tw.srv.World.Trust("ech-analytics")
	if err != nil {
		t.Fatal(err)
	}
	tw.srv.Fault(sim.Fault{Target: "ece", Kind: sim.FaultStatus, Status: 503})
	tw.srv.World.ResetLog()
	rep := tw.pass(ModeApply).Report(drift.TriggerApply, "")
	after, _ := tw.srv.World.Trust("ech-analytics")
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("trust changed during a control-plane fault:\nbefore %+v\nafter  %+v", before, after)
	}
	if anyRemoved(rep) {
		t.Errorf("the report says the connection left the specs")
	}
}
