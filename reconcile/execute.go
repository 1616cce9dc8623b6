package reconcile

// The execute stage for a local cluster: its decision as steps
// (steps.go), run by package execute in the order of DESIGN §5
// (credentials, a self-managed reload, the one settings PUT, roles, what
// removed connections leave), verification, then the end of rotations.
// Every write of a pass goes through package execute, as apply --plan's
// do: the precondition, the ledger's intent, the request, its commit.
//
// After the writes, execute only sequences: what is read again is
// package verify's (verify.Evidence through Options.Verify,
// verify.Credentials, verify.AnyIndex), what a link becomes is package
// decide's pure judgement of it (decide/after.go), recorded here.
//
// The decision is never written back: what became of it is recorded as
// Outcomes (outcome.go), each step's outcome by its ID, and each link as
// the writes and the checks after them left it, on a working copy of its
// row made when something of it changes.

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/execute"
	"github.com/esremote/esremote/reconcile/plan"
	"github.com/esremote/esremote/spec"
)

// clusterRun is one local cluster's execution: its decision (w, read
// only) and what became of it (out, merged into the pass's at the end).
type clusterRun struct {
	ps  *passState
	w   *clusterWork
	out Outcomes
	// after are the working copies of the links, by index in
	// w.cp.Connections (nil until something of the link changes);
	// requeue their due times (schedule).
	after   []*ConnectionPlan
	requeue []time.Time
}

// link is the i-th link as the pass has left it so far.
func (cr *clusterRun) link(i int) *ConnectionPlan {
	if cr.after != nil && cr.after[i] != nil {
		return cr.after[i]
	}
	return cr.w.cp.Connections[i]
}

// edit is the working copy of the i-th link, made from its row on first
// use: the row stays as decided.
func (cr *clusterRun) edit(i int) *ConnectionPlan {
	if cr.after == nil {
		cr.after = make([]*ConnectionPlan, len(cr.w.cp.Connections))
	}
	if cr.after[i] == nil {
		c := *cr.w.cp.Connections[i]
		c.Findings = slices.Clone(c.Findings)
		c.Changes = slices.Clone(c.Changes)
		cr.after[i] = &c
	}
	return cr.after[i]
}

// set records on the link's working copy what a judgement after the
// writes (decide/after.go) made of it. Its findings and changes are
// copied: the working copy never shares them with the decided row.
func (cr *clusterRun) set(i int, p ConnectionPlan) {
	p.Findings = slices.Clone(p.Findings)
	p.Changes = slices.Clone(p.Changes)
	*cr.edit(i) = p
}

// change is what became of ch so far: this cluster's steps, then the
// pass's (trust, written before any cluster).
func (cr *clusterRun) change(ch *Change) ChangeOutcome {
	if _, ok := cr.out.Changes[ch]; ok {
		return cr.out.change(ch)
	}
	if id := cr.out.step(ch); id != "" {
		if _, ok := cr.out.Steps[id]; ok {
			return cr.out.change(ch)
		}
	}
	return cr.ps.changeOutcome(ch)
}

func (cr *clusterRun) applied(ch *Change) bool { return cr.change(ch).Applied }

// touched reports whether a write of this pass landed for the link.
func (cr *clusterRun) touched(p *ConnectionPlan) bool {
	return slices.ContainsFunc(p.Changes, cr.applied)
}

// execute writes one decided cluster (apply and run): credentials, the
// one settings PUT, roles, then verify; in every mode it then looks at
// rotations and diagnoses the links that do not work. What became of
// the cluster is added to the pass's outcomes.
func (ps *passState) execute(ctx context.Context, w *clusterWork) {
	cr := &clusterRun{ps: ps, w: w}
	defer cr.done()
	cr.reattachTrust()
	if ps.mode != ModePlan {
		cp := w.cp
		ps.commitLanded(cp, w.obs)
		// Name the cluster in the ledger before the first write: every
		// record under this name is then about this cluster_uuid.
		if err := ps.r.ledger.SetClusterUUID(cp.Local, w.obs.UUID); err != nil {
			cr.failed(fmt.Errorf("record the identity of %s before writing: %w", cp.Local, err))
			return
		}
		cr.apply(ctx)
	}
	cr.afterWrites(ctx, nil)
	cr.schedule()
}

// failed is a cluster that failed after its decision: nothing of it is
// written, and each of its links fails with err.
func (cr *clusterRun) failed(err error) {
	cp := cr.w.cp
	cr.w.log.Warn("cluster failed", "err", err)
	cr.out.Clusters = map[string]error{cp.Local: err}
	for _, p := range cp.Connections {
		cr.out.setLink(p.Conn.Name, &LinkOutcome{Health: HealthUnknown, Err: err})
	}
	cr.after = nil
}

// done records the links the pass left other than decided and adds the
// cluster's outcomes to the pass's.
func (cr *clusterRun) done() {
	for i, p := range cr.w.cp.Connections {
		var due time.Time
		if cr.requeue != nil {
			due = cr.requeue[i]
		}
		a := cr.link(i)
		if a == p && due.IsZero() || a != p && due.IsZero() && sameLink(a, p) {
			continue
		}
		cr.out.setLink(p.Conn.Name, &LinkOutcome{Health: a.Health, Evidence: a.Evidence, Findings: a.Findings, Changes: a.Changes,
			KeyExpiration: a.KeyExpiration, RequeueAt: due})
	}
	cp := cr.w.cp
	cr.ps.r.recordRetryHint(cp.Local, retryErrors(cp, cr.out.Clusters[cp.Local], cr.out.link, cr.change))
	cr.ps.addOutcomes(&cr.out)
}

