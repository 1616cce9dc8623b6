package reconcile

// The execute stage for credentials: key on the remote, keystore on the
// local, keystore reload on a self-managed local, the end of a rotation.

import (
	"context"
	"errors"
	"slices"

	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/execute"
	"github.com/esremote/esremote/reconcile/verify"
)

// recordProof keeps the proof window of a managed key in the ledger
// (KeyRecord.ProvenAt) as decide.KeyProof judges it from the pass's last
// evidence of the link (after verify when apply wrote). Only a record
// that changes is saved: a steady link costs no ledger write.
func (ps *passState) recordProof(p *ConnectionPlan) {
	rec := ps.r.ledger.Key(p.Conn.Name)
	at, changed := decide.KeyProof(p, rec, ps.r.opts.Now())
	if !changed {
		return
	}
	rec.ProvenAt = at
	if err := ps.r.ledger.SetKey(p.Conn.Name, rec); err != nil {
		ps.r.opts.Logger.Warn("record the proof of a key", "key", rec.ID, "err", err)
	}
}

// errRotationKept is what becomes of the end of a rotation the decision
// made when the pass's last evidence no longer proves the new key.
var errRotationKept = errors.New("kept: the last request through the link did not prove the new key in use")

// finishRotations invalidates the rotated-out keys the decision said to
// (rotationFinish: proven in use over the whole window), through their
// steps, once the pass's last evidence (verify's, when apply wrote)
// still proves the new key in use: there is never a moment when the key
// a node of the local cluster uses is invalid.
func (cr *clusterRun) finishRotations(ctx context.Context, b *stepBuilder) {
	ps, cp := cr.ps, cr.w.cp
	for _, s := range b.steps {
		if b.phase[s.ID] != phaseFinish {
			continue
		}
		i := slices.IndexFunc(cp.Connections, func(p *ConnectionPlan) bool { return p.Conn.Name == s.Connection })
		if i < 0 {
			continue
		}
		if decide.RotationKept(cr.link(i), ps.r.ledger.Key(s.Connection)) {
			// The decision's proof is not enough: the last request
			// through the link no longer proves the new key.
			cr.out.setStep(execute.Outcome{Step: s.ID, Status: execute.Skipped, Err: errRotationKept})
			if b.skip == nil {
				b.skip = map[string]bool{}
			}
			b.skip[s.ID] = true
		}
	}
	cr.run(ctx, b, phaseFinish)
}

// reloadOutcome is what a self-managed cluster's keystore reload
// (KindReload) leaves (decide.AfterReload): the connections it was for
// (decide.ReloadWaiting, by index), to verify, when every node reloaded;
// otherwise a reload_failed finding on each of them.
func (cr *clusterRun) reloadOutcome(o execute.Outcome) []int {
	var waiting []int
	for i, p := range cr.w.cp.Connections {
		if decide.ReloadWaiting(p) {
			waiting = append(waiting, i)
		}
	}
	if o.Status == execute.Done {
		return waiting
	}
	for _, i := range waiting {
		cr.set(i, decide.AfterReload(*cr.link(i), o.Err))
	}
	return nil
}

// settleActionRequired reads which aliases Elasticsearch now reports
// credentials for (verify.Credentials, after a reload) and settles the
// action_required of the links waiting for it (by index,
// decide.AfterCredentials).
func (cr *clusterRun) settleActionRequired(ctx context.Context, waiting []int) {
	if len(waiting) == 0 {
		return
	}
	creds, err := verify.Credentials(ctx, cr.w.client)
	if err != nil {
		return
	}
	for _, i := range waiting {
		l := cr.link(i)
		cr.set(i, decide.AfterCredentials(*l, creds[l.Conn.Alias]))
	}
}
