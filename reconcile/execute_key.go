package reconcile

// The execute stage for credentials: key on the remote, keystore on the
// local, keystore reload on a self-managed local, the end of a rotation.

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/execute"
	"github.com/esremote/esremote/spec"
)

// recordProof keeps the proof window of a managed key in the ledger
// (KeyRecord.ProvenAt), from the pass's last evidence (after verify when
// apply wrote): the first request authorized under the key starts it, and
// a request refused under the key it replaced (a node that has not loaded
// it yet) starts it again. Only a record that changes is saved: a steady
// link costs no ledger write.
func (ps *passState) recordProof(p *ConnectionPlan) {
	c := p.Conn
	if c.Security != spec.SecurityAPIKey || c.APIKey == nil || !c.APIKey.Managed || !p.Enforced() {
		return
	}
	rec := ps.r.ledger.Key(c.Name)
	access := decide.AccessOf(c.APIKey.Access) // a saved plan's row carries no key work
	if p.Key != nil {
		access = p.Key.Access
	}
	if rec == nil || rec.Pending || canaryAmbiguous(access) {
		return
	}
	at := ps.r.opts.Now()
	if p.Evidence != nil && !p.Evidence.At.IsZero() {
		at = p.Evidence.At
	}
	switch {
	case p.Proven == rec.ID && rec.ProvenAt.IsZero():
		rec.ProvenAt = at
	case !rec.ProvenAt.IsZero() && p.Health == HealthUnauthorized && p.RefusedKey != "" &&
		(rec.Previous != nil && p.RefusedKey == rec.Previous.ID || rec.Displaced != "" && p.RefusedKey == rec.Displaced):
		rec.ProvenAt = time.Time{}
	default:
		return
	}
	if err := ps.r.ledger.SetKey(c.Name, rec); err != nil {
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
		p := cr.link(i)
		if rec := ps.r.ledger.Key(p.Conn.Name); p.Health != HealthConnected || !canaryAmbiguous(p.Key.Access) && (rec == nil || p.Proven != rec.ID) {
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
// (KindReload) leaves: the connections it was for (by index), to
// verify, when every node reloaded; otherwise a reload_failed finding on
// each of them.
func (cr *clusterRun) reloadOutcome(o execute.Outcome) []int {
	var waiting []int
	for i, p := range cr.w.cp.Connections {
		if p.Writes() && slices.ContainsFunc(p.Findings, func(f Finding) bool { return f.Code == CodeActionRequired }) {
			waiting = append(waiting, i)
		}
	}
	if o.Status == execute.Done {
		return waiting
	}
	for _, i := range waiting {
		l := cr.edit(i)
		l.Findings = append(l.Findings, Finding{Severity: "error", Code: CodeReloadFailed, Message: o.Err.Error(),
			Fix: "fix the keystore on the named nodes (same value on every node), then run apply again"})
	}
	return nil
}

// settleActionRequired drops the action_required finding of the links
// (by index) whose credentials Elasticsearch now reports (after a
// reload).
func (cr *clusterRun) settleActionRequired(ctx context.Context, waiting []int) {
	if len(waiting) == 0 {
		return
	}
	info, err := cr.w.client.RemoteInfo(ctx)
	if err != nil {
		return
	}
	for _, i := range waiting {
		l := cr.edit(i)
		if !info[l.Conn.Alias].HasCredentials() {
			continue
		}
		l.Findings = slices.DeleteFunc(l.Findings, func(f Finding) bool { return f.Code == CodeActionRequired })
	}
}
