package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// clockOffset is a wall clock shifted by a settable offset: the world's
// and the reconciler's clock in the proof tests, so that time passes for
// the platform's keystore reload while a test jumps weeks ahead for expiry.
type clockOffset struct{ d atomic.Int64 }

func (c *clockOffset) Now() time.Time      { return time.Now().Add(time.Duration(c.d.Load())) }
func (c *clockOffset) Add(d time.Duration) { c.d.Add(int64(d)) }
func (c *clockOffset) rec(tw *testWorld) *Reconciler {
	r := tw.reconciler(false)
	r.opts.Now = c.Now
	r.opts.VerifyTimeout, r.opts.VerifyInterval = 10*time.Second, 50*time.Millisecond
	return r
}

// canaryLoop searches through the alias on the local cluster every 100 ms
// until stop, as an application would, and counts the searches that
// failed or skipped the remote (skip_unavailable: true turns a refused
// remote into a skipped one).
func canaryLoop(t *testing.T, tw *testWorld, stop <-chan struct{}) (searches, failures *atomic.Int64, done *sync.WaitGroup) {
	searches, failures, done = &atomic.Int64{}, &atomic.Int64{}, &sync.WaitGroup{}
	url := tw.srv.ClusterURL("ech-analytics") + "/ece-prod-logs:logs-*/_search?size=0"
	key := tw.srv.AdminAPIKey("ech-analytics")
	done.Add(1)
	go func() {
		defer done.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			req, _ := http.NewRequest("POST", url, nil)
			req.Header.Set("Authorization", "ApiKey "+key)
			resp, err := tw.srv.HTTPClient().Do(req)
			searches.Add(1)
			if err != nil {
				failures.Add(1)
				continue
			}
			var body struct {
				Clusters struct{ Skipped, Failed int } `json:"_clusters"`
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if json.Unmarshal(b, &body) != nil || resp.StatusCode != 200 || body.Clusters.Skipped+body.Clusters.Failed > 0 {
				failures.Add(1)
				t.Logf("canary search failed: %d %s", resp.StatusCode, b)
			}
		}
	}()
	return searches, failures, done
}

// activeManagedKeys counts the valid esremote keys on the remote.
func activeManagedKeys(t *testing.T, tw *testWorld) []string {
	t.Helper()
	var ids []string
	for _, k := range tw.srv.World.State()["ece-prod-logs"].APIKeys {
		if k.Active && k.Type == "cross_cluster" {
			ids = append(ids, k.ID)
		}
	}
	return ids
}

