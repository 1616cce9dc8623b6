package reconcile

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/plan"
	"github.com/esremote/esremote/reconcile/sim"
)

// A saved plan that ends a rotation does not invalidate the rotated-out
// key: the plan's proof is as old as the plan, and a keystore set back to
// the old key since then (by hand, or by a restore) is invisible to every
// precondition. apply --plan keeps the old key and says so; the next live
// pass ends the rotation on a fresh proof.
func TestApplyPlanKeepsRotatedOutKey(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.fast("asserts the link connected by the apply that wrote its key; the platform's keystore load delay is the subject of TestRotationByProofWithKeystoreReloadDelay and TestKeystoreLoadingIsReportedAsLoading")
	now := time.Now()
	tw.srv.World.Now = func() time.Time { return now }
	pass := func(mode Mode) *Result {
		t.Helper()
		r := tw.reconciler(false)
		r.opts.Now = func() time.Time { return now }
		res, err := r.Pass(t.Context(), tw.load(), mode, "")
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	const local, alias, name = "ech-analytics", "ece-prod-logs", "analytics-to-ece-logs"
	tw.write("conn.yaml", apiKeyConn)
	if c := findConn(t, pass(ModeApply).Report(drift.TriggerApply, ""), name); c.Health != drift.HealthConnected {
		t.Fatalf("setup: %+v", c)
	}
	ks, err := tw.srv.World.Keystore(local)
	if err != nil {
		t.Fatal(err)
	}
	oldSecret := ks[CredentialsKey(alias)]
	oldID := tw.reconciler(true).Ledger().Key(name).ID

	now = now.Add(80 * 24 * time.Hour) // within rotate_before of the expiry: the rotation starts
	if c := findConn(t, pass(ModeApply).Report(drift.TriggerApply, ""), name); c.Health != drift.HealthRotating {
		t.Fatalf("rotation: %s %s", c.Sync, c.Health)
	}
	now = now.Add(DefaultRotationOverlap + time.Minute)
	r := tw.reconciler(false)
	r.opts.Now = func() time.Time { return now }
	planned, err := r.Pass(t.Context(), tw.load(), ModePlan, "")
	if err != nil {
		t.Fatal(err)
	}
	saved, err := plan.Parse(mustJSON(t, planned.SavedPlan()))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(saved.Steps, func(s plan.Step) bool {
		return s.Kind == plan.KindInvalidateKeys && strings.Contains(string(s.Body), oldID)
	}) {
		t.Fatalf("setup: the plan does not end the rotation (invalidate %s): %+v", oldID, saved.Steps)
	}

	// Between review and apply, the local's keystore is set back to the
	// old key.
	if err := tw.srv.World.SetKeystore(local, CredentialsKey(alias), oldSecret); err != nil {
		t.Fatal(err)
	}
	res, err := r.ApplyPlan(t.Context(), tw.load(), saved)
	if err != nil {
		t.Fatal(err)
	}
	if n := tw.srv.World.CountRequests("ece-prod-logs", "DELETE /_security/api_key"); n != 0 {
		t.Errorf("apply --plan sent %d invalidations on the plan's proof; want the old key kept", n)
	}
	if st := tw.srv.World.LinkStatus(local, alias); !st.Connected {
		t.Errorf("link after apply --plan: %+v; want connected on the old key", st)
	}
	c := findConn(t, res.Report(drift.TriggerApply, ""), name)
	found := false
	for _, ch := range c.Changes {
		if strings.Contains(ch.Error, "kept: apply --plan does not invalidate") {
			found = true
		}
	}
	if !found {
		t.Errorf("the report does not say the old key was kept: %+v", c.Changes)
	}
}
