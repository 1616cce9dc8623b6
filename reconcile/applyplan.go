package reconcile

// esremote apply --plan: the saved plan's steps are executed as they are
// (package execute), never planned again. Every step's precondition is
// read before the first write, and only what the preconditions name is
// read; one stale step anywhere and nothing is written anywhere. The
// report is the plan's rows with what became of each step, and the
// health of the links written, verified.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/esremote/esremote/reconcile/cloud"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/execute"
	"github.com/esremote/esremote/reconcile/plan"
	"github.com/esremote/esremote/spec"
)

// ApplyPlan executes a saved plan made from set (same spec digest) with
// this reconciler's ledger. It returns a *StaleError, and writes
// nothing, when a step's precondition no longer holds; otherwise the
// pass's Result, built from the plan's rows and each step's outcome.
func (r *Reconciler) ApplyPlan(ctx context.Context, set *spec.Set, p *plan.Plan) (*Result, error) {
	if p.SpecDigest != set.Digest {
		return nil, &StaleError{Reasons: []string{fmt.Sprintf("the specs changed (digest %s when planned, %s now)", p.SpecDigest, set.Digest)}}
	}
	res := &Result{Mode: ModeApply, Set: set, Only: p.Only, Started: r.opts.Now(), Plan: &Plan{}}
	steps, kept := withoutRotationEnds(p.Steps)
	outs := execute.Run(ctx, steps, r.stepEnv(set), execute.Options{CheckFirst: true})
	if why := execute.StaleReasons(outs); len(why) > 0 {
		return nil, &StaleError{Reasons: why}
	}
	for _, o := range outs {
		res.Outcomes.setStep(o)
	}
	for id := range kept {
		res.Outcomes.setStep(execute.Outcome{Step: id, Status: execute.Skipped, Err: errRotationEndKept})
	}
	// The plan's rows, as planned: each change names its step, and what
	// became of it is that step's outcome (Result.Outcomes).
	changes := func(in []plan.Change) []*Change {
		var out []*Change
		for _, c := range in {
			ch := &Change{Resource: c.Resource, Target: c.Target, Key: c.Key, Action: c.Action, Actual: c.Actual, Desired: c.Desired, Origin: c.Origin, Step: c.Step}
			if c.Error != "" {
				ch.Err = errors.New(c.Error)
			} else if _, ok := res.Outcomes.Steps[c.Step]; c.Step != "" && !ok {
				res.Outcomes.setChange(ch, ChangeOutcome{Err: fmt.Errorf("step %s is not in the plan", c.Step)})
			}
			out = append(out, ch)
		}
		return out
	}
	for _, c := range p.Clusters {
		cp := &ClusterPlan{Local: c.Local, Version: c.Version, UUID: c.UUID, Observed: c.Observed}
		if c.Error != "" {
			cp.Err = errors.New(c.Error)
		}
		var touched []*ConnectionPlan
		for _, row := range c.Connections {
			chs := changes(row.Changes)
			if row.Removed {
				cp.Deletions = append(cp.Deletions, &AliasDeletion{Alias: row.Alias, Connection: row.Name, Changes: chs})
				continue
			}
			conn := set.Connection(row.Name)
			if conn == nil {
				conn = &spec.Connection{Name: row.Name, Local: c.Local, Alias: row.Alias, Policy: spec.Policy(row.Policy)}
			}
			cp2 := &ConnectionPlan{Conn: conn, Changes: chs, Health: row.Health}
			for _, f := range row.Findings {
				cp2.Findings = append(cp2.Findings, Finding(f))
			}
			if row.Error != "" {
				cp2.Err = errors.New(row.Error)
			}
			if slices.ContainsFunc(chs, func(ch *Change) bool { return res.Outcomes.change(ch).Applied }) {
				touched = append(touched, cp2)
			}
			cp.Connections = append(cp.Connections, cp2)
		}
		for _, u := range c.Unmanaged {
			cp.Unmanaged = append(cp.Unmanaged, Unmanaged{Target: c.Local, Kind: u.Kind, Name: u.Name, Reason: u.Reason})
		}
		res.Plan.Clusters = append(res.Plan.Clusters, cp)
		if len(touched) > 0 {
			r.verifyWritten(ctx, set, cp, touched, &res.Outcomes)
		}
	}
	res.Detached.Changes = changes(p.Detached)
	for _, f := range p.DetachedFindings {
		res.Detached.Findings = append(res.Detached.Findings, Finding(f))
	}
	res.Finished = r.opts.Now()
	return res, nil
}

