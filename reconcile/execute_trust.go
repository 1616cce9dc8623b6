package reconcile

// The execute stage for trust: one PUT per deployment carrying its whole
// trust, local deployments first, retried on a 409 from a fresh read.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/esremote/esremote/reconcile/cloud"
	"github.com/esremote/esremote/reconcile/execute"
	"github.com/esremote/esremote/reconcile/plan"
	"github.com/esremote/esremote/spec"
)

// applyTrust writes the trust changes, local deployments first, before any
// cluster settings are written.
func (ps *passState) applyTrust(ctx context.Context) {
	tp := ps.trust
	if tp == nil {
		return
	}
	// The re-diff after a 409 reads the ledger as the writes left it.
	tb := &trustBuilder{ps: ps, ctx: ctx, tp: tp,
		in: trustInput{set: ps.set, scoped: ps.scoped, only: ps.only, ledger: ps.r.ledger, now: ps.r.opts.Now()}}
	for _, name := range tp.order {
		d := tp.deps[name]
		if d.err != nil || !slices.ContainsFunc(d.ops, func(op *trustOp) bool { return op.enforced }) {
			continue
		}
		tb.write(d)
	}
	tp.oneSided()
}

// write brings one deployment's trust to what is desired: its step (the
// complete trust built from the live one, sent with the version read as
// compare-and-set, the ledger's intent before and commit after) run by
// package execute. A 409 re-reads and re-decides; a plan in progress
// waits for the next pass.
func (tb *trustBuilder) write(d *trustDeployment) {
	ps := tb.ps
	log := ps.r.opts.Logger.With("target", d.cl.Name)
	// After a re-read, the steps are built from the new decision (d.ops);
	// the report keeps every change of the first one too (markApplied:
	// written, or no longer needed).
	all := d.ops
	defer func() { d.ops = all }()
	fail := func(err error) {
		for _, op := range all {
			if ch := d.changes[op.key]; ch != nil && op.enforced {
				ch.Err = err
			}
		}
		log.Warn("write trust failed", "err", err)
	}
	for attempt := 1; ; attempt++ {
		b := &stepBuilder{ps: ps, stepOf: map[*Change]string{}}
		if err := b.trustDeployment(d, nil); err != nil {
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
			Deployment: func(string) (*cloud.Deployment, bool) { return d.dep, true }})
		for _, out := range outs {
			if put != nil && out.Step == put.ID {
				o = out
			}
		}
		if put == nil || o.Status == execute.Done {
			if put != nil {
				_ = json.Unmarshal(put.Body, &body)
				var t cloud.Trust
				if json.Unmarshal(body.Trust, &t) == nil {
					d.final = t
				}
				log.Info("wrote trust", "entries", len(put.Ledger), "attempt", attempt)
			}
			d.ops = all
			tb.markApplied(d)
			for _, out := range outs {
				if out.Err != nil {
					for ch, id := range b.stepOf {
						if id == out.Step {
							ch.Err = out.Err
						}
					}
				}
			}
			return
		}
		err := o.Err
		switch {
		case cloud.IsPlanPending(err):
			fail(fmt.Errorf("a plan change is in progress on deployment %s: trust is written on the next pass", d.cl.Name))
			f := Finding{Severity: "info", Code: CodeTrustPending,
				Message: "deployment " + d.cl.Name + " is applying a plan; its trust is written on the next pass"}
			for _, op := range d.ops {
				if op.enforced && !(op.remove && op.action == "") {
					tb.attach(op.conns, func(ct *connTrust) { ct.findings = append(ct.findings, f) }, func() {})
				}
			}
			return
		case cloud.IsConflict(err) && attempt < trustWriteAttempts:
			log.Info("deployment changed since read, reading again", "attempt", attempt)
			client, cerr := ps.r.CloudClient(ps.set, d.cl)
			if cerr != nil {
				fail(cerr)
				return
			}
			if rerr := d.read(tb.ctx, client); rerr != nil {
				fail(rerr)
				return
			}
			d.final = d.res.Trust
			d.ops = tb.diff(d, d.res.Trust, false)
			for _, op := range d.ops {
				if d.changes[op.key] == nil {
					tb.report(d, op)
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

// markApplied marks the deployment's enforced changes applied: written,
// or (after a re-read) no longer needed.
func (tb *trustBuilder) markApplied(d *trustDeployment) {
	for _, op := range d.ops {
		if ch := d.changes[op.key]; ch != nil && op.enforced {
			ch.Applied = true
		}
	}
}

// buildTrust returns live with the ops made on a copy: every other entry,
// and every field esremote does not set, is kept as read.
func buildTrust(live cloud.Trust, ops []*trustOp) (cloud.Trust, error) {
	t := live.Clone()
	for _, op := range ops {
		_, idx := findLive(t, op.key)
		v := op.write
		switch op.kind {
		case trustAccounts:
			switch {
			case op.remove && idx >= 0:
				t.Accounts = slices.Delete(t.Accounts, idx, idx+1)
			case op.remove:
			case idx >= 0:
				a := &t.Accounts[idx]
				a.Name, a.TrustAll, a.TrustAllowlist = v.Name, v.All, slices.Clone(v.IDs)
			default:
				t.Accounts = append(t.Accounts, cloud.AccountTrust{AccountID: v.ID, Name: v.Name, TrustAll: v.All, TrustAllowlist: slices.Clone(v.IDs)})
			}
		case trustExternal:
			switch {
			case op.remove && idx >= 0:
				t.External = slices.Delete(t.External, idx, idx+1)
			case op.remove:
			case idx >= 0:
				x := &t.External[idx]
				x.TrustAll, x.TrustAllowlist = v.All, slices.Clone(v.IDs)
			default:
				t.External = append(t.External, cloud.ExternalTrust{TrustRelationshipID: v.ID, TrustAll: v.All, TrustAllowlist: slices.Clone(v.IDs)})
			}
		case trustDirect:
			switch {
			case op.remove && idx >= 0:
				t.Direct = slices.Delete(t.Direct, idx, idx+1)
			case op.remove:
			case idx >= 0:
				e := &t.Direct[idx]
				e.Name, e.TrustAll, e.TrustAllowlist = v.Name, v.All, slices.Clone(v.IDs)
				if !slices.Equal(normCerts(e.PEMs()), v.Certs) {
					e.Certificates = certificates(e.Certificates, v.Certs)
				}
			default:
				t.Direct = append(t.Direct, cloud.DirectTrust{Name: v.Name, Type: v.Type, ScopeID: v.ID,
					TrustAll: v.All, TrustAllowlist: slices.Clone(v.IDs), Certificates: certificates(nil, v.Certs)})
			}
		default:
			return cloud.Trust{}, fmt.Errorf("trust entry %s: unknown kind", op.key)
		}
	}
	return t, nil
}

// certificates lists pems, reusing the live certificate (with its raw
// bytes) where the PEM is unchanged.
func certificates(live []cloud.TrustedCertificate, pems []string) []cloud.TrustedCertificate {
	out := make([]cloud.TrustedCertificate, 0, len(pems))
	for _, p := range pems {
		i := slices.IndexFunc(live, func(c cloud.TrustedCertificate) bool { return normPEM(c.PEM) == p })
		if i >= 0 {
			out = append(out, live[i])
			continue
		}
		out = append(out, cloud.TrustedCertificate{PEM: p + "\n"})
	}
	return out
}

// holdRefusedTrust keeps unwritten the trust entries wanted only by
// connections the pass refused as conflicts (their alias is not
// esremote's): nothing of such a connection is written, its trust
// included. An entry another connection wants too is still written.
func (ps *passState) holdRefusedTrust(work []*clusterWork) {
	if ps.trust == nil {
		return
	}
	refused := map[string]bool{}
	for _, w := range work {
		for _, p := range w.cp.Connections {
			if p.Refused {
				refused[p.Conn.Name] = true
			}
		}
	}
	if len(refused) == 0 {
		return
	}
	for _, d := range ps.trust.deps {
		for _, op := range d.ops {
			if !op.enforced || len(op.conns) == 0 || slices.ContainsFunc(op.conns, func(c string) bool { return !refused[c] }) {
				continue
			}
			op.enforced = false
			if ch := d.changes[op.key]; ch != nil {
				ch.Err = errRefused
			}
		}
	}
}

// reattachTrust brings the trust part of cp's connections up to date
// after the trust writes: the changes a re-read after a 409 added and the
// findings the writes changed (one-sided trust judged on what was
// written, a deployment's plan in progress).
func (ps *passState) reattachTrust(cp *ClusterPlan) {
	if ps.trust == nil {
		return
	}
	for _, p := range cp.Connections {
		ct := ps.trust.byConn[p.Conn.Name]
		if ct == nil || p.Conn.Policy == spec.PolicyDisabled {
			continue
		}
		p.Findings = slices.DeleteFunc(p.Findings, func(f Finding) bool { return f.Code == CodeTrustOneSided })
		for _, f := range ct.findings {
			if !slices.Contains(p.Findings, f) {
				p.Findings = append(p.Findings, f)
			}
		}
		for _, ch := range ct.changes {
			if !slices.Contains(p.Changes, ch) {
				p.Changes = append(p.Changes, ch)
			}
		}
	}
}
