package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/cloud"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/spec"
	"golang.org/x/time/rate"
)

// Mode says whether a pass may write.
type Mode string

// Pass modes.
const (
	ModePlan  Mode = "plan"  // observe and diff; never writes, not even the ledger
	ModeApply Mode = "apply" // observe, diff, write, verify, record
	ModeRun   Mode = "run"   // a daemon pass: as apply
)

// Options configure a Reconciler. The zero value of each field is a
// sensible default.
type Options struct {
	// StateDir holds the ledger (FileStore); "" keeps the ledger in
	// memory. Store, when set, is used instead.
	StateDir string
	// Store is where the ledger lives when not in StateDir (issue 16's
	// locked file and Elasticsearch stores).
	Store Store
	// ReadOnly reads the ledger but never writes it (plan).
	ReadOnly bool
	// Concurrency bounds how many local clusters are reconciled at once
	// (default 8).
	Concurrency int
	// Getenv resolves secret references (default os.Getenv).
	Getenv func(string) string
	// Logger receives events (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// VerifyTimeout bounds how long apply polls _remote/info for a link it
	// wrote to connect (default 10s); VerifyInterval is the poll period
	// (default 250ms).
	VerifyTimeout  time.Duration
	VerifyInterval time.Duration
	// RequestTimeout bounds each HTTP request (default 30s).
	RequestTimeout time.Duration
	// CloudRate and CloudBurst pace the requests to each control-plane
	// API (all clusters sharing one API URL share the budget), default
	// 10 requests a second with bursts of 20: ECH rate-limits its API
	// without publishing numbers (cloud-api.md §8.3), and a large estate
	// must not spend its passes bouncing off 429s.
	CloudRate  float64
	CloudBurst int
	// Verify checks the links a pass wrote (default the reconciler's
	// EvidenceVerify: a request that carries each link's credential).
	Verify VerifyFunc
	// Expect, for apply --plan, is the saved plan the pass must execute:
	// each part of the pass (trust, each local cluster) is compared with
	// it before its writes, and a part that differs is not written and
	// fails with a StaleError.
	Expect *PlanDoc
	// ContestThreshold is how many times within ContestWindow a key must
	// flip back to the same foreign value before it is reported contested
	// and no longer rewritten (default DefaultContestThreshold, window
	// DefaultContestWindow), whatever the passes in between found. It
	// matters for a long-lived Reconciler (the daemon); one-shot apply
	// never sees a flip twice.
	ContestThreshold int
	ContestWindow    time.Duration
	// WriteGate, when set, is asked before every request that would
	// change a cluster or a deployment; an error stops the request unsent
	// (es.ErrFenced). The daemon sharing an Elasticsearch state store
	// passes its lease check: every write path checks the lease.
	WriteGate func() error
	// Identity ("HOST:PID") is sent as X-Opaque-Id on every request, so
	// the clusters' logs say which admin host wrote.
	Identity string
	// KeystoreLoadGrace is how long after esremote wrote a deployment's
	// keystore a credential the nodes do not show yet counts as "not
	// loaded yet" rather than lost (default 5m): ECH and ECE load keystore
	// changes on their own schedule, not documented to the second.
	KeystoreLoadGrace time.Duration
	// RotationStuckAfter is how long a rotation may wait for proof that
	// the local cluster uses the new key before it is an error finding
	// (default 30m); the old key stays valid meanwhile.
	RotationStuckAfter time.Duration
}

// Reconciler runs passes over a spec.Set. It is safe for one pass at a time
// per local cluster; the daemon serialises passes.
type Reconciler struct {
	opts   Options
	ledger *Ledger

	mu    sync.Mutex
	es    map[string]*esEntry    // by cluster name
	cloud map[string]*cloudEntry // by cluster name (its deployment's API)

	cloudLimits map[string]*rate.Limiter // by control-plane API URL

	contests contests

	hintsMu    sync.Mutex
	retryHints map[string]time.Duration // local cluster → Retry-After of its last pass

	evidenceMu sync.Mutex
	evidence   map[string]linkEvidence // by connection: the last evidence of its health
}

type esEntry struct {
	fp     string
	client *es.Client
}

type cloudEntry struct {
	fp     string
	client *cloud.Client
}

