package reconcile

// What connections that left the specs leave behind (their managed keys
// and keystore entries) is removed by steps (steps.go) run by package
// execute; what no step can remove is said as its outcome here.

import (
	"fmt"

	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/spec"
)

// heldRemovals records why a plan's removals that no step makes are not
// made, as a live pass says it when it runs (unremovable; a departed
// cluster's are the plan pass's heldDeparted): a saved plan carries the
// reasons, so apply --plan reports them too.
func heldRemovals(set *spec.Set, cp *ClusterPlan, out *Outcomes) {
	if cl := set.Cluster(cp.Local); cl != nil {
		unremovable(set, cl, cp, out)
	}
}

// heldDeparted records why the key of a connection whose local cluster
// left the specs is not invalidated: its remote left them too, or the
// pass could not read it (the invalidation's precondition).
func (ps *passState) heldDeparted(cp *ClusterPlan, out *Outcomes) {
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
		switch rs := decide.CheckRemote(rcl.Name, ps.remotes[rcl.Name], ps.ledger); {
		case rs == nil:
			out.setChange(ch, ChangeOutcome{Err: fmt.Errorf("invalidate key %s on %s: the remote was not observed in this pass", d.Key.ID, rcl.Name)})
		case rs.Err != nil:
			out.setChange(ch, ChangeOutcome{Err: fmt.Errorf("invalidate key %s on %s: %w", d.Key.ID, rcl.Name, rs.Err)})
		}
	}
}

// errRemoteGone is why the key of a connection whose local cluster left
// the specs is not invalidated: its remote left them too.
func errRemoteGone(d *AliasDeletion) error {
	return fmt.Errorf("%s: remote cluster %s is no longer declared either: invalidate key %s there by hand", CodeUnreachableOwned, d.Key.Remote, d.Key.ID)
}

// unremovable records, as the outcome of their changes, why the removals
// no step can make are not made: a key whose remote cluster is no longer
// declared, a keystore entry of a self-managed cluster (not writable over
// REST: the operator gets the command). A live pass and apply --plan
// give the same reasons.
func unremovable(set *spec.Set, cl *spec.Cluster, cp *ClusterPlan, out *Outcomes) {
	for _, d := range cp.Deletions {
		if d.Key != nil && set.Cluster(d.Key.Remote) == nil {
			for _, ch := range d.Changes {
				if ch.Resource == ResourceAPIKey && ch.Err == nil {
					out.setChange(ch, ChangeOutcome{Err: fmt.Errorf("remote cluster %s is no longer declared: invalidate key %s there by hand", d.Key.Remote, d.Key.ID)})
				}
			}
		}
		if cl.Deployment == nil {
			for _, kr := range d.KeystoreRemovals {
				if kr.Change != nil && kr.Change.Err == nil {
					out.setChange(kr.Change, ChangeOutcome{Err: fmt.Errorf("self-managed keystore: on every node of %s run bin/elasticsearch-keystore remove %s", cl.Name, kr.Setting)})
				}
			}
		}
	}
}
