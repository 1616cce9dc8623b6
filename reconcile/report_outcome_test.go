package reconcile

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/execute"
	"github.com/esremote/esremote/reconcile/plan"
	"github.com/esremote/esremote/reconcile/sim"
	"github.com/esremote/esremote/spec"
)

// The report is a function of the decision and its outcomes: one
// decision, rendered with two outcome lists, gives the two reports, and
// rendering leaves the decision as it was.
func TestReportIsDecisionPlusOutcomes(t *testing.T) {
	at := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	conn := &spec.Connection{Name: "a-to-b", Local: "a", Alias: "b", Security: spec.SecurityAPIKey, Policy: spec.PolicyEnforce}
	key := "cluster.remote.b.mode"
	ch := &Change{Resource: ResourceClusterSetting, Target: "a", Key: key, Action: ActionCreate, Desired: "proxy", Origin: OriginSpec, Step: "a/s2"}
	kch := &Change{Resource: ResourceAPIKey, Target: "b", Key: "esremote-a-to-b", Action: ActionCreate, Desired: "the new key", Origin: OriginSpec, Step: "a/s1"}
	row := &ConnectionPlan{Conn: conn, Changes: []*Change{kch, ch}, Health: HealthDisconnected}
	decided := func() *Result {
		return &Result{Mode: ModeApply, Set: &spec.Set{}, Started: at, Finished: at,
			Plan: &Plan{Clusters: []*ClusterPlan{{Local: "a", Connections: []*ConnectionPlan{row}}}}}
	}
	before, _ := json.Marshal(clusterDoc(decided().Plan.Clusters[0], nil, nil))

	written := decided()
	written.Outcomes.setStep(execute.Outcome{Step: "a/s1", Status: execute.Done, Result: execute.Result{KeyID: "k1"}})
	written.Outcomes.setStep(execute.Outcome{Step: "a/s2", Status: execute.Done})
	written.Outcomes.setLink("a-to-b", &LinkOutcome{Health: HealthConnected, Evidence: &drift.Evidence{Request: "GET /_resolve/cluster/b:esremote-canary-k1", Answer: "authorized", At: at},
		Changes: row.Changes})
	failed := decided()
	failed.Outcomes.setStep(execute.Outcome{Step: "a/s1", Status: execute.Done, Result: execute.Result{KeyID: "k1"}})
	failed.Outcomes.setStep(execute.Outcome{Step: "a/s2", Status: execute.Failed, Err: &es.Error{Op: "put cluster settings", Target: "a", Kind: es.ErrServer, Status: 503}})

	c1 := findConn(t, written.Report(drift.TriggerApply, ""), "a-to-b")
	c2 := findConn(t, failed.Report(drift.TriggerApply, ""), "a-to-b")
	if c1.Sync != drift.SyncCorrected || c1.Health != drift.HealthConnected || c1.Evidence == nil || !c1.Changes[1].Applied || c1.ErrorClass != "" {
		t.Errorf("written: sync %s, health %s, evidence %v, changes %+v, class %q; want corrected and connected", c1.Sync, c1.Health, c1.Evidence, c1.Changes, c1.ErrorClass)
	}
	if got := c1.Changes[0].Desired; got != "key k1 (the new key)" {
		t.Errorf("written: the created key shows as %q, want its id", got)
	}
	if c2.Sync != drift.SyncFailed || c2.Health != drift.HealthDisconnected || c2.Changes[1].Applied || c2.Changes[1].Error == "" || c2.ErrorClass != drift.ClassRetryable {
		t.Errorf("failed: sync %s, health %s, changes %+v, class %q; want failed, disconnected as decided, retryable", c2.Sync, c2.Health, c2.Changes, c2.ErrorClass)
	}
	after, _ := json.Marshal(clusterDoc(decided().Plan.Clusters[0], nil, nil))
	if string(before) != string(after) || row.Health != HealthDisconnected || ch.Desired != "proxy" || kch.Desired != "the new key" {
		t.Errorf("rendering changed the decision:\n%s\n%s", before, after)
	}
}