// New returns a Reconciler with its ledger opened from opts.StateDir.
func New(opts Options) (*Reconciler, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.VerifyTimeout == 0 {
		opts.VerifyTimeout = 10 * time.Second
	}
	if opts.VerifyInterval == 0 {
		opts.VerifyInterval = 250 * time.Millisecond
	}
	if opts.CloudRate <= 0 {
		opts.CloudRate = 10
	}
	if opts.CloudBurst <= 0 {
		opts.CloudBurst = 20
	}

	if opts.ContestThreshold <= 0 {
		opts.ContestThreshold = DefaultContestThreshold
	}
	if opts.ContestWindow <= 0 {
		opts.ContestWindow = DefaultContestWindow
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 30 * time.Second
	}
	if opts.KeystoreLoadGrace == 0 {
		opts.KeystoreLoadGrace = 5 * time.Minute
	}
	if opts.RotationStuckAfter == 0 {
		opts.RotationStuckAfter = 30 * time.Minute
	}
	store := opts.Store
	if store == nil && opts.StateDir != "" {
		store = FileStore{Dir: opts.StateDir}
	}
	if store != nil && opts.ReadOnly {
		store = readOnly{store}
	}
	led, err := OpenLedgerStore(store)
	if err != nil {
		return nil, err
	}
	r := &Reconciler{opts: opts, ledger: led, es: map[string]*esEntry{}, cloud: map[string]*cloudEntry{},
		cloudLimits: map[string]*rate.Limiter{}}
	if r.opts.Verify == nil {
		r.opts.Verify = r.EvidenceVerify
	}
	return r, nil
}

// Ledger is the reconciler's ownership ledger.
func (r *Reconciler) Ledger() *Ledger { return r.ledger }

// Options returns the options the Reconciler runs with, defaults filled in.
func (r *Reconciler) Options() Options { return r.opts }

// Getenv resolves a secret reference's environment variable as the
// Reconciler does (Options.Getenv).
func (r *Reconciler) Getenv(key string) string { return r.opts.Getenv(key) }

// Now is the Reconciler's clock (Options.Now).
func (r *Reconciler) Now() time.Time { return r.opts.Now() }

// ManagedKeyID is the ID of the cross-cluster API key the local keystore
// holds for a connection's managed key according to the ledger (while a
// new key is pending, the one it replaces), "" when none was delivered.
func (r *Reconciler) ManagedKeyID(connection string) string {
	return r.ledger.Key(connection).DeliveredKeyID()
}

// DesiredSettings returns the flat cluster.remote.<alias>.* settings the
// spec wants for c on its local cluster, the remote's endpoint resolved
// (a deployment's through its control plane). It only reads.
func (r *Reconciler) DesiredSettings(ctx context.Context, set *spec.Set, c *spec.Connection) (map[string]string, error) {
	ep := r.resolveEndpoints(ctx, set, c.Name)[c.Remote.Cluster]
	if ep.err != nil && c.Remote.ProxyAddress == "" {
		return nil, ep.err
	}
	d, err := Desire(c, ep.Endpoint)
	if err != nil {
		return nil, err
	}
	return d.Settings, nil
}

// Result is one pass: the plan with what apply did filled in.
type Result struct {
	Mode Mode
	Set  *spec.Set
	Plan *Plan
	// Only is the --only filter the pass ran with ("" for all).
	Only string
	// Started and Finished bound the pass.
	Started, Finished time.Time
	// Detached is trust work that concerns no single connection (a
	// TrustedEnvironment on a deployment that is no connection's local,
	// removals whose connection left the specs).
	Detached Detached
}

// KeyExpirations maps each connection with a known cross-cluster API key
// expiry to that time, for the daemon's metrics.
func (res *Result) KeyExpirations() map[string]time.Time {
	out := map[string]time.Time{}
	for _, cp := range res.Plan.Clusters {
		for _, p := range cp.Connections {
			if !p.KeyExpiration.IsZero() {
				out[p.Conn.Name] = p.KeyExpiration
			}
		}
	}
	return out
}

// RetryAfter is how long a cluster asked esremote to wait (Retry-After or
// rate-limit headers of a 429/503 answer) in its last pass; zero when it
// did not. The daemon's per-target backoff waits at least this long.
func (r *Reconciler) RetryAfter(local string) time.Duration {
	r.hintsMu.Lock()
	defer r.hintsMu.Unlock()
	return r.retryHints[local]
}

// recordRetryHint keeps the longest Retry-After among a cluster plan's
// errors.
func (r *Reconciler) recordRetryHint(local string, cp *ClusterPlan) {
	var hint time.Duration
	consider := func(err error) {
		var ee *es.Error
		var ce *cloud.Error
		switch {
		case errors.As(err, &ee):
			hint = max(hint, ee.RetryAfter)
		case errors.As(err, &ce):
			hint = max(hint, ce.RetryAfter)
		}
	}
	consider(cp.Err)
	for _, p := range cp.Connections {
		consider(p.Err)
		for _, ch := range p.Changes {
			consider(ch.Err)
		}
	}
	r.hintsMu.Lock()
	defer r.hintsMu.Unlock()
	if r.retryHints == nil {
		r.retryHints = map[string]time.Duration{}
	}
	if hint > 0 {
		r.retryHints[local] = hint
	} else {
		delete(r.retryHints, local)
	}
}

