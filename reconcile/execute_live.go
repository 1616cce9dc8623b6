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

	"github.com/esremote/esremote/reconcile/execute"
	"github.com/esremote/esremote/reconcile/plan"
)

// liveKinds are the kinds of step the live pass sends through the
// executor; the others are still written by execute*.go.
var liveKinds = map[plan.Kind]bool{
	plan.KindClusterSettings: true,
	plan.KindPutRole:         true,
	plan.KindDeleteRole:      true,
	plan.KindForget:          true,
	plan.KindInvalidateKeys:  true,
	plan.KindRemoveKeystore:  true,
}

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
		if liveKinds[s.Kind] && b.phase[s.ID] == phase {
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

// envState is the executor environment a pass makes once.
type envState struct {
	envOnce sync.Once
	env     execute.Env
}