// An apply pass leaves its decision as decided: its rows, rendered as a
// plan, are the report of a plan pass over the same world, while its own
// report shows what the writes did (the created key, the health verify
// found).
func TestApplyLeavesTheDecisionAsDecided(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.fast("asserts the link connected by the apply that wrote its key; the platform's keystore load delay is the subject of TestRotationByProofWithKeystoreReloadDelay and TestAPIKeyLinkEndToEnd")
	tw.write("conn.yaml", apiKeyConn)
	at := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	run := func(mode Mode) *Result {
		r := tw.reconciler(mode == ModePlan)
		r.opts.Now = func() time.Time { return at }
		res, err := r.Pass(t.Context(), tw.load(), mode, "")
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	planned := run(ModePlan)
	applied := run(ModeApply)

	asPlan := &Result{Mode: ModePlan, Set: applied.Set, Plan: applied.Plan, Detached: applied.Detached, Started: applied.Started, Finished: applied.Finished}
	want, _ := json.MarshalIndent(planned.Report(drift.TriggerPlan, ""), "", " ")
	got, _ := json.MarshalIndent(asPlan.Report(drift.TriggerPlan, ""), "", " ")
	if string(got) != string(want) {
		t.Errorf("the apply pass's decision, after its writes, is not the plan's:\n%s\nwant\n%s", got, want)
	}
	c := findConn(t, applied.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
	if c.Sync != drift.SyncCorrected || c.Health != drift.HealthConnected {
		t.Fatalf("apply: sync %s, health %s; want corrected and connected (%s)", c.Sync, c.Health, c.Error)
	}
	for _, ch := range c.Changes {
		if ch.Resource == drift.ResourceAPIKey && !strings.HasPrefix(ch.Desired, "key ") {
			t.Errorf("apply: the created key's change shows %q, want its id", ch.Desired)
		}
	}
	if len(applied.Outcomes.Steps) == 0 {
		t.Errorf("apply: no step outcomes in the result")
	}
}

// A saved plan's rows are what the plan pass reported: a link the
// pass's checks after deciding found refused keeps that health and the
// diagnosis, and apply --plan reports them for a link it does not write.
func TestSavedPlanRowsAreThePlanReports(t *testing.T) {
	tw := connectedAPIKeyWorld(t)
	tw.write("conn.yaml", strings.Replace(apiKeyConn, "settings:\n", "policy: report\nsettings:\n", 1))
	id := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID
	if err := tw.srv.World.InvalidateKey("ece-prod-logs", id); err != nil {
		t.Fatal(err)
	}
	res := tw.pass(ModePlan)
	want := findConn(t, res.Report(drift.TriggerPlan, ""), "analytics-to-ece-logs")
	if want.Health != drift.HealthUnauthorized || !hasFinding(want, CodeDisconnected) {
		t.Fatalf("setup: plan shows health %s, findings %+v; want unauthorized with %s", want.Health, want.Findings, CodeDisconnected)
	}
	saved := res.SavedPlan()
	var row *plan.Connection
	for i := range saved.Clusters {
		for j := range saved.Clusters[i].Connections {
			if c := &saved.Clusters[i].Connections[j]; c.Name == "analytics-to-ece-logs" {
				row = c
			}
		}
	}
	if row == nil {
		t.Fatal("no row for the link in the saved plan")
	}
	if row.Health != want.Health || !slices.ContainsFunc(row.Findings, func(f plan.Finding) bool { return f.Code == CodeDisconnected }) {
		t.Errorf("saved row: health %s, findings %+v; want the plan's %s and %s", row.Health, row.Findings, want.Health, CodeDisconnected)
	}
	applied, err := tw.reconciler(false).ApplyPlan(t.Context(), tw.load(), saved)
	if err != nil {
		t.Fatal(err)
	}
	got := findConn(t, applied.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
	if got.Health != want.Health || !hasFinding(got, CodeDisconnected) {
		t.Errorf("apply --plan: health %s, findings %+v; want the plan's", got.Health, got.Findings)
	}
}
