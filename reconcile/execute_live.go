package reconcile

// The live pass (apply, the daemon) writes through the same executor as
// apply --plan: each cluster's decision becomes steps (steps.go), the
// steps are run by package execute (each precondition read right before
// its write, a step whose dependency failed not sent, ledger intent and
// commit through one helper), and the outcomes are set on the changes
// the report shows.

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
	if ob := ps.snap.local(target); ob.obs != nil && ob.err == nil {
		return ob.obs.UUID, true
	}
	if rs := ps.snap.readRemote(target); rs != nil && rs.Err == nil {
		return rs.Info.ClusterUUID, true
	}
	return "", false
}

// run sends steps through the executor and sets each outcome on the
// changes its step makes: applied, or the step's error (a failed commit
// on an applied change, a failure, a stale precondition, a dependency
// that did not succeed).
func (ps *passState) run(ctx context.Context, b *stepBuilder, phase string) map[string]execute.Outcome {
	steps, stepOf := b.steps, b.stepOf
	var live []plan.Step
	for _, s := range steps {
		if b.phase[s.ID] == phase && !b.skip[s.ID] {
			live = append(live, s)
		}
	}
	out := map[string]execute.Outcome{}
	if len(live) == 0 {
		return out
	}
	for _, o := range execute.Run(ctx, live, ps.stepEnv(), execute.Options{Identity: ps.knownUUID}) {
		out[o.Step] = o
	}
	for ch, id := range stepOf {
		o, ok := out[id]
		if !ok {
			continue
		}
		if o.Status == execute.Done {
			ch.Applied = true
		}
		if o.Err != nil {
			ch.Err = o.Err
		}
	}
	return out
}

// clusterSteps are one decided cluster's steps, after the daemon's
// contests held what they hold.
func (ps *passState) clusterSteps(w *clusterWork) *stepBuilder {
	b := &stepBuilder{ps: ps, stepOf: map[*Change]string{}}
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

// settleKey brings a connection's plan up to date after its credential
// steps ran: a created key is named on its change, its keystore entry
// shows the new key's fingerprint, and a rotation keeps the old key
// valid until the new one is proven (finishRotation, a later pass). It
// returns the first error of the connection's credential steps.
func (ps *passState) settleKey(p *ConnectionPlan, b *stepBuilder, outs map[string]execute.Outcome) error {
	w := p.Key
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
			if ch := w.Changes["key"]; ch != nil {
				ch.Desired = "key " + o.Result.KeyID + " (" + ch.Desired + ")"
			}
		case s.Kind == plan.KindSetKeystore && o.Status == execute.Done && o.Err == nil && s.SecretRef != nil && s.SecretRef.Step != "":
			delivered = true
		}
	}
	if created == nil || !delivered {
		return first
	}
	if kch := w.Changes["keystore"]; kch != nil {
		kch.Desired = drift.Redacted(created.Result.Fingerprint)
	}
	p.KeyExpiration = created.Result.KeyExpiration
	rec := ps.r.ledger.Key(p.Conn.Name)
	w.Previous, w.Finish = nil, false
	if rec != nil {
		w.Previous = rec.Previous
	}
	if w.Previous != nil {
		// The old key goes in a later pass, once the new one has been
		// proven in use over the window (rotationFinish).
		p.Findings = append(p.Findings, Finding{Severity: drift.SeverityInfo, Code: CodeRotationWindow,
			Message: "rotation of " + keyName(p.Conn) + ": the old key " + w.Previous.ID + " stays valid until the new key " + created.Result.KeyID + " has been proven in use for " +
				es.FormatTimeValue(ps.r.opts.RotationOverlap) + ", so that every node has loaded it"})
	}
	return first
}

// envState is the executor environment a pass makes once.
type envState struct {
	envOnce sync.Once
	env     execute.Env
}
