package reconcile

import (
	"context"
	"fmt"
	"sync"

	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/observe"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// The observe stage: the reads of a pass (DESIGN §5), each target once,
// into the pass's Snapshot. Nothing here decides or writes.

// Observed and RemoteStatus are what the observe stage read of a local
// cluster (package world's).
type (
	Observed     = world.Observed
	RemoteStatus = world.RemoteStatus
)

// A local cluster's observation is its world.ClusterRead: GET /, its
// remote-cluster settings and _remote/info (Observed, or Err); its roles
// when the cluster's pass needs them (wantRoles: RolesRead, read with the
// other reads in the same round trip; RolesErr fails the cluster only
// where the roles are decided); its credential's privileges
// when it has API-key links (wantPrivileges; nil when the read failed:
// the check then rests on the evidence alone); each link's evidence (the
// request sent with the reads, fresh cached evidence, and the second
// wave's request for the links neither settled, observeEvidence); and the
// remotes its managed keys live on (KeyRemotes, prefetchRemotes).

// observeAll reads every local cluster of the pass (bounded by
// Concurrency) into the pass's Snapshot: the three reads of DESIGN §5,
// the roles when the cluster's connections declare roles or the ledger
// owns some there, and the evidence request of the links esremote
// configured whose evidence is not fresh (observe.Asker.AskEarly), all sent at once. As soon as a local cluster
// is observed, the remotes its managed keys live on are read too
// (prefetchRemotes), so that no cluster waits for them later.
//
// observed, when not nil, is called with each cluster's observation as soon
// as it is complete, the cluster's slot given back: what it does (the
// cluster's decision) overlaps the other clusters' reads.
func (ps *passState) observeAll(ctx context.Context, locals []string, byLocal map[string][]*spec.Connection, observed func(i int, cr *world.ClusterRead)) {
	out := make([]world.ClusterRead, len(locals))
	sem := make(chan struct{}, ps.r.opts.Concurrency)
	var wg sync.WaitGroup
	for i, local := range locals {
		out[i].Name = local
		cl := ps.set.Cluster(local)
		if cl == nil {
			out[i].Err = fmt.Errorf("cluster %q is not declared", local)
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			ps.observeLocal(ctx, cl, byLocal[local], &out[i])
			<-sem
			if observed != nil {
				observed(i, &out[i])
			}
		})
	}
	wg.Wait()
	ps.snap.mu.Lock()
	for i, local := range locals {
		ps.snap.locals[local] = &out[i]
	}
	ps.snap.mu.Unlock()
}

// observeLocal reads one local cluster into o (observeAll): its reads of
// DESIGN §5 and the evidence request of its links, sent at once
// (observe.Reads.StartLocal, observe.Asker.AskEarly), then the second wave.
func (ps *passState) observeLocal(ctx context.Context, cl *spec.Cluster, conns []*spec.Connection, o *world.ClusterRead) {
	local := cl.Name
	client, err := ps.r.ESClient(ps.set, cl)
	if err != nil {
		o.Err = err
		return
	}
	o.RolesRead = decide.WantRoles(local, conns, ps.ledger, ps.scoped)
	// The version the last pass read, taken before this pass's reads
	// start: rememberVersion below replaces it as soon as they are in,
	// which may be before the early request has been asked.
	last, known := ps.r.lastVersion(local)
	lr := ps.snap.reads.StartLocal(ctx, local, client, observe.Want{Roles: o.RolesRead, Privileges: wantPrivileges(conns)})
	var (
		wg    sync.WaitGroup
		links []observe.Link
		early *observe.Early
	)
	wg.Go(func() {
		links = ps.r.evidenceLinks(local, conns)
		version := func() string {
			if known {
				return last
			}
			info, err := ps.snap.reads.Info(ctx, local, client)
			if err != nil {
				return ""
			}
			return info.Version.String()
		}
		early = ps.r.asker().AskEarly(ctx, client, links, version)
	})
	o.Observed, o.Err = lr.Observed()
	if o.Err == nil {
		ps.r.rememberVersion(local, o.Observed.Version)
		o.KeyRemotes = ps.prefetchRemotes(ctx, cl, conns, o.Observed)
	}
	o.Roles, o.RolesErr = lr.Roles()
	o.Privileges = lr.Privileges()
	wg.Wait()
	if o.Err == nil {
		o.Evidence = ps.r.observeEvidence(ctx, client, links, o.Observed, early)
	}
}

// endpointResult is a remote cluster's endpoint, or why it is unknown.
type endpointResult = world.EndpointRead

// resolveEndpoints finds the endpoint of every remote Cluster the
// connections name, outside a pass (observe.Endpoints).
func (r *Reconciler) resolveEndpoints(ctx context.Context, set *spec.Set, only string) map[string]endpointResult {
	return observe.Endpoints(ctx, r.observeClients(set, nil), only)
}

// resolveEndpoints is the pass's endpoint of every remote Cluster its
// connections name, each deployment read once (observe.Endpoints).
func (ps *passState) resolveEndpoints(ctx context.Context) map[string]endpointResult {
	return observe.Endpoints(ctx, ps.observeClients(), ps.only)
}

// DeploymentEndpoint reads a deployment-backed Cluster's Elasticsearch
// endpoint from its control plane (observe.DeploymentEndpoint).
func (r *Reconciler) DeploymentEndpoint(ctx context.Context, set *spec.Set, cl *spec.Cluster) (Endpoint, error) {
	return observe.DeploymentEndpoint(ctx, r.observeClients(set, nil), cl)
}