// sameLink reports whether a working copy says nothing its row does not.
func sameLink(a, p *ConnectionPlan) bool {
	return a.Health == p.Health && a.Evidence == p.Evidence && a.KeyExpiration.Equal(p.KeyExpiration) &&
		slices.Equal(a.Findings, p.Findings) && slices.Equal(a.Changes, p.Changes)
}

// apply writes one cluster's plan in the order of DESIGN §5: credentials
// (key on the remote, keystore on the local), the single settings PUT,
// roles; then verifies the links it touched and finishes rotations.
func (cr *clusterRun) apply(ctx context.Context) {
	ps, cp, log := cr.ps, cr.w.cp, cr.w.log
	steps := ps.clusterSteps(cr.w)
	// Credentials first: orphans invalidated, the key updated or created
	// on the remote, then written to the local keystore.
	keys := cr.run(ctx, steps, phaseKeys)
	for i, p := range cp.Connections {
		if p.Key == nil || !p.Writes() {
			continue
		}
		if err := cr.settleKey(i, steps, keys); err != nil {
			log.Warn("credentials failed", "alias", p.Conn.Alias, "err", err)
		}
	}
	// A self-managed cluster's keystore reload, the one settings PUT and
	// the roles, through the executor: the
	// ledger's intent before the PUT (one save, whatever the number of
	// aliases) and its commit after; an unacknowledged PUT or a timeout
	// that may have committed is read back (es-api.md §3.6), and kept
	// (committed) when it landed, so an alias esremote just wrote is
	// never disowned.
	unremovable(ps.set, cr.w.cl, cp, &cr.out)
	var reloaded []int
	for id, o := range cr.run(ctx, steps, "") {
		switch s := stepByID(steps.steps, id); {
		case s == nil:
		case s.Kind == plan.KindClusterSettings && o.Status == execute.Done:
			log.Info("put cluster settings", "keys", len(cp.Put.Persistent)+len(cp.Put.Transient))
		case s.Kind == plan.KindClusterSettings:
			log.Warn("put cluster settings failed", "err", o.Err)
		case s.Kind == plan.KindReload:
			reloaded = cr.reloadOutcome(o)
		}
	}
	touched := cr.verifyWrites(ctx, reloaded)
	cr.finishRotations(ctx, steps)
	if len(touched) > 0 {
		// The local credential's privileges, judged again on the
		// evidence verify replaced.
		links := make([]ConnectionPlan, len(cp.Connections))
		for i := range links {
			links[i] = *cr.link(i)
		}
		for i, l := range decide.AfterCanaryPrivileges(cp.Local, cr.w.privs, links) {
			cr.set(i, l)
		}
	}
}

// verifyWrites verifies the links a write of this pass landed for
// (reloaded: those a keystore reload was for), settles the
// action_required of those whose credentials Elasticsearch now reports,
// and records each managed key's proof from the last evidence. It
// returns the links verified, by index.
func (cr *clusterRun) verifyWrites(ctx context.Context, reloaded []int) map[int]bool {
	touched := map[int]bool{}
	for _, i := range reloaded {
		touched[i] = true
	}
	for i := range cr.w.cp.Connections {
		if cr.touched(cr.link(i)) {
			touched[i] = true
		}
	}
	if len(touched) > 0 {
		links := make(map[*ConnectionPlan]bool, len(touched))
		for i := range touched {
			links[cr.edit(i)] = true
		}
		cr.ps.verify(ctx, cr.w.client, cr.w.obs.Version, links, cr.w.log)
	}
	cr.settleActionRequired(ctx, reloaded)
	for i := range cr.w.cp.Connections {
		cr.ps.recordProof(cr.link(i))
	}
	return touched
}

// afterWrites: the checks of every mode once the writes are done (none
// in a plan): a link contested by another installation judged by whether
// it works, a rotation under way, and the likely cause of a link that
// does not work. only, when not nil, limits them to those links (by
// index).
func (cr *clusterRun) afterWrites(ctx context.Context, only map[int]bool) {
	ps, w := cr.ps, cr.w
	for i, p := range w.cp.Connections {
		if p.Conn.Policy == spec.PolicyDisabled || only != nil && !only[i] {
			continue
		}
		cr.contested(ctx, i)
		if c := p.Conn; c.Security == spec.SecurityAPIKey && c.APIKey != nil && c.APIKey.Managed {
			if rec := ps.r.ledger.Key(c.Name); rec != nil && rec.Previous != nil {
				cr.set(i, decide.Rotating(*cr.link(i), rec, ps.r.ledger.Keystore(c.Local, CredentialsKey(c.Alias)), ps.r.opts.Now(), ps.r.opts.RotationStuckAfter))
			}
		}
		if decide.NeedsDiagnosis(cr.link(i)) {
			ps.diagnose(ctx, cr.edit(i), cr.applied)
		}
	}
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