// Rotation by proof, against a platform that loads a keystore change 3 s
// after the Cloud API answered (keystore_reload_delay): a search through
// the link every 100 ms from the start of the rotation to its end never
// fails; the old key is invalidated only after requests through the link
// were authorized under the new key over the proof window (the rotating
// pass leaves both keys valid, a pass after the window finishes); one
// valid managed key is left.
func TestRotationByProofWithKeystoreReloadDelay(t *testing.T) {
	const delay = 3 * time.Second // "several seconds" (issue 17); real time, the canary loop runs through it
	clock := &clockOffset{}
	w := sim.DefaultWorld()
	w.Now = clock.Now
	if err := w.SetKeystoreReloadDelay("ech-analytics", delay); err != nil {
		t.Fatal(err)
	}
	tw := newTestWorld(t, w)
	tw.write("conn.yaml", apiKeyConn)
	res, err := clock.rec(tw).Pass(context.Background(), tw.load(), ModeApply, "")
	if err != nil {
		t.Fatal(err)
	}
	if c := findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs"); c.Health != drift.HealthConnected {
		t.Fatalf("setup: %s %+v", c.Health, c.Evidence)
	}
	oldID := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID

	clock.Add(80 * 24 * time.Hour) // within rotate_before (14d) of the 90d expiry
	tw.srv.World.ResetLog()
	stop := make(chan struct{})
	searches, failures, done := canaryLoop(t, tw, stop)
	started := time.Now()
	res, err = clock.rec(tw).Pass(context.Background(), tw.load(), ModeApply, "")
	// The local cluster uses the new key once the platform loaded it:
	// keep searching until it surely has.
	waitUntil(started.Add(delay + 300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	c := findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
	newID := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID
	if newID == oldID || c.Health != drift.HealthRotating || c.Sync != drift.SyncCorrected || len(activeManagedKeys(t, tw)) != 2 {
		t.Fatalf("rotation: key %s→%s, %s %s, valid keys %v, evidence %+v, changes %+v", oldID, newID, c.Sync, c.Health, activeManagedKeys(t, tw), c.Evidence, c.Changes)
	}
	clock.Add(DefaultRotationOverlap + time.Minute) // the proof window has passed
	res, err = clock.rec(tw).Pass(context.Background(), tw.load(), ModeApply, "")
	waitUntil(time.Now().Add(300 * time.Millisecond))
	close(stop)
	done.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if c = findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs"); c.Health != drift.HealthConnected || c.Sync != drift.SyncCorrected {
		t.Fatalf("after the window: %s %s, evidence %+v, changes %+v", c.Sync, c.Health, c.Evidence, c.Changes)
	}
	if searches.Load() < int64(delay/(100*time.Millisecond))-2 || failures.Load() != 0 {
		t.Errorf("canary loop: %d searches, %d failed; want none failed", searches.Load(), failures.Load())
	}
	var patched, invalidated time.Time
	for _, r := range tw.srv.Log() {
		switch {
		case r.Method == "PATCH" && patched.IsZero():
			patched = r.Time
		case r.Method == "DELETE" && r.Endpoint == "DELETE /_security/api_key":
			invalidated = r.Time
		}
	}
	if patched.IsZero() || invalidated.IsZero() || invalidated.Sub(patched) < DefaultRotationOverlap {
		t.Errorf("the old key was invalidated %s after the keystore PATCH, before the proof window (%s) ended", invalidated.Sub(patched), DefaultRotationOverlap)
	}
	if ids := activeManagedKeys(t, tw); len(ids) != 1 || ids[0] != newID {
		t.Errorf("valid managed keys %v, want only the new %s", ids, newID)
	}
	if c.Evidence == nil || c.Evidence.Request != "GET /_resolve/cluster/ece-prod-logs:"+canaryIndex(newID) {
		t.Errorf("evidence %+v", c.Evidence)
	}
}

// With a verify window shorter than the platform's reload, the rotating pass
// ends rotating: both keys valid, the old one still carrying the link. The
// next pass proves the new key and only then invalidates the old one. A
// rotation that stays unproven past RotationStuckAfter is an error.
func TestRotationUnprovenStaysRotating(t *testing.T) {
	clock := &clockOffset{}
	w := sim.DefaultWorld()
	w.Now = clock.Now
	tw := newTestWorld(t, w)
	tw.write("conn.yaml", apiKeyConn)
	if _, err := clock.rec(tw).Pass(context.Background(), tw.load(), ModeApply, ""); err != nil {
		t.Fatal(err)
	}
	if err := w.SetKeystoreReloadDelay("ech-analytics", time.Hour); err != nil {
		t.Fatal(err)
	}
	clock.Add(80 * 24 * time.Hour)
	r := clock.rec(tw)
	r.opts.VerifyTimeout = 200 * time.Millisecond
	res, err := r.Pass(context.Background(), tw.load(), ModeApply, "")
	if err != nil {
		t.Fatal(err)
	}
	c := findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
	if c.Health != drift.HealthRotating || len(activeManagedKeys(t, tw)) != 2 {
		t.Fatalf("unproven rotation: %s, %d valid keys, evidence %+v", c.Health, len(activeManagedKeys(t, tw)), c.Evidence)
	}
	if st := w.LinkStatus("ech-analytics", "ece-prod-logs"); !st.Authorized {
		t.Fatalf("the link lost its key while rotating: %+v", st)
	}
	clock.Add(31 * time.Minute) // past RotationStuckAfter; the platform still has not loaded
	res, _ = clock.rec(tw).Pass(context.Background(), tw.load(), ModePlan, "")
	c = findConn(t, res.Report(drift.TriggerPlan, ""), "analytics-to-ece-logs")
	stuck := false
	for _, f := range c.Findings {
		stuck = stuck || f.Code == CodeRotationStuck
	}
	if c.Health != drift.HealthRotating || !stuck {
		t.Fatalf("stuck rotation: %s %+v", c.Health, c.Findings)
	}
	clock.Add(30 * time.Minute) // the platform loads the new key
	res, _ = clock.rec(tw).Pass(context.Background(), tw.load(), ModeApply, "")
	c = findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
	if ids := activeManagedKeys(t, tw); c.Health != drift.HealthRotating || len(ids) != 2 || slices.Contains(findingCodes(c), CodeRotationStuck) {
		t.Fatalf("after the load: %s, valid keys %v, findings %v; want rotating over the proof window, not stuck", c.Health, ids, findingCodes(c))
	}
	clock.Add(DefaultRotationOverlap + time.Minute) // proven over the window
	res, _ = clock.rec(tw).Pass(context.Background(), tw.load(), ModeApply, "")
	c = findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
	if ids := activeManagedKeys(t, tw); c.Health != drift.HealthConnected || len(ids) != 1 {
		t.Fatalf("after the window: %s, valid keys %v, evidence %+v", c.Health, ids, c.Evidence)
	}
}

