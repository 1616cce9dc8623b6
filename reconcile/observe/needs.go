package observe

import (
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// KeyRemote is what the second wave reads for connection c of local
// cluster local, given the first wave's version of it: the remote cluster
// whose GET / and esremote-* keys the decision of c's managed key needs,
// or nil when it needs none (not a managed api_key link, disabled, a
// self-managed local whose keystore is not written over REST, a local
// older than 8.14, or a remote that is not declared). It is pure: the
// pass reads what it names as soon as the local is observed
// (prefetchRemotes), and the key decision looks for what it names, so the
// decision never finds a remote unread.
func KeyRemote(set *spec.Set, c *spec.Connection, local *spec.Cluster, version string) *spec.Cluster {
	if c.Security != spec.SecurityAPIKey || c.APIKey == nil || !c.APIKey.Managed || c.Policy == spec.PolicyDisabled ||
		local.Deployment == nil {
		return nil
	}
	if v, err := world.ParseVersion(version); err == nil && !v.AtLeast(8, 14, 0) {
		return nil
	}
	return set.Cluster(c.Remote.Cluster)
}
