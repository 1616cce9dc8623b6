package reconcile

import (
	"testing"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// A connection leaves the specs and the pass that removes it deletes the
// alias and role but fails to invalidate the key (the remote answers 503)
// and so keeps the keystore entry too. The next pass must try again: the
// ledger still owns the key and the entry. It said "No changes", because
// a local cluster was visited only while the ledger held aliases or roles
// on it, and the key and entry stayed live for ever, silently.
func TestRemovedKeyRetriedAfterAliasGone(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("conn.yaml", apiKeyConn)
	r := tw.reconciler(false)
	mustPass(t, r, tw, ModeApply)
	keyID := r.Ledger().Key("analytics-to-ece-logs").ID

	tw.remove("conn.yaml")
	if _, err := tw.srv.Fault(sim.Fault{Target: "ece-prod-logs", Path: "/_security/api_key", Kind: sim.FaultStatus, Status: 503}); err != nil {
		t.Fatal(err)
	}
	mustPass(t, r, tw, ModeApply)
	tw.srv.World.ClearFaults()
	if !keyActive(tw, keyID) {
		t.Fatal("the key was invalidated despite the fault: the test does not test anything")
	}

	rep := tw.pass(ModePlan).Report(drift.TriggerPlan, "")
	if rep.PendingChanges() == 0 {
		t.Errorf("plan after the failed removal has no changes, but key %s is active and the ledger owns it", keyID)
	}
	mustPass(t, r, tw, ModeApply)
	if keyActive(tw, keyID) {
		t.Errorf("key %s of the removed connection is still active after the retry", keyID)
	}
	ks, _ := tw.srv.World.Keystore("ech-analytics")
	if _, ok := ks[CredentialsKey("ece-prod-logs")]; ok {
		t.Errorf("the keystore entry of the removed connection is still there: %v", ks)
	}
}

func keyActive(tw *testWorld, id string) bool {
	for _, k := range tw.srv.World.State()["ece-prod-logs"].APIKeys {
		if k.ID == id {
			return k.Active
		}
	}
	return false
}