// The keystore holds a wrong key (an operator pasted another valid key):
// _remote/info says connected, esremote reports the link unauthorized with
// the remote's refusal, and apply repairs it with a new key, invalidating
// the unused managed key only once requests prove the new one in use over
// the proof window.
// The key the link actually used is never invalidated.
func TestWrongKeyInKeystoreRepairedByProof(t *testing.T) {
	const delay = time.Second
	clock := &clockOffset{}
	w := sim.DefaultWorld()
	w.Now = clock.Now
	tw := newTestWorld(t, w)
	tw.write("conn.yaml", apiKeyConn)
	if _, err := clock.rec(tw).Pass(context.Background(), tw.load(), ModeApply, ""); err != nil {
		t.Fatal(err)
	}
	managed := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID
	// Another valid key of the remote, made by hand, with the same reach.
	wrongID, wrong, err := w.CreateCrossClusterKey("ece-prod-logs", "by-hand", `{"search":[{"names":["logs-*"]}]}`, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetKeystore("ech-analytics", "cluster.remote.ece-prod-logs.credentials", wrong); err != nil {
		t.Fatal(err)
	}
	if err := w.SetKeystoreReloadDelay("ech-analytics", delay); err != nil {
		t.Fatal(err)
	}
	clock.Add(10 * time.Minute) // past the keystore grace of esremote's own write

	if st := w.LinkStatus("ech-analytics", "ece-prod-logs"); !st.Connected || !st.Authorized {
		t.Fatalf("setup: the link should work on the hand-made key: %+v", st)
	}
	if e := w.State()["ech-analytics"].Links["ece-prod-logs"]; !e.Connected {
		t.Fatalf("_remote/info should say connected: %+v", e)
	}
	res, _ := clock.rec(tw).Pass(context.Background(), tw.load(), ModePlan, "")
	c := findConn(t, res.Report(drift.TriggerPlan, ""), "analytics-to-ece-logs")
	if c.Health != drift.HealthUnauthorized || c.Evidence == nil ||
		c.Evidence.Answer != fmt.Sprintf("connected: false, refused: action [indices:admin/resolve/cluster] towards remote cluster is unauthorized for user [elastic] with assigned roles [superuser] authenticated by API key id [%s] of user [elastic] on indices [%s], this action is granted by the index privileges [view_index_metadata,manage,read_cross_cluster,all]", wrongID, canaryIndex(managed)) {
		t.Fatalf("plan: %s %+v", c.Health, c.Evidence)
	}
	if len(c.Changes) == 0 || c.Changes[0].Origin != drift.OriginExternal {
		t.Fatalf("plan proposes no repair: %+v", c.Changes)
	}

	tw.srv.World.ResetLog()
	stop := make(chan struct{})
	_, failures, done := canaryLoop(t, tw, stop)
	started := time.Now()
	res, err = clock.rec(tw).Pass(context.Background(), tw.load(), ModeApply, "")
	waitUntil(started.Add(delay + 300*time.Millisecond))
	close(stop)
	done.Wait()
	if err != nil {
		t.Fatal(err)
	}
	c = findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
	newID := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID
	if c.Health != drift.HealthRotating || newID == managed || c.Evidence == nil || !strings.Contains(c.Evidence.Answer, "uses key "+newID) {
		t.Fatalf("apply: %s %+v %+v", c.Health, c.Evidence, c.Changes)
	}
	if failures.Load() != 0 {
		t.Errorf("%d canary searches failed during the repair", failures.Load())
	}
	if !contains(activeManagedKeys(t, tw), managed) {
		t.Errorf("the unused key %s was invalidated before the proof window ended", managed)
	}
	clock.Add(DefaultRotationOverlap + time.Minute)
	res, err = clock.rec(tw).Pass(context.Background(), tw.load(), ModeApply, "")
	if err != nil {
		t.Fatal(err)
	}
	if c = findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs"); c.Health != drift.HealthConnected {
		t.Fatalf("after the window: %s %+v %+v", c.Health, c.Evidence, c.Changes)
	}
	var patched, invalidated time.Time
	for _, l := range tw.srv.Log() {
		if l.Method == "PATCH" && patched.IsZero() {
			patched = l.Time
		}
		if l.Endpoint == "DELETE /_security/api_key" {
			invalidated = l.Time
		}
	}
	if invalidated.Sub(patched) < delay {
		t.Errorf("the unused key was invalidated %s after the keystore PATCH, before the new key was loaded", invalidated.Sub(patched))
	}
	active := activeManagedKeys(t, tw)
	if !contains(active, wrongID) || !contains(active, newID) || contains(active, managed) {
		t.Errorf("valid keys %v: want the hand-made %s and the new %s, not the unused %s", active, wrongID, newID, managed)
	}
}

