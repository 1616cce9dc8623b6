package reconcile

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// Rotation has no gap: before and after every write of the rotation (new
// key, its canary, keystore swap; the old key invalidated by the first pass
// after the proof window) the sim says the link is connected, and the old
// key is invalidated only at the end.
func TestRotationKeepsLinkConnectedAtEveryStep(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.fast("asserts the link connected by the apply that wrote its key; the platform's keystore load delay is the subject of TestRotationByProofWithKeystoreReloadDelay and TestKeystoreLoadingIsReportedAsLoading")
	now := time.Now()
	tw.srv.World.Now = func() time.Time { return now }

	var mu sync.Mutex
	var steps []string
	link := func() bool { return tw.srv.World.LinkStatus("ech-analytics", "ece-prod-logs").Connected }
	tw.frontEndpoints(func(up string) string {
		u, _ := url.Parse(up)
		rp := httputil.NewSingleHostReverseProxy(u)
		front := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet {
				rp.ServeHTTP(rw, r)
				return
			}
			before := link()
			rp.ServeHTTP(rw, r)
			mu.Lock()
			steps = append(steps, r.Method+" "+r.URL.Path+" connected before="+boolWord(before)+" after="+boolWord(link()))
			mu.Unlock()
		}))
		t.Cleanup(front.Close)
		return front.URL
	})
	tw.write("conn.yaml", apiKeyConn)

	pass := func() drift.Connection {
		t.Helper()
		r := tw.reconciler(false)
		r.opts.Now = func() time.Time { return now }
		res, err := r.Pass(t.Context(), tw.load(), ModeApply, "")
		if err != nil {
			t.Fatal(err)
		}
		return findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
	}
	if c := pass(); c.Health != drift.HealthConnected {
		t.Fatalf("setup: %+v", c)
	}
	oldID := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID

	now = now.Add(80 * 24 * time.Hour) // within rotate_before (14d) of the 90d expiry
	mu.Lock()
	steps = nil
	mu.Unlock()
	if c := pass(); c.Health != drift.HealthRotating || c.Sync != drift.SyncCorrected {
		t.Fatalf("rotation: %s %s %+v", c.Sync, c.Health, c.Changes)
	}
	// The old key goes in the first pass after the proof window.
	now = now.Add(DefaultRotationOverlap + time.Minute)
	if c := pass(); c.Health != drift.HealthConnected || c.Sync != drift.SyncCorrected {
		t.Fatalf("after the proof window: %s %s %+v", c.Sync, c.Health, c.Changes)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"POST /_security/cross_cluster/api_key", "PUT /_security/cross_cluster/api_key/", "/keystore", "DELETE /_security/api_key"}
	if len(steps) != len(want) {
		t.Fatalf("rotation writes: %v, want create, its canary, keystore swap, invalidate", steps)
	}
	for i, s := range steps {
		if !strings.Contains(s, want[i]) || strings.Contains(s, "=no") {
			t.Errorf("step %d: %s; want %s with the link connected before and after", i+1, s, want[i])
		}
	}
	if newID := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID; newID == oldID {
		t.Fatal("key not rotated")
	}
}

func boolWord(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// A role esremote wrote and an operator edited is reported as external
// drift and put back.
func TestRoleDriftCorrected(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("conn.yaml", apiKeyConn)
	tw.pass(ModeApply)

	edited := `{"remote_indices":[{"clusters":["ece-prod-logs"],"names":["*"],"privileges":["read"]}],"metadata":{"managed_by":"esremote","connection":"analytics-to-ece-logs"}}`
	if err := tw.srv.World.PutRole("ech-analytics", "logs-remote-reader", []byte(edited)); err != nil {
		t.Fatal(err)
	}
	c := findConn(t, tw.pass(ModePlan).Report(drift.TriggerPlan, ""), "analytics-to-ece-logs")
	var role *drift.Change
	for i := range c.Changes {
		if c.Changes[i].Resource == drift.ResourceRole {
			role = &c.Changes[i]
		}
	}
	if role == nil || role.Origin != drift.OriginExternal || role.Action != drift.ActionUpdate {
		t.Fatalf("role drift not reported as an external update: %+v", c.Changes)
	}
	c = findConn(t, tw.pass(ModeApply).Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
	if c.Sync != drift.SyncCorrected {
		t.Fatalf("role drift not corrected: %+v", c)
	}
	if rep := tw.pass(ModePlan).Report(drift.TriggerPlan, ""); rep.PendingChanges() != 0 {
		t.Fatalf("changes left after correcting the role: %+v", rep.Connections)
	}
}
