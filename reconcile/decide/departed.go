package decide

import (
	"fmt"
	"strings"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/spec"
)

// Departed is departed's decision: pure, from the specs and the
// ledger alone.
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
