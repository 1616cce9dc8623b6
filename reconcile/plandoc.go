package reconcile

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/esremote/esremote/reconcile/plan"
)

func (res *Result) SavedPlan() *plan.Plan {
	d := &plan.Plan{Schema: plan.Schema, CreatedAt: res.Started.UTC(), SpecDigest: res.Set.Digest, Only: res.Only, Steps: []plan.Step{},
		Clusters: []plan.Cluster{}}
	for _, cp := range res.Plan.Clusters {
		d.Clusters = append(d.Clusters, cp.doc())
	}
	d.Detached = changeDocs(res.Detached.Changes)
	return d
}

func (cp *ClusterPlan) doc() plan.Cluster {
	c := plan.Cluster{Local: cp.Local, UUID: cp.UUID, Version: cp.Version, Observed: cp.Observed, Connections: []plan.Connection{}}
	if cp.Err != nil {
		c.Error = cp.Err.Error()
	}
	for _, p := range cp.Connections {
		cd := plan.Connection{Name: p.Conn.Name, Alias: p.Conn.Alias, Policy: string(p.Conn.Policy), Changes: changeDocs(p.Changes)}
		for _, f := range p.Findings {
			cd.Findings = append(cd.Findings, plan.Finding(f))
		}
		if p.Err != nil {
			cd.Error = p.Err.Error()
		}
		c.Connections = append(c.Connections, cd)
	}
	for _, del := range cp.Deletions {
		c.Connections = append(c.Connections, plan.Connection{Name: del.Connection, Alias: del.Alias, Removed: true, Changes: changeDocs(del.Changes)})
	}
	for _, u := range cp.Unmanaged {
		c.Unmanaged = append(c.Unmanaged, plan.Unmanaged{Kind: u.Kind, Name: u.Name, Reason: u.Reason})
	}
	return c
}

func changeDocs(in []*Change) []plan.Change {
	out := []plan.Change{}
	for _, ch := range in {
		cd := plan.Change{Resource: ch.Resource, Target: ch.Target, Key: ch.Key, Action: ch.Action, Actual: ch.Actual, Desired: ch.Desired, Origin: ch.Origin}
		if ch.Err != nil {
			cd.Error = ch.Err.Error()
		}
		out = append(out, cd)
	}
	return out
}

// observedOf is the Observed map of a plan.Cluster.
func observedOf(obs *Observed) map[string]string {
	out := make(map[string]string, len(obs.Persistent)+len(obs.Transient))
	maps.Copy(out, obs.Persistent)
	for k, v := range obs.Transient {
		out[k+" (transient)"] = v
	}
	return out
}

// ParsePlanDoc reads a saved plan, refusing another schema.
type StaleError struct {
	Reasons []string
}

func (e *StaleError) Error() string {
	return "plan is stale: " + strings.Join(e.Reasons, "; ")
}

// staleCluster compares a cluster's plan, made just now and not yet
// written, with the saved plan's.
func staleCluster(d *plan.Plan, cp *ClusterPlan) []string {
	for _, c := range d.Clusters {
		if c.Local == cp.Local {
			return c.Stale(cp.doc())
		}
	}
	return []string{cp.Local + ": not part of the saved plan"}
}

// staleTrust compares the pass's trust changes, planned and not yet
// written, with the saved plan's.
func staleTrust(d *plan.Plan, ps *passState) []string {
	var out []string
	saved := map[string][]plan.Change{}
	for _, c := range d.Clusters {
		for _, cd := range c.Connections {
			for _, ch := range cd.Changes {
				if ch.Resource == ResourceTrust && !cd.Removed {
					saved[cd.Name] = append(saved[cd.Name], ch)
				}
			}
		}
	}
	fresh := map[string][]plan.Change{}
	if ps.trust != nil {
		for name, ct := range ps.trust.byConn {
			if len(ct.changes) > 0 {
				fresh[name] = changeDocs(ct.changes)
			}
		}
	}
	names := map[string]bool{}
	for n := range saved {
		names[n] = true
	}
	for n := range fresh {
		names[n] = true
	}
	for _, n := range slices.Sorted(maps.Keys(names)) {
		a := plan.Connection{Name: n, Changes: saved[n]}
		if why := a.Differs(plan.Connection{Name: n, Changes: fresh[n]}); why != "" {
			out = append(out, "trust of connection "+n+": "+why)
		}
	}
	if a, b := fmt.Sprint(d.Detached), fmt.Sprint(changeDocs(ps.trustDetached().Changes)); a != b {
		out = append(out, "the trust changes of no single connection differ")
	}
	return out
}
