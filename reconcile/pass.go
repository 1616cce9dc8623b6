package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
	"time"
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
	ledger *Ledger
	// now is the pass's clock for its decision, read once when the pass
	// starts: every part of the decision (each cluster's, made as its
	// reads arrive, the trust's, the holds') weighs time as of one
	// instant, as decide.Decide does with its now. Reading the clock
	// later would let two clusters of one pass see a window open and
	// shut; the start is the earlier, so the harsher, reading (a grace
	// or a proof window has run less of its course).
	now       time.Time
	set       *spec.Set
	mode      Mode
	scoped    bool
	only      string
	endpoints map[string]endpointResult

	// snap is everything the pass read, each target once; world is it as
	// plain data, once every read is in (observe).
	snap  *Snapshot
	world *world.Snapshot
	// remotes are the clusters read as the remote of managed keys
	// (world.Snapshot.Remotes), for the steps' preconditions.
	remotes map[string]*world.KeysRead

	// trust is the certificate model's trust work (trust.go), as decided;
	// trustAfter is the copy the trust writes ran on (applyTrust), as
	// they left it, nil when nothing was written.
	trust      *decide.TrustPlan
	trustAfter *decide.TrustPlan

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

	// secrets are the hand-made keys' credentials, resolved when the pass
	// starts (the decisions never resolve a reference); holds the daemon's
	// memory of contests as the decisions weigh it (nil in a plan pass);
	// windows the key decisions' durations.
	secrets map[string]decide.SecretRead
	holds   *decide.Holds
	windows decide.Windows
	// targets are the local clusters the pass is restricted to (nil: all).
	targets []string

	// early is each local's decision (by index in locals), made as soon
	// as it was observed, before the identity check (observe).
	early []*decide.ClusterDecision
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
	if mode != ModePlan {
		// The daemon's memory of keys flipping back is updated after the
		// decision, which weighed it as it was (decide.Holds).
		now := r.opts.Now()
		for _, w := range work {
			if w.client != nil {
				r.contests.record(w.cp, r.opts.ContestWindow, now)
			}
		}
	}
	if mode == ModePlan {
		// The decision as typed steps, before anything else happens to
		// it: what plan --out saves and apply --plan executes.
		res.steps = ps.steps(work, departed)
		for _, cp := range departed {
			ps.heldDeparted(cp, &res.held)
		}
	}

	// Execute: trust first (a certificate link needs it on both
	// deployments before its cluster settings can connect, DESIGN §5),
	// then every cluster, then the keys of departed clusters.
	if mode != ModePlan {
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

// newPass groups the connections by local cluster (decide.ScopeOf) and
// resolves the hand-made keys' credentials: every cluster with a
// connection (or, for deletions, something in the ledger) gets a pass.
func (r *Reconciler) newPass(set *spec.Set, mode Mode, only string, targets []string) *passState {
	ps := &passState{r: r, ledger: r.ledger.Copy(), now: r.opts.Now(), set: set, mode: mode, scoped: only != "", only: only, snap: newSnapshot(), targets: targets,
		windows: decide.Windows{Grace: r.opts.KeystoreLoadGrace, StuckAfter: r.opts.RotationStuckAfter, Overlap: r.opts.RotationOverlap}}
	sc := decide.ScopeOf(set, ps.ledger, only, targets)
	ps.byLocal, ps.locals, ps.all, ps.departing = sc.ByLocal, sc.Locals, sc.All, sc.Departing
	for _, local := range ps.locals {
		for _, c := range ps.byLocal[local] {
			if c.Security == spec.SecurityAPIKey && c.APIKey != nil && !c.APIKey.Managed && c.APIKey.Credentials != nil {
				if ps.secrets == nil {
					ps.secrets = map[string]decide.SecretRead{}
				}
				var sr decide.SecretRead
				sr.Secret, sr.Err = c.APIKey.Credentials.Resolve(r.opts.Getenv)
				ps.secrets[c.Name] = sr
			}
		}
	}
	if mode != ModePlan {
		ps.holds = r.contests.holds(r.opts.ContestThreshold, r.opts.ContestWindow, ps.now)
	}
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
	ps.early = make([]*decide.ClusterDecision, len(ps.locals))
	ps.observeAll(ctx, ps.locals, ps.byLocal, func(i int, cr *world.ClusterRead) {
		<-trusted
		ps.early[i] = decide.Cluster(ps.clusterInput(ps.locals[i], cr, ps.keysOf(cr)))
	})
	<-trusted
	// The remotes read ahead of need: no decision waits for a departed
	// key's remote (applyDeparted does, after the other clusters' writes).
	ps.reads.Wait()
	ps.world = ps.snap.world(ps.endpoints)
	ps.remotes = ps.world.Remotes()
}

// snapshot is what the pass decides from, as plain data
// (decide.Snapshot), once observe is done: decide.Decide of it is the
// pass's decision.
func (ps *passState) snapshot() *decide.Snapshot {
	return &decide.Snapshot{World: ps.world, Trust: ps.snap.trust, Ledger: ps.ledger, Secrets: ps.secrets,
		Only: ps.only, Targets: ps.targets, Windows: ps.windows}
}

// decidePass decides every local cluster, before anything is written (a
// saved plan that is stale anywhere is written nowhere), and what the
// ledger still owns on clusters that left the specs. It composes what
// decide.Decide is made of: each cluster's decision made as soon as it was
// observed (ps.early, decide.Cluster; from the Snapshot for a cluster
// that was not), then the identity check over every cluster of the pass,
// the daemon's holds, and the trust of connections refused as conflicts
// held (decide.HoldRefused). It reads nothing: decide.Decide of the pass's
// Snapshot is the same decision.
func (ps *passState) decidePass() ([]*clusterWork, []*ClusterPlan) {
	early := ps.early
	decided := make([]*decide.ClusterDecision, len(ps.locals))
	var remotes map[string]*world.KeysRead
	sem := make(chan struct{}, ps.r.opts.Concurrency)
	var wg sync.WaitGroup
	for i, local := range ps.locals {
		if i < len(early) && early[i] != nil {
			decided[i] = early[i]
			continue
		}
		remotes = ps.remotes
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			decided[i] = decide.Cluster(ps.clusterInput(local, ps.world.Cluster(local), remotes))
		})
	}
	wg.Wait()
	// The part that spans clusters: the identity check over every cluster
	// of the pass, then the daemon's holds.
	names := decide.NamesByUUID(ps.set, ps.world.Clusters, ps.ledger)
	now := ps.now
	work := make([]*clusterWork, len(decided))
	for i, d := range decided {
		d = decide.CheckIdentity(d, ps.ledger, names)
		if d.Cluster != nil {
			ps.holds.Hold(d.Plan, now)
		}
		decided[i] = d
		work[i] = ps.work(d)
	}
	// What connections refused as conflicts want of trust is held: the
	// trust decision is final from here on.
	ps.trust = decide.HoldRefused(ps.trust, decided)
	var departed []*ClusterPlan
	if ps.departing {
		departed = decide.Departed(ps.set, ps.ledger)
	}
	return work, departed
}

