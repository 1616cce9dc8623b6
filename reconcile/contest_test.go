package reconcile

import (
	"strings"
	"testing"

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
