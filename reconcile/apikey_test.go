package reconcile

import (
	"context"
	"github.com/esremote/esremote/internal/flagship"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// apiKeyConn is the flagship link with its role (internal/flagship).
const apiKeyConn = flagship.Connection

func findConn(t *testing.T, r *drift.Report, name string) drift.Connection {
	t.Helper()
	for _, c := range r.Connections {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no connection %s in report: %+v", name, r.Connections)
	return drift.Connection{}
}

func TestAPIKeyLinkEndToEnd(t *testing.T) {
	// The flagship link as a user first meets it: the sim's delays
	// (sim.UserDelays: the platform loads the keystore 2 s after the
	// write) and esremote apply's default --verify-timeout, 10 s, within
	// which the first apply sees the new key in use.
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("conn.yaml", apiKeyConn)
	pass := func(mode Mode) *Result {
		t.Helper()
		r := tw.reconciler(mode == ModePlan)
		r.opts.VerifyTimeout = 10 * time.Second
		res, err := r.Pass(context.Background(), tw.load(), mode, "")
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	rep := pass(ModeApply).Report(drift.TriggerApply, "")
	c := findConn(t, rep, "analytics-to-ece-logs")
	if c.Sync != drift.SyncCorrected || c.Health != drift.HealthConnected {
		t.Fatalf("first apply: sync %s health %s error %q\n%+v", c.Sync, c.Health, c.Error, c.Changes)
	}
	if st := tw.srv.World.LinkStatus("ech-analytics", "ece-prod-logs"); !st.Connected {
		t.Fatalf("sim says not connected: %+v", st)
	}
	// The platform took its time: the request that proved the key came
	// the load delay after the keystore PATCH, not at once.
	var patched, proved time.Time
	for _, r := range tw.srv.Log() {
		switch {
		case r.Method == "PATCH" && patched.IsZero():
			patched = r.Time
		case strings.HasPrefix(r.Path, "/_resolve/cluster/") && r.Status == 200:
			proved = r.Time
		}
	}
	if patched.IsZero() || proved.Sub(patched) < sim.UserDelays.KeystoreReloadDelay {
		t.Errorf("keystore PATCH at %s, last evidence request at %s: the sim did not hold the load for %s", patched, proved, sim.UserDelays.KeystoreReloadDelay)
	}

	// Steady state: nothing to do, nothing written.
	tw.srv.World.ResetLog()
	rep = pass(ModePlan).Report(drift.TriggerPlan, "")
	if rep.PendingChanges() != 0 {
		t.Fatalf("second plan has changes: %+v", findConn(t, rep, "analytics-to-ece-logs").Changes)
	}
	if w := tw.writes(); len(w) != 0 {
		t.Fatalf("plan wrote: %v", w)
	}
	keyID := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID

	// Access changed in the spec: the key is updated in place.
	tw.write("conn.yaml", strings.Replace(apiKeyConn, `search: [{names: ["logs-*"]}]`, `search: [{names: ["logs-*", "metrics-*"]}]`, 1))
	rep = pass(ModeApply).Report(drift.TriggerApply, "")
	c = findConn(t, rep, "analytics-to-ece-logs")
	if got := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID; got != keyID {
		t.Fatalf("access change replaced the key %s with %s; want an update in place", keyID, got)
	}
	if c.Sync != drift.SyncCorrected || c.Health != drift.HealthConnected {
		t.Fatalf("after access change: %s %s %+v", c.Sync, c.Health, c.Changes)
	}

	// Key invalidated out of band: detected, replaced, connected again.
	if err := tw.srv.World.InvalidateKey("ece-prod-logs", keyID); err != nil {
		t.Fatal(err)
	}
	rep = pass(ModePlan).Report(drift.TriggerPlan, "")
	c = findConn(t, rep, "analytics-to-ece-logs")
	// _remote/info still says connected (socket state); the request that
	// carries the key is refused.
	if c.Health != drift.HealthUnauthorized || len(c.Changes) == 0 || c.Changes[0].Origin != drift.OriginExternal {
		t.Fatalf("invalidated key not detected: %s %+v", c.Health, c.Changes)
	}
	if c.Evidence == nil || !strings.Contains(c.Evidence.Answer, "unable to authenticate user ["+keyID+"]") {
		t.Fatalf("evidence: %+v", c.Evidence)
	}
	rep = pass(ModeApply).Report(drift.TriggerApply, "")
	c = findConn(t, rep, "analytics-to-ece-logs")
	if c.Health != drift.HealthConnected {
		t.Fatalf("not reconnected after replacing the key: %+v", c)
	}
	newID := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID
	if newID == keyID {
		t.Fatal("key not replaced")
	}

	// Near expiry: rotated, the old key invalidated only after the link
	// is verified with the new one over the proof window (rotating
	// meanwhile, both keys valid).
	// The clocks run (the platform's load delay elapses on the world's),
	// 80 days ahead.
	clock := &clockOffset{}
	clock.Add(80 * 24 * time.Hour)
	tw.srv.World.Now = clock.Now
	r := clock.rec(tw)
	res, err := r.Pass(t.Context(), tw.load(), ModeApply, "")
	if err != nil {
		t.Fatal(err)
	}
	c = findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
	rotated := r.Ledger().Key("analytics-to-ece-logs")
	if rotated.ID == newID || rotated.Previous == nil || rotated.Previous.ID != newID || c.Health != drift.HealthRotating {
		t.Fatalf("rotation: id %s (was %s) previous %+v health %s changes %+v", rotated.ID, newID, rotated.Previous, c.Health, c.Changes)
	}
	clock.Add(DefaultRotationOverlap + time.Minute)
	r = clock.rec(tw)
	if res, err = r.Pass(t.Context(), tw.load(), ModeApply, ""); err != nil {
		t.Fatal(err)
	}
	c = findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
	if done := r.Ledger().Key("analytics-to-ece-logs"); done.ID != rotated.ID || done.Previous != nil || c.Health != drift.HealthConnected {
		t.Fatalf("after the proof window: id %s previous %+v health %s changes %+v", done.ID, done.Previous, c.Health, c.Changes)
	}
}