// clusterInput is what decide.Cluster decides local from: its read cr,
// the reads of the remotes its managed keys live on, and the pass's
// endpoints, trust decision, ledger copy, credentials and windows.
func (ps *passState) clusterInput(local string, cr *world.ClusterRead, remotes map[string]*world.KeysRead) decide.ClusterInput {
	return decide.ClusterInput{Set: ps.set, Local: local, Conns: ps.byLocal[local], All: ps.all[local], Read: cr,
		Remotes: remotes, Endpoints: ps.endpoints, Secrets: ps.secrets, Trust: ps.trust, Ledger: ps.ledger,
		Scoped: ps.scoped, Windows: ps.windows, Now: ps.now}
}

// keysOf is the reads of the remotes cr's managed keys live on, waiting
// for those still under way (they were started as soon as cr was read).
func (ps *passState) keysOf(cr *world.ClusterRead) map[string]*world.KeysRead {
	if len(cr.KeyRemotes) == 0 {
		return nil
	}
	out := make(map[string]*world.KeysRead, len(cr.KeyRemotes))
	for _, name := range cr.KeyRemotes {
		if _, ok := out[name]; !ok {
			if kr := ps.snap.keys(name); kr != nil {
				out[name] = kr
			}
		}
	}
	return out
}

// clusterWork is one local cluster's decision, waiting for the pass's
// writes: its plan and what writing it needs.
type clusterWork struct {
	d      *decide.ClusterDecision
	cl     *spec.Cluster
	client *es.Client // nil when the cluster failed before it was decided
	obs    *Observed
	cp     *ClusterPlan
	log    *slog.Logger
	// privs is the local credential's privileges (ClusterRead.Privileges),
	// for the canary check after verify.
	privs *es.UserPrivileges
}

// work is a decided cluster as the pass writes it, with the client its
// writes go through (the observe stage made it for the reads: a cluster
// whose client failed failed its decision).
func (ps *passState) work(d *decide.ClusterDecision) *clusterWork {
	log := ps.r.opts.Logger.With("target", d.Plan.Local)
	if d.Cluster != nil {
		client, err := ps.r.ESClient(ps.set, d.Cluster)
		if err == nil {
			for _, p := range d.Plan.Connections {
				if n := countFindings(p, CodeContested); n > 0 {
					log.Warn("contested", "alias", p.Conn.Alias, "keys", n)
				}
			}
			return &clusterWork{d: d, cl: d.Cluster, client: client, obs: d.Read.Observed, cp: d.Plan, log: log, privs: d.Read.Privileges}
		}
		d = decide.Failed(d.Plan.Local, d.Conns, err)
	}
	log.Warn("cluster failed", "err", d.Plan.Err)
	return &clusterWork{d: d, cp: d.Plan, log: log}
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
	ps.execute(ctx, w)
	return cp
}

func countFindings(p *ConnectionPlan, code string) (n int) {
	for _, f := range p.Findings {
		if f.Code == code {
			n++
		}
	}
	return n
}
