package decide

import (
	"reflect"
	"slices"
	"testing"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/spec"
)

// One row per rule of the hold on refused connections' trust, over plain
// data: a trust plan whose deployment l has an entry wanted only by c1, one
// wanted by c1 and c2, one of no connection (a TrustedEnvironment's), one
// c1 only reports, and a record of an entry already gone; the cluster
// decisions refuse some connections as conflicts.
func TestHoldRefused(t *testing.T) {
	plan := func() *TrustPlan {
		op := func(key string, enforced bool, conns ...string) *TrustOp {
			return &TrustOp{Key: key, Kind: TrustDirect, Action: drift.ActionCreate, Origin: drift.OriginSpec, Enforced: enforced, Conns: conns}
		}
		l := &TrustDeployment{Cluster: &spec.Cluster{Name: "l", Deployment: &spec.Deployment{ID: "dl"}}, Ops: []*TrustOp{
			op("only-c1", true, "c1"), op("c1-and-c2", true, "c1", "c2"), op("no-connection", true), op("report-c1", false, "c1"),
			{Key: "gone", Kind: TrustDirect, Remove: true, Enforced: true}}}
		r := &TrustDeployment{Cluster: &spec.Cluster{Name: "r", Deployment: &spec.Deployment{ID: "dr"}}, Ops: []*TrustOp{op("only-c2", true, "c2")}}
		return &TrustPlan{Deps: map[string]*TrustDeployment{"l": l, "r": r}, Order: []string{"l", "r"},
			links: []*trustLink{{conn: &spec.Connection{Name: "c1"}, local: l, rem: r}}, ByConn: map[string]*ConnTrust{}}
	}
	decided := func(refused ...string) []*ClusterDecision {
		cp := &ClusterPlan{Local: "l"}
		for _, n := range []string{"c1", "c2", "c3"} {
			cp.Connections = append(cp.Connections, &ConnectionPlan{Conn: &spec.Connection{Name: n}, Refused: slices.Contains(refused, n)})
		}
		// A cluster that failed before it was decided refuses nothing.
		return []*ClusterDecision{{Plan: cp}, nil, {Plan: &ClusterPlan{Local: "x"}}}
	}
	for _, tc := range []struct {
		name     string
		refused  []string
		held     []string // "deployment key"
		enforced []string
	}{
		{name: "no connection refused: the plan as decided", refused: nil,
			enforced: []string{"l only-c1", "l c1-and-c2", "l no-connection", "l gone", "r only-c2"}},
		{name: "c1 refused: what only c1 wants is held", refused: []string{"c1"},
			held: []string{"l only-c1"}, enforced: []string{"l c1-and-c2", "l no-connection", "l gone", "r only-c2"}},
		{name: "c1 and c2 refused: what they want together is held too", refused: []string{"c2", "c1"},
			held: []string{"l only-c1", "l c1-and-c2", "r only-c2"}, enforced: []string{"l no-connection", "l gone"}},
		{name: "a connection that wants no trust refused: nothing held, the refusal named", refused: []string{"c3"},
			enforced: []string{"l only-c1", "l c1-and-c2", "l no-connection", "l gone", "r only-c2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp, before := plan(), plan()
			got := HoldRefused(tp, decided(tc.refused...))
			if !reflect.DeepEqual(tp, before) {
				t.Fatal("HoldRefused changed the plan it was given")
			}
			if len(tc.refused) == 0 && got != tp {
				t.Error("nothing refused, yet the plan returned is not the one given")
			}
			var held, enforced []string
			for _, name := range got.Order {
				for _, op := range got.Deps[name].Ops {
					switch {
					case op.Held && op.Enforced:
						t.Errorf("%s %s is held and enforced", name, op.Key)
					case op.Held:
						held = append(held, name+" "+op.Key)
					case op.Enforced:
						enforced = append(enforced, name+" "+op.Key)
					}
				}
			}
			if !slices.Equal(held, tc.held) || !slices.Equal(enforced, tc.enforced) {
				t.Errorf("held %v enforced %v; want held %v enforced %v", held, enforced, tc.held, tc.enforced)
			}
			// A re-decision after a conflict holds them too, even where
			// nothing was held at first (RedecideTrust).
			if want := RefusedConns(decided(tc.refused...)); !slices.Equal(got.Refused, want) {
				t.Errorf("the plan names %v refused, want %v", got.Refused, want)
			}
			// The one-sided check of the held plan judges its own
			// deployments.
			if l := got.links[0]; l.local != got.Deps["l"] || l.rem != got.Deps["r"] {
				t.Error("the held plan's links point at another plan's deployments")
			}
			if again := HoldRefused(got, decided(tc.refused...)); !reflect.DeepEqual(again, got) {
				t.Error("holding twice differs from holding once")
			}
		})
	}
}

func TestRefusedConns(t *testing.T) {
	cp := func(conns ...string) *ClusterDecision {
		c := &ClusterPlan{}
		for _, n := range conns {
			c.Connections = append(c.Connections, &ConnectionPlan{Conn: &spec.Connection{Name: n}, Refused: n != "ok"})
		}
		return &ClusterDecision{Plan: c}
	}
	if got := RefusedConns([]*ClusterDecision{cp("b", "ok"), nil, cp("a", "b")}); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("refused %v, want [a b]", got)
	}
	if got := RefusedConns(nil); got != nil {
		t.Errorf("refused %v of no decision", got)
	}
}
