package reconcile

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/execute"
	"github.com/esremote/esremote/reconcile/plan"
	"github.com/esremote/esremote/reconcile/sim"
)

// decideWorld is a world with managed keys both ways, a certificate link,
// roles and drift, so every family decides something: a setting changed
// by hand, a role of a connection that left the specs.
func decideWorld(t *testing.T) *testWorld {
	t.Helper()
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("links.yaml", bothWays)
	tw.write("conn.yaml", apiKeyConn)
	tw.pass(ModeApply)
	if err := tw.srv.World.SetSetting("ech-analytics", "persistent", "cluster.remote.logs.skip_unavailable", "true"); err != nil {
		t.Fatal(err)
	}
	tw.remove("conn.yaml")
	return tw
}

// observed is a pass of r over tw's specs, observed and not yet decided.
func observed(t *testing.T, tw *testWorld, r *Reconciler, mode Mode) *passState {
	t.Helper()
	ps := r.newPass(tw.load(), mode, "", nil)
	ps.observe(t.Context())
	return ps
}

// decidedAt is a pass of tw's specs in mode, observed and decided with
// the clock stopped at at, its decision made steps as decide.Decide makes
// them (so that the two can be compared), nothing written yet.
func decidedAt(t *testing.T, tw *testWorld, mode Mode, at time.Time) (*passState, []*clusterWork, []*ClusterPlan) {
	t.Helper()
	r := tw.reconciler(mode == ModePlan)
	r.opts.Now = func() time.Time { return at }
	ps := observed(t, tw, r, mode)
	work, departed := ps.decidePass()
	ps.steps(work, departed)
	return ps, work, departed
}

// contestedBefore makes the daemon's memory hold two earlier flips of
// every external drift the pass decides, so that this pass's is the
// third: contested (DefaultContestThreshold).
func contestedBefore(t *testing.T, tw *testWorld, r *Reconciler, at time.Time) {
	t.Helper()
	work, _ := observed(t, tw, r, ModeRun).decidePass()
	for _, w := range work {
		for _, ago := range []time.Duration{2 * time.Minute, time.Minute} {
			r.contests.record(w.cp, r.opts.ContestWindow, at.Add(-ago))
		}
	}
	if len(r.contests.m) == 0 {
		t.Fatal("no external drift recorded: the test proves nothing about holds")
	}
}

// Deciding reads nothing and depends on nothing but the Snapshot, the
// daemon's memory (Holds) and the clock: decide.Decide, run twice on the
// Snapshot of a real pass, gets equal decisions and equal steps, the
// world sees no request while it decides, and the daemon's memory is left
// as it was (issue 22 point 2).
func TestDecideTwiceFromOneSnapshot(t *testing.T) {
	tw := decideWorld(t)
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	changes, contested := 0, 0
	// A daemon's pass (ModeRun) decides as plan does, weighing the
	// daemon's memory (contests) and leaving it alone.
	for _, mode := range []Mode{ModePlan, ModeRun} {
		r := tw.reconciler(mode == ModePlan)
		r.opts.Now = func() time.Time { return at }
		if mode == ModeRun {
			contestedBefore(t, tw, r, at)
		}
		memory := len(r.contests.m)
		ps := observed(t, tw, r, mode)
		snap := ps.snapshot()
		tw.srv.World.ResetLog()
		d1 := decide.Decide(ps.set, snap, ps.holds, at)
		d2 := decide.Decide(ps.set, snap, ps.holds, at)
		if log := tw.srv.Log(); len(log) != 0 {
			t.Fatalf("%s: deciding sent %d requests, the first %s %s %s", mode, len(log), log[0].Target, log[0].Method, log[0].Path)
		}
		if len(d1.Clusters) == 0 || len(d1.Steps) == 0 {
			t.Fatalf("%s: %d clusters and %d steps decided", mode, len(d1.Clusters), len(d1.Steps))
		}
		if !reflect.DeepEqual(d1, d2) {
			for i := range d1.Clusters {
				if a, b := d1.Clusters[i].Plan, d2.Clusters[i].Plan; !reflect.DeepEqual(a, b) {
					t.Errorf("%s: %s: two decisions from one Snapshot differ:\n%+v\n%+v", mode, a.Local, clusterDoc(a, nil, nil), clusterDoc(b, nil, nil))
				}
			}
			t.Fatalf("%s: two decisions from one Snapshot differ", mode)
		}
		for _, d := range d1.Clusters {
			for _, c := range d.Plan.Connections {
				changes += len(c.Changes)
				contested += countFindings(c, CodeContested)
			}
			for _, del := range d.Plan.Deletions {
				changes += len(del.Changes)
			}
		}
		if n := len(r.contests.m); n != memory {
			t.Errorf("%s: deciding changed the daemon's memory: %d contests, had %d", mode, n, memory)
		}
	}
	if changes == 0 {
		t.Fatal("nothing was decided: the test proves nothing")
	}
	if contested == 0 {
		t.Fatal("no contest was decided from the holds: the test proves nothing about them")
	}
}

