package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/state"
	"github.com/esremote/esremote/spec"
)

// Usage texts of the shared-store flags (run, apply, plan).
const (
	stateStoreUsage = "keep the ledger and a lease in the Elasticsearch of this declared `cluster` (index esremote-state), " +
		"so that several admin hosts take turns: one leader writes, the others stand by"
	leaseTTLUsage = "how long the state store's lease lasts unless renewed (renewed every third of it; a leader that cannot renew stops writing after two thirds)"
)

// storeClient builds the client of the --state-store cluster from the
// spec set: a declared Cluster, with its own credentials. The client has
// no write gate (the lease and the ledger are written through it) and
// names this process in X-Opaque-Id.
func (c *cli) storeClient(set *spec.Set, cluster string, timeout time.Duration) (*es.Client, error) {
	cl := set.Cluster(cluster)
	if cl == nil {
		return nil, fmt.Errorf("--state-store %s: no Cluster of that name is declared in %s", cluster, set.Dir)
	}
	tmp, err := reconcile.New(reconcile.Options{Getenv: c.getenv, RequestTimeout: timeout, Identity: state.HolderName()})
	if err != nil {
		return nil, err
	}
	return tmp.ESClient(set, cl)
}

// takeLease takes the state store's lease for a one-shot writer (apply,
// state migrate): at once, or within wait. Refused, it prints who holds
// it and returns nil.
func (c *cli) takeLease(ctx context.Context, client *es.Client, ttl, wait time.Duration) *state.Lease {
	lease := state.NewLease(state.LeaseConfig{Client: client, TTL: ttl})
	deadline := time.Now().Add(wait)
	for {
		ok, err := lease.Step(ctx)
		if ok {
			return lease
		}
		if err != nil {
			c.errorf("state store %s: %v", client.Name(), err)
			return nil
		}
		if time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			c.errorf("%v", ctx.Err())
			return nil
		case <-time.After(min(lease.RetryPeriod(), time.Until(deadline)+time.Millisecond)):
		}
	}
	ld := lease.Leadership()
	c.errorf("state store %s is held by %s (lease until %s)", client.Name(), ld.Holder, ld.Expires.UTC().Format(time.RFC3339))
	c.hintf("a daemon that leads applies on its own: 'systemctl reload esremote' or POST /-/reload makes it apply now; " +
		"if that holder is gone, its lease is free a lease TTL after its last renewal: pass --lock-timeout to wait for it")
	return nil
}

// keepLease renews a one-shot writer's lease until stop is called, then
// releases it.
func keepLease(lease *state.Lease) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		lease.Run(ctx, nil, nil)
	}()
	return func() { cancel(); <-done }
}

// shared is the daemon's side of a shared state store: the lease, and the
// engine in the mode the lease allows. The leader reconciles (ModeRun)
// with a Reconciler made when it took the lease, so its ledger is what the
// previous leader saved; a standby observes and reports (ModePlan) with a
// read-only Reconciler made for each pass, so it reports against the
// leader's latest ledger and can write nothing.
type shared struct {
	lease  *state.Lease
	client *es.Client
	newRec func(store reconcile.Store, readOnly bool) (*reconcile.Reconciler, error)
	log    *slog.Logger
	guard  *specGuard

	mu     sync.Mutex
	leader *reconcile.Reconciler // the leader's engine, nil while standing by
	last   *reconcile.Reconciler // the engine of the latest pass
}

// engine returns the Reconciler and mode of the next pass.
func (s *shared) engine() (*reconcile.Reconciler, reconcile.Mode, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lease.Check() == nil {
		if s.leader == nil {
			rec, err := s.newRec(&state.Elasticsearch{Client: s.client, Lease: s.lease}, false)
			if err != nil {
				return nil, "", err
			}
			s.leader = rec
		}
		s.last = s.leader
		return s.leader, reconcile.ModeRun, nil
	}
	s.leader = nil
	rec, err := s.newRec(&state.Elasticsearch{Client: s.client}, true)
	if err != nil {
		return nil, "", err
	}
	s.last = rec
	return rec, reconcile.ModePlan, nil
}

// retryAfter is the current engine's per-target backoff.
func (s *shared) retryAfter(local string) time.Duration {
	s.mu.Lock()
	rec := s.last
	s.mu.Unlock()
	if rec == nil {
		return 0
	}
	return rec.RetryAfter(local)
}

// leadership is the report's leadership block, now.
func (s *shared) leadership() *drift.Leadership {
	ld := s.lease.Leadership()
	out := &drift.Leadership{Role: ld.Role, Holder: ld.Holder, Expires: ld.Expires, Error: spec.Scrub(ld.Error), TTLMismatch: ld.TTLMismatch()}
	if s.guard != nil && ld.Role != state.RoleLeader {
		out.SpecDiverged = s.guard.divergence()
	}
	if ld.HolderTTL > 0 {
		out.HolderTTL = ld.HolderTTL.String()
	}
	return out
}

// run steps the lease until ctx ends (then releases it), logs every change
// of role or holder and of the lease's error, and asks for a pass at once
// when this process takes over, so a drift made while nobody led is
// corrected now.
func (s *shared) run(ctx context.Context, passNow func()) {
	errs := leaseErrorLog{log: s.log}
	prevRole := ""
	s.lease.Run(ctx, func(ld state.Leadership) {
		s.log.Info("leadership", "role", ld.Role, "holder", ld.Holder, "expires", ld.Expires, "holder_ttl", ld.HolderTTL)
		if m := ld.TTLMismatch(); m != "" {
			s.log.Warn("lease ttl differs from the holder's", "holder", ld.Holder, "holder_ttl", ld.HolderTTL, "ttl", ld.TTL, "detail", m)
		}
		// A pass at once when this process becomes leader, not when only
		// the holder's TTL or the holder's name changes under it.
		if ld.Role == state.RoleLeader && prevRole != state.RoleLeader {
			passNow()
		}
		prevRole = ld.Role
	}, func(err error) {
		leading := s.lease.Check() == nil
		errs.step(err, leading)
		if !leading && err == nil && s.guard != nil {
			// Standing by: keep spec_diverged current for /status and alerts.
			_ = s.guard.check(ctx)
		}
	})
}

// leaseErrorLog logs the lease's errors on change, not at every step
// (STYLE.md rule 9): when one appears, when it changes, and when the
// store answers again.
type leaseErrorLog struct {
	log  *slog.Logger
	last string // the error logged last; "" while the store answers
}

func (l *leaseErrorLog) step(err error, leading bool) {
	switch {
	case err == nil && l.last != "":
		l.log.Info("state store lease recovered", "leading", leading)
		l.last = ""
	case err != nil && err.Error() != l.last:
		l.log.Warn("state store lease", "err", err, "leading", leading)
		l.last = err.Error()
	}
}
