package reconcile

import (
	"context"
	"fmt"

	"github.com/esremote/esremote/reconcile/decide"
)

// applyDeparted invalidates the keys departed planned, on their remotes
// (steps run by package execute); a key whose remote cannot take the
// request says why on its change.
func (ps *passState) applyDeparted(ctx context.Context, cp *ClusterPlan) {
	var out Outcomes
	for _, d := range cp.Deletions {
		if d.Key == nil || len(d.Changes) == 0 {
			continue
		}
		ch := d.Changes[0]
		rcl := ps.set.Cluster(d.Key.Remote)
		if rcl == nil {
			out.setChange(ch, ChangeOutcome{Err: errRemoteGone(d)})
			continue
		}
		rs := decide.CheckRemote(rcl.Name, ps.remotes[rcl.Name], ps.ledger)
		if rs == nil {
			out.setChange(ch, ChangeOutcome{Err: fmt.Errorf("invalidate key %s on %s: the remote was not observed in this pass", d.Key.ID, rcl.Name)})
			continue
		}
		if rs.Err != nil {
			out.setChange(ch, ChangeOutcome{Err: fmt.Errorf("invalidate key %s on %s: %w", d.Key.ID, rcl.Name, rs.Err)})
		}
	}
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