// errRotationEndKept is what becomes of a rotation's end in a saved plan.
var errRotationEndKept = errors.New("kept: apply --plan does not invalidate a rotated-out key on the proof the plan was made with; " +
	"the next pass (esremote apply, or the daemon) proves the new key in use again and then invalidates the old one")

// withoutRotationEnds are a saved plan's steps less the ends of
// rotations (the invalidation of a rotated-out key), and the IDs of those
// it left out. The live pass invalidates a rotated-out key only once the
// pass's last request through the link still proves the new key in use
// (finishRotations); a saved plan holds the proof of when it was made,
// and a keystore set back by hand since then is invisible to every
// precondition (a keystore's values cannot be read). Deleting on that old
// proof could invalidate the key the local cluster uses now, so the
// saved plan keeps the old key, and the next pass ends the rotation on a
// fresh proof.
func withoutRotationEnds(in []plan.Step) ([]plan.Step, map[string]bool) {
	var out []plan.Step
	kept := map[string]bool{}
	for _, s := range in {
		if s.Kind == plan.KindInvalidateKeys && slices.ContainsFunc(s.Ledger, func(l plan.LedgerRecord) bool { return l.Kind == ledgerKeyRotated }) {
			kept[s.ID] = true
			continue
		}
		out = append(out, s)
	}
	return out, kept
}

// verifyWritten asks the verifier about the links a saved plan wrote on
// one local cluster (after every write of the plan: verification reads
// only what it verifies), and records its verdicts in outs.
func (r *Reconciler) verifyWritten(ctx context.Context, set *spec.Set, cp *ClusterPlan, links []*ConnectionPlan, outs *Outcomes) {
	cl := set.Cluster(cp.Local)
	if cl == nil {
		return
	}
	c, err := r.ESClient(set, cl)
	if err != nil {
		return
	}
	in := VerifyInput{Local: cp.Local, Client: c, Version: cp.Version, Links: r.verifyLinks(links), Timeout: r.opts.VerifyTimeout,
		Interval: r.opts.VerifyInterval, Logger: r.opts.Logger,
		Remote: func(name string) (*es.Client, error) {
			rcl := set.Cluster(name)
			if rcl == nil {
				return nil, errNotDeclared(name)
			}
			return r.ESClient(set, rcl)
		}}
	got := r.opts.Verify(ctx, in)
	for _, p := range links {
		if h, ok := got[p.Conn.Name]; ok {
			e := h.Evidence
			outs.setLink(p.Conn.Name, &LinkOutcome{Health: h.Health, Evidence: &e, Findings: p.Findings, Changes: p.Changes})
		}
	}
}

// stepEnv is what the executor sends through: the spec set's clusters'
// clients (one per target for the run), the ledger, the specs' secrets.
func (r *Reconciler) stepEnv(set *spec.Set) execute.Env {
	var mu sync.Mutex
	esc, cc := map[string]*es.Client{}, map[string]*cloud.Client{}
	return execute.Env{
		ES: func(target string) (*es.Client, error) {
			mu.Lock()
			defer mu.Unlock()
			if c := esc[target]; c != nil {
				return c, nil
			}
			cl := set.Cluster(target)
			if cl == nil {
				return nil, errNotDeclared(target)
			}
			c, err := r.ESClient(set, cl)
			if err == nil {
				esc[target] = c
			}
			return c, err
		},
		Cloud: func(target string) (*cloud.Client, error) {
			mu.Lock()
			defer mu.Unlock()
			if c := cc[target]; c != nil {
				return c, nil
			}
			cl := set.Cluster(target)
			switch {
			case cl == nil:
				return nil, errNotDeclared(target)
			case cl.Deployment == nil:
				return nil, fmt.Errorf("cluster %s has no deployment: its keystore and trust are not written through a control plane", target)
			}
			c, err := r.CloudClient(set, cl)
			if err == nil {
				cc[target] = c
			}
			return c, err
		},
		Ledger: stepLedger{led: r.ledger, now: r.opts.Now},
		Secret: func(name string) (string, string, error) {
			c := set.Connection(name)
			if c == nil || c.APIKey == nil || c.APIKey.Credentials == nil {
				return "", "", fmt.Errorf("connection %s names no credentials", name)
			}
			s, err := c.APIKey.Credentials.Resolve(r.opts.Getenv)
			if err != nil {
				return "", "", err
			}
			return s.Reveal(), s.Fingerprint(), nil
		},
		Sent:        func(v string) { spec.Remember(v) },
		Canary:      withCanary,
		Fingerprint: Fingerprint,
		Now:         r.opts.Now,
		Logger:      r.opts.Logger,
	}
}
