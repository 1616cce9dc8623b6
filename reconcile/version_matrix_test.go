package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// versionMatrix is a release of each behaviour the sim distinguishes (its
// version rules, docs/sim.md "Versions"), oldest to newest: the API key
// model's GA (8.14.0); skip_unavailable true and remote_cluster (8.15);
// the last release reporting a refusal as connected:true (8.16.2); a
// fail-fast one (8.16.4); 8.17.0 (connected:true again, no fail fast);
// 8.17.2 (fail fast); 8.17.4 (the revert); 8.18.0 (?timeout=, the form
// without an expression); 8.19.3 (the default); 9.0.0; 9.3.0 (reload
// keystore details) and the newest, 9.4.2.
var versionMatrix = []string{"8.14.0", "8.15.5", "8.16.2", "8.16.4", "8.17.0", "8.17.2", "8.17.4", "8.18.0", "8.19.3", "9.0.0", "9.3.0", "9.4.2"}

// failsFast are the matrix's releases whose _resolve/cluster fails fast on
// a connection that is down (sim: resolveFailFast).
var failsFast = map[string]bool{"8.16.4": true, "8.17.2": true}

// The flagship scenario's first apply (a managed cross-cluster key from
// an ECE deployment to an ECH deployment, its keystore entry, the alias
// and a role with remote_indices) against worlds whose clusters run each
// release of versionMatrix, 8.14.0 to 9.4.2: the link comes up, with the
// writes it needs, and a second plan finds nothing to do.
func TestFlagshipFirstApplyAcrossVersions(t *testing.T) {
	for _, v := range versionMatrix {
		t.Run(v, func(t *testing.T) {
			w, err := sim.NewWorld(sim.WorldSpec{
				ControlPlanes: map[string]sim.ControlPlaneSpec{sim.PlatformECH: {}, sim.PlatformECE: {}},
				Clusters: []sim.ClusterSpec{
					{Name: "ech-analytics", Version: v, Platform: sim.PlatformECH, Indices: []string{"analytics-2026.11"}},
					{Name: "ece-prod-logs", Version: v, Platform: sim.PlatformECE, Indices: []string{"logs-app-2026.11.25", "archive-2025"}},
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			tw := newTestWorld(t, w)
			tw.fast("the first apply is judged on every release of versionMatrix and the platform's delay does not depend on the release; TestAPIKeyLinkEndToEnd runs the first apply with the delays users get")
			tw.write("conn.yaml", apiKeyConn)
			c := findConn(t, tw.pass(ModeApply).Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
			if c.Sync != drift.SyncCorrected || c.Health != drift.HealthConnected {
				t.Fatalf("first apply on %s: sync %s health %s error %q\nchanges %+v\nfindings %+v\nevidence %+v", v, c.Sync, c.Health, c.Error, c.Changes, c.Findings, c.Evidence)
			}
			if st := w.LinkStatus("ech-analytics", "ece-prod-logs"); !st.Connected || !st.Authorized {
				t.Errorf("the sim says the link is not up on %s: %+v", v, st)
			}
			writes := strings.Join(tw.writes(), "\n")
			for _, want := range []string{
				"POST ece-prod-logs /_security/cross_cluster/api_key",
				"PATCH ech ",
				"PUT ech-analytics /_cluster/settings",
				"PUT ech-analytics /_security/role/logs-remote-reader",
			} {
				if !strings.Contains(writes, want) {
					t.Errorf("first apply on %s did not write %q; writes:\n%s", v, want, writes)
				}
			}
			tw.srv.World.ResetLog()
			rep := tw.pass(ModePlan).Report(drift.TriggerPlan, "")
			if n := rep.PendingChanges(); n != 0 {
				t.Errorf("second plan on %s: %d changes: %+v", v, n, findConn(t, rep, "analytics-to-ece-logs").Changes)
			}
			if got := tw.writes(); len(got) != 0 {
				t.Errorf("plan on %s wrote %v", v, got)
			}
		})
	}
}

// flagshipWorld is the flagship pair (ech-analytics → ece-prod-logs) with
// both clusters on version v, on a clock tests can move.
func flagshipWorld(t *testing.T, v string) (*testWorld, *clockOffset) {
	t.Helper()
	w, err := sim.NewWorld(sim.WorldSpec{
		ControlPlanes: map[string]sim.ControlPlaneSpec{sim.PlatformECH: {}, sim.PlatformECE: {}},
		Clusters: []sim.ClusterSpec{
			{Name: "ech-analytics", Version: v, Platform: sim.PlatformECH, Indices: []string{"analytics-2026.11"}},
			{Name: "ece-prod-logs", Version: v, Platform: sim.PlatformECE, Indices: []string{"logs-app-2026.11.25"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	clock := &clockOffset{}
	w.Now = clock.Now
	tw := newTestWorld(t, w)
	tw.fast("runs the flagship on every release of versionMatrix; the platform's keystore load delay is the subject of TestRotationByProofWithKeystoreReloadDelay and TestKeystoreLoadingIsReportedAsLoading")
	tw.write("conn.yaml", apiKeyConn)
	return tw, clock
}

// External drift (skip_unavailable and the role edited by hand) and a
// rotation due by expiry, on each release of versionMatrix: the drift is corrected and the
// rotation replaces the key, the link connected after each pass (rotating
// through the rotation's proof window, until a pass after it ends it).
func TestFlagshipDriftAndRotationAcrossVersions(t *testing.T) {
	for _, v := range versionMatrix {
		t.Run(v, func(t *testing.T) {
			tw, clock := flagshipWorld(t, v)
			pass := func(step string) drift.Connection {
				t.Helper()
				res, err := clock.rec(tw).Pass(context.Background(), tw.load(), ModeApply, "")
				if err != nil {
					t.Fatal(err)
				}
				c := findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
				want := drift.HealthConnected
				if step == "rotation" {
					want = drift.HealthRotating // the old key stays valid over the proof window
				}
				if c.Health != want || c.Sync == drift.SyncFailed {
					t.Fatalf("%s on %s: sync %s health %s error %q\nchanges %+v\nevidence %+v", step, v, c.Sync, c.Health, c.Error, c.Changes, c.Evidence)
				}
				return c
			}
			pass("first apply")
			w := tw.srv.World
			if err := w.SetSetting("ech-analytics", "persistent", "cluster.remote.ece-prod-logs.skip_unavailable", "false"); err != nil {
				t.Fatal(err)
			}
			if err := w.PutRole("ech-analytics", "logs-remote-reader", []byte(`{"cluster":["all"]}`)); err != nil {
				t.Fatal(err)
			}
			if c := pass("external drift"); c.Sync != drift.SyncCorrected {
				t.Errorf("external drift on %s: sync %s, changes %+v", v, c.Sync, c.Changes)
			}
			if s, _ := w.Settings("ech-analytics", "persistent"); s["cluster.remote.ece-prod-logs.skip_unavailable"] != "true" {
				t.Errorf("skip_unavailable not corrected on %s: %v", v, s["cluster.remote.ece-prod-logs.skip_unavailable"])
			}
			oldID := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID
			clock.Add(80 * 24 * time.Hour) // within rotate_before (14d) of the 90d expiry
			pass("rotation")
			clock.Add(DefaultRotationOverlap + time.Minute) // the new key proven over the window
			pass("rotation end")
			newID := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID
			if ids := activeManagedKeys(t, tw); newID == oldID || len(ids) != 1 || ids[0] != newID {
				t.Errorf("rotation on %s: key %s → %s, valid keys %v", v, oldID, newID, ids)
			}
		})
	}
}

// The remote goes down and comes back, on each release of versionMatrix: while it is down
// the link is reported disconnected and nothing is replaced; once it is
// back, a pass finds it connected again with the same key.
func TestFlagshipRemoteDownAcrossVersions(t *testing.T) {
	for _, v := range versionMatrix {
		t.Run(v, func(t *testing.T) {
			tw, clock := flagshipWorld(t, v)
			pass := func(mode Mode) drift.Connection {
				t.Helper()
				res, err := clock.rec(tw).Pass(context.Background(), tw.load(), mode, "")
				if err != nil {
					t.Fatal(err)
				}
				return findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
			}
			if c := pass(ModeApply); c.Health != drift.HealthConnected {
				t.Fatalf("first apply on %s: %s %+v", v, c.Health, c.Evidence)
			}
			keyID := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID
			if err := tw.srv.World.SetClusterDown("ece-prod-logs", true); err != nil {
				t.Fatal(err)
			}
			tw.srv.World.ResetLog()
			if c := pass(ModeApply); c.Health != drift.HealthDisconnected {
				t.Errorf("remote down on %s: health %s, evidence %+v", v, c.Health, c.Evidence)
			}
			for _, wr := range tw.writes() {
				if strings.Contains(wr, "api_key") || strings.HasPrefix(wr, "PATCH") {
					t.Errorf("remote down on %s: the pass wrote %s", v, wr)
				}
			}
			if err := tw.srv.World.SetClusterDown("ece-prod-logs", false); err != nil {
				t.Fatal(err)
			}
			if c := pass(ModeApply); c.Health != drift.HealthConnected {
				t.Errorf("remote back on %s: health %s, evidence %+v", v, c.Health, c.Evidence)
			}
			if got := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID; got != keyID {
				t.Errorf("the outage on %s replaced the key %s with %s", v, keyID, got)
			}
		})
	}
}

// A wrong key written into the keystore by hand (another valid key of the
// remote) is reported unauthorized on every version, including those whose
// _resolve/cluster reports the refusal as connected:true (8.16.2 and
// 8.17.0), where only the error tells (issue 23, "Done when" 2).
func TestWrongKeyReportedUnauthorizedAcrossVersions(t *testing.T) {
	// The engine still reads a connected:true entry as connected whatever
	// its error says: on the releases that report a refusal that way it
	// calls the wrong key connected.
	for _, v := range versionMatrix {
		t.Run(v, func(t *testing.T) {
			w, err := sim.NewWorld(sim.WorldSpec{
				ControlPlanes: map[string]sim.ControlPlaneSpec{sim.PlatformECH: {}, sim.PlatformECE: {}},
				Clusters: []sim.ClusterSpec{
					{Name: "ech-analytics", Version: v, Platform: sim.PlatformECH, Indices: []string{"analytics-2026.11"}},
					{Name: "ece-prod-logs", Version: v, Platform: sim.PlatformECE, Indices: []string{"logs-app-2026.11.25"}},
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			clock := &clockOffset{}
			w.Now = clock.Now
			tw := newTestWorld(t, w)
			tw.fast("its subject is not the platform's delays: the keystore load delay is TestRotationByProofWithKeystoreReloadDelay's subject, the 10 s connect wait per settings PUT toward an address that answers nothing TestSettingsPutConnectWaitNeitherMisreportsNorWritesTwice's")
			tw.write("conn.yaml", apiKeyConn)
			if _, err := clock.rec(tw).Pass(context.Background(), tw.load(), ModeApply, ""); err != nil {
				t.Fatal(err)
			}
			_, wrong, err := w.CreateCrossClusterKey("ece-prod-logs", "by-hand", `{"search":[{"names":["logs-*"]}]}`, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.SetKeystore("ech-analytics", "cluster.remote.ece-prod-logs.credentials", wrong); err != nil {
				t.Fatal(err)
			}
			clock.Add(10 * time.Minute) // past the keystore grace of esremote's own write
			res, err := clock.rec(tw).Pass(context.Background(), tw.load(), ModePlan, "")
			if err != nil {
				t.Fatal(err)
			}
			c := findConn(t, res.Report(drift.TriggerPlan, ""), "analytics-to-ece-logs")
			if c.Health != drift.HealthUnauthorized {
				t.Errorf("a wrong key by hand on %s: health %s, evidence %+v; want unauthorized", v, c.Health, c.Evidence)
			}
		})
	}
}

// searchThrough searches the alias through node i of ech-analytics (the
// sim's NodeHeader) and reports whether the remote answered: with
// skip_unavailable a refused remote is a skipped one, not an error.
func searchThrough(t *testing.T, tw *testWorld, i int) bool {
	t.Helper()
	req, _ := http.NewRequest("POST", tw.srv.ClusterURL("ech-analytics")+"/ece-prod-logs:logs-*/_search?size=0", nil)
	req.Header.Set("Authorization", "ApiKey "+tw.srv.AdminAPIKey("ech-analytics"))
	req.Header.Set(sim.NodeHeader, fmt.Sprint(i))
	resp, err := tw.srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Clusters struct{ Skipped, Failed int } `json:"_clusters"`
	}
	b, _ := io.ReadAll(resp.Body)
	return json.Unmarshal(b, &body) == nil && resp.StatusCode == 200 && body.Clusters.Skipped+body.Clusters.Failed == 0
}

// A rotation on a deployment whose three nodes load a keystore change 1 s,
// 40 s and 4 min after the PATCH: a search through each node, at each
// node's own load time and between, never fails, and the old key is
// invalidated only once every node has loaded the new one and the proof
// window (15 min) has passed (issue 23, "Done when" 3).
func TestRotationOnThreeNodesWaitsForEveryNode(t *testing.T) {
	delays := []time.Duration{time.Second, 40 * time.Second, 4 * time.Minute}
	w, err := sim.NewWorld(sim.WorldSpec{
		ControlPlanes: map[string]sim.ControlPlaneSpec{sim.PlatformECH: {}, sim.PlatformECE: {}},
		Clusters: []sim.ClusterSpec{
			{Name: "ech-analytics", Version: "9.4.2", Platform: sim.PlatformECH, Indices: []string{"analytics-2026.11"},
				KeystoreLoadDelays: []string{"1s", "40s", "4m"}},
			{Name: "ece-prod-logs", Version: "9.4.2", Platform: sim.PlatformECE, Indices: []string{"logs-app-2026.11.25"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	clock := &clockOffset{}
	w.Now = clock.Now
	tw := newTestWorld(t, w)
	tw.write("conn.yaml", apiKeyConn)
	pass := func() drift.Connection {
		t.Helper()
		res, err := clock.rec(tw).Pass(context.Background(), tw.load(), ModeApply, "")
		if err != nil {
			t.Fatal(err)
		}
		return findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
	}
	pass()
	clock.Add(10 * time.Minute) // every node has loaded the first key
	if c := pass(); c.Health != drift.HealthConnected {
		t.Fatalf("setup: %s %+v", c.Health, c.Evidence)
	}
	oldID := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID

	clock.Add(80 * 24 * time.Hour) // within rotate_before (14d) of the 90d expiry
	tw.srv.World.ResetLog()
	pass()
	var patched time.Time
	for _, r := range tw.srv.Log() {
		if r.Method == "PATCH" {
			patched = r.Time
			break
		}
	}
	if patched.IsZero() {
		t.Fatal("the rotation wrote no keystore PATCH")
	}
	for _, at := range []time.Duration{1500 * time.Millisecond, 30 * time.Second, 41 * time.Second, 3 * time.Minute, 4*time.Minute + time.Second, 5 * time.Minute} {
		if d := patched.Add(at).Sub(clock.Now()); d > 0 {
			clock.Add(d)
		}
		for i := range delays {
			if !searchThrough(t, tw, i) {
				t.Errorf("%s after the PATCH a search through node %d (loads at %s) failed", at, i, delays[i])
			}
		}
		if c := pass(); c.Sync == drift.SyncFailed {
			t.Fatalf("pass %s after the PATCH: %s", at, c.Error)
		}
		if !contains(activeManagedKeys(t, tw), oldID) {
			t.Fatalf("the old key was invalidated %s after the PATCH, before the proof window ended", at)
		}
	}
	clock.Add(16 * time.Minute) // past the proof window
	pass()
	newID := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID
	if ids := activeManagedKeys(t, tw); newID == oldID || len(ids) != 1 || ids[0] != newID {
		t.Errorf("after the window: valid keys %v, want only the new %s (old %s)", ids, newID, oldID)
	}
	for i := range delays {
		if !searchThrough(t, tw, i) {
			t.Errorf("after the rotation a search through node %d failed", i)
		}
	}
}

// A deployment that loads keystore changes 7 minutes after the PATCH,
// longer than the fixed 5-minute grace: passes every minute bring the
// link up once, with one key made and one PATCH (issue 23, "Done when" 4).
func TestSlowKeystoreLoadMakesOneKey(t *testing.T) {
	w, err := sim.NewWorld(sim.WorldSpec{
		ControlPlanes: map[string]sim.ControlPlaneSpec{sim.PlatformECH: {}, sim.PlatformECE: {}},
		Clusters: []sim.ClusterSpec{
			{Name: "ech-analytics", Platform: sim.PlatformECH, Indices: []string{"analytics-2026.11"}, KeystoreReloadDelay: "7m"},
			{Name: "ece-prod-logs", Platform: sim.PlatformECE, Indices: []string{"logs-app-2026.11.25"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	clock := &clockOffset{}
	w.Now = clock.Now
	tw := newTestWorld(t, w)
	tw.write("conn.yaml", apiKeyConn)
	var c drift.Connection
	for minute := range 12 {
		r := clock.rec(tw)
		r.opts.VerifyTimeout = 100 * time.Millisecond // the world's clock, not the wait, brings the load
		res, err := r.Pass(context.Background(), tw.load(), ModeApply, "")
		if err != nil {
			t.Fatal(err)
		}
		c = findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
		if minute < 7 && c.Health == drift.HealthConnected {
			t.Fatalf("connected %d min after the PATCH, before the platform loaded the key", minute)
		}
		clock.Add(time.Minute)
	}
	if c.Health != drift.HealthConnected {
		t.Errorf("after 12 min: %s %+v", c.Health, c.Evidence)
	}
	var made, patched int
	for _, r := range tw.srv.Log() {
		switch {
		case r.Method == "POST" && r.Endpoint == "POST /_security/cross_cluster/api_key":
			made++
		case r.Method == "PATCH":
			patched++
		}
	}
	if made != 1 || patched != 1 {
		t.Errorf("%d keys made and %d keystore PATCHes; want one each", made, patched)
	}
}
