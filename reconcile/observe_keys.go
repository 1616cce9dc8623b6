package reconcile

// The observe stage's part for managed keys: the remotes their keys live on.

import (
	"context"
	"fmt"

	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/observe"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// remoteState is one remote cluster as a pass sees it: its version and
// the keys esremote made there, read once per pass (observe.Remote). It
// holds data only: the execute stage gets its own client
// (Reconciler.ESClient).
type remoteState = observe.Remote

// remote returns the pass's view of a remote cluster, reading it once:
// GET / and the managed keys at once, the keys kept only when GET / shows
// the cluster the ledger's records are about.
func (ps *passState) remote(ctx context.Context, cl *spec.Cluster) *remoteState {
	return ps.snap.reads.Remote(ctx, cl.Name, observe.RemoteQuery{
		Client: func() (*es.Client, error) { return ps.r.ESClient(ps.set, cl) },
		Keys:   es.KeyQuery{Name: keyPrefix + "*"},
		Check: func(info world.Info) error {
			if rec := ps.ledger.ClusterUUID(cl.Name); rec != "" && info.ClusterUUID != "" && rec != info.ClusterUUID {
				return fmt.Errorf("%s: cluster %s now answers with cluster_uuid %s, but esremote's records are about cluster_uuid %s: no key is created or invalidated there",
					CodeIdentityChanged, cl.Name, info.ClusterUUID, rec)
			}
			return nil
		},
	})
}

// prefetchRemotes starts the reads of the remotes the managed keys of a
// local cluster's connections live on, as soon as that cluster is
// observed, under the conditions keyRemote names (a managed key, a
// deployment-backed local on 8.14 or later, a declared remote, an endpoint
// and settings that could be prepared): the remote's reads then travel
// while the other local clusters are observed, instead of after them on
// every link's path. Each remote is still read once (remoteState).
func (ps *passState) prefetchRemotes(ctx context.Context, local *spec.Cluster, conns []*spec.Connection, obs *Observed) {
	if local.Deployment == nil {
		return
	}
	if v, err := world.ParseVersion(obs.Version); err == nil && !v.AtLeast(8, 14, 0) {
		return
	}
	for _, c := range conns {
		if c.Security != spec.SecurityAPIKey || c.APIKey == nil || !c.APIKey.Managed || c.Policy == spec.PolicyDisabled {
			continue
		}
		rcl := ps.set.Cluster(c.Remote.Cluster)
		if rcl == nil {
			continue
		}
		ep := ps.endpoints[c.Remote.Cluster]
		if ep.err != nil && c.Remote.ProxyAddress == "" {
			continue
		}
		if _, err := Desire(c, ep.Endpoint); err != nil {
			continue
		}
		// The slot is made now, the read runs on: a decision that looks
		// for the remote waits for this read (Snapshot.readRemote).
		ps.snap.remote(rcl.Name)
		ps.reads.Go(func() { ps.remote(ctx, rcl) })
	}
}

// keyRemote is the remote cluster whose keys a connection's key decision
// needs read, or nil when the decision reads none (not a managed key, a
// local too old for api_key security, a self-managed local, no
// remote.cluster: decide.Key then decides without it).
func keyRemote(set *spec.Set, p *ConnectionPlan, local *spec.Cluster, obs *Observed) *spec.Cluster {
	c := p.Conn
	if c.Security != spec.SecurityAPIKey || c.APIKey == nil || p.Err != nil || c.Policy == spec.PolicyDisabled ||
		!c.APIKey.Managed || local.Deployment == nil {
		return nil
	}
	if v, err := world.ParseVersion(obs.Version); err == nil && !v.AtLeast(8, 14, 0) {
		return nil
	}
	return set.Cluster(c.Remote.Cluster)
}
