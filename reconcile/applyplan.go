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
	"strings"
	"sync"

	"github.com/esremote/esremote/drift"
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
	// What a live pass does after its writes (execute.go) is done the
	// same way below, by a pass state that reads nothing before them.
	ps := &passState{r: r, ledger: r.ledger, now: r.opts.Now(), set: set, mode: ModeApply, snap: newSnapshot()}
	for _, o := range outs {
		ps.outs.setStep(o)
	}
	for id := range kept {
		ps.outs.setStep(execute.Outcome{Step: id, Status: execute.Skipped, Err: errRotationEndKept})
	}
	// The plan's rows, as planned: each change names its step, and what
	// became of it is that step's outcome (Result.Outcomes).
	changes := func(in []plan.Change) []*Change {
		var out []*Change
		for _, c := range in {
			ch := &Change{Resource: c.Resource, Target: c.Target, Key: c.Key, Action: c.Action, Actual: c.Actual, Desired: c.Desired, Origin: c.Origin, Step: c.Step}
			if c.Error != "" {
				ch.Err = errors.New(c.Error)
			} else if _, ok := ps.outs.Steps[c.Step]; c.Step != "" && !ok {
				ps.outs.setChange(ch, ChangeOutcome{Err: fmt.Errorf("step %s is not in the plan", c.Step)})
			}
			out = append(out, ch)
		}
		return out
	}
	// After the writes, what a live pass does after its own (execute.go),
	// on the links the plan wrote: verification, the proof it gives a
	// managed key recorded in the ledger, and the checks of a link that
	// does not work. The other links keep what the plan pass's checks
	// found (the saved rows).
	for _, c := range p.Clusters {
		cp := &ClusterPlan{Local: c.Local, Version: c.Version, UUID: c.UUID, Observed: c.Observed}
		if c.Error != "" {
			cp.Err = errors.New(c.Error)
		}
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
			cp2 := &ConnectionPlan{Conn: conn, Changes: chs, Health: row.Health, Desired: plannedAlias(conn, c.Observed, chs)}
			for _, f := range row.Findings {
				cp2.Findings = append(cp2.Findings, Finding(f))
			}
			if row.Error != "" {
				cp2.Err = errors.New(row.Error)
			}
			cp.Connections = append(cp.Connections, cp2)
		}
		for _, u := range c.Unmanaged {
			cp.Unmanaged = append(cp.Unmanaged, Unmanaged{Target: c.Local, Kind: u.Kind, Name: u.Name, Reason: u.Reason})
		}
		res.Plan.Clusters = append(res.Plan.Clusters, cp)
		ps.checkWritten(ctx, cp, steps)
	}
	res.Detached.Changes = changes(p.Detached)
	for _, f := range p.DetachedFindings {
		res.Detached.Findings = append(res.Detached.Findings, Finding(f))
	}
	res.Outcomes = ps.outcomes()
	res.Finished = r.opts.Now()
	return res, nil
}

// checkWritten does for a cluster of a saved plan what a live pass does
// after its writes (execute.go), for the links the plan wrote: a
// keystore reload's outcome, verification, each managed key's proof
// recorded from it, then the checks of a link that does not work
// (contested by another installation, a rotation under way, the likely
// cause of a refused or disconnected link). What the plan pass's own
// checks found of such a link is dropped first: verification replaced
// the evidence they rested on.
func (ps *passState) checkWritten(ctx context.Context, cp *ClusterPlan, steps []plan.Step) {
	cl := ps.set.Cluster(cp.Local)
	if cl == nil || cp.Err != nil {
		return
	}
	client, err := ps.r.ESClient(ps.set, cl)
	if err != nil {
		return
	}
	cr := &clusterRun{ps: ps, w: &clusterWork{cl: cl, client: client, obs: &Observed{UUID: cp.UUID, Version: cp.Version}, cp: cp,
		log: ps.r.opts.Logger.With("target", cp.Local)}}
	defer cr.done()
	var reloaded []int
	for _, s := range steps {
		if o, ok := ps.outs.Steps[s.ID]; ok && s.Kind == plan.KindReload && s.Target == cp.Local {
			reloaded = cr.reloadOutcome(o)
		}
	}
	touched := cr.verifyWrites(ctx, reloaded)
	for i := range touched {
		l := cr.edit(i)
		l.Findings = slices.DeleteFunc(l.Findings, checkedAfterWrites)
	}
	cr.afterWrites(ctx, touched)
}

// checkedAfterWrites reports whether a finding is one the checks after
// the writes make (diagnose, rotating), not the decision.
func checkedAfterWrites(f Finding) bool {
	return f.Code == CodeDisconnected || f.Code == CodeRotationStuck || f.Code == CodeKeystoreNotLoaded && f.Severity == drift.SeverityInfo
}

// plannedAlias is the alias a saved plan's row wants, for the checks
// after the writes: the cluster's remote-cluster settings as the plan
// read them (observed, persistent), with the row's setting changes made.
func plannedAlias(c *spec.Connection, observed map[string]string, chs []*Change) *DesiredAlias {
	prefix := es.RemoteKey(c.Alias, "")
	want := map[string]string{}
	for k, v := range observed {
		if strings.HasPrefix(k, prefix) && !strings.HasSuffix(k, " (transient)") {
			want[k] = v
		}
	}
	for _, ch := range chs {
		if ch.Resource != ResourceClusterSetting || !strings.HasPrefix(ch.Key, prefix) {
			continue
		}
		if ch.Action == ActionDelete {
			delete(want, ch.Key)
		} else {
			want[ch.Key] = ch.Desired
		}
	}
	return &DesiredAlias{Conn: c, Settings: want}
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
