package decide

import "slices"

// Clone is a copy of tp that the trust writes can change without
// changing tp: the decision stays as decided (decide.Decide of the pass's
// Snapshot is still equal to it after the writes), and the copy records
// what the writes did (the trust each deployment ended with, the changes
// and findings a re-read after a 409 or a plan in progress added, the
// one-sided check on what was written).
//
// What the writes change is copied: each deployment (its Ops slice and
// Changes map; Final and the read it re-reads are replaced, not changed in
// place), each connection's ConnTrust, the Detached lists, and the links
// pointed at the copied deployments. Each deployment's changes are
// copied too (building a write's steps ties them to its step,
// StepBuilder.add), and Decided gives the decision's change of a copy's:
// the outcomes of the writes are recorded on the decision's changes, as
// the report finds them. The ops and entries are shared: nothing changes
// them after the decision. What concerns a connection (ByConn) and no
// connection (Detached) holds the decision's changes, and those a
// re-read adds.
func (tp *TrustPlan) Clone() *TrustPlan {
	if tp == nil {
		return nil
	}
	out := *tp
	out.Deps = make(map[string]*TrustDeployment, len(tp.Deps))
	moved := make(map[*TrustDeployment]*TrustDeployment, len(tp.Deps))
	out.decided = map[*Change]*Change{}
	for name, d := range tp.Deps {
		nd := *d
		nd.Ops = slices.Clone(d.Ops)
		nd.Changes = make(map[string]*Change, len(d.Changes))
		for k, ch := range d.Changes {
			c := *ch
			nd.Changes[k] = &c
			out.decided[&c] = tp.Decided(ch)
		}
		out.Deps[name] = &nd
		moved[d] = &nd
	}
	out.links = relink(tp.links, moved)
	out.ByConn = make(map[string]*ConnTrust, len(tp.ByConn))
	for name, ct := range tp.ByConn {
		nc := *ct
		nc.Changes, nc.Findings = slices.Clone(ct.Changes), slices.Clone(ct.Findings)
		out.ByConn[name] = &nc
	}
	out.Detached = Detached{Changes: slices.Clone(tp.Detached.Changes), Findings: slices.Clone(tp.Detached.Findings),
		Unmanaged: slices.Clone(tp.Detached.Unmanaged)}
	return &out
}

// Decided is the decision's change of which ch (a change of a copy made
// by Clone) is a copy, or ch when it is none.
func (tp *TrustPlan) Decided(ch *Change) *Change {
	if d, ok := tp.decided[ch]; ok {
		return d
	}
	return ch
}

// relink is links pointed at the deployments they were moved to (a copy
// of a plan's deployments): the one-sided check then judges the copy's.
func relink(links []*trustLink, moved map[*TrustDeployment]*TrustDeployment) []*trustLink {
	out := make([]*trustLink, len(links))
	for i, l := range links {
		nl := *l
		nl.local, nl.rem = moved[l.local], moved[l.rem]
		out[i] = &nl
	}
	return out
}
