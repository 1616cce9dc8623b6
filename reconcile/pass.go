package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// One pass, as one trip down: observe everything the pass needs (observe*.go),
// decide every local cluster (package decide, through decide*.go), compare a saved
// plan, then write: trust first, then each cluster (execute*.go).

// passState is what one pass shares between its cluster goroutines: the
// remotes it has read (once each), the endpoints it resolved.
type passState struct {
	envState
	r *Reconciler
	// ledger is the copy of the ledger taken when the pass started
	// (DESIGN §4): observe and decide read it, so no decision of the pass
	// depends on what the pass has written so far; the writes go to
	// r.ledger (execute*.go), and so do the reads after them (verify,
	// diagnose).
	ledger    *Ledger
	set       *spec.Set
	mode      Mode
	scoped    bool
	only      string
	endpoints map[string]endpointResult

	// snap is everything the pass read, each target once; world is it as
	// plain data, once every read is in (observe).
	snap  *Snapshot
	world *world.Snapshot

	// trust is the certificate model's trust work (trust.go).
	trust *decide.TrustPlan

	// byLocal are the connections of each local cluster of the pass,
	// locals its local clusters sorted, all every alias the specs declare
	// on each (also those --only filters out: never deleted). departing:
	// the pass also looks at clusters that left the specs (a complete,
	// unscoped pass).
	byLocal   map[string][]*spec.Connection
	locals    []string
	all       map[string]map[string]bool
	departing bool

	// reads are the reads started ahead of need (prefetchRemotes,
	// observeDeparted): observations, so observe waits for them before
	// it returns, and none is answered after the pass's first write.
	reads sync.WaitGroup

	// uuids indexes the declared Clusters by cluster_uuid (namesOf).
	uuidsOnce sync.Once
	uuids     map[string][]string

	// early is each local's decision (by index in locals), made as soon
	// as it was observed, before the identity check (observe).
	early []*clusterWork
}

// Pass observes every local cluster the set names, plans, and in ModeApply
// or ModeRun writes and verifies. only, when not "", restricts the pass to
// the connection of that name (nothing else is deleted or reported).
//
// Errors of one cluster never stop the others: they are recorded on that
// cluster's plan and connections. Pass itself fails only when the pass
// could not start.
func (r *Reconciler) Pass(ctx context.Context, set *spec.Set, mode Mode, only string) (*Result, error) {
	return r.pass(ctx, set, mode, only, nil)
}

// PassTargets is Pass restricted to the named local clusters (the daemon's
// retry of failing targets): each of them gets its whole pass, deletions
// and unmanaged reports included; the other clusters are not contacted.
func (r *Reconciler) PassTargets(ctx context.Context, set *spec.Set, mode Mode, targets []string) (*Result, error) {
	return r.pass(ctx, set, mode, "", targets)
}

func (r *Reconciler) pass(ctx context.Context, set *spec.Set, mode Mode, only string, targets []string) (*Result, error) {
	res := &Result{Mode: mode, Set: set, Only: only, Started: r.opts.Now(), Plan: &Plan{}}
	if only != "" && set.Connection(only) == nil {
		return nil, fmt.Errorf("no connection named %q in %s", only, set.Dir)
	}
	ps := r.newPass(set, mode, only, targets)
	ps.observe(ctx)
	work, departed := ps.decidePass()
	if mode == ModePlan {
		// The decision as typed steps, before anything else happens to
		// it: what plan --out saves and apply --plan executes.
		res.steps = ps.steps(work, departed)
	}

	// Execute: trust first (a certificate link needs it on both
	// deployments before its cluster settings can connect, DESIGN §5),
	// then every cluster, then the keys of departed clusters.
	if mode != ModePlan {
		ps.holdRefusedTrust(work)
		ps.applyTrust(ctx)
	}
	plans := make([]*ClusterPlan, len(work))
	sem := make(chan struct{}, r.opts.Concurrency)
	var wg sync.WaitGroup
	for i, w := range work {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			plans[i] = ps.writeCluster(ctx, w)
		})
	}
	wg.Wait()
	for _, cp := range departed {
		if mode != ModePlan {
			ps.applyDeparted(ctx, cp)
		}
		plans = append(plans, cp)
	}
	res.Plan.Clusters = plans
	res.Detached = ps.trustDetached()
	res.Outcomes = ps.outcomes()
	res.Finished = r.opts.Now()
	return res, nil
}

