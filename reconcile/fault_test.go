package reconcile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// One cluster answering 5xx on its PUT, another hanging past the request
// timeout: the others are still reconciled, each failing one is reported
// failed with its cause, and the ledger keeps every record it had.
func TestFailingClustersDoNotStopOthers(t *testing.T) {
	tw := estate(t, 4)
	r := tw.reconciler(false)
	r.opts.VerifyTimeout = time.Millisecond
	r.opts.RequestTimeout = 300 * time.Millisecond
	if _, err := r.Pass(t.Context(), tw.load(), ModeApply, ""); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(tw.state, LedgerFile))
	if err != nil {
		t.Fatal(err)
	}
	// Spec change on every link; local-001 fails its write, local-002 hangs.
	tw.write("links.yaml", strings.ReplaceAll(mustRead(t, filepath.Join(tw.dir, "links.yaml")), "skip_unavailable: true", "skip_unavailable: false"))
	if _, err := tw.srv.Fault(sim.Fault{Target: "local-001", Method: "PUT", Path: "/_cluster/settings", Kind: sim.FaultStatus, Status: 503}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.srv.Fault(sim.Fault{Target: "local-002", Kind: sim.FaultHang}); err != nil {
		t.Fatal(err)
	}
	res, err := r.Pass(t.Context(), tw.load(), ModeApply, "")
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Report(drift.TriggerApply, "")
	for _, c := range rep.Connections {
		switch c.Local {
		case "local-001", "local-002":
			if c.Sync != drift.SyncFailed {
				t.Errorf("%s: sync %s, want failed", c.Local, c.Sync)
			}
		default:
			if c.Sync != drift.SyncCorrected {
				t.Errorf("%s: sync %s, want corrected", c.Local, c.Sync)
			}
		}
	}
	var failed503 bool
	for _, c := range rep.Connections {
		for _, ch := range c.Changes {
			failed503 = failed503 || (c.Local == "local-001" && strings.Contains(ch.Error, "503"))
		}
	}
	if !failed503 {
		t.Errorf("local-001's failure does not name the 503: %+v", findConn(t, rep, "link-001"))
	}
	if len(rep.Errors) != 1 || rep.Errors[0].Target != "local-002" {
		t.Errorf("errors: %+v, want the hanging local-002", rep.Errors)
	}
	// Nothing lost: the failed clusters' records are still those of the
	// first apply, committed.
	// The ledger's document, as far as this test reads it.
	var old, now struct {
		Settings map[string]map[string]*AliasRecord `json:"settings"`
	}
	after, _ := os.ReadFile(filepath.Join(tw.state, LedgerFile))
	_ = json.Unmarshal(before, &old)
	_ = json.Unmarshal(after, &now)
	for _, local := range []string{"local-000", "local-001", "local-002", "local-003"} {
		if now.Settings[local]["hub"] == nil {
			t.Errorf("ledger lost %s/hub", local)
		}
	}
	for _, local := range []string{"local-001", "local-002"} {
		got, want := now.Settings[local]["hub"], old.Settings[local]["hub"]
		if !equalMaps(got.Keys, want.Keys) || got.Pending {
			t.Errorf("ledger of failed %s changed: %+v -> %+v", local, want, got)
		}
	}
	// Once the faults clear, the next pass converges.
	tw.srv.World.ClearFaults()
	rep = mustPass(t, r, tw, ModeApply).Report(drift.TriggerApply, "")
	if rep.Summary.Failed != 0 || len(rep.Errors) != 0 {
		t.Fatalf("did not converge after the faults cleared: %+v %+v", rep.Summary, rep.Errors)
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustPass(t *testing.T, r *Reconciler, tw *testWorld, mode Mode) *Result {
	t.Helper()
	res, err := r.Pass(t.Context(), tw.load(), mode, "")
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A pending record whose write landed (a crash between the PUT and the
// commit) is committed by the next pass that sees its values live.
func TestPendingRecordCommittedWhenLive(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("conn.yaml", proxyConn)
	tw.pass(ModeApply)
	led := tw.reconciler(false).Ledger()
	rec := led.Alias("ech-analytics", "onprem")
	if err := led.SetAlias("ech-analytics", "onprem", rec.Connection, rec.Keys, true, rec.WrittenAt); err != nil {
		t.Fatal(err)
	}
	tw.pass(ModeApply)
	if got := tw.reconciler(true).Ledger().Alias("ech-analytics", "onprem"); got == nil || got.Pending {
		t.Fatalf("record still pending after a pass saw it live: %+v", got)
	}
}

// A 429 with Retry-After becomes the cluster's retry hint, which the
// daemon's backoff honours (TestLoopRetryAfterHonoured); a clean pass
// clears it.
func TestRetryAfterHint(t *testing.T) {
	tw := estate(t, 2)
	r := tw.reconciler(false)
	r.opts.VerifyTimeout = time.Millisecond
	if _, err := tw.srv.Fault(sim.Fault{Target: "local-000", Kind: sim.FaultRateLimit}); err != nil {
		t.Fatal(err)
	}
	mustPass(t, r, tw, ModeRun)
	if got := r.RetryAfter("local-000"); got != 30*time.Second {
		t.Fatalf("RetryAfter(local-000) = %s, want the 30s the cluster asked for", got)
	}
	if got := r.RetryAfter("local-001"); got != 0 {
		t.Fatalf("RetryAfter(local-001) = %s, want 0", got)
	}
	tw.srv.World.ClearFaults()
	mustPass(t, r, tw, ModeRun)
	if got := r.RetryAfter("local-000"); got != 0 {
		t.Fatalf("hint not cleared by a clean pass: %s", got)
	}
}
