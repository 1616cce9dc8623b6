package reconcile

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// A wrong key written into the keystore by hand one minute after
// esremote's own write, well within the keystore grace that used to hold
// the repair back, is repaired by the next pass: the refusal names a key
// id esremote never made, which is proof enough (issue 23, "Done when" 5).
// The repair loads two minutes later; meanwhile the refusal still names
// the hand-made key, which the repair displaced: not loaded yet, so no
// further key and no further keystore write. The hand-made key is never
// invalidated (esremote did not make it); the unused managed key goes once
// the repair is proven over the window.
func TestWrongKeyByHandRepairedOnTheNextPass(t *testing.T) {
	clock := &clockOffset{}
	w := sim.DefaultWorld()
	w.Now = clock.Now
	tw := newTestWorld(t, w)
	tw.fast("asserts the link connected by the apply that wrote its key; the platform's keystore load delay is the subject of TestRotationByProofWithKeystoreReloadDelay and TestKeystoreLoadingIsReportedAsLoading")
	tw.write("conn.yaml", apiKeyConn)
	pass := func(mode Mode) drift.Connection {
		t.Helper()
		r := clock.rec(tw)
		r.opts.VerifyTimeout = 100 * time.Millisecond // the world's clock brings the load
		res, err := r.Pass(context.Background(), tw.load(), mode, "")
		if err != nil {
			t.Fatal(err)
		}
		return findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
	}
	if c := pass(ModeApply); c.Health != drift.HealthConnected {
		t.Fatalf("setup: %s %+v", c.Health, c.Evidence)
	}
	managed := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID

	clock.Add(time.Minute) // within KeystoreLoadGrace of esremote's keystore write
	wrongID, wrong, err := w.CreateCrossClusterKey("ece-prod-logs", "by-hand", `{"search":[{"names":["logs-*"]}]}`, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetKeystore("ech-analytics", "cluster.remote.ece-prod-logs.credentials", wrong); err != nil {
		t.Fatal(err)
	}
	if err := w.SetKeystoreReloadDelay("ech-analytics", 2*time.Minute); err != nil {
		t.Fatal(err) // for the repair; the hand-made key loaded at once
	}

	c := pass(ModePlan)
	if c.Health != drift.HealthUnauthorized || c.Evidence == nil || !strings.Contains(c.Evidence.Answer, "authenticated by API key id ["+wrongID+"]") {
		t.Fatalf("plan: %s %+v", c.Health, c.Evidence)
	}
	var repair *drift.Change
	for i := range c.Changes {
		if c.Changes[i].Resource == drift.ResourceAPIKey {
			repair = &c.Changes[i]
		}
	}
	if repair == nil || repair.Origin != drift.OriginExternal || !strings.Contains(repair.Actual, "sends key "+wrongID+", which esremote did not make") {
		t.Fatalf("plan proposes no repair naming %s: %+v", wrongID, c.Changes)
	}

	tw.srv.World.ResetLog()
	if c = pass(ModeApply); c.Sync != drift.SyncCorrected {
		t.Fatalf("repair: %s %s %+v", c.Sync, c.Error, c.Changes)
	}
	repaired := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs")
	if repaired.ID == managed || repaired.Displaced != wrongID {
		t.Fatalf("repair: key %s (was %s), displaced %q; want a new key displacing %s", repaired.ID, managed, repaired.Displaced, wrongID)
	}
	for _, at := range []time.Duration{time.Minute, 90 * time.Second} {
		clock.Add(at - clock.Now().Sub(repaired.CreatedAt))
		c = pass(ModeApply)
		if c.Sync == drift.SyncFailed || c.Health != drift.HealthRotating {
			t.Fatalf("%s after the repair (not loaded yet): %s %s %+v", at, c.Sync, c.Health, c.Evidence)
		}
	}
	clock.Add(2 * time.Minute) // the platform has loaded the repair
	pass(ModeApply)
	clock.Add(DefaultRotationOverlap + time.Minute)
	if c = pass(ModeApply); c.Health != drift.HealthConnected {
		t.Fatalf("after the window: %s %+v", c.Health, c.Evidence)
	}
	var made, patched int
	for _, r := range tw.srv.Log() {
		switch {
		case r.Endpoint == "POST /_security/cross_cluster/api_key":
			made++
		case r.Method == "PATCH":
			patched++
		}
	}
	if made != 1 || patched != 1 {
		t.Errorf("the repair made %d keys and %d keystore PATCHes; want one each", made, patched)
	}
	active := activeManagedKeys(t, tw)
	if !slices.Contains(active, wrongID) || !slices.Contains(active, repaired.ID) || slices.Contains(active, managed) {
		t.Errorf("valid keys %v: want the hand-made %s and the repair %s, not the unused %s", active, wrongID, repaired.ID, managed)
	}
}
