package reconcile

import (
	"context"

	"github.com/esremote/esremote/reconcile/cloud"
	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/observe"
	"github.com/esremote/esremote/spec"
)

// The trust decision's live reads are the observe stage's
// (observe.TrustFact): the facts a certificate link's trust depends on,
// read by demand while the rules first run, each once (trustObservation
// records them).

// trustLive reads the facts the trust decision names Missing, through the
// pass's clients and read-once store.
type trustLive struct {
	ps  *passState
	ctx context.Context
}

// read answers one question of the trust decision.
func (l *trustLive) read(q decide.TrustQuestion) decide.TrustAnswer {
	return observe.TrustFact(l.ctx, l.ps.observeClients(), q.Fact, q.Cluster, q.Env)
}

// observeClients are the pass's clients and read-once store, for the
// observe stage's reads beyond the local clusters' (trust facts,
// deployments, endpoints).
func (ps *passState) observeClients() observe.Clients {
	return ps.r.observeClients(ps.set, ps.snap.reads)
}

// observeClients are the Reconciler's clients for set's clusters, with a
// pass's read-once store (nil outside a pass: each read reads).
func (r *Reconciler) observeClients(set *spec.Set, reads *observe.Reads) observe.Clients {
	return observe.Clients{Set: set, Reads: reads,
		Cloud: func(cl *spec.Cluster) (*cloud.Client, error) { return r.CloudClient(set, cl) }}
}

// planTrust observes the trust of every deployment that certificate
// connections and TrustedEnvironments involve, and decides it. The facts
// the rules need depend on what earlier facts said, so it reads in
// rounds: decide.DecideTrust decides from what the observation holds
// (pure: it never reads) and names what is Missing; those facts are read,
// each once, and recorded; until nothing is missing. The observation is
// then the Snapshot's part of trust, and the last decision the pass's.
func (ps *passState) planTrust(ctx context.Context) {
	in := decide.TrustInput{Set: ps.set, Scoped: ps.scoped, Only: ps.only, Ledger: ps.ledger, Now: ps.now,
		Obs: decide.NewTrustObservation()}
	live := &trustLive{ps: ps, ctx: ctx}
	tp := decide.DecideTrust(in)
	for len(tp.Missing) > 0 {
		for _, q := range tp.Missing {
			in.Obs.Record(q, live.read(q))
		}
		tp = decide.DecideTrust(in)
	}
	ps.snap.trust = in.Obs
	ps.trust = tp
	log := ps.r.opts.Logger
	for _, ch := range tp.Detached.Changes {
		log.Info("trust change of no connection", "target", ch.Target, "key", ch.Key, "action", ch.Action)
	}
	for _, f := range tp.Detached.Findings {
		log.Warn("trust finding of no connection", "code", f.Code, "message", f.Message)
	}
	for _, u := range tp.Detached.Unmanaged {
		log.Info("trust entry left alone", "target", u.Target, "key", u.Name, "reason", u.Reason)
	}
}

// trustDetached is the pass's trust work and findings that concern no
// connection (see the package comment on trust), for the report: as the
// trust writes left it (a re-read after a 409 may add changes), or as
// decided when nothing was written.
func (ps *passState) trustDetached() Detached {
	switch {
	case ps.trustAfter != nil:
		return ps.trustAfter.Detached
	case ps.trust != nil:
		return ps.trust.Detached
	}
	return Detached{}
}

// readTrust re-reads the deployment and its Elasticsearch resource (after a
// 409: a new observation on purpose; observe.ReadTrust).
func readTrust(ctx context.Context, d *decide.TrustDeployment, client *cloud.Client) error {
	dep, res, err := observe.ReadTrust(ctx, client, d.Cluster)
	if err != nil {
		return err
	}
	d.Dep, d.Res = dep, res
	return nil
}
