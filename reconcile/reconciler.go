package reconcile

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/esremote/esremote/reconcile/cloud"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/reconcile/plan"
	"github.com/esremote/esremote/spec"
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
	// Wait, when set, is told of every request to a cluster or a control
	// plane as it starts and returns the function called when it ends (see
	// es.Config.Wait): the commands show what a long wait is for.
	Wait func(target, op string) (done func())
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
	// KeystoreLoadGrace (--keystore-grace) is the fallback for evidence
	// that names no key (DESIGN §5): how long after esremote wrote a
	// deployment's keystore a credential the nodes do not show, or a
	// refusal that names no key id, counts as "not loaded yet" rather
	// than lost, for a key already proven in use since that write
	// (default 5m). Evidence that names a key decides without it: the
	// old key → not loaded yet, a key esremote never made → repaired at
	// once, the current key → its access, never a new key.
	KeystoreLoadGrace time.Duration
	// RotationStuckAfter is how long a rotation may wait for proof that
	// the local cluster uses the new key before it is an error finding
	// (default 30m); the old key stays valid meanwhile. A key never
	// proven in use since its keystore write, whose evidence names no
	// key, is taken for lost only after it too.
	RotationStuckAfter time.Duration
	// FailFastRetry is how long the evidence request waits before asking
	// again the aliases a fail-fast release (8.16.3–8.16.5, 8.17.1–8.17.3)
	// answered unavailable (default DefaultFailFastRetry; observe.Asker).
	FailFastRetry time.Duration
	// RotationOverlap (--rotation-overlap) is how long a new key must
	// have been proven in use before the key it replaces is invalidated
	// (default 15m): a request proves the key only on the node that
	// coordinated it, and every node loads the keystore in its own time
	// (DESIGN §5, proof is per node). A request showing a node still on
	// the old key starts the window again.
	RotationOverlap time.Duration
}

// Defaults of the keystore and rotation windows (the flags
// --keystore-grace and --rotation-overlap).
const (
	DefaultKeystoreLoadGrace = 5 * time.Minute
	DefaultRotationOverlap   = 15 * time.Minute
)

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
	// evidence is the last evidence of each link's health, by connection;
	// an entry is replaced, never changed (observe.Link.Cached shares it).
	evidence map[string]*linkEvidence
	// versions is each local cluster's version as its last pass read it
	// (GET /): how the next pass's early evidence request is asked
	// (observe.Asker.AskEarly), never how its answer is read.
	versions map[string]string
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
		opts.KeystoreLoadGrace = DefaultKeystoreLoadGrace
	}
	if opts.RotationStuckAfter == 0 {
		opts.RotationStuckAfter = 30 * time.Minute
	}
	if opts.FailFastRetry <= 0 {
		opts.FailFastRetry = DefaultFailFastRetry
	}
	if opts.RotationOverlap == 0 {
		opts.RotationOverlap = DefaultRotationOverlap
	}
	store := opts.Store
	if store == nil && opts.StateDir != "" {
		store = FileStore{Dir: opts.StateDir}
	}
	if store != nil && opts.ReadOnly {
		store = ledger.ReadOnly{Store: store}
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
	if ep.Err != nil && c.Remote.ProxyAddress == "" {
		return nil, ep.Err
	}
	d, err := Desire(c, ep.Endpoint)
	if err != nil {
		return nil, err
	}
	return d.Settings, nil
}

// Result is one pass: its decision (Plan, Detached), as decided, and what
// became of it (Outcomes). The report is a function of the two
// (Report).
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
	// removals whose connection left the specs): as decided, with what a
	// re-read after a 409 added when trust was written (its outcomes are
	// in Outcomes).
	Detached Detached
	// Outcomes is what became of the decision: each step's outcome,
	// what became of the changes no step of their own makes, and each
	// link as the pass left it (verification's verdict, what the checks
	// after the writes found). Empty for a plan.
	Outcomes Outcomes

	// steps are a plan pass's decision as typed steps, each change
	// naming its own (Change.Step), held why a departed cluster's
	// removals no step makes are not made: SavedPlan.
	steps []plan.Step
	held  Outcomes
}

// KeyExpirations maps each connection with a known cross-cluster API key
// expiry to that time, for the daemon's metrics.
func (res *Result) KeyExpirations() map[string]time.Time {
	out := map[string]time.Time{}
	for _, cp := range res.Plan.Clusters {
		for _, p := range cp.Connections {
			exp := p.KeyExpiration
			if lo := res.Outcomes.link(p.Conn.Name); lo != nil {
				exp = lo.KeyExpiration
			}
			if !exp.IsZero() {
				out[p.Conn.Name] = exp
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

// recordRetryHint keeps the longest Retry-After among the errors of a
// cluster's pass (retryErrors).
func (r *Reconciler) recordRetryHint(local string, errs []error) {
	var hint time.Duration
	for _, err := range errs {
		var ee *es.Error
		var ce *cloud.Error
		switch {
		case errors.As(err, &ee):
			hint = max(hint, ee.RetryAfter)
		case errors.As(err, &ce):
			hint = max(hint, ce.RetryAfter)
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

// retryErrors are the errors of a cluster's pass: its decision's, and
// what became of its links and changes (change).
func retryErrors(cp *ClusterPlan, clusterErr error, link func(string) *LinkOutcome, change func(*Change) ChangeOutcome) []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(cp.Err)
	add(clusterErr)
	for _, p := range cp.Connections {
		add(p.Err)
		chs := p.Changes
		if lo := link(p.Conn.Name); lo != nil {
			chs = lo.Changes
		}
		for _, ch := range chs {
			add(change(ch).Err)
		}
	}
	return errs
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

var errNoAuth = errors.New("no credentials: set auth.api_key or auth.basic")
