package reconcile

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// endpointOrder lists the endpoints target answered, in the order the sim
// answered them.
func endpointOrder(w *sim.World, target string) []string {
	var out []string
	for _, q := range w.Requests() {
		if q.Target == target {
			out = append(out, q.Endpoint)
		}
	}
	return out
}

// answeredBefore reports whether a was answered before b (both once).
func answeredBefore(order []string, a, b string) bool {
	i, j := slices.Index(order, a), slices.Index(order, b)
	return i >= 0 && j >= 0 && i < j
}

const (
	epRoot    = "GET /"
	epResolve = "GET /_resolve/cluster/{expr}"
)

// In a daemon, the evidence request of a link whose evidence is no longer
// fresh leaves with its cluster's reads, not after GET / has answered: it
// is asked the way the version the last pass read asks it (?timeout= from
// 8.18), and read by the version this pass reads. A process that has read
// no version yet (a CLI pass, the daemon's first) waits for GET / to
// choose. GET / is slowed here so that the order of the answers shows it.
func TestEvidenceDoesNotWaitForTheVersion(t *testing.T) {
	clock := &clockOffset{}
	w := sim.DefaultWorld()
	w.Now = clock.Now
	tw := newTestWorld(t, w)
	tw.write("conn.yaml", apiKeyConn)
	rec := clock.rec(tw)
	for _, mode := range []Mode{ModeApply, ModeRun} {
		if _, err := rec.Pass(context.Background(), tw.load(), mode, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tw.srv.Fault(sim.Fault{Target: "ech-analytics", Method: "GET", Path: "/", Kind: sim.FaultLatency, Latency: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	pass := func(r *Reconciler) drift.Connection {
		t.Helper()
		clock.Add(EvidenceFresh)
		tw.srv.World.ResetLog()
		res, err := r.Pass(context.Background(), tw.load(), ModeRun, "")
		if err != nil {
			t.Fatal(err)
		}
		return findConn(t, res.Report(drift.TriggerResync, ""), "analytics-to-ece-logs")
	}
	c := pass(rec)
	order := endpointOrder(tw.srv.World, "ech-analytics")
	if !answeredBefore(order, epResolve, epRoot) || c.Health != drift.HealthConnected {
		t.Errorf("daemon pass: answers %v, health %s; want the evidence request answered before the slow GET / (sent with the reads), connected", order, c.Health)
	}
	if n := tw.srv.World.CountRequests("ech-analytics", epResolve); n != 1 {
		t.Errorf("daemon pass: %d evidence requests; want 1", n)
	}
	c = pass(tw.reconciler(false)) // a new process: no version read yet
	order = endpointOrder(tw.srv.World, "ech-analytics")
	if !answeredBefore(order, epRoot, epResolve) || c.Health != drift.HealthConnected {
		t.Errorf("first pass of a process: answers %v, health %s; want GET / first (its version chooses the request), connected", order, c.Health)
	}
}

// A cluster whose version changed since the last pass in a way that
// changes the evidence request (8.17.4 → 8.19.3: ?timeout= from 8.18, and
// back, which 8.17.4 refuses as an unknown parameter) gets the early
// request shaped by the old version, whose answer is not used: the link is
// asked again the way its version now asks, in the same pass. Requests
// per pass are exact.
func TestEvidenceAskedAgainWhenTheVersionChanged(t *testing.T) {
	clock := &clockOffset{}
	w := sim.DefaultWorld()
	w.Now = clock.Now
	if err := w.SetVersion("ech-analytics", "8.17.4"); err != nil {
		t.Fatal(err)
	}
	tw := newTestWorld(t, w)
	tw.write("conn.yaml", apiKeyConn)
	rec := clock.rec(tw)
	for _, mode := range []Mode{ModeApply, ModeRun} {
		if _, err := rec.Pass(context.Background(), tw.load(), mode, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		version  string
		resolves int
	}{
		{"8.19.3", 2}, // asked without ?timeout= (8.17.4's way), then with it
		{"8.19.3", 1}, // the version the last pass read is right
		{"8.17.4", 2}, // ?timeout= refused with a 400, then asked without it
		{"8.17.4", 1},
	} {
		if err := tw.srv.World.SetVersion("ech-analytics", tc.version); err != nil {
			t.Fatal(err)
		}
		clock.Add(EvidenceFresh)
		tw.srv.World.ResetLog()
		res, err := rec.Pass(context.Background(), tw.load(), ModeRun, "")
		if err != nil {
			t.Fatal(err)
		}
		c := findConn(t, res.Report(drift.TriggerResync, ""), "analytics-to-ece-logs")
		if n := tw.srv.World.CountRequests("ech-analytics", epResolve); n != tc.resolves || c.Health != drift.HealthConnected {
			t.Errorf("now %s: %d evidence requests, health %s %+v; want %d, connected", tc.version, n, c.Health, c.Evidence, tc.resolves)
		}
	}
}
