package reconcile

import (
	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/plan"
)

// The decision as typed steps (plan.Step) is decide's (decide.StepBuilder,
// a function of the decision and the Snapshot's data): what a saved plan
// carries and esremote apply --plan executes, and what the live pass runs
// cluster by cluster (execute*.go).

// The phases of the live pass's steps.
const (
	phaseKeys   = decide.PhaseKeys
	phaseFinish = decide.PhaseFinish
)

// stepBuilder is a decide.StepBuilder over the pass's decision, as the
// live pass runs it: the steps built so far and their phases, and the
// steps the pass does not send after all.
type stepBuilder struct {
	ps *passState
	// prefix makes the IDs of the live pass's steps unique across the
	// pass; a saved plan's are "s1", "s2", …
	prefix string
	sb     *decide.StepBuilder

	steps []plan.Step
	phase map[string]string
	// ties are the changes the steps make, each with its step: the live
	// pass builds its steps while it executes, so they are recorded in
	// the pass's outcomes (Outcomes.Ties), never on the decided changes.
	ties map[*Change]string
	// skip are steps the live pass does not send after all (a rotation
	// whose proof the last evidence no longer shows).
	skip map[string]bool
}

// newSteps is the pass's decide.StepBuilder: the specs, the ledger's copy,
// the trust decision and the remotes' keys as read.
func (ps *passState) newSteps(prefix string) *decide.StepBuilder {
	return &decide.StepBuilder{Set: ps.set, Ledger: ps.ledger, Trust: ps.trust, Remotes: ps.remotes, Prefix: prefix}
}

func (b *stepBuilder) builder() *decide.StepBuilder {
	if b.sb == nil {
		b.sb = b.ps.newSteps(b.prefix)
		b.sb.Ties = map[*Change]string{}
	}
	return b.sb
}

func (b *stepBuilder) built() { b.steps, b.phase, b.ties = b.sb.Steps, b.sb.Phase, b.sb.Ties }

// cluster adds one decided cluster's steps.
func (b *stepBuilder) cluster(w *clusterWork) {
	b.builder().Cluster(w.d)
	b.built()
}

// trustDeployment adds one deployment's trust.
func (b *stepBuilder) trustDeployment(d *decide.TrustDeployment) error {
	err := b.builder().TrustDeployment(d)
	b.built()
	return err
}

// departed adds the invalidation of a departed cluster's keys.
func (b *stepBuilder) departed(cp *ClusterPlan) {
	b.builder().Departed(cp)
	b.built()
}

// steps turns the pass's decision into steps (a plan pass: nothing of it
// is written yet): decide.StepBuilder.Plan, as decide.Decide makes them.
func (ps *passState) steps(work []*clusterWork, departed []*ClusterPlan) []plan.Step {
	b := ps.newSteps("")
	decided := make([]*decide.ClusterDecision, len(work))
	for i, w := range work {
		decided[i] = w.d
	}
	b.Plan(decided, departed)
	return b.Steps
}
