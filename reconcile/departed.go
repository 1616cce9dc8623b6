package reconcile

import (
	"context"
)

// applyDeparted invalidates the keys departed planned, on their remotes
// (steps run by package execute); a key whose remote cannot take the
// request says why on its change.
func (ps *passState) applyDeparted(ctx context.Context, cp *ClusterPlan) {
	var out Outcomes
	ps.heldDeparted(cp, &out)
	ps.addOutcomes(&out)
	b := &stepBuilder{ps: ps, prefix: "departed/"}
	b.departed(cp)
	ps.run(ctx, b, "")
}

// observeDeparted starts the reads of the remotes holding managed keys
// whose connection and local cluster both left the specs (what departed
// invalidates), with the pass's other observations: the invalidation then
// reads nothing after the pass's first write.
func (ps *passState) observeDeparted(ctx context.Context) {
	if !ps.departing {
		return
	}
	led := ps.ledger
	for _, conn := range led.KeyConnections() {
		rec := led.Key(conn)
		if rec == nil || ps.set.Cluster(rec.Local) != nil || ps.set.Connection(conn) != nil {
			continue
		}
		if rcl := ps.set.Cluster(rec.Remote); rcl != nil {
			ps.snap.remote(rcl.Name)
			ps.reads.Go(func() { ps.remote(ctx, rcl) })
		}
	}
}