// newPass groups the connections by local cluster: every cluster with a
// connection (or, for deletions, something in the ledger) gets a pass.
func (r *Reconciler) newPass(set *spec.Set, mode Mode, only string, targets []string) *passState {
	ps := &passState{r: r, ledger: r.ledger.Copy(), set: set, mode: mode, scoped: only != "", only: only, snap: newSnapshot(),
		departing: only == "" && targets == nil,
		byLocal:   map[string][]*spec.Connection{}, all: map[string]map[string]bool{}}
	for _, c := range set.Connections {
		if ps.all[c.Local] == nil {
			ps.all[c.Local] = map[string]bool{}
		}
		ps.all[c.Local][c.Alias] = true
		if only != "" && c.Name != only {
			continue
		}
		ps.byLocal[c.Local] = append(ps.byLocal[c.Local], c)
	}
	if only == "" {
		for _, cl := range set.Clusters {
			if _, ok := ps.byLocal[cl.Name]; !ok && ps.ledger.Owns(cl.Name) {
				ps.byLocal[cl.Name] = nil
			}
		}
	}
	if targets != nil {
		for local := range ps.byLocal {
			if !slices.Contains(targets, local) {
				delete(ps.byLocal, local)
			}
		}
	}
	ps.locals = sortedKeys(ps.byLocal)
	return ps
}

// observe reads what the pass needs into its Snapshot: the remotes'
// endpoints first (the reads of the managed keys' remotes start from
// them), then the trust facts and the clusters at once, each target read
// once, each cluster in two waves (its fixed reads, then the evidence
// they leave open, and its managed keys' remotes).
//
// A cluster is handed to decide as soon as its own reads are in and the
// trust facts are decided, while the other clusters are still read
// (ps.early, decideLocal); only the identity check, which compares every
// cluster of the pass, waits for all of them (decidePass).
func (ps *passState) observe(ctx context.Context) {
	ps.endpoints = ps.resolveEndpoints(ctx)
	ps.observeDeparted(ctx)
	trusted := make(chan struct{})
	go func() {
		defer close(trusted)
		ps.planTrust(ctx)
	}()
	ps.early = make([]*clusterWork, len(ps.locals))
	ps.observeAll(ctx, ps.locals, ps.byLocal, func(i int, cr *world.ClusterRead) {
		<-trusted
		local := ps.locals[i]
		ps.early[i] = ps.decideLocal(local, ps.byLocal[local], ps.all[local], cr)
	})
	<-trusted
	// The remotes read ahead of need: no decision waits for a departed
	// key's remote (applyDeparted does, after the other clusters' writes).
	ps.reads.Wait()
	ps.world = ps.snap.world(ps.endpoints)
}

// decide decides every local cluster from the Snapshot, before anything is
// written (a connection refused as a conflict keeps its trust unwritten
// too, and a saved plan that is stale anywhere is written nowhere), and
// what the ledger still owns on clusters that left the specs. It reads
// nothing: the same Snapshot and ledger give the same plans.
func (ps *passState) decide() ([]*clusterWork, []*ClusterPlan) {
	return ps.decideFrom(nil)
}

// decidePass is decide for the pass itself: each cluster's decision made
// as soon as it was observed (ps.early, the same function of the same
// Snapshot), with the identity check over every cluster of the pass.
func (ps *passState) decidePass() ([]*clusterWork, []*ClusterPlan) {
	return ps.decideFrom(ps.early)
}

func (ps *passState) decideFrom(early []*clusterWork) ([]*clusterWork, []*ClusterPlan) {
	work := make([]*clusterWork, len(ps.locals))
	sem := make(chan struct{}, ps.r.opts.Concurrency)
	var wg sync.WaitGroup
	for i, local := range ps.locals {
		if i < len(early) && early[i] != nil {
			work[i] = ps.checkIdentity(early[i])
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			work[i] = ps.decideCluster(local, ps.byLocal[local], ps.all[local])
		})
	}
	wg.Wait()
	var departed []*ClusterPlan
	if ps.departing {
		departed = ps.departed()
	}
	return work, departed
}

