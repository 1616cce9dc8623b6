package reconcile

// The execute stage for a local cluster: its decision as steps
// (steps.go), run by package execute in the order of DESIGN §5
// (credentials, a self-managed reload, the one settings PUT, roles, what
// removed connections leave), verification, then the end of rotations.
// Every write of a pass goes through package execute, as apply --plan's
// do: the precondition, the ledger's intent, the request, its commit.

import (
	"context"

	"github.com/esremote/esremote/reconcile/execute"
	"github.com/esremote/esremote/reconcile/plan"
)

// apply writes one cluster's plan in the order of DESIGN §5: credentials
// (key on the remote, keystore on the local), the single settings PUT,
// roles; then verifies the links it touched and finishes rotations.
func (ps *passState) apply(ctx context.Context, w *clusterWork) {
	c, cl, cp, log := w.client, w.cl, w.cp, w.log
	steps := ps.clusterSteps(w)
	touched := map[*ConnectionPlan]bool{}
	// Credentials first: orphans invalidated, the key updated or created
	// on the remote, then written to the local keystore.
	keys := ps.run(ctx, steps, phaseKeys)
	for _, p := range cp.Connections {
		if p.Key == nil || !p.Writes() {
			continue
		}
		if err := ps.settleKey(p, steps, keys); err != nil {
			log.Warn("credentials failed", "alias", p.Conn.Alias, "err", err)
		}
		for _, ch := range p.Changes {
			if ch.Applied {
				touched[p] = true
			}
		}
	}
	// A self-managed cluster's keystore reload, the one settings PUT and
	// the roles, through the executor: the
	// ledger's intent before the PUT (one save, whatever the number of
	// aliases) and its commit after; an unacknowledged PUT or a timeout
	// that may have committed is read back (es-api.md §3.6), and kept
	// (committed) when it landed, so an alias esremote just wrote is
	// never disowned.
	ps.unremovable(cl, cp)
	var reloaded []*ConnectionPlan
	for id, o := range ps.run(ctx, steps, "") {
		switch s := stepByID(steps.steps, id); {
		case s == nil:
		case s.Kind == plan.KindClusterSettings && o.Status == execute.Done:
			log.Info("put cluster settings", "keys", len(cp.Put.Persistent)+len(cp.Put.Transient))
		case s.Kind == plan.KindClusterSettings:
			log.Warn("put cluster settings failed", "err", o.Err)
		case s.Kind == plan.KindReload:
			reloaded = reloadOutcome(cp, o)
		}
	}
	for _, p := range reloaded {
		touched[p] = true
	}
	for _, p := range cp.Connections {
		for _, ch := range p.Changes {
			if ch.Applied {
				touched[p] = true
			}
		}
	}
	if len(touched) > 0 {
		ps.verify(ctx, c, touched, log)
	}
	settleActionRequired(ctx, c, reloaded)
	for _, p := range cp.Connections {
		ps.recordProof(p)
	}
	ps.finishRotations(ctx, cp, steps)
}

// commitLanded commits pending ledger records whose values are live: the
// write landed but the process stopped before recording it (a crash
// between the PUT and the commit). Such records already count as owned;
// committing them keeps the ledger telling the plain truth.
func (ps *passState) commitLanded(cp *ClusterPlan, obs *Observed) {
	var live map[string]map[string]string // grouped once, if some record is pending
	landed := map[string]*AliasRecord{}
	for _, alias := range ps.r.ledger.Aliases(cp.Local) {
		rec := ps.r.ledger.Alias(cp.Local, alias)
		if rec == nil || !rec.Pending {
			continue
		}
		if live == nil {
			live = groupByAlias(obs.Persistent)
		}
		if matches(rec, live[alias]) {
			rec.Pending = false
			landed[alias] = rec
		}
	}
	if len(landed) > 0 {
		_ = ps.r.ledger.SetAliases(cp.Local, landed)
	}
}

// settingChanges are the cluster-setting changes among chs.
func settingChanges(chs []*Change) []*Change {
	var out []*Change
	for _, ch := range chs {
		if ch.Resource == ResourceClusterSetting {
			out = append(out, ch)
		}
	}
	return out
}
