package reconcile

import (
	"strings"

	"github.com/esremote/esremote/reconcile/plan"
)

// SavedPlan is a plan pass's plan as data (plan.Plan): its steps, and
// the rows, findings and unmanaged objects the report shows (each link
// as the plan pass's checks left it: res.Outcomes.Links), each change
// naming the step that makes it. It is what esremote plan --out seals
// and apply --plan executes (Reconciler.ApplyPlan).
func (res *Result) SavedPlan() *plan.Plan {
	d := &plan.Plan{Schema: plan.Schema, CreatedAt: res.Started.UTC(), SpecDigest: res.Set.Digest, Only: res.Only,
		Steps: res.steps, Clusters: []plan.Cluster{}}
	if d.Steps == nil {
		d.Steps = []plan.Step{}
	}
	// Why the removals no step makes are not made, as apply says it.
	var held Outcomes
	held.merge(&res.held)
	for _, cp := range res.Plan.Clusters {
		heldRemovals(res.Set, cp, &held)
	}
	for _, cp := range res.Plan.Clusters {
		d.Clusters = append(d.Clusters, clusterDoc(cp, &res.Outcomes, &held))
	}
	d.Detached = changeDocs(res.Detached.Changes, nil)
	for _, f := range res.Detached.Findings {
		d.DetachedFindings = append(d.DetachedFindings, plan.Finding(f))
	}
	return d
}

// clusterDoc is a cluster's rows as a saved plan carries them; outs,
// when not nil, gives each link as the pass's checks left it, held why a
// change no step makes is not made.
func clusterDoc(cp *ClusterPlan, outs, held *Outcomes) plan.Cluster {
	c := plan.Cluster{Local: cp.Local, UUID: cp.UUID, Version: cp.Version, Observed: cp.Observed, Connections: []plan.Connection{}}
	if cp.Err != nil {
		c.Error = cp.Err.Error()
	}
	for _, p := range cp.Connections {
		health, findings, chs := p.Health, p.Findings, p.Changes
		if lo := outs.link(p.Conn.Name); lo != nil {
			health, findings, chs = lo.Health, lo.Findings, lo.Changes
		}
		cd := plan.Connection{Name: p.Conn.Name, Alias: p.Conn.Alias, Policy: string(p.Conn.Policy), Health: health,
			Changes: changeDocs(chs, held)}
		for _, f := range findings {
			cd.Findings = append(cd.Findings, plan.Finding(f))
		}
		if p.Err != nil {
			cd.Error = p.Err.Error()
		}
		c.Connections = append(c.Connections, cd)
	}
	for _, del := range cp.Deletions {
		c.Connections = append(c.Connections, plan.Connection{Name: del.Connection, Alias: del.Alias, Removed: true, Changes: changeDocs(del.Changes, held)})
	}
	for _, u := range cp.Unmanaged {
		c.Unmanaged = append(c.Unmanaged, plan.Unmanaged{Kind: u.Kind, Name: u.Name, Reason: u.Reason})
	}
	return c
}

func changeDocs(in []*Change, held *Outcomes) []plan.Change {
	out := []plan.Change{}
	for _, ch := range in {
		cd := plan.Change{Resource: ch.Resource, Target: ch.Target, Key: ch.Key, Action: ch.Action, Actual: ch.Actual, Desired: ch.Desired, Origin: ch.Origin,
			Step: ch.Step}
		if ch.Err != nil {
			cd.Error = ch.Err.Error()
		} else if co, ok := held.changeHeld(ch); ok && co.Err != nil {
			cd.Error = co.Err.Error()
		}
		out = append(out, cd)
	}
	return out
}

// StaleError is why a saved plan was not applied: the preconditions of
// its steps that no longer hold, one reason each. Nothing was written.
type StaleError struct {
	Reasons []string
}

func (e *StaleError) Error() string {
	return "plan is stale: " + strings.Join(e.Reasons, "; ")
}