// clusterWork is one local cluster's decision, waiting for the pass's
// writes: its plan and what writing it needs.
type clusterWork struct {
	cl     *spec.Cluster
	client *es.Client // nil when the cluster failed before it was decided
	obs    *Observed
	cp     *ClusterPlan
	log    *slog.Logger
	// privs is the local credential's privileges (ClusterRead.Privileges), for
	// the canary check after verify.
	privs *es.UserPrivileges
	// seen is the observation the identity check is made on (nil when the
	// decision failed before it or already made it); conns the cluster's
	// connections, for a failure.
	seen  *Observed
	conns []*spec.Connection
}

// decideCluster decides one local cluster from the pass's Snapshot: the
// desired aliases, the links' evidence, keys, trust, settings and roles.
// It writes nothing.
func (ps *passState) decideCluster(local string, conns []*spec.Connection, all map[string]bool) *clusterWork {
	return ps.checkIdentity(ps.decideLocal(local, conns, all, ps.world.Cluster(local)))
}

// checkIdentity is the part of a cluster's decision that spans clusters:
// a cluster whose identity check fails (identity) gets no writes, whatever
// the rest of its decision says.
func (ps *passState) checkIdentity(w *clusterWork) *clusterWork {
	if w.seen == nil {
		return w
	}
	if err := ps.identity(w.cp.Local, w.seen); err != nil {
		return failedWork(w.cp.Local, w.conns, err, w.log)
	}
	return w
}

// failedWork is the decision of a cluster that failed: every connection
// fails with err, nothing is written.
func failedWork(local string, conns []*spec.Connection, err error, log *slog.Logger) *clusterWork {
	cp := &ClusterPlan{Local: local, Err: err}
	for _, c := range conns {
		cp.Connections = append(cp.Connections, &ConnectionPlan{Conn: c, Err: err, Health: HealthUnknown})
	}
	log.Warn("cluster failed", "err", err)
	return &clusterWork{cp: cp, log: log, conns: conns}
}

// decideLocal is decideCluster from the cluster's read cr, without the
// identity check (checkIdentity): it needs nothing of the other clusters,
// so the pass makes it as soon as cr is in.
func (ps *passState) decideLocal(local string, conns []*spec.Connection, all map[string]bool, cr *world.ClusterRead) *clusterWork {
	r := ps.r
	log := r.opts.Logger.With("target", local)
	fail := func(err error) *clusterWork { return failedWork(local, conns, err, log) }
	cl := ps.set.Cluster(local)
	if cl == nil {
		return fail(drift.Terminal(fmt.Errorf("cluster %q is not declared", local)))
	}
	client, err := r.ESClient(ps.set, cl)
	if err != nil {
		return fail(err)
	}
	if cr == nil {
		return fail(fmt.Errorf("cluster %s was not observed in this pass", local))
	}
	if cr.Err != nil {
		return fail(cr.Err)
	}
	obs := cr.Observed
	var cps []*ConnectionPlan
	for _, c := range conns {
		p := &ConnectionPlan{Conn: c}
		if c.Policy != spec.PolicyDisabled {
			ep := ps.endpoints[c.Remote.Cluster]
			if ep.Err != nil && c.Remote.ProxyAddress == "" {
				p.Err = ep.Err
			} else if d, err := Desire(c, ep.Endpoint); err != nil {
				p.Err = err
			} else {
				p.Desired = d
			}
			if cl.Elasticsearch.InsecureSkipVerify {
				p.Findings = append(p.Findings, Finding{Severity: "warning", Code: CodeInsecureSkipVerify,
					Message: "TLS verification is off for " + local + " (insecure_skip_verify): anyone on the path can read its credentials",
					Fix:     "give the cluster's CA in elasticsearch.ca_file and remove insecure_skip_verify"})
			}
		}
		p.Observed, p.ObservedOK = obs.Remote[c.Alias]
		cps = append(cps, p)
	}
	// Health by evidence, before planning: a managed key the local cluster
	// does not use is drift the key planning repairs.
	for _, p := range cps {
		if ev, ok := cr.Evidence[p.Conn.Name]; ok {
			decide.SetEvidence(p, ev)
		}
	}
	checkCanaryPrivileges(local, cr.Privileges, cps)
	for _, p := range cps {
		if p.Conn.Policy != spec.PolicyDisabled {
			ps.planKey(p, cl, cr)
			ps.attachTrust(p)
		}
	}
	cp := decide.Diff(local, cps, all, obs, ps.ledger, ps.scoped)
	for _, p := range cp.Connections {
		for i, f := range p.Findings {
			if (f.Code == CodeConflict || f.Code == CodeContestedByOther || f.Code == CodeForeignKey) && ps.set.Dir != "" {
				fix := strings.Replace(f.Fix, "esremote import "+specDirPlaceholder+" ", "esremote import "+ps.set.Dir+" ", 1)
				p.Findings[i].Fix = strings.Replace(fix, "esremote state recover "+specDirPlaceholder, "esremote state recover "+ps.set.Dir, 1)
			}
		}
	}
	cp.UUID, cp.Observed = obs.UUID, observedOf(obs)
	if err := ps.planRoles(cl, cp, cr); err != nil {
		w := fail(err)
		w.seen = obs // a failed identity check is the failure reported
		return w
	}
	ps.planRemovedKeys(cp)
	ps.planKeystoreRemovals(cp, all)
	return &clusterWork{cl: cl, client: client, obs: obs, cp: cp, log: log, privs: cr.Privileges, seen: obs, conns: conns}
}

