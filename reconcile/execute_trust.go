package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/esremote/esremote/reconcile/cloud"
	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/execute"
	"github.com/esremote/esremote/reconcile/plan"
	"github.com/esremote/esremote/spec"
)

// The execute stage for trust: one PUT per deployment carrying its whole
// trust, local deployments first, retried on a 409 from a fresh read.

// applyTrust writes the trust changes, local deployments first, before any
// cluster settings are written.
//
// It writes from a copy of the decision (decide.TrustPlan.Clone), kept as
// ps.trustAfter: what the writes did (each deployment's final trust, a
// re-read after a 409, a plan in progress, the one-sided check on what
// was written) is recorded there, and the decision stays as decided.
func (ps *passState) applyTrust(ctx context.Context) {
	tp := ps.trust.Clone()
	if tp == nil {
		return
	}
	ps.trustAfter = tp
	// The re-diff after a 409 reads the ledger as the writes left it.
	// What the decision held (the trust of connections refused as
	// conflicts, decide.HoldRefused) is not sent, and says why.
	var held Outcomes
	for _, name := range tp.Order {
		d := tp.Deps[name]
		for _, op := range d.Ops {
			if op.Held {
				held.setChange(tp.Decided(d.Changes[op.Key]), ChangeOutcome{Err: errRefused})
			}
		}
	}
	ps.addOutcomes(&held)
	tb := &trustWriter{ps: ps, ctx: ctx, TrustBuilder: &decide.TrustBuilder{Plan: tp,
		Input: decide.TrustInput{Set: ps.set, Scoped: ps.scoped, Only: ps.only, Ledger: ps.r.ledger, Now: ps.r.opts.Now()}}}
	for _, name := range tp.Order {
		d := tp.Deps[name]
		if d.Err != nil || !slices.ContainsFunc(d.Ops, func(op *decide.TrustOp) bool { return op.Enforced }) {
			continue
		}
		tb.write(d)
	}
	tp.OneSided()
}

// write brings one deployment's trust to what is desired: its step (the
// complete trust built from the live one, sent with the version read as
// compare-and-set, the ledger's intent before and commit after) run by
// package execute. A 409 re-reads and re-decides; a plan in progress
// waits for the next pass.
// trustWriter writes a pass's trust plan: the trust rules
// (decide.TrustBuilder) with the pass, to write and to re-read after a 409.
type trustWriter struct {
	*decide.TrustBuilder
	ps  *passState
	ctx context.Context
}

func (tb *trustWriter) write(d *decide.TrustDeployment) {
	ps := tb.ps
	log := ps.r.opts.Logger.With("target", d.Cluster.Name)
	// After a re-read, the steps are built from the new decision (d.ops);
	// the report keeps every change of the first one too (applied:
	// written, or no longer needed).
	all := d.Ops
	defer func() { d.Ops = all }()
	var out Outcomes
	defer func() { ps.addOutcomes(&out) }()
	fail := func(err error) {
		for _, op := range all {
			if ch := d.Changes[op.Key]; ch != nil && op.Enforced {
				out.setChange(tb.Plan.Decided(ch), ChangeOutcome{Err: err})
			}
		}
		log.Warn("write trust failed", "err", err)
	}
	for attempt := 1; ; attempt++ {
		b := &stepBuilder{ps: ps, prefix: fmt.Sprintf("%s/trust%d/", d.Cluster.Name, attempt)}
		if err := b.trustDeployment(d); err != nil {
			fail(err)
			return
		}
		var put *plan.Step
		for i := range b.steps {
			if b.steps[i].Kind == plan.KindPutTrust {
				put = &b.steps[i]
			}
		}
		var o execute.Outcome
		var body plan.TrustBody
		outs := execute.Run(tb.ctx, b.steps, ps.stepEnv(), execute.Options{Identity: ps.knownUUID,
			Deployment: func(string) (*cloud.Deployment, bool) { return d.Dep, true }})
		out.tie(b.ties)
		for _, so := range outs {
			out.setStep(so)
			if put != nil && so.Step == put.ID {
				o = so
			}
		}
		if put == nil || o.Status == execute.Done {
			if put != nil {
				_ = json.Unmarshal(put.Body, &body)
				var t cloud.Trust
				if json.Unmarshal(body.Trust, &t) == nil {
					d.Final = t
				}
				log.Info("wrote trust", "entries", len(put.Ledger), "attempt", attempt)
			}
			d.Ops = all
			// Written, or (after a re-read) no longer needed; a step of
			// the write that failed (a commit the ledger could not
			// save) says so on its changes.
			for _, op := range d.Ops {
				ch := d.Changes[op.Key]
				if ch == nil || !op.Enforced {
					continue
				}
				co := ChangeOutcome{Applied: true}
				if so, ok := out.Steps[out.step(ch)]; ok && out.step(ch) != "" {
					co.Err = so.Err
				}
				out.setChange(tb.Plan.Decided(ch), co)
			}
			return
		}
		err := o.Err
		switch {
		case cloud.IsPlanPending(err):
			fail(fmt.Errorf("a plan change is in progress on deployment %s: trust is written on the next pass", d.Cluster.Name))
			f := Finding{Severity: "info", Code: CodeTrustPending,
				Message: "deployment " + d.Cluster.Name + " is applying a plan; its trust is written on the next pass"}
			for _, op := range d.Ops {
				if op.Enforced && !(op.Remove && op.Action == "") {
					tb.Attach(op.Conns, func(ct *decide.ConnTrust) { ct.Findings = append(ct.Findings, f) }, func() {})
				}
			}
			return
		case cloud.IsConflict(err) && attempt < decide.TrustWriteAttempts:
			log.Info("deployment changed since read, reading again", "attempt", attempt)
			client, cerr := ps.r.CloudClient(ps.set, d.Cluster)
			if cerr != nil {
				fail(cerr)
				return
			}
			if rerr := readTrust(tb.ctx, d, client); rerr != nil {
				fail(rerr)
				return
			}
			d.Final = d.Res.Trust
			d.Ops = tb.Diff(d, d.Res.Trust, false)
			for _, op := range d.Ops {
				if d.Changes[op.Key] == nil {
					tb.Report(d, op)
					all = append(all, op)
				}
			}
			continue
		default:
			fail(err)
			return
		}
	}
}

// reattachTrust brings the trust part of the cluster's links up to date
// after the trust writes, on their working copies: the changes a re-read
// after a 409 added and the findings the writes changed (one-sided trust
// judged on what was written, a deployment's plan in progress).
func (cr *clusterRun) reattachTrust() {
	tp := cr.ps.trustAfter
	if tp == nil {
		return
	}
	for i, p := range cr.w.cp.Connections {
		ct := tp.ByConn[p.Conn.Name]
		if ct == nil || p.Conn.Policy == spec.PolicyDisabled {
			continue
		}
		findings := slices.DeleteFunc(slices.Clone(p.Findings), func(f Finding) bool { return f.Code == CodeTrustOneSided })
		for _, f := range ct.Findings {
			if !slices.Contains(findings, f) {
				findings = append(findings, f)
			}
		}
		chs := p.Changes
		for _, ch := range ct.Changes {
			if !slices.Contains(chs, ch) {
				chs = append(slices.Clip(chs), ch)
			}
		}
		if !slices.Equal(findings, p.Findings) || len(chs) != len(p.Changes) {
			l := cr.edit(i)
			l.Findings, l.Changes = findings, chs
		}
	}
}
