package reconcile

import (
	"reflect"
	"testing"
	"time"

	"github.com/esremote/esremote/reconcile/sim"
)

// Deciding reads nothing and depends on nothing but the Snapshot, the
// ledger and the clock: decided twice from one Snapshot, a pass gets equal
// plans, and the world sees no request while it decides (issue 22 point
// 2). The world has managed keys both ways, a certificate link, roles and
// drift, so every family decides something.
func TestDecideTwiceFromOneSnapshot(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("links.yaml", bothWays)
	tw.write("conn.yaml", apiKeyConn)
	tw.pass(ModeApply)
	// Drift for the decisions to find: a setting changed by hand, a role
	// of a connection that left the specs.
	if err := tw.srv.World.SetSetting("ech-analytics", "persistent", "cluster.remote.logs.skip_unavailable", "true"); err != nil {
		t.Fatal(err)
	}
	tw.remove("conn.yaml")

	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	changes := 0
	// A daemon's pass (ModeRun) decides as plan does, and leaves the
	// daemon's memory (contests) alone.
	for _, mode := range []Mode{ModePlan, ModeRun} {
		r := tw.reconciler(mode == ModePlan)
		r.opts.Now = func() time.Time { return at }
		ps := r.newPass(tw.load(), mode, "", nil)
		ps.observe(t.Context())
		ps.reads.Wait()
		tw.srv.World.ResetLog()
		w1, d1 := ps.decide()
		w2, d2 := ps.decide()
		if log := tw.srv.Log(); len(log) != 0 {
			t.Fatalf("%s: deciding sent %d requests, the first %s %s %s", mode, len(log), log[0].Target, log[0].Method, log[0].Path)
		}
		if len(w1) == 0 || len(w1) != len(w2) || len(d1) != len(d2) {
			t.Fatalf("%s: %d and %d clusters, %d and %d departed", mode, len(w1), len(w2), len(d1), len(d2))
		}
		for i := range w1 {
			a, b := w1[i].cp, w2[i].cp
			if !reflect.DeepEqual(a, b) {
				t.Errorf("%s: %s: two decisions from one Snapshot differ:\n%+v\n%+v", mode, a.Local, clusterDoc(a, nil), clusterDoc(b, nil))
			}
			for _, c := range a.Connections {
				changes += len(c.Changes)
			}
			for _, d := range a.Deletions {
				changes += len(d.Changes)
			}
		}
		if !reflect.DeepEqual(d1, d2) {
			t.Errorf("%s: the departed clusters' plans differ: %+v, %+v", mode, d1, d2)
		}
		if n := len(r.contests.m); n != 0 {
			t.Errorf("%s: deciding recorded %d contests in the daemon's memory", mode, n)
		}
	}
	if changes == 0 {
		t.Fatal("nothing was decided: the test proves nothing")
	}
}