// writeCluster writes one decided cluster (apply and run) and looks at
// what the writes left (execute.go); a cluster that failed before it was
// decided is reported as it is.
func (ps *passState) writeCluster(ctx context.Context, w *clusterWork) *ClusterPlan {
	cp := w.cp
	if w.client == nil {
		ps.r.recordRetryHint(cp.Local, retryErrors(cp, nil, func(string) *LinkOutcome { return nil }, func(ch *Change) ChangeOutcome { return ChangeOutcome{Err: ch.Err} }))
		return cp
	}
	if ps.mode != ModePlan {
		// The daemon's memory of keys flipping back (contest.go) is
		// consulted and updated here, as the writes start: deciding
		// leaves it alone.
		r := ps.r
		for _, p := range cp.Connections {
			if p.Enforced() {
				if contested, held := r.contests.check(cp.Local, p, r.opts.ContestThreshold, r.opts.ContestWindow, r.opts.Now()); len(contested) > 0 {
					holdContested(cp, p, contested, held)
					w.log.Warn("contested", "alias", p.Conn.Alias, "keys", len(contested))
				}
			}
		}
	}
	ps.execute(ctx, w)
	return cp
}

// identity is decide.Identity for local, given the ledger copy's record of
// the name and the pass's other names of the same cluster: the cluster
// answering for local must be the one the ledger's records are about, and
// no other declared Cluster of this pass the same cluster.
func (ps *passState) identity(local string, obs *Observed) error {
	if obs.UUID == "" {
		return nil
	}
	return decide.Identity(local, obs, ps.ledger.ClusterUUID(local), ps.namesOf(obs.UUID))
}

// namesOf lists the declared Clusters that are the cluster with uuid: the
// local clusters of this pass observed with it, and the names the ledger
// recorded with it. The index is built once per pass (a lookup per cluster
// instead of a scan of every cluster per cluster); names recorded during
// the pass are clusters this pass observed, so they are in it.
func (ps *passState) namesOf(uuid string) []string {
	ps.uuidsOnce.Do(func() {
		ps.uuids = map[string][]string{}
		ps.snap.mu.Lock()
		for name, cr := range ps.snap.locals {
			if cr.Observed != nil && cr.Observed.UUID != "" {
				ps.uuids[cr.Observed.UUID] = append(ps.uuids[cr.Observed.UUID], name)
			}
		}
		ps.snap.mu.Unlock()
		for name, u := range ps.ledger.ClusterUUIDs() {
			if u != "" && ps.set.Cluster(name) != nil && !slices.Contains(ps.uuids[u], name) {
				ps.uuids[u] = append(ps.uuids[u], name)
			}
		}
	})
	return ps.uuids[uuid]
}
