package decide

import (
	"slices"
	"time"

	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/reconcile/plan"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// Snapshot is everything a pass's decision is made from besides the specs
// and the daemon's memory (DESIGN §4): what the pass read (World, Trust),
// the copy of the ledger taken at pass start, the hand-made keys'
// credentials as resolved, and the pass's scope and windows. It is plain
// data: Decide reads nothing else and changes none of it.
type Snapshot struct {
	World *world.Snapshot
	// Trust is the trust facts the certificate model's rules read.
	Trust *TrustObservation
	// Ledger is the copy of the ledger taken at pass start (read only).
	Ledger  *ledger.Ledger
	Secrets map[string]SecretRead
	// Only restricts the pass to one connection, Targets to some local
	// clusters (nil: every one).
	Only    string
	Targets []string
	Windows Windows
}

// Decision is a pass's decision: every local cluster's, sorted by name,
// the trust plan, what the ledger still owns on clusters that left the
// specs (departed; only in a complete, unscoped pass), and all of it as
// typed steps.
type Decision struct {
	Clusters []*ClusterDecision
	Trust    *TrustPlan
	Departed []*ClusterPlan
	// Steps are the decision as typed steps (StepBuilder.Plan): what a
	// saved plan carries; each change names its step (Change.Step).
	Steps []plan.Step
}

// Decide decides a pass from its Snapshot: the trust, each local
// cluster, the identity check across them, the holds, the trust of
// connections refused as conflicts held (HoldRefused), and the departed
// clusters. It is pure: the same arguments give an equal Decision, and
// nothing is read or written. The live pass composes the same functions
// (Cluster as each cluster's reads arrive, then Identity and Hold).
func Decide(set *spec.Set, snap *Snapshot, holds *Holds, now time.Time) *Decision {
	sc := ScopeOf(set, snap.Ledger, snap.Only, snap.Targets)
	tp := DecideTrust(TrustInput{Set: set, Scoped: sc.Scoped, Only: snap.Only, Ledger: snap.Ledger, Now: now, Obs: snap.Trust})
	remotes := snap.World.Remotes()
	out := &Decision{Trust: tp, Clusters: make([]*ClusterDecision, len(sc.Locals))}
	for i, local := range sc.Locals {
		out.Clusters[i] = Cluster(ClusterInput{Set: set, Local: local, Conns: sc.ByLocal[local], All: sc.All[local],
			Read: snap.World.Cluster(local), Remotes: remotes, Endpoints: snap.World.Endpoints, Secrets: snap.Secrets,
			Trust: tp, Ledger: snap.Ledger, Scoped: sc.Scoped, Windows: snap.Windows, Now: now})
	}
	names := NamesByUUID(set, snap.World.Clusters, snap.Ledger)
	for i, d := range out.Clusters {
		d = CheckIdentity(d, snap.Ledger, names)
		if d.Cluster != nil {
			holds.Hold(d.Plan, now)
		}
		out.Clusters[i] = d
	}
	// What refused connections want of trust is held, once the clusters
	// are decided.
	tp = HoldRefused(tp, out.Clusters)
	out.Trust = tp
	if sc.Departing {
		out.Departed = Departed(set, snap.Ledger)
	}
	b := &StepBuilder{Set: set, Ledger: snap.Ledger, Trust: tp, Remotes: remotes}
	b.Plan(out.Clusters, out.Departed)
	out.Steps = b.Steps
	return out
}

// Scope is which local clusters a pass decides, and with which
// connections.
type Scope struct {
	// ByLocal are the connections of each local cluster of the pass,
	// Locals its local clusters sorted, All every alias the specs declare
	// on each (also those --only filters out: never deleted).
	ByLocal map[string][]*spec.Connection
	Locals  []string
	All     map[string]map[string]bool
	// Scoped: restricted to one connection (--only). Departing: the pass
	// also decides the clusters that left the specs (complete, unscoped).
	Scoped    bool
	Departing bool
}

// ScopeOf groups the connections by local cluster: every cluster with a
// connection (or, for deletions, something in the ledger) is decided.
// only, when not "", keeps the connection of that name; targets, when not
// nil, keeps the local clusters it names.
func ScopeOf(set *spec.Set, led *ledger.Ledger, only string, targets []string) *Scope {
	sc := &Scope{ByLocal: map[string][]*spec.Connection{}, All: map[string]map[string]bool{},
		Scoped: only != "", Departing: only == "" && targets == nil}
	for _, c := range set.Connections {
		if sc.All[c.Local] == nil {
			sc.All[c.Local] = map[string]bool{}
		}
		sc.All[c.Local][c.Alias] = true
		if only != "" && c.Name != only {
			continue
		}
		sc.ByLocal[c.Local] = append(sc.ByLocal[c.Local], c)
	}
	if only == "" {
		for _, cl := range set.Clusters {
			if _, ok := sc.ByLocal[cl.Name]; !ok && led.Owns(cl.Name) {
				sc.ByLocal[cl.Name] = nil
			}
		}
	}
	if targets != nil {
		for local := range sc.ByLocal {
			if !slices.Contains(targets, local) {
				delete(sc.ByLocal, local)
			}
		}
	}
	sc.Locals = sortedKeys(sc.ByLocal)
	return sc
}

// NamesByUUID indexes the declared Clusters by cluster_uuid: the local
// clusters read with one (clusters), and the names the ledger recorded
// with one.
func NamesByUUID(set *spec.Set, clusters map[string]*world.ClusterRead, led *ledger.Ledger) map[string][]string {
	out := map[string][]string{}
	for name, cr := range clusters {
		if cr.Observed != nil && cr.Observed.UUID != "" {
			out[cr.Observed.UUID] = append(out[cr.Observed.UUID], name)
		}
	}
	for name, u := range led.ClusterUUIDs() {
		if u != "" && set.Cluster(name) != nil && !slices.Contains(out[u], name) {
			out[u] = append(out[u], name)
		}
	}
	return out
}

// CheckIdentity is the part of a cluster's decision that spans clusters:
// the cluster answering must be the one the ledger's records are about,
// and no other declared Cluster of the pass the same cluster (Identity,
// names from NamesByUUID). A cluster whose check fails gets no writes,
// whatever the rest of its decision says.
func CheckIdentity(d *ClusterDecision, led *ledger.Ledger, names map[string][]string) *ClusterDecision {
	if d.Seen == nil || d.Seen.UUID == "" {
		return d
	}
	local := d.Plan.Local
	if err := Identity(local, d.Seen, led.ClusterUUID(local), names[d.Seen.UUID]); err != nil {
		return Failed(local, d.Conns, err)
	}
	return d
}
