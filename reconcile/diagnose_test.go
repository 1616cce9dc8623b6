package reconcile

import (
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/doctor"
	"github.com/esremote/esremote/reconcile/sim"
)

func connectedAPIKeyWorld(t *testing.T) *testWorld {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.fast("asserts the link connected by the apply that wrote its key; the platform's keystore load delay is the subject of TestRotationByProofWithKeystoreReloadDelay and TestKeystoreLoadingIsReportedAsLoading")
	tw.write("conn.yaml", apiKeyConn)
	if c := findConn(t, tw.pass(ModeApply).Report(drift.TriggerApply, ""), "analytics-to-ece-logs"); c.Health != drift.HealthConnected {
		t.Fatalf("setup: link not connected: %+v", c)
	}
	return tw
}

// A daemon pass over a link whose key was invalidated out of band (policy
// report, so nothing is corrected) reports it unauthorized (the remote
// refuses the key; _remote/info still says connected) with the cause and
// the fix.
func TestDiagnoseFinding(t *testing.T) {
	tw := connectedAPIKeyWorld(t)
	tw.write("conn.yaml", strings.Replace(apiKeyConn, "settings:\n", "policy: report\nsettings:\n", 1))
	id := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID
	if err := tw.srv.World.InvalidateKey("ece-prod-logs", id); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []Mode{ModePlan, ModeRun} {
		c := findConn(t, tw.pass(mode).Report(drift.TriggerResync, ""), "analytics-to-ece-logs")
		var f *drift.Finding
		for i := range c.Findings {
			if c.Findings[i].Code == CodeDisconnected {
				f = &c.Findings[i]
			}
		}
		if c.Health != drift.HealthUnauthorized || f == nil {
			t.Fatalf("%s: health %s findings %+v", mode, c.Health, c.Findings)
		}
		if !strings.Contains(f.Message, doctor.CauseKeyInvalid) || !strings.Contains(f.Message, id) || f.Fix == "" {
			t.Fatalf("%s: finding without the cause: %+v", mode, f)
		}
	}
}

// A managed key the remote refuses as expired while esremote's clock
// still thinks it valid (the sim's clock ran ahead): within the keystore
// load grace the pass keeps it, and the finding's fix says esremote
// replaces it, not that the operator should rotate it by hand.
func TestDiagnoseExpiredManagedKeyFixSaysEsremoteReplacesIt(t *testing.T) {
	tw := connectedAPIKeyWorld(t)
	tw.srv.World.Advance(91 * 24 * time.Hour)
	c := findConn(t, tw.pass(ModeRun).Report(drift.TriggerResync, ""), "analytics-to-ece-logs")
	var f *drift.Finding
	for i := range c.Findings {
		if c.Findings[i].Code == CodeDisconnected {
			f = &c.Findings[i]
		}
	}
	if c.Health != drift.HealthUnauthorized || f == nil {
		t.Fatalf("health %s findings %+v; want unauthorized with %s", c.Health, c.Findings, CodeDisconnected)
	}
	if !strings.Contains(f.Message, doctor.CauseKeyInvalid) {
		t.Fatalf("finding %+v: want cause %s", f, doctor.CauseKeyInvalid)
	}
	if strings.HasPrefix(f.Fix, "rotate:") || !strings.Contains(f.Fix, "esremote replaces it itself") {
		t.Errorf("fix %q: want that esremote replaces the managed key, not a manual rotation", f.Fix)
	}
}