// The live pass decides each cluster as soon as its reads are in, then
// what spans clusters; what it decides is decide.Decide of its Snapshot:
// the same plans, trust, departed clusters and typed steps, in plan and in
// a daemon's pass with holds.
func TestPassDecisionIsDecide(t *testing.T) {
	tw := decideWorld(t)
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	for _, mode := range []Mode{ModePlan, ModeRun} {
		r := tw.reconciler(mode == ModePlan)
		r.opts.Now = func() time.Time { return at }
		if mode == ModeRun {
			contestedBefore(t, tw, r, at)
		}
		ps := observed(t, tw, r, mode)
		if !slices.ContainsFunc(ps.early, func(d *decide.ClusterDecision) bool { return d != nil }) {
			t.Fatalf("%s: no cluster was decided as its reads came in", mode)
		}
		work, departed := ps.decidePass()
		steps := ps.steps(work, departed)
		want := decide.Decide(ps.set, ps.snapshot(), ps.holds, at)
		if len(steps) == 0 {
			t.Fatalf("%s: no step decided: the test proves nothing about steps", mode)
		}
		if !reflect.DeepEqual(steps, want.Steps) {
			t.Errorf("%s: the pass's steps are not Decide's:\n%s\n%s", mode, stepList(steps), stepList(want.Steps))
		}
		if len(work) != len(want.Clusters) {
			t.Fatalf("%s: the pass decided %d clusters, Decide %d", mode, len(work), len(want.Clusters))
		}
		for i, w := range work {
			if got, want := w.cp, want.Clusters[i].Plan; !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %s: the pass's decision is not Decide's:\n%+v\n%+v", mode, got.Local, clusterDoc(got, nil, nil), clusterDoc(want, nil, nil))
			}
			if (w.client == nil) != (want.Clusters[i].Cluster == nil) {
				t.Errorf("%s: %s: the pass and Decide disagree on whether it is written", mode, w.cp.Local)
			}
		}
		if !reflect.DeepEqual(departed, want.Departed) {
			t.Errorf("%s: departed clusters differ: %+v, %+v", mode, departed, want.Departed)
		}
		if !reflect.DeepEqual(ps.trust, want.Trust) {
			t.Errorf("%s: the trust decisions differ", mode)
		}
	}
}

func stepList(steps []plan.Step) string {
	var b strings.Builder
	for _, s := range steps {
		fmt.Fprintf(&b, "%s %s %s %s %s\n", s.ID, s.Target, s.Kind, s.Name, s.Body)
	}
	return b.String()
}

// A hand-made key's link, for the credential its decision takes from the
// Snapshot (resolved when the pass starts).
const handMadeConn = `apiVersion: esremote/v1
kind: Connection
name: analytics-to-logs-handmade
local: ech-analytics
alias: logs-handmade
remote:
  cluster: ece-prod-logs
security: api_key
api_key:
  managed: false
  credentials: {env: HANDMADE_KEY}
`

// Scoped passes (--only, the daemon's retry of some targets) and a
// hand-made key decide as decide.Decide of their Snapshot too.
func TestScopedPassDecisionIsDecide(t *testing.T) {
	tw := decideWorld(t)
	tw.env["HANDMADE_KEY"] = "aGFuZC1tYWRlOmtleQ=="
	tw.write("handmade.yaml", handMadeConn)
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	for _, sc := range []struct {
		only    string
		targets []string
	}{{"", nil}, {"analytics-to-logs-handmade", nil}, {"", []string{"ech-analytics"}}} {
		r := tw.reconciler(true)
		r.opts.Now = func() time.Time { return at }
		ps := r.newPass(tw.load(), ModePlan, sc.only, sc.targets)
		ps.observe(t.Context())
		if _, ok := ps.secrets["analytics-to-logs-handmade"]; !ok {
			t.Fatalf("%+v: the hand-made key's credential was not resolved into the Snapshot", sc)
		}
		work, departed := ps.decidePass()
		steps := ps.steps(work, departed)
		want := decide.Decide(ps.set, ps.snapshot(), ps.holds, at)
		if len(work) == 0 || len(work) != len(want.Clusters) {
			t.Fatalf("%+v: the pass decided %d clusters, Decide %d", sc, len(work), len(want.Clusters))
		}
		for i, w := range work {
			if !reflect.DeepEqual(w.cp, want.Clusters[i].Plan) {
				t.Errorf("%+v: %s: the pass's decision is not Decide's:\n%+v\n%+v", sc, w.cp.Local, clusterDoc(w.cp, nil, nil), clusterDoc(want.Clusters[i].Plan, nil, nil))
			}
		}
		if !reflect.DeepEqual(steps, want.Steps) || !reflect.DeepEqual(departed, want.Departed) {
			t.Errorf("%+v: steps or departed differ:\n%s\n%s", sc, stepList(steps), stepList(want.Steps))
		}
		if sc.targets == nil && !slices.ContainsFunc(want.Steps, func(s plan.Step) bool {
			return s.Kind == plan.KindSetKeystore && s.Connection == "analytics-to-logs-handmade" && s.SecretRef != nil
		}) {
			t.Errorf("%+v: no keystore step for the hand-made key: the test proves nothing about its secret", sc)
		}
		if js, err := json.Marshal(want.Steps); err != nil || strings.Contains(string(js), tw.env["HANDMADE_KEY"]) {
			t.Errorf("%+v: the steps carry the hand-made key's secret (or do not marshal: %v)", sc, err)
		}
		if sc.only != "" && (len(work) != 1 || len(work[0].cp.Connections) != 1) {
			t.Errorf("--only %s decided %d clusters", sc.only, len(work))
		}
	}
}