// CAExpirations maps each certificate connection with a known CA to the
// expiry of the first CA its trust relies on, for the daemon's metrics.
func (res *Result) CAExpirations() map[string]time.Time {
	out := map[string]time.Time{}
	for _, cp := range res.Plan.Clusters {
		for _, p := range cp.Connections {
			if !p.CAExpiration.IsZero() {
				out[p.Conn.Name] = p.CAExpiration
			}
		}
	}
	return out
}

// passState is what one pass shares between its cluster goroutines: the
// remotes it has read (once each), the endpoints it resolved.
type passState struct {
	r         *Reconciler
	set       *spec.Set
	mode      Mode
	scoped    bool
	only      string
	endpoints map[string]endpointResult

	// snap is everything the pass read, each target once.
	snap *Snapshot

	// trust is the certificate model's trust work (trust.go).
	trust *trustPlan

	// reads are the reads started ahead of need (prefetchRemotes); the
	// pass waits for them before it returns.
	reads sync.WaitGroup

	// uuids indexes the declared Clusters by cluster_uuid (namesOf).
	uuidsOnce sync.Once
	uuids     map[string][]string
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
	if only != "" && findConnection(set, only) == nil {
		return nil, fmt.Errorf("no connection named %q in %s", only, set.Dir)
	}
	ps := &passState{r: r, set: set, mode: mode, scoped: only != "", only: only, snap: newSnapshot()}

	// Group connections by local cluster; every cluster with a connection
	// (or, for deletions, something in the ledger) gets a pass.
	byLocal := map[string][]*spec.Connection{}
	all := map[string]map[string]bool{}
	for _, c := range set.Connections {
		if all[c.Local] == nil {
			all[c.Local] = map[string]bool{}
		}
		all[c.Local][c.Alias] = true
		if only != "" && c.Name != only {
			continue
		}
		byLocal[c.Local] = append(byLocal[c.Local], c)
	}
	if only == "" {
		for _, cl := range set.Clusters {
			if _, ok := byLocal[cl.Name]; !ok && r.ledger.ownsOn(cl.Name) {
				byLocal[cl.Name] = nil
			}
		}
	}
	if targets != nil {
		for local := range byLocal {
			if !slices.Contains(targets, local) {
				delete(byLocal, local)
			}
		}
	}
	locals := sortedKeys(byLocal)

	// Observe: the remotes' endpoints first (the reads of the managed
	// keys' remotes start from them), then the trust facts and the
	// clusters at once, each target read once. Identities are compared
	// across clusters (two Cluster documents for one cluster get no
	// writes), so every local is observed before any is decided.
	ps.endpoints = r.resolveEndpointsWith(ctx, set, only, ps.deployment)
	var trustRead sync.WaitGroup
	trustRead.Go(func() { ps.planTrust(ctx) })
	ps.observeAll(ctx, locals, byLocal)
	trustRead.Wait()

	// Decide every cluster before anything is written: a connection
	// refused as a conflict keeps its trust unwritten too, and a saved
	// plan that is stale anywhere is written nowhere.
	work := make([]*clusterWork, len(locals))
	sem := make(chan struct{}, r.opts.Concurrency)
	var wg sync.WaitGroup
	for i, local := range locals {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			work[i] = ps.decideCluster(ctx, local, byLocal[local], all[local])
		})
	}
	wg.Wait()
	var departed []*ClusterPlan
	if only == "" && targets == nil {
		departed = ps.departed()
	}
	if mode != ModePlan && r.opts.Expect != nil {
		if why := ps.stale(work, departed); len(why) > 0 {
			ps.reads.Wait()
			return nil, &StaleError{Reasons: why}
		}
	}

	// Execute: trust first (a certificate link needs it on both
	// deployments before its cluster settings can connect, DESIGN §5),
	// then every cluster, then the keys of departed clusters.
	if mode != ModePlan {
		ps.holdRefusedTrust(work)
		ps.applyTrust(ctx)
	}
	plans := make([]*ClusterPlan, len(locals))
	for i, w := range work {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			plans[i] = ps.writeCluster(ctx, w)
			r.recordRetryHint(w.cp.Local, plans[i])
			ps.schedule(plans[i])
		})
	}
	wg.Wait()
	for _, cp := range departed {
		if mode != ModePlan {
			ps.applyDeparted(ctx, cp)
		}
		plans = append(plans, cp)
	}
	ps.reads.Wait()
	res.Plan.Clusters = plans
	res.Detached = ps.trustDetached()
	res.Finished = r.opts.Now()
	return res, nil
}

