package reconcile

import (
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// Another writer sets proxy_socket_connections back to 3 after every
// correction: after DefaultContestThreshold flips esremote reports the
// connection contested and stops rewriting it, and it resumes once the
// spec changes.
func TestContestedAfterThreshold(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("conn.yaml", proxyConn)
	r := tw.reconciler(false)
	pass := func() drift.Connection {
		t.Helper()
		res, err := r.Pass(t.Context(), tw.load(), ModeRun, "")
		if err != nil {
			t.Fatal(err)
		}
		return findConn(t, res.Report(drift.TriggerResync, ""), "analytics-to-onprem")
	}
	pass()
	const key = "cluster.remote.onprem.proxy_socket_connections"
	for i := 1; i <= DefaultContestThreshold+1; i++ {
		if err := tw.srv.World.SetSetting("ech-analytics", "persistent", key, "3"); err != nil {
			t.Fatal(err)
		}
		tw.srv.World.ResetLog()
		c := pass()
		puts := tw.srv.World.CountRequests("ech-analytics", "PUT /_cluster/settings")
		found := false
		for _, f := range c.Findings {
			found = found || f.Code == CodeContested
		}
		switch {
		case i < DefaultContestThreshold:
			if c.Sync != drift.SyncCorrected || puts != 1 || found {
				t.Fatalf("flip %d: sync %s, %d PUTs; want corrected with one PUT", i, c.Sync, puts)
			}
		case i == DefaultContestThreshold:
			// Reported from the threshold on, with one last write.
			if c.Sync != drift.SyncContested || puts != 1 || !found {
				t.Fatalf("flip %d: sync %s, %d PUTs, finding %v; want contested, still written once", i, c.Sync, puts, found)
			}
		default:
			if c.Sync != drift.SyncContested || puts != 0 || !found {
				t.Fatalf("flip %d: sync %s, %d PUTs, finding %v; want contested and no write", i, c.Sync, puts, found)
			}
		}
	}
	// The spec's value changes: esremote writes again.
	tw.write("conn.yaml", strings.Replace(proxyConn, "proxy_socket_connections: 6", "proxy_socket_connections: 8", 1))
	tw.srv.World.ResetLog()
	if c := pass(); c.Sync != drift.SyncCorrected {
		t.Fatalf("after a spec change: %s %+v", c.Sync, c.Changes)
	}
}

// The case that escaped the old per-pass count: the daemon resyncs every
// second, a script sets skip_unavailable back to false every 3 seconds,
// so two in-sync passes sit between its flips. Counted by rate (3 flips
// within the window, whatever the passes in between), the key is reported
// contested at the third flip and held from the fourth; flips spread
// wider than the window never add up. The clock is injected: no sleeps.
func TestContestedBySlowWriter(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("conn.yaml", proxyConn)
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	r, err := New(Options{StateDir: tw.state, Getenv: func(k string) string { return tw.env[k] },
		VerifyTimeout: 20 * time.Millisecond, VerifyInterval: 5 * time.Millisecond,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	const key = "cluster.remote.onprem.skip_unavailable"
	set := tw.load()
	pass := func() (drift.Connection, int) {
		t.Helper()
		tw.srv.World.ResetLog()
		res, err := r.Pass(t.Context(), set, ModeRun, "")
		if err != nil {
			t.Fatal(err)
		}
		return findConn(t, res.Report(drift.TriggerResync, ""), "analytics-to-onprem"),
			tw.srv.World.CountRequests("ech-analytics", "PUT /_cluster/settings")
	}
	pass() // creates the alias
	flips, corrections := 0, 0
	for sec := 1; sec <= 15; sec++ {
		now = now.Add(time.Second)
		if sec%3 == 0 {
			if err := tw.srv.World.SetSetting("ech-analytics", "persistent", key, "false"); err != nil {
				t.Fatal(err)
			}
			flips++
		}
		c, puts := pass()
		corrections += puts
		contested := c.Sync == drift.SyncContested
		switch {
		case sec%3 != 0 && flips < DefaultContestThreshold+1:
			if c.Sync != drift.SyncInSync || puts != 0 {
				t.Fatalf("second %d, between flips: %s with %d PUTs; want in sync", sec, c.Sync, puts)
			}
		case flips < DefaultContestThreshold:
			if contested || puts != 1 {
				t.Fatalf("flip %d: %s with %d PUTs; want corrected", flips, c.Sync, puts)
			}
		case flips == DefaultContestThreshold:
			if !contested || puts != 1 || !hasFinding(c, CodeContested) {
				t.Fatalf("flip %d: %s with %d PUTs; want contested and written one last time", flips, c.Sync, puts)
			}
		default:
			if !contested || puts != 0 {
				t.Fatalf("second %d, flip %d: %s with %d PUTs; want contested and held", sec, flips, c.Sync, puts)
			}
		}
	}
	if corrections != DefaultContestThreshold {
		t.Errorf("%d corrections; want %d, then none", corrections, DefaultContestThreshold)
	}

	// A writer slower than the window is never contested: flips an hour
	// apart each start the count again.
	r2, err := New(Options{StateDir: tw.state, Getenv: func(k string) string { return tw.env[k] },
		VerifyTimeout: 20 * time.Millisecond, VerifyInterval: 5 * time.Millisecond,
		Now: func() time.Time { return now }, ContestWindow: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	r = r2
	if err := tw.srv.World.SetSetting("ech-analytics", "persistent", key, "true"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2*DefaultContestThreshold; i++ {
		now = now.Add(31 * time.Minute)
		if err := tw.srv.World.SetSetting("ech-analytics", "persistent", key, "false"); err != nil {
			t.Fatal(err)
		}
		if c, puts := pass(); c.Sync != drift.SyncCorrected || puts != 1 {
			t.Fatalf("flip %d, 31 minutes apart: %s with %d PUTs; want corrected", i+1, c.Sync, puts)
		}
	}
}
