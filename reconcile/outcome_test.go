package reconcile

import (
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// The report's errors carry the class the adapters gave them, from the
// sim's real answers: a wrong password (401) is terminal, a 503 is
// retryable, a 429 with Retry-After is throttled until then; the healthy
// cluster has no class.
func TestReportClassifiesErrors(t *testing.T) {
	tw := estate(t, 4)
	r := tw.reconciler(false)
	r.opts.VerifyTimeout = time.Millisecond
	end := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	r.opts.Now = func() time.Time { return end }
	if _, err := r.Pass(t.Context(), tw.load(), ModeApply, ""); err != nil {
		t.Fatal(err)
	}
	tw.env["ES_PASSWORD_LOCAL_000"] = "not-the-password"
	for _, f := range []sim.Fault{
		{Target: "local-001", Path: "/_cluster/settings", Kind: sim.FaultStatus, Status: 503},
		{Target: "local-002", Path: "/_cluster/settings", Kind: sim.FaultRateLimit},
	} {
		if _, err := tw.srv.Fault(f); err != nil {
			t.Fatal(err)
		}
	}
	res, err := r.Pass(t.Context(), tw.load(), ModeRun, "")
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Report(drift.TriggerResync, "")
	errs := map[string]drift.ReportError{}
	for _, e := range rep.Errors {
		errs[e.Target] = e
	}
	for _, tc := range []struct {
		local, conn string
		class       drift.Class
		retryAt     time.Time
	}{
		{"local-000", "link-000", drift.ClassTerminal, time.Time{}},
		{"local-001", "link-001", drift.ClassRetryable, time.Time{}},
		{"local-002", "link-002", drift.ClassThrottled, end.Add(30 * time.Second)}, // the sim's Retry-After: 30
		{"local-003", "link-003", "", time.Time{}},
	} {
		c := findConn(t, rep, tc.conn)
		if c.ErrorClass != tc.class || !c.RetryAt.Equal(tc.retryAt) {
			t.Errorf("%s: error_class %q, retry_at %s; want %q, %s (error: %s)", tc.conn, c.ErrorClass, c.RetryAt, tc.class, tc.retryAt, c.Error)
		}
		e, ok := errs[tc.local]
		if tc.class == "" {
			if ok || c.Sync != drift.SyncInSync {
				t.Errorf("%s: %s, error %+v; want in sync", tc.local, c.Sync, e)
			}
			continue
		}
		if !ok || e.Class != tc.class || !e.RetryAt.Equal(tc.retryAt) {
			t.Errorf("%s: report error %+v; want class %q, retry_at %s", tc.local, e, tc.class, tc.retryAt)
		}
	}
	if e := errs["local-000"]; !strings.Contains(e.Message, "401") {
		t.Errorf("local-000's error does not name the 401: %q", e.Message)
	}
}

// A daemon's pass says when a managed key's rotation window opens
// (rotate_before before its expiry), and a pass at that time rotates it.
func TestReportRequeueAtRotationWindow(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.fast("asserts the link connected by the apply that wrote its key; the platform's keystore load delay is the subject of TestRotationByProofWithKeystoreReloadDelay and TestKeystoreLoadingIsReportedAsLoading")
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tw.srv.World.Now = func() time.Time { return now }
	tw.write("conn.yaml", apiKeyConn)
	r := tw.reconciler(false)
	r.opts.Now = func() time.Time { return now }
	pass := func(mode Mode) drift.Connection {
		t.Helper()
		res, err := r.Pass(t.Context(), tw.load(), mode, "")
		if err != nil {
			t.Fatal(err)
		}
		return findConn(t, res.Report(drift.TriggerResync, ""), "analytics-to-ece-logs")
	}
	if c := pass(ModeApply); c.Health != drift.HealthConnected || !c.RequeueAt.IsZero() {
		t.Fatalf("setup: %s, requeue_at %s (apply schedules nothing)", c.Health, c.RequeueAt)
	}
	oldID := r.Ledger().Key("analytics-to-ece-logs").ID
	expiry := now.Add(90 * 24 * time.Hour)
	window := expiry.Add(-14 * 24 * time.Hour)

	// Right after the write, the keystore load grace ends first.
	if c := pass(ModeRun); !c.RequeueAt.Equal(now.Add(5 * time.Minute)) {
		t.Errorf("after the keystore write: requeue_at %s, want the end of the 5m grace %s", c.RequeueAt, now.Add(5*time.Minute))
	}
	// Ten minutes before the window: nothing to do, and the window is next.
	now = window.Add(-10 * time.Minute)
	c := pass(ModeRun)
	if c.Sync != drift.SyncInSync || !c.RequeueAt.Equal(window) {
		t.Fatalf("10 minutes before the window: %s, requeue_at %s; want in sync, %s", c.Sync, c.RequeueAt, window)
	}
	now = c.RequeueAt
	c = pass(ModeRun)
	if c.Sync != drift.SyncCorrected || r.Ledger().Key("analytics-to-ece-logs").ID == oldID {
		t.Fatalf("at the window: %s %+v; want the key rotated", c.Sync, c.Changes)
	}
	// The new key is proven in this pass; the old one stays over the proof
	// window: the keystore grace ends first, then the window's end is the
	// requeue time, and the pass at it invalidates the old key.
	rotated := now
	if c.Health != drift.HealthRotating || !c.RequeueAt.Equal(rotated.Add(5*time.Minute)) {
		t.Fatalf("after the rotation: %s, requeue_at %s; want rotating, the grace's end %s", c.Health, c.RequeueAt, rotated.Add(5*time.Minute))
	}
	now = c.RequeueAt
	if c = pass(ModeRun); c.Health != drift.HealthRotating || !c.RequeueAt.Equal(rotated.Add(DefaultRotationOverlap)) {
		t.Fatalf("within the proof window: %s, requeue_at %s; want rotating, the window's end %s", c.Health, c.RequeueAt, rotated.Add(DefaultRotationOverlap))
	}
	now = c.RequeueAt
	if c = pass(ModeRun); c.Health != drift.HealthConnected || r.Ledger().Key("analytics-to-ece-logs").Previous != nil {
		t.Fatalf("at the window's end: %s, previous %+v; want the old key invalidated", c.Health, r.Ledger().Key("analytics-to-ece-logs").Previous)
	}
}
