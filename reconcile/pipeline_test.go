package reconcile

import (
	"reflect"
	"testing"
	"time"

	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/sim"
)

// A pass hands each cluster to decide as soon as its own reads are in
// (issue 22: "only the facts that span clusters wait"): observing leaves a
// decision for every observed cluster, made in that cluster's goroutine
// once its slot was given back, and those decisions, with the identity
// check over every cluster, are the plans decide makes from the finished
// Snapshot.
func TestClustersDecidedAsTheyAreObserved(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("links.yaml", bothWays)
	tw.write("conn.yaml", apiKeyConn)
	tw.pass(ModeApply)
	if err := tw.srv.World.SetSetting("ech-analytics", "persistent", "cluster.remote.logs.skip_unavailable", "true"); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	r := tw.reconciler(true)
	r.opts.Now = func() time.Time { return at }
	ps := r.newPass(tw.load(), ModePlan, "", nil)
	ps.observe(t.Context())
	ps.reads.Wait()
	if len(ps.locals) < 2 {
		t.Fatalf("%d local clusters: the test needs several", len(ps.locals))
	}
	for i, local := range ps.locals {
		if ps.early[i] == nil {
			t.Errorf("%s: observed but not decided until every cluster was", local)
		}
	}
	early, departed := ps.decidePass()
	ps.steps(early, departed) // decide.Decide's decision names each change's step
	later := decide.Decide(ps.set, ps.snapshot(), ps.holds, at).Clusters
	for i := range later {
		if !reflect.DeepEqual(early[i].cp, later[i].Plan) {
			t.Errorf("%s: the decision made as it was observed differs from decide's:\n%+v\n%+v", later[i].Plan.Local, clusterDoc(early[i].cp, nil, nil), clusterDoc(later[i].Plan, nil, nil))
		}
	}
}
