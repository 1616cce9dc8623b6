package decide

import (
	"slices"
	"sort"
)

// The trust decision once the clusters are decided: what a connection
// refused as a conflict wants of trust is held. The trust rules
// (DecideTrust) run before any cluster is decided (a cluster's links
// carry their trust), so the hold is its own step of the decision, made
// by Decide and by the live pass alike, and nothing changes the trust
// plan after it.

// RefusedConns are the connections the cluster decisions refused as
// conflicts (their alias is not esremote's), sorted.
func RefusedConns(clusters []*ClusterDecision) []string {
	var out []string
	for _, d := range clusters {
		if d == nil || d.Plan == nil {
			continue
		}
		for _, p := range d.Plan.Connections {
			if p.Refused && !slices.Contains(out, p.Conn.Name) {
				out = append(out, p.Conn.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// HoldRefused is tp with the trust of the connections refused as
// conflicts held: an enforced entry wanted only by refused connections is
// not written (Enforced false, Held true: nothing of such a connection is
// written, its trust included); an entry another connection wants too,
// or that concerns no connection, is still written. The plan returned
// names the refused connections (Refused), so that a re-decision after a
// conflict holds them too. It is pure: tp is not changed, and when no
// connection is refused the plan returned is tp.
func HoldRefused(tp *TrustPlan, clusters []*ClusterDecision) *TrustPlan {
	refused := RefusedConns(clusters)
	if tp == nil || len(refused) == 0 {
		return tp
	}
	out := *tp
	out.Refused = refused
	out.Deps = make(map[string]*TrustDeployment, len(tp.Deps))
	moved := map[*TrustDeployment]*TrustDeployment{}
	for name, d := range tp.Deps {
		nd := *d
		nd.Ops = holdOps(d.Ops, refused)
		out.Deps[name] = &nd
		moved[d] = &nd
	}
	out.links = relink(tp.links, moved)
	return &out
}

// holdOps are ops with those wanted only by refused connections held,
// each held op a copy: the ops given are not changed.
func holdOps(ops []*TrustOp, refused []string) []*TrustOp {
	out := slices.Clone(ops)
	for i, op := range out {
		if !heldFor(op, refused) {
			continue
		}
		held := *op
		held.Enforced, held.Held = false, true
		out[i] = &held
	}
	return out
}

// heldFor says whether op is enforced and wanted only by refused
// connections: the trust HoldRefused holds, and a re-diff after a 409
// (TrustBuilder.Diff) holds again.
func heldFor(op *TrustOp, refused []string) bool {
	return op.Enforced && len(op.Conns) > 0 && len(refused) > 0 &&
		!slices.ContainsFunc(op.Conns, func(c string) bool { return !slices.Contains(refused, c) })
}
