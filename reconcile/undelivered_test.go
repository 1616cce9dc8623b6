package reconcile

import (
	"bytes"
	"strings"
	"testing"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// A key created but never delivered (the keystore write failed) is
// replaced, and the lost key invalidated: the text report shows that
// invalidation like any other change, in the plan and in the apply that
// does it (issue 24).
func TestUndeliveredKeyInvalidationIsReported(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("conn.yaml", apiKeyConn)
	if _, err := tw.srv.Fault(sim.Fault{Target: "ech", Method: "PATCH", Path: "/api/v1/deployments/*/elasticsearch/*/keystore", Kind: sim.FaultStatus, Status: 409, Times: 1}); err != nil {
		t.Fatal(err)
	}
	tw.pass(ModeApply)
	const conn, remote = "analytics-to-ece-logs", "ece-prod-logs"
	lost := tw.reconciler(true).Ledger().Key(conn)
	if lost == nil || !lost.Pending {
		t.Fatalf("after the failed keystore write the ledger holds %+v; want a pending key", lost)
	}
	text := func(rep *drift.Report) string {
		var b bytes.Buffer
		if err := drift.WriteText(&b, rep, drift.TextOptions{}); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	line := "- api_key esremote-" + conn + " (" + lost.ID + ") on " + remote
	if out := text(tw.pass(ModePlan).Report(drift.TriggerPlan, "")); !strings.Contains(out, line) {
		t.Errorf("the plan does not show the invalidation of the undelivered key %s:\n%s", lost.ID, out)
	}
	out := text(tw.pass(ModeApply).Report(drift.TriggerApply, ""))
	i := strings.Index(out, line)
	if i < 0 || !strings.HasPrefix(out[i+strings.Index(out[i:], "\n")-len("[applied]"):], "[applied]") {
		t.Errorf("the apply does not show the invalidation of %s as applied:\n%s", lost.ID, out)
	}
	for _, k := range tw.srv.World.State()[remote].APIKeys {
		if k.ID == lost.ID && k.Active {
			t.Errorf("the undelivered key %s is still valid", lost.ID)
		}
	}
}