// stale compares everything the pass decided with the saved plan
// (Options.Expect) before anything is written: the reasons of every part
// that differs, none when the plan still holds.
func (ps *passState) stale(work []*clusterWork, departed []*ClusterPlan) []string {
	exp := ps.r.opts.Expect
	why := exp.staleTrust(ps)
	for _, w := range work {
		if w.cp.Err != nil && w.client == nil {
			continue // not observed: nothing is written there anyway
		}
		why = append(why, exp.staleCluster(w.cp)...)
	}
	for _, cp := range departed {
		why = append(why, exp.staleCluster(cp)...)
	}
	return why
}

// clusterWork is one local cluster's decision, waiting for the pass's
// writes: its plan and what writing it needs.
type clusterWork struct {
	cl     *spec.Cluster
	client *es.Client // nil when the cluster failed before it was decided
	obs    *Observed
	cp     *ClusterPlan
	log    *slog.Logger
}

// decideCluster decides one local cluster from the pass's Snapshot: the
// desired aliases, the links' evidence, keys, trust, settings and roles.
// It writes nothing.
func (ps *passState) decideCluster(ctx context.Context, local string, conns []*spec.Connection, all map[string]bool) *clusterWork {
	r := ps.r
	log := r.opts.Logger.With("target", local)
	fail := func(err error) *clusterWork {
		cp := &ClusterPlan{Local: local, Err: err}
		for _, c := range conns {
			cp.Connections = append(cp.Connections, &ConnectionPlan{Conn: c, Err: err, Health: HealthUnknown})
		}
		log.Warn("cluster failed", "err", err)
		return &clusterWork{cp: cp, log: log}
	}
	cl := ps.set.Cluster(local)
	if cl == nil {
		return fail(drift.Terminal(fmt.Errorf("cluster %q is not declared", local)))
	}
	client, err := r.ESClient(ps.set, cl)
	if err != nil {
		return fail(err)
	}
	ob := ps.snap.local(local)
	if ob.err != nil {
		return fail(ob.err)
	}
	obs := ob.obs
	if err := ps.identity(local, obs); err != nil {
		return fail(err)
	}
	var cps []*ConnectionPlan
	for _, c := range conns {
		p := &ConnectionPlan{Conn: c}
		if c.Policy != spec.PolicyDisabled {
			ep := ps.endpoints[c.Remote.Cluster]
			if ep.err != nil && c.Remote.ProxyAddress == "" {
				p.Err = ep.err
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
		p.observed, p.observedOK = obs.Remote[c.Alias]
		cps = append(cps, p)
	}
	// Health by evidence, before planning: a managed key the local cluster
	// does not use is drift the key planning repairs.
	r.gatherEvidence(ctx, client, cps, false, ob.early)
	ps.observeKeyRemotes(ctx, cps, cl, obs)
	for _, p := range cps {
		if p.Conn.Policy != spec.PolicyDisabled {
			ps.planKey(p, cl, obs)
			ps.attachTrust(p)
		}
	}
	cp := Diff(local, cps, all, obs, r.ledger, ps.scoped)
	for _, p := range cp.Connections {
		for i, f := range p.Findings {
			if f.Code == CodeConflict && ps.set.Dir != "" {
				p.Findings[i].Fix = strings.Replace(f.Fix, "esremote import "+specDirPlaceholder+" ", "esremote import "+ps.set.Dir+" ", 1)
			}
		}
	}
	cp.UUID, cp.Observed = obs.UUID, observedOf(obs)
	if ps.mode != ModePlan {
		for _, p := range cp.Connections {
			if p.Enforced() {
				if contested, held := r.contests.check(local, p, r.opts.ContestThreshold, r.opts.ContestWindow, r.opts.Now()); len(contested) > 0 {
					holdContested(cp, p, contested, held)
					log.Warn("contested", "alias", p.Conn.Alias, "keys", len(contested))
				}
			}
		}
	}
	if err := ps.planRoles(ctx, client, cl, cp, obs, ob); err != nil {
		return fail(err)
	}
	ps.planRemovedKeys(cp)
	ps.planKeystoreRemovals(cp, all)
	return &clusterWork{cl: cl, client: client, obs: obs, cp: cp, log: log}
}

// writeCluster writes one decided cluster (apply and run): credentials,
// the one settings PUT, roles, then verify; in every mode it then looks
// at rotations and diagnoses the links that do not work.
func (ps *passState) writeCluster(ctx context.Context, w *clusterWork) *ClusterPlan {
	cp := w.cp
	if w.client == nil {
		return cp
	}
	ps.reattachTrust(cp)
	if ps.mode != ModePlan {
		ps.commitLanded(cp, w.obs)
		// Name the cluster in the ledger before the first write: every
		// record under this name is then about this cluster_uuid.
		if err := ps.r.ledger.SetClusterUUID(cp.Local, w.obs.UUID); err != nil {
			err = fmt.Errorf("record the identity of %s before writing: %w", cp.Local, err)
			w.log.Warn("cluster failed", "err", err)
			out := &ClusterPlan{Local: cp.Local, Err: err}
			for _, p := range cp.Connections {
				out.Connections = append(out.Connections, &ConnectionPlan{Conn: p.Conn, Err: err, Health: HealthUnknown})
			}
			return out
		}
		ps.apply(ctx, w.client, w.cl, cp, w.log)
	}
	for _, p := range cp.Connections {
		ps.rotating(p)
		if p.Err == nil && (p.Health == HealthDisconnected || p.Health == HealthUnauthorized) && p.Conn.Policy != spec.PolicyDisabled {
			ps.diagnose(ctx, w.client, p)
		}
	}
	return cp
}

type depRead struct {
	once sync.Once
	dep  *cloud.Deployment
	err  error
}

// deployment reads a Cluster's deployment once per pass: the endpoint
// resolution and the trust plan share the read, so no deployment is read
// twice in a pass (a re-read after a trust write's 409 is the only
// exception, and it is a new observation on purpose).
func (ps *passState) deployment(ctx context.Context, cl *spec.Cluster) (*cloud.Deployment, error) {
	d := ps.snap.deployment(cl.Name)
	d.once.Do(func() {
		cc, err := ps.r.CloudClient(ps.set, cl)
		if err != nil {
			d.err = err
			return
		}
		d.dep, d.err = cc.Deployment(ctx, cl.Deployment.ID)
	})
	return d.dep, d.err
}

type observation struct {
	obs *Observed
	err error
	// roles holds GET /_security/role when the cluster's pass needs its
	// roles (wantRoles): read with the other reads, in the same round
	// trip. rolesRead says it was read; rolesErr is its error, which
	// fails the cluster only where the roles are planned (planRoles).
	roles     map[string]es.Role
	rolesRead bool
	rolesErr  error
	// early is the evidence request sent with the reads (askEarly).
	early *earlyEvidence
}

// observeAll reads every local cluster of the pass (bounded by
// Concurrency) into the pass's Snapshot: the three reads of DESIGN §5,
// the roles when the cluster's connections declare roles or the ledger
// owns some there, and the evidence request of the links esremote
// configured whose evidence is not fresh (askEarly), all sent at once. As soon as a local cluster
// is observed, the remotes its managed keys live on are read too
// (prefetchRemotes), so that no cluster waits for them later.
func (ps *passState) observeAll(ctx context.Context, locals []string, byLocal map[string][]*spec.Connection) {
	out := make([]observation, len(locals))
	sem := make(chan struct{}, ps.r.opts.Concurrency)
	var wg sync.WaitGroup
	for i, local := range locals {
		cl := ps.set.Cluster(local)
		if cl == nil {
			out[i].err = fmt.Errorf("cluster %q is not declared", local)
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			client, err := ps.r.ESClient(ps.set, cl)
			if err != nil {
				out[i].err = err
				return
			}
			var rwg sync.WaitGroup
			if ps.wantRoles(local, byLocal[local]) {
				out[i].rolesRead = true
				rwg.Go(func() { out[i].roles, out[i].rolesErr = client.Roles(ctx) })
			}
			rwg.Go(func() { out[i].early = ps.r.askEarly(ctx, client, local, byLocal[local]) })
			out[i].obs, out[i].err = observe(ctx, client, local, ps.snap)
			if out[i].err == nil {
				ps.prefetchRemotes(ctx, cl, byLocal[local], out[i].obs)
			}
			rwg.Wait()
		})
	}
	wg.Wait()
	ps.snap.mu.Lock()
	for i, local := range locals {
		ps.snap.locals[local] = out[i]
	}
	ps.snap.mu.Unlock()
}

// CodeIdentityChanged and CodeDuplicateCluster prefix the errors of a
// cluster esremote refuses to write because it cannot prove which cluster
// it is talking to.
const (
	CodeIdentityChanged  = "cluster_identity_changed"
	CodeDuplicateCluster = "duplicate_cluster"
	CodeConflict         = "conflict"
	CodeUnreachableOwned = "unreachable_owned"
	CodeForeignKey       = "foreign_installation"
	// CodeContestedByOther: another installation's key for the same link
	// (same local cluster and alias) is live on the remote.
	CodeContestedByOther = "contested_by_other_installation"
)

// identity checks that the cluster answering for local is the one the
// ledger's records are about (same cluster_uuid), and that no other
// declared Cluster of this pass is the same cluster.
func (ps *passState) identity(local string, obs *Observed) error {
	if obs.UUID == "" {
		return nil // a cluster too old to say (or a test double): nothing to compare
	}
	if rec := ps.r.ledger.ClusterUUID(local); rec != "" && rec != obs.UUID {
		return fmt.Errorf("%s: cluster %s now answers with cluster_uuid %s, but esremote's records are about cluster_uuid %s: nothing is written there. Point elasticsearch.url of %s back at that cluster; if the cluster was rebuilt on purpose, remove the ledger's records of %s (state dir ledger.json) and adopt what is there with esremote import",
			CodeIdentityChanged, local, obs.UUID, rec, local, local)
	}
	var same []string
	for _, name := range ps.namesOf(obs.UUID) {
		if name != local {
			same = append(same, name)
		}
	}
	if len(same) > 0 {
		slices.Sort(same)
		return fmt.Errorf("%s: clusters %s and %s are the same cluster (cluster_uuid %s): nothing is written there until one Cluster document remains",
			CodeDuplicateCluster, local, strings.Join(same, ", "), obs.UUID)
	}
	return nil
}

// namesOf lists the declared Clusters that are the cluster with uuid: the
// local clusters of this pass observed with it, and the names the ledger
// recorded with it. The index is built once per pass (a lookup per cluster
// instead of a scan of every cluster per cluster); names recorded during
// the pass are clusters this pass observed, so they are in it.
func (ps *passState) namesOf(uuid string) []string {
	ps.uuidsOnce.Do(func() {
		ps.uuids = map[string][]string{}
		for name, o := range ps.snap.allLocals() {
			if o.obs != nil && o.obs.UUID != "" {
				ps.uuids[o.obs.UUID] = append(ps.uuids[o.obs.UUID], name)
			}
		}
		for name, u := range ps.r.ledger.clusterUUIDs() {
			if u != "" && ps.set.Cluster(name) != nil && !slices.Contains(ps.uuids[u], name) {
				ps.uuids[u] = append(ps.uuids[u], name)
			}
		}
	})
	return ps.uuids[uuid]
}

// observe does the reads of DESIGN §5 on one cluster: GET /,
// GET /_cluster/settings and GET /_remote/info, sent at once so that a
// cluster costs one round trip, not three.
func observe(ctx context.Context, c *es.Client, local string, snap *Snapshot) (*Observed, error) {
	var (
		wg   sync.WaitGroup
		info es.Info
		st   es.Settings
		ri   map[string]es.RemoteInfo
		errs [3]error
	)
	wg.Go(func() { info, errs[0] = snap.info(ctx, local, c) })
	wg.Go(func() { st, errs[1] = c.Settings(ctx) })
	wg.Go(func() { ri, errs[2] = c.RemoteInfo(ctx) })
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	obs := &Observed{Local: local, Version: info.Version.String(), UUID: info.ClusterUUID,
		Persistent: flatRemote(st.Persistent), Transient: flatRemote(st.Transient),
		Remote: map[string]RemoteStatus{}}
	for alias, ri := range ri {
		obs.Remote[alias] = RemoteStatus{Connected: ri.Connected, Mode: ri.Mode, HasCredentials: ri.HasCredentials()}
	}
	return obs, nil
}

// apply writes one cluster's plan in the order of DESIGN §5: credentials
// (key on the remote, keystore on the local), the single settings PUT,
// roles; then verifies the links it touched and finishes rotations.
func (ps *passState) apply(ctx context.Context, c *es.Client, cl *spec.Cluster, cp *ClusterPlan, log *slog.Logger) {
	r := ps.r
	now := r.opts.Now()
	touched := map[*ConnectionPlan]bool{}
	for _, p := range cp.Connections {
		if p.key == nil || !p.writes() {
			continue
		}
		if err := ps.applyKey(ctx, p, cl); err != nil {
			log.Warn("credentials failed", "alias", p.Conn.Alias, "err", err)
		}
		for _, ch := range p.Changes {
			if ch.Applied {
				touched[p] = true
			}
		}
	}
	reloaded := ps.reloadSelfManaged(ctx, c, cl, cp)
	for _, p := range reloaded {
		touched[p] = true
	}

	if !cp.Put.Empty() {
		// Record intent first (pending), so a crash after the PUT keeps
		// ownership; see Ledger. One ledger save before the PUT and one
		// after, whatever the number of aliases.
		var written []*ConnectionPlan
		prev, intent := map[string]*AliasRecord{}, map[string]*AliasRecord{}
		for _, p := range cp.Connections {
			if p.settings && p.Enforced() {
				written = append(written, p)
				if rec := r.ledger.Alias(cp.Local, p.Conn.Alias); rec != nil {
					prev[p.Conn.Alias] = rec
				}
				intent[p.Conn.Alias] = &AliasRecord{Connection: p.Conn.Name, Keys: fingerprints(p.Desired), Pending: true, WrittenAt: now}
			}
		}
		if err := r.ledger.SetAliases(cp.Local, intent); err != nil {
			failSettings(cp, err)
		} else if err := c.PutScopedSettings(ctx, toValues(cp.Put.Persistent), toValues(cp.Put.Transient)); err != nil {
			log.Warn("put cluster settings failed", "err", err)
			failSettings(cp, err)
			// The write did not land, or we cannot know: an unacknowledged
			// PUT or a timeout may have committed (es-api.md §3.6). Read
			// the settings back once: an alias whose live value is what
			// was sent keeps the new record (committed), any other gets
			// back the record it replaced, so ownership of what was there
			// before is not lost. Giving back the old record of a write
			// that landed would disown the alias esremote just wrote.
			restore := prev
			if maybeCommitted(err) {
				restore = landedOrPrev(ctx, c, intent, prev)
			}
			if len(restore) > 0 {
				if err := r.ledger.SetAliases(cp.Local, restore); err != nil {
					log.Error("save ledger", "err", err)
				}
			}
		} else {
			log.Info("put cluster settings", "keys", len(cp.Put.Persistent)+len(cp.Put.Transient))
			commit := map[string]*AliasRecord{}
			for _, p := range written {
				for _, ch := range p.Changes {
					if ch.Resource == ResourceClusterSetting {
						ch.Applied = true
					}
				}
				touched[p] = true
				rec := *intent[p.Conn.Alias]
				rec.Pending = false
				commit[p.Conn.Alias] = &rec
			}
			for _, d := range cp.Deletions {
				for _, ch := range d.Changes {
					if ch.Resource == ResourceClusterSetting {
						ch.Applied = true
					}
				}
				if d.Alias != "" {
					commit[d.Alias] = nil
				}
			}
			if err := r.ledger.SetAliases(cp.Local, commit); err != nil {
				log.Error("save ledger", "err", err)
			}
		}
	}
	ps.applyRoles(ctx, c, cp, log)
	ps.applyRemovedKeys(ctx, cl, cp, log)
	ps.applyKeystoreRemovals(ctx, cl, cp)
	for _, p := range cp.Connections {
		for _, ch := range p.Changes {
			if ch.Applied {
				touched[p] = true
			}
		}
	}
	if len(touched) > 0 {
		ps.verify(ctx, c, touched, log)
	}
	settleActionRequired(ctx, c, reloaded)
	for _, p := range cp.Connections {
		ps.finishRotation(ctx, p)
	}
}

// commitLanded commits pending ledger records whose values are live: the
// write landed but the process stopped before recording it (a crash
// between the PUT and the commit). Such records already count as owned;
// committing them keeps the ledger telling the plain truth.
func (ps *passState) commitLanded(cp *ClusterPlan, obs *Observed) {
	live := groupByAlias(obs.Persistent)
	landed := map[string]*AliasRecord{}
	for _, alias := range ps.r.ledger.Aliases(cp.Local) {
		rec := ps.r.ledger.Alias(cp.Local, alias)
		if rec != nil && rec.Pending && matches(rec, live[alias]) {
			rec.Pending = false
			landed[alias] = rec
		}
	}
	if len(landed) > 0 {
		_ = ps.r.ledger.SetAliases(cp.Local, landed)
	}
}

// maybeCommitted reports whether a failed write may have been applied:
// "acknowledged": false, a timeout or a network error after sending.
func maybeCommitted(err error) bool {
	return errors.Is(err, es.ErrNotAcknowledged) || errors.Is(err, es.ErrTimeout) || errors.Is(err, es.ErrNetwork)
}

// landedOrPrev reads the settings back after a PUT that may have
// committed and returns, per alias of the PUT, the new (committed) record
// when its value is live, else the record it replaced. When the read
// fails too, the replaced records: the next pass's commitLanded cannot
// recognise a write whose pending record was given back, but it never
// claims what it cannot see.
func landedOrPrev(ctx context.Context, c *es.Client, intent, prev map[string]*AliasRecord) map[string]*AliasRecord {
	st, err := c.Settings(ctx)
	if err != nil {
		return prev
	}
	live := groupByAlias(flatRemote(st.Persistent))
	out := map[string]*AliasRecord{}
	for alias, rec := range intent {
		if matches(rec, live[alias]) {
			c := *rec
			c.Pending = false
			out[alias] = &c
		} else if p := prev[alias]; p != nil {
			out[alias] = p
		}
	}
	return out
}

func failSettings(cp *ClusterPlan, err error) {
	for _, p := range cp.Connections {
		if p.Enforced() && p.settings {
			for _, ch := range p.Changes {
				if ch.Resource == ResourceClusterSetting {
					ch.Err = err
				}
			}
		}
	}
	for _, d := range cp.Deletions {
		for _, ch := range d.Changes {
			if ch.Resource == ResourceClusterSetting {
				ch.Err = err
			}
		}
	}
}

// endpointResult is a remote cluster's endpoint, or why it is unknown.
type endpointResult struct {
	Endpoint
	err error
}

// resolveEndpoints finds the endpoint of every remote Cluster the
// connections name: a deployment's metadata.endpoint through its control
// plane, else the host of its Elasticsearch URL.
func (r *Reconciler) resolveEndpoints(ctx context.Context, set *spec.Set, only string) map[string]endpointResult {
	return r.resolveEndpointsWith(ctx, set, only, func(ctx context.Context, cl *spec.Cluster) (*cloud.Deployment, error) {
		cc, err := r.CloudClient(set, cl)
		if err != nil {
			return nil, err
		}
		return cc.Deployment(ctx, cl.Deployment.ID)
	})
}

// resolveEndpointsWith is resolveEndpoints reading deployments with read
// (a pass's read-once cache).
func (r *Reconciler) resolveEndpointsWith(ctx context.Context, set *spec.Set, only string, read func(context.Context, *spec.Cluster) (*cloud.Deployment, error)) map[string]endpointResult {
	out := map[string]endpointResult{}
	for _, c := range set.Connections {
		if only != "" && c.Name != only {
			continue
		}
		name := c.Remote.Cluster
		if name == "" {
			continue
		}
		if _, done := out[name]; done {
			continue
		}
		cl := set.Cluster(name)
		switch {
		case cl == nil:
			out[name] = endpointResult{err: fmt.Errorf("remote cluster %q is not declared", name)}
		case cl.Deployment == nil:
			out[name] = endpointResult{Endpoint: EndpointOf(cl)}
		default:
			d, err := read(ctx, cl)
			if err != nil {
				out[name] = endpointResult{err: fmt.Errorf("read deployment of %s: %w", cl.Name, err)}
				continue
			}
			ep, err := endpointOf(d, cl)
			out[name] = endpointResult{Endpoint: ep, err: err}
		}
	}
	return out
}

// DeploymentEndpoint reads a deployment-backed Cluster's Elasticsearch
// endpoint from its control plane (the host other clusters dial).
func (r *Reconciler) DeploymentEndpoint(ctx context.Context, set *spec.Set, cl *spec.Cluster) (Endpoint, error) {
	cc, err := r.CloudClient(set, cl)
	if err != nil {
		return Endpoint{}, err
	}
	d, err := cc.Deployment(ctx, cl.Deployment.ID)
	if err != nil {
		return Endpoint{}, fmt.Errorf("read deployment of %s: %w", cl.Name, err)
	}
	return endpointOf(d, cl)
}

// endpointOf is the Elasticsearch endpoint of a deployment as read.
func endpointOf(d *cloud.Deployment, cl *spec.Cluster) (Endpoint, error) {
	res, err := d.ES(cl.Deployment.RefID)
	if err != nil {
		return Endpoint{}, fmt.Errorf("deployment of %s: %w", cl.Name, err)
	}
	if res.Endpoint == "" {
		return Endpoint{}, fmt.Errorf("deployment %s of %s has no Elasticsearch resource %q with an endpoint", cl.Deployment.ID, cl.Name, cl.Deployment.RefID)
	}
	return Endpoint{Host: res.Endpoint, ServerName: res.Endpoint}, nil
}

func findConnection(set *spec.Set, name string) *spec.Connection {
	for _, c := range set.Connections {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// flatRemote keeps the cluster.remote.* keys of flat settings, with lists
// comma-joined.
func flatRemote(m map[string]es.Value) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if !strings.HasPrefix(k, "cluster.remote.") {
			continue
		}
		if _, _, ok := es.SplitRemoteKey(k); !ok {
			continue
		}
		out[k] = v.String()
	}
	return out
}

// toValues turns a Put map into es values: nil removes, seeds are lists.
func toValues(m map[string]*string) map[string]es.Value {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]es.Value, len(m))
	for k, v := range m {
		_, suffix, _ := es.SplitRemoteKey(k)
		switch {
		case v == nil:
			out[k] = es.Null
		case es.IsListSuffix(suffix):
			out[k] = es.List(strings.Split(*v, ",")...)
		default:
			out[k] = es.String(*v)
		}
	}
	return out
}

// readCA reads a PEM file named by a spec document (obj), relative to
// that document's file.
func readCA(set *spec.Set, obj any, path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(set.BaseDir(obj), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read ca_file: %w", err)
	}
	return b, nil
}

var errNoAuth = errors.New("no credentials: set auth.api_key or auth.basic")

var _ = sort.Strings
