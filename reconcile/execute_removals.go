package reconcile

// What connections that left the specs leave behind (their managed keys
// and keystore entries) is removed by steps (steps.go) run by package
// execute; what no step can remove is said as its outcome here.

import (
	"fmt"

	"github.com/esremote/esremote/spec"
)

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
