package decide

import (
	"fmt"
	"strings"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/spec"
)

// Departed decides what esremote still owns on clusters that left the
// specs (their Cluster document is gone, so esremote has no URL or
// credentials for them), for a pass over a complete spec set:
//
//   - a managed key whose connection and local cluster both left lives on
//     a remote that may still be declared: it is invalidated there;
//   - aliases, roles and keystore entries on the departed cluster cannot
//     be reached: each such cluster gets an unreachable_owned error that
//     names them, on every pass, until the Cluster is declared again (the
//     next apply then deletes them) or its records are removed.
//
// Nothing owned is ever dropped silently. It is pure, from the specs and
// the ledger alone.
func Departed(set *spec.Set, led *ledger.Ledger) []*ClusterPlan {
	var out []*ClusterPlan
	for _, name := range led.Names() {
		if set.Cluster(name) != nil {
			continue
		}
		cp := &ClusterPlan{Local: name}
		for _, conn := range sortedKeys(toSet(led.KeyConnections())) {
			rec := led.Key(conn)
			if rec == nil || rec.Local != name || set.Connection(conn) != nil {
				continue
			}
			d := DeletionFor(cp, conn)
			d.Alias, d.Key = rec.Alias, rec
			d.Changes = append(d.Changes, &Change{Resource: drift.ResourceAPIKey, Target: rec.Remote, Key: rec.Name + " (" + rec.ID + ")",
				Action: drift.ActionDelete, Actual: "key of a removed connection", Origin: drift.OriginSpec})
		}
		var owned []string
		if n := len(led.Aliases(name)); n > 0 {
			owned = append(owned, plural(n, "alias", "aliases")+" ("+strings.Join(sortedKeys(toSet(led.Aliases(name))), ", ")+")")
		}
		if n := len(led.Roles(name)); n > 0 {
			owned = append(owned, plural(n, "role", "roles")+" ("+strings.Join(sortedKeys(toSet(led.Roles(name))), ", ")+")")
		}
		if n := len(led.KeystoreEntries(name)); n > 0 {
			owned = append(owned, plural(n, "keystore entry", "keystore entries"))
		}
		if len(owned) > 0 {
			cp.Err = fmt.Errorf("%s: cluster %s left the specs, but esremote still owns %s there and cannot reach it to delete them: declare the Cluster again and run apply (esremote deletes them), or delete them by hand and remove %q from the ledger",
				CodeUnreachableOwned, name, strings.Join(owned, ", "), name)
		}
		if cp.Err != nil || len(cp.Deletions) > 0 {
			out = append(out, cp)
		}
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
