package decide

import (
	"fmt"
	"slices"
	"strings"

	"github.com/esremote/esremote/reconcile/world"
)

// Identity decides whether the cluster answering for local may be
// written: it must be the cluster the ledger's records are about
// (recorded, the cluster_uuid the ledger holds for the name; "" when it
// holds none), and no other declared Cluster of the pass may be the same
// cluster (same, the other names observed or recorded with obs's
// cluster_uuid). A cluster too old to say its cluster_uuid is not
// compared. The error names the finding code (CodeIdentityChanged,
// CodeDuplicateCluster) and what to do.
func Identity(local string, obs *world.Observed, recorded string, same []string) error {
	if obs.UUID == "" {
		return nil // a cluster too old to say (or a test double): nothing to compare
	}
	if recorded != "" && recorded != obs.UUID {
		return fmt.Errorf("%s: cluster %s now answers with cluster_uuid %s, but esremote's records are about cluster_uuid %s: nothing is written there. Point elasticsearch.url of %s back at that cluster; if the cluster was rebuilt on purpose, remove the ledger's records of %s (state dir ledger.json) and adopt what is there with esremote import",
			CodeIdentityChanged, local, obs.UUID, recorded, local, local)
	}
	others := slices.DeleteFunc(slices.Clone(same), func(n string) bool { return n == local })
	if len(others) > 0 {
		slices.Sort(others)
		return fmt.Errorf("%s: clusters %s and %s are the same cluster (cluster_uuid %s): nothing is written there until one Cluster document remains",
			CodeDuplicateCluster, local, strings.Join(others, ", "), obs.UUID)
	}
	return nil
}
