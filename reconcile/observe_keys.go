package reconcile

// The observe stage's part for managed keys: the remotes their keys live on.

import (
	"context"
	"fmt"
	"sync"

	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// remoteState is one remote cluster as a pass sees it: its version and
// the keys esremote made there, read once per pass. It holds data only:
// the execute stage gets its own client (Reconciler.ESClient).
type remoteState struct {
	name string
	once sync.Once
	// done is closed once the slot is read (Snapshot.readRemote waits
	// for it).
	done chan struct{}
	info world.Info
	keys []world.APIKey
	err  error
}

// remote returns the pass's view of a remote cluster, reading it once.
func (ps *passState) remote(ctx context.Context, cl *spec.Cluster) *remoteState {
	rs := ps.snap.remote(cl.Name)
	rs.once.Do(func() {
		defer close(rs.done)
		client, err := ps.r.ESClient(ps.set, cl)
		if err != nil {
			rs.err = err
			return
		}
		// GET / and the key list at once: one round trip. The keys are
		// only used once GET / proved which cluster answered.
		var (
			wg      sync.WaitGroup
			keys    []world.APIKey
			keysErr error
		)
		wg.Go(func() { keys, keysErr = client.APIKeys(ctx, es.KeyQuery{Name: keyPrefix + "*"}) })
		rs.info, rs.err = ps.snap.info(ctx, cl.Name, client)
		wg.Wait()
		if rs.err != nil {
			return
		}
		if rec := ps.ledger.ClusterUUID(cl.Name); rec != "" && rs.info.ClusterUUID != "" && rec != rs.info.ClusterUUID {
			rs.err = fmt.Errorf("%s: cluster %s now answers with cluster_uuid %s, but esremote's records are about cluster_uuid %s: no key is created or invalidated there",
				CodeIdentityChanged, cl.Name, rs.info.ClusterUUID, rec)
			return
		}
		rs.keys, rs.err = keys, keysErr
	})
	return rs
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
// remote.cluster: diffKey then decides without it).
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
