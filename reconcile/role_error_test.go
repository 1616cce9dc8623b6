package reconcile

import (
	"strings"
	"testing"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// A role write that fails says so once: "put role R on C: 503 …", not
// "put role R: put role R on C: …".
func TestRoleWriteErrorSaidOnce(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("conn.yaml", apiKeyConn)
	if _, err := tw.srv.Fault(sim.Fault{Target: "ech-analytics", Method: "PUT", Path: "/_security/role/*", Kind: sim.FaultStatus, Status: 503}); err != nil {
		t.Fatal(err)
	}
	rep := tw.pass(ModeApply).Report(drift.TriggerApply, "")
	var msg string
	for _, ch := range findConn(t, rep, "analytics-to-ece-logs").Changes {
		if ch.Resource == drift.ResourceRole {
			msg = ch.Error
		}
	}
	if !strings.Contains(msg, "503") || strings.Count(msg, "put role") != 1 {
		t.Fatalf("role error %q: want the failed write said once, with its status", msg)
	}
}