// The writes leave the decision as decided (execute.go: "the decision is
// never written back"): after a pass of apply has run every cluster's
// steps, the trust's and the departed clusters', its decision still
// equals decide.Decide of its Snapshot. The live pass builds its steps
// while it executes, and each change's step is recorded in the outcomes
// (Outcomes.Ties); it was written on the decided change (Change.Step),
// which then named a step of the live numbering instead of the
// decision's.
func TestExecuteLeavesTheDecision(t *testing.T) {
	tw := decideWorld(t)
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	ps, work, departed := decidedAt(t, tw, ModeApply, at)
	want := decide.Decide(ps.set, ps.snapshot(), ps.holds, at)
	ps.applyTrust(t.Context())
	for _, w := range work {
		ps.writeCluster(t.Context(), w)
	}
	for _, cp := range departed {
		ps.applyDeparted(t.Context(), cp)
	}
	outs := ps.outcomes()
	done := 0
	for _, so := range outs.Steps {
		if so.Status == execute.Done {
			done++
		}
	}
	if done == 0 {
		t.Fatal("no step done: the test proves nothing")
	}
	for i, w := range work {
		if got, want := w.cp, want.Clusters[i].Plan; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: after the writes the decision is not Decide's:\n%+v\n%+v", got.Local, clusterDoc(got, nil, nil), clusterDoc(want, nil, nil))
		}
	}
	if !reflect.DeepEqual(departed, want.Departed) {
		t.Error("after the writes the departed clusters' decision is not Decide's")
	}
	if !reflect.DeepEqual(ps.trust, want.Trust) {
		t.Error("after the writes the trust decision is not Decide's")
	}
	if len(outs.Ties) == 0 {
		t.Error("no change tied to its step in the outcomes: the report cannot say what became of them")
	}
}

// The pass reads its clock once for its decision (passState.now): a
// clock that moves on between the clusters' decisions (each made as its
// reads arrive) does not make one pass weigh time at several instants,
// and decide.Decide at that one instant is the pass's decision. Here the
// managed keys expire after 100 days and rotate 30 days before, and the
// clock jumps 40 days at every reading: at the pass's first reading no
// key is due, at the next ones they are. The clusters' decisions once
// read the clock as they were made, and rotated what Decide at the
// pass's instant does not.
func TestPassDecisionTakesTheClockOnce(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	expiring := strings.ReplaceAll(bothWays, "  managed: true\n", "  managed: true\n  expiration: 100d\n  rotate_before: 30d\n")
	if strings.Count(expiring, "rotate_before") != 2 {
		t.Fatal("the keys were given no expiry: the test proves nothing")
	}
	tw.write("links.yaml", expiring)
	tw.pass(ModeApply)
	for _, mode := range []Mode{ModePlan, ModeRun} {
		r := tw.reconciler(mode == ModePlan)
		var mu sync.Mutex
		tick := time.Now()
		readings := 0
		r.opts.Now = func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			readings++
			tick = tick.Add(40 * 24 * time.Hour)
			return tick
		}
		ps := observed(t, tw, r, mode)
		work, departed := ps.decidePass()
		steps := ps.steps(work, departed)
		if readings < 2 {
			t.Fatalf("%s: the clock was read %d times: the test proves nothing", mode, readings)
		}
		want := decide.Decide(ps.set, ps.snapshot(), ps.holds, ps.now)
		if !reflect.DeepEqual(steps, want.Steps) {
			t.Errorf("%s: the pass's steps are not Decide's at the pass's instant:\n%s\n%s", mode, stepList(steps), stepList(want.Steps))
		}
		for i, w := range work {
			if got, want := w.cp, want.Clusters[i].Plan; !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %s: the pass's decision is not Decide's at the pass's instant:\n%+v\n%+v", mode, got.Local, clusterDoc(got, nil, nil), clusterDoc(want, nil, nil))
			}
		}
		if !reflect.DeepEqual(ps.trust, want.Trust) {
			t.Errorf("%s: the trust decision is not Decide's at the pass's instant", mode)
		}
	}
}
