package reconcile

// The live pass (apply, the daemon) writes through the same executor as
// apply --plan: each cluster's decision becomes steps (steps.go), the
// steps are run by package execute (each precondition read right before
// its write, a step whose dependency failed not sent, ledger intent and
// commit through one helper), and each step's outcome is recorded by its
// ID (Outcomes), never written back on the changes.

import (
	"context"
	"sync"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/execute"
	"github.com/esremote/esremote/reconcile/plan"
)

// stepEnv is the pass's executor environment, made once.
func (ps *passState) stepEnv() execute.Env {
	ps.envOnce.Do(func() { ps.env = ps.r.stepEnv(ps.set) })
	return ps.env
}

// knownUUID is the cluster_uuid the pass's observation read for a
// cluster (GET / once per cluster and pass, whatever its role).
func (ps *passState) knownUUID(target string) (string, bool) {
	if cr := ps.snap.local(target); cr != nil && cr.Observed != nil && cr.Err == nil {
		return cr.Observed.UUID, true
	}
	if rs := ps.snap.readRemote(target); rs != nil && rs.Err == nil {
		return rs.Info.ClusterUUID, true
	}
	return "", false
}

// runSteps sends the steps of b in phase (less those b skips) through
// the executor and records each outcome in out.
func (ps *passState) runSteps(ctx context.Context, b *stepBuilder, phase string, out *Outcomes) map[string]execute.Outcome {
	var live []plan.Step
	for _, s := range b.steps {
		if b.phase[s.ID] == phase && !b.skip[s.ID] {
			live = append(live, s)
		}
	}
	got := map[string]execute.Outcome{}
	if len(live) == 0 {
		return got
	}
	for _, o := range execute.Run(ctx, live, ps.stepEnv(), execute.Options{Identity: ps.knownUUID}) {
		got[o.Step] = o
		out.setStep(o)
	}
	out.tie(b.ties)
	return got
}

// run is runSteps for a cluster.
func (cr *clusterRun) run(ctx context.Context, b *stepBuilder, phase string) map[string]execute.Outcome {
	return cr.ps.runSteps(ctx, b, phase, &cr.out)
}

// run is runSteps for steps of no local cluster (departed clusters'
// keys): their outcomes go straight to the pass's.
func (ps *passState) run(ctx context.Context, b *stepBuilder, phase string) map[string]execute.Outcome {
	var out Outcomes
	got := ps.runSteps(ctx, b, phase, &out)
	ps.addOutcomes(&out)
	return got
}

// clusterSteps are one decided cluster's steps, after the daemon's
// contests held what they hold, numbered "<local>/s1", … (unique in the
// pass).
func (ps *passState) clusterSteps(w *clusterWork) *stepBuilder {
	b := &stepBuilder{ps: ps, prefix: w.cp.Local + "/"}
	b.cluster(w)
	return b
}

func stepByID(steps []plan.Step, id string) *plan.Step {
	for i := range steps {
		if steps[i].ID == id {
			return &steps[i]
		}
	}
	return nil
}

// settleKey records what a connection's credential steps leave of the
// link: the created key's expiry and, for a rotation, the old key kept
// valid until the new one is proven (finishRotation, a later pass). It
// returns the first error of the connection's credential steps. (What
// the report shows of the created key, its id and fingerprint, is the
// steps' outcomes: Outcomes.shown.)
func (cr *clusterRun) settleKey(i int, b *stepBuilder, outs map[string]execute.Outcome) error {
	ps, p := cr.ps, cr.w.cp.Connections[i]
	var first error
	var created *execute.Outcome
	delivered := false
	for _, s := range b.steps {
		o, ok := outs[s.ID]
		if !ok || s.Connection != p.Conn.Name || b.phase[s.ID] != phaseKeys {
			continue
		}
		if o.Err != nil && first == nil {
			first = o.Err
		}
		switch {
		case s.Kind == plan.KindCreateKey && o.Status == execute.Done:
			created = &o
		case s.Kind == plan.KindSetKeystore && o.Status == execute.Done && o.Err == nil && s.SecretRef != nil && s.SecretRef.Step != "":
			delivered = true
		}
	}
	if created == nil || !delivered {
		return first
	}
	l := cr.edit(i)
	l.KeyExpiration = created.Result.KeyExpiration
	if rec := ps.r.ledger.Key(p.Conn.Name); rec != nil && rec.Previous != nil {
		// The old key goes in a later pass, once the new one has been
		// proven in use over the window (rotationFinish).
		l.Findings = append(l.Findings, Finding{Severity: drift.SeverityInfo, Code: CodeRotationWindow,
			Message: "rotation of " + keyName(p.Conn) + ": the old key " + rec.Previous.ID + " stays valid until the new key " + created.Result.KeyID + " has been proven in use for " +
				es.FormatTimeValue(ps.r.opts.RotationOverlap) + ", so that every node has loaded it"})
	}
	return first
}

// envState is what a pass's execution shares: the executor environment
// made once, and the outcomes of the pass so far (Outcomes; its clusters
// add theirs as they finish).
type envState struct {
	envOnce sync.Once
	env     execute.Env

	outsMu sync.Mutex
	outs   Outcomes
}

// addOutcomes adds o to the pass's outcomes.
func (st *envState) addOutcomes(o *Outcomes) {
	st.outsMu.Lock()
	defer st.outsMu.Unlock()
	st.outs.merge(o)
}

// changeOutcome is what became of ch in the pass so far.
func (st *envState) changeOutcome(ch *Change) ChangeOutcome {
	st.outsMu.Lock()
	defer st.outsMu.Unlock()
	return st.outs.change(ch)
}

// outcomes are the pass's outcomes, once every write is done.
func (st *envState) outcomes() Outcomes {
	st.outsMu.Lock()
	defer st.outsMu.Unlock()
	return st.outs
}
