package decide

import (
	"reflect"
	"testing"

	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// What the trust writes do to a copy (Clone) leaves the plan it was made
// from as it was: a deployment's ops, changes (a step tied to them) and
// final trust, a connection's findings (one edited in place, as OneSided
// does), the detached lists; and Decided leads each copied change back to
// the plan's.
func TestTrustPlanClone(t *testing.T) {
	mk := func() *TrustPlan {
		ch := &Change{Key: "direct ESS org"}
		l := &TrustDeployment{Cluster: &spec.Cluster{Name: "l", Deployment: &spec.Deployment{ID: "dl"}},
			Ops: []*TrustOp{{Key: "direct ESS org", Enforced: true, Conns: []string{"c"}}}, Changes: map[string]*Change{"direct ESS org": ch}}
		r := &TrustDeployment{Cluster: &spec.Cluster{Name: "r", Deployment: &spec.Deployment{ID: "dr"}}, Changes: map[string]*Change{}}
		return &TrustPlan{Deps: map[string]*TrustDeployment{"l": l, "r": r}, Order: []string{"l", "r"},
			links:    []*trustLink{{conn: &spec.Connection{Name: "c"}, local: l, rem: r}},
			ByConn:   map[string]*ConnTrust{"c": {Changes: []*Change{ch}, Findings: []Finding{{Code: CodeTrustOneSided}, {Code: "other"}}}},
			Detached: Detached{Changes: []*Change{{Key: "detached"}}}}
	}
	tp, before := mk(), mk()
	cp := tp.Clone()
	d := cp.Deps["l"]
	if got := cp.Decided(d.Changes["direct ESS org"]); got != tp.Deps["l"].Changes["direct ESS org"] {
		t.Error("Decided does not lead a copied change back to the plan's")
	}
	d.Changes["direct ESS org"].Step = "l/trust1/s1"
	d.Changes["new"] = &Change{Key: "new"}
	d.Ops = append(d.Ops, &TrustOp{Key: "new"})
	d.Ops[0] = &TrustOp{Key: "replaced"}
	d.Final = world.Trust{Direct: []world.DirectTrust{{ScopeID: "org"}}}
	ct := cp.ByConn["c"]
	ct.Findings[0] = Finding{Code: "edited in place"}
	ct.Changes = append(ct.Changes, &Change{Key: "added"})
	cp.Detached.Findings = append(cp.Detached.Findings, Finding{Code: "added"})
	if cp.links[0].local != d || cp.links[0].rem != cp.Deps["r"] {
		t.Error("the copy's links point at the plan's deployments")
	}
	if !reflect.DeepEqual(tp, before) {
		t.Error("changing the copy changed the plan it was made from")
	}
	if ch := &(Change{}); cp.Decided(ch) != ch {
		t.Error("Decided of a change that is no copy is not that change")
	}
	if (*TrustPlan)(nil).Clone() != nil {
		t.Error("the copy of no plan is a plan")
	}
}