// waitUntil lets the canary loop run until t (the end of the rotation as
// the platform sees it); it returns at once when t has passed.
func waitUntil(t time.Time) {
	if d := time.Until(t); d > 0 {
		<-time.After(d)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Steady state by evidence: one _resolve/cluster request per local cluster
// for all its links; none at all while the last evidence is fresh
// (EvidenceFresh) and nothing changed; one again after it.
func TestEvidenceSteadyStateCost(t *testing.T) {
	clock := &clockOffset{}
	w := sim.DefaultWorld()
	w.Now = clock.Now
	tw := newTestWorld(t, w)
	tw.write("conn.yaml", apiKeyConn)
	rec := clock.rec(tw)
	if _, err := rec.Pass(context.Background(), tw.load(), ModeApply, ""); err != nil {
		t.Fatal(err)
	}
	resolves := func() int { return tw.srv.World.CountRequests("ech-analytics", "GET /_resolve/cluster/{expr}") }
	pass := func() drift.Connection {
		t.Helper()
		res, err := rec.Pass(context.Background(), tw.load(), ModeRun, "")
		if err != nil {
			t.Fatal(err)
		}
		return findConn(t, res.Report(drift.TriggerResync, ""), "analytics-to-ece-logs")
	}
	// The first pass after apply asks once: what it observes (the alias
	// now up) is not what the apply's evidence was taken in.
	tw.srv.World.ResetLog()
	if c := pass(); c.Health != drift.HealthConnected || resolves() != 1 {
		t.Fatalf("first steady pass asked %d times (health %s); want one request", resolves(), c.Health)
	}
	tw.srv.World.ResetLog()
	if c := pass(); c.Health != drift.HealthConnected || resolves() != 0 {
		t.Fatalf("a pass within %s asked %d times (health %s); want the fresh evidence reused", EvidenceFresh, resolves(), c.Health)
	}
	tw.srv.World.ResetLog()
	clock.Add(EvidenceFresh)
	if c := pass(); c.Health != drift.HealthConnected || resolves() != 1 {
		t.Fatalf("after %s: %d requests, health %s; want one", EvidenceFresh, resolves(), c.Health)
	}
	// Something changed (the key was invalidated out of band; the pass reads
	// the key): the next pass past freshness sees it at once.
	clock.Add(EvidenceFresh)
	if err := tw.srv.World.InvalidateKey("ece-prod-logs", rec.Ledger().Key("analytics-to-ece-logs").ID); err != nil {
		t.Fatal(err)
	}
	rec2 := tw.reconciler(true)
	rec2.opts.Now = clock.Now
	res, _ := rec2.Pass(context.Background(), tw.load(), ModePlan, "")
	if c := findConn(t, res.Report(drift.TriggerPlan, ""), "analytics-to-ece-logs"); c.Health != drift.HealthUnauthorized {
		t.Fatalf("after invalidation: %s %+v", c.Health, c.Evidence)
	}
}

// Once the evidence is no longer fresh, a link esremote configured is
// asked in the same round trip as its cluster's reads, not after them:
// the request is sent even when one of those reads then fails (after them
// it would never be sent). Still one request per local cluster, none
// while fresh; an answer the pass could not use is not kept.
func TestEvidenceTravelsWithTheReads(t *testing.T) {
	clock := &clockOffset{}
	w := sim.DefaultWorld()
	w.Now = clock.Now
	tw := newTestWorld(t, w)
	tw.write("conn.yaml", apiKeyConn)
	rec := clock.rec(tw)
	for _, mode := range []Mode{ModeApply, ModeRun} { // apply, then the pass that sees the link up
		if _, err := rec.Pass(context.Background(), tw.load(), mode, ""); err != nil {
			t.Fatal(err)
		}
	}
	resolves := func() int { return tw.srv.World.CountRequests("ech-analytics", "GET /_resolve/cluster/{expr}") }
	tw.srv.World.ResetLog()
	if _, err := rec.Pass(context.Background(), tw.load(), ModeRun, ""); err != nil || resolves() != 0 {
		t.Fatalf("fresh evidence: %d requests (%v); want none", resolves(), err)
	}
	clock.Add(EvidenceFresh)
	if _, err := tw.srv.Fault(sim.Fault{Target: "ech-analytics", Method: "GET", Path: "/_remote/info", Kind: sim.FaultStatus, Status: 503, Times: 1}); err != nil {
		t.Fatal(err)
	}
	tw.srv.World.ResetLog()
	res, err := rec.Pass(context.Background(), tw.load(), ModeRun, "")
	if err != nil {
		t.Fatal(err)
	}
	if c := findConn(t, res.Report(drift.TriggerResync, ""), "analytics-to-ece-logs"); resolves() != 1 || c.Health != drift.HealthUnknown {
		t.Fatalf("observation failed: %d evidence requests, health %s; want the one request sent with the reads, health unknown", resolves(), c.Health)
	}
	tw.srv.World.ResetLog()
	res, err = rec.Pass(context.Background(), tw.load(), ModeRun, "")
	if err != nil {
		t.Fatal(err)
	}
	if c := findConn(t, res.Report(drift.TriggerResync, ""), "analytics-to-ece-logs"); resolves() != 1 || c.Health != drift.HealthConnected {
		t.Fatalf("next pass: %d evidence requests, health %s %+v; want one, connected", resolves(), c.Health, c.Evidence)
	}
}

// Right after a keystore PATCH the platform may not have loaded the
// credential: within KeystoreLoadGrace a missing cluster_credentials is
// "not loaded yet", not a lost key: no new key is made, and once the
// platform loads it, the first key is proven and kept.
func TestKeystoreNotLoadedYetIsNotDrift(t *testing.T) {
	clock := &clockOffset{}
	w := sim.DefaultWorld()
	w.Now = clock.Now
	if err := w.SetKeystoreReloadDelay("ech-analytics", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	tw := newTestWorld(t, w)
	tw.write("conn.yaml", apiKeyConn)
	r := clock.rec(tw)
	r.opts.VerifyTimeout = 100 * time.Millisecond
	if _, err := r.Pass(context.Background(), tw.load(), ModeApply, ""); err != nil {
		t.Fatal(err)
	}
	first := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID
	clock.Add(time.Minute)
	res, _ := clock.rec(tw).Pass(context.Background(), tw.load(), ModePlan, "")
	c := findConn(t, res.Report(drift.TriggerPlan, ""), "analytics-to-ece-logs")
	for _, ch := range c.Changes {
		if ch.Resource == drift.ResourceAPIKey || ch.Resource == drift.ResourceKeystore {
			t.Errorf("a credential not loaded yet was taken for drift: %+v", ch)
		}
	}
	clock.Add(2 * time.Minute) // the platform has loaded it
	res, _ = clock.rec(tw).Pass(context.Background(), tw.load(), ModeApply, "")
	c = findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
	if got := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID; got != first || c.Health != drift.HealthConnected {
		t.Errorf("after the load: key %s (first %s), %s %+v", got, first, c.Health, c.Evidence)
	}
}

// During a slow keystore load the link is down, but nothing is missing:
// the key exists and the entry is written. The finding says the value is
// loading, not key_missing or no_credentials, and sends nobody to run
// apply, which has nothing to write (issue 24).
func TestKeystoreLoadingIsReportedAsLoading(t *testing.T) {
	clock := &clockOffset{}
	w := sim.DefaultWorld()
	w.Now = clock.Now
	if err := w.SetKeystoreReloadDelay("ech-analytics", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	tw := newTestWorld(t, w)
	tw.write("conn.yaml", apiKeyConn)
	r := clock.rec(tw)
	r.opts.VerifyTimeout = 100 * time.Millisecond
	check := func(what string, res *Result, trigger drift.Trigger) {
		t.Helper()
		c := findConn(t, res.Report(trigger, ""), "analytics-to-ece-logs")
		if !hasFinding(c, CodeKeystoreNotLoaded) {
			t.Errorf("%s: findings %+v; want %s", what, c.Findings, CodeKeystoreNotLoaded)
		}
		for _, f := range c.Findings {
			if strings.Contains(f.Message, "key_missing") || strings.Contains(f.Message, "no_credentials") || strings.Contains(f.Fix, "apply") {
				t.Errorf("%s: finding %s %q, fix %q: the key exists, the entry is written and apply has nothing to write", what, f.Code, f.Message, f.Fix)
			}
		}
	}
	res, err := r.Pass(context.Background(), tw.load(), ModeApply, "")
	if err != nil {
		t.Fatal(err)
	}
	check("the apply that wrote the entry", res, drift.TriggerApply)
	clock.Add(time.Minute)
	res, err = clock.rec(tw).Pass(context.Background(), tw.load(), ModePlan, "")
	if err != nil {
		t.Fatal(err)
	}
	check("a plan a minute later", res, drift.TriggerPlan)
	if n := res.Report(drift.TriggerPlan, "").PendingChanges(); n != 0 {
		t.Errorf("a plan during the load: %d changes; apply has nothing to write", n)
	}
}

// A key whose access covers esremote's canary names (names: ["*"]) cannot
// be proven by its canary: every key authorizes it. The rotation then keeps
// the old key until the link works and the proof window (at least the
// keystore grace) has passed since the keystore write, says so
// (canary_ambiguous), and stays rotating meanwhile.
func TestRotationWithAmbiguousCanaryWaitsForTheWindow(t *testing.T) {
	clock := &clockOffset{}
	w := sim.DefaultWorld()
	w.Now = clock.Now
	tw := newTestWorld(t, w)
	tw.write("conn.yaml", strings.Replace(apiKeyConn, `search: [{names: ["logs-*"]}]`, `search: [{names: ["*"]}]`, 1))
	if _, err := clock.rec(tw).Pass(context.Background(), tw.load(), ModeApply, ""); err != nil {
		t.Fatal(err)
	}
	clock.Add(80 * 24 * time.Hour)
	res, err := clock.rec(tw).Pass(context.Background(), tw.load(), ModeApply, "")
	if err != nil {
		t.Fatal(err)
	}
	c := findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
	ambiguous := false
	for _, f := range c.Findings {
		ambiguous = ambiguous || f.Code == CodeCanaryAmbiguous
	}
	if !ambiguous || c.Health != drift.HealthRotating || len(activeManagedKeys(t, tw)) != 2 {
		t.Fatalf("rotation with an ambiguous canary: %s, %d valid keys, findings %+v", c.Health, len(activeManagedKeys(t, tw)), c.Findings)
	}
	clock.Add(6 * time.Minute) // past KeystoreLoadGrace, not the proof window
	res, _ = clock.rec(tw).Pass(context.Background(), tw.load(), ModeApply, "")
	c = findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
	if ids := activeManagedKeys(t, tw); c.Health != drift.HealthRotating || len(ids) != 2 {
		t.Fatalf("after the grace, within the window: %s, valid keys %v", c.Health, ids)
	}
	clock.Add(DefaultRotationOverlap) // past the window since the keystore write
	res, _ = clock.rec(tw).Pass(context.Background(), tw.load(), ModeApply, "")
	c = findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
	if ids := activeManagedKeys(t, tw); c.Health != drift.HealthConnected || len(ids) != 1 {
		t.Fatalf("after the grace: %s, valid keys %v", c.Health, ids)
	}
}
