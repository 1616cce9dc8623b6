package reconcile

import (
	"context"

	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/observe"
	"github.com/esremote/esremote/spec"
)

// The observe stage's part for managed keys: the remotes their keys live on.

// remoteState is one remote cluster as a pass sees it: its version and
// the keys esremote made there, read once per pass (observe.Remote). It
// holds data only: the execute stage gets its own client
// (Reconciler.ESClient).
type remoteState = observe.Remote

// remote returns the pass's view of a remote cluster, reading it once:
// GET / and the managed keys at once. Whether the cluster answering is
// the one the ledger's records are about is the decision's
// (decide.CheckRemote), not the read's.
func (ps *passState) remote(ctx context.Context, cl *spec.Cluster) *remoteState {
	return ps.snap.reads.Remote(ctx, cl.Name, observe.RemoteQuery{
		Client: func() (*es.Client, error) { return ps.r.ESClient(ps.set, cl) },
		Keys:   es.KeyQuery{Name: keyPrefix + "*"},
	})
}

// prefetchRemotes starts the reads of the remotes the managed keys of a
// local cluster's connections live on, as soon as that cluster is
// observed: the second wave's part that observe.KeyRemote names (a managed
// key, a deployment-backed local on 8.14 or later, a declared remote) for
// the connections whose endpoint and settings could be prepared. The
// remote's reads then travel while the other local clusters are observed,
// instead of after them on every link's path. Each remote is still read
// once (remoteState).
//
// It returns the remote of each connection whose reads it started, by
// connection name (ClusterRead.KeyRemotes).
func (ps *passState) prefetchRemotes(ctx context.Context, local *spec.Cluster, conns []*spec.Connection, obs *Observed) map[string]string {
	var out map[string]string
	for _, c := range conns {
		rcl := observe.KeyRemote(ps.set, c, local, obs.Version)
		if rcl == nil {
			continue
		}
		ep := ps.endpoints[c.Remote.Cluster]
		if ep.Err != nil && c.Remote.ProxyAddress == "" {
			continue
		}
		if _, err := Desire(c, ep.Endpoint); err != nil {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[c.Name] = rcl.Name
		// The slot is made now, the read runs on: a decision that looks
		// for the remote waits for this read (Snapshot.readRemote).
		ps.snap.remote(rcl.Name)
		ps.reads.Go(func() { ps.remote(ctx, rcl) })
	}
	return out
}
