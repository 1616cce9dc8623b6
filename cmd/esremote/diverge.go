package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/revision"
	"github.com/esremote/esremote/reconcile/state"
)

// specRev is the revision of the spec set in dir whose digest is digest:
// the commit checked out when dir is in a clean git work tree.
func specRev(dir, digest string) revision.Rev {
	r := revision.Rev{Digest: digest}
	if rev := reconcile.SpecRevision(dir); rev != "" && !strings.HasSuffix(rev, "+dirty") {
		r.Commit = revision.Head(dir)
	}
	return r
}

func appliedRev(a state.Applied) revision.Rev {
	return revision.Rev{Commit: a.Commit, Digest: a.Digest}
}

func appliedOf(r revision.Rev, now time.Time) state.Applied {
	host, _ := os.Hostname()
	return state.Applied{Commit: r.Commit, Digest: r.Digest, Host: host, At: now.UTC().Truncate(time.Second)}
}

// specGuard is a daemon's view of whether its specs agree with the ones
// last applied through the shared state store (DESIGN §9): a host whose
// specs are behind or beside them never takes the lease, since as leader
// it would delete what the newer specs created. It reads the store's
// applied record before any takeover (the lease's MayLead) and at each
// lease step while standing by, so /status, the metrics and the alerts
// say spec_diverged for as long as it lasts.
type specGuard struct {
	dir   string
	store storeReader
	log   *slog.Logger

	mu       sync.Mutex
	digest   string // the digest of the spec set the daemon runs
	diverged string // the DivergedError's text; "" while the specs agree
	recorded revision.Rev
}

// storeReader reads and writes the store's applied record.
type storeReader interface {
	read(ctx context.Context) (state.Applied, error)
	write(ctx context.Context, a state.Applied) error
}

// setDigest is told the digest of each spec set the daemon passes with.
func (g *specGuard) setDigest(d string) {
	g.mu.Lock()
	g.digest = d
	g.mu.Unlock()
}

func (g *specGuard) mine() revision.Rev {
	g.mu.Lock()
	d := g.digest
	g.mu.Unlock()
	return specRev(g.dir, d)
}

// check compares the daemon's specs with the applied record: nil when
// they agree; the *revision.DivergedError (or the read's error) when not.
// The state changes are logged once each.
func (g *specGuard) check(ctx context.Context) error {
	a, err := g.store.read(ctx)
	if err != nil {
		return err
	}
	err = revision.Agree(appliedRev(a), g.mine(), revision.Ancestry(g.dir))
	msg := ""
	if err != nil {
		msg = err.Error()
		if a.Host != "" {
			msg += " (applied by " + a.Host + " at " + a.At.Format(time.RFC3339) + ")"
		}
	}
	g.mu.Lock()
	prev := g.diverged
	g.diverged = msg
	g.mu.Unlock()
	switch {
	case msg != "" && msg != prev:
		g.log.Warn("spec_diverged: not taking the lease", "err", msg)
	case msg == "" && prev != "":
		g.log.Info("specs agree with the applied revision again", "revision", g.mine().String())
	}
	return err
}

// divergence is the current spec_diverged text ("" when none).
func (g *specGuard) divergence() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.diverged
}

// record writes the applied record after a pass as leader, when the
// revision changed since the last one written.
func (g *specGuard) record(ctx context.Context, leading func() bool, rep *drift.Report) {
	if rep == nil || rep.Mode != drift.ModeRun || !leading() {
		return
	}
	r := g.mine()
	g.mu.Lock()
	same := r == g.recorded
	g.diverged = ""
	g.mu.Unlock()
	if same {
		return
	}
	if err := g.store.write(ctx, appliedOf(r, time.Now())); err != nil {
		g.log.Warn("record applied revision", "err", err)
		return
	}
	g.mu.Lock()
	g.recorded = r
	g.mu.Unlock()
}

// esApplied is the state store's applied record.
type esApplied struct{ s *shared }

func (e esApplied) read(ctx context.Context) (state.Applied, error) {
	return state.ReadApplied(ctx, e.s.client, "")
}

func (e esApplied) write(ctx context.Context, a state.Applied) error {
	if err := e.s.lease.Check(); err != nil {
		return err
	}
	return state.WriteApplied(ctx, e.s.client, "", a)
}

// warnDiverged warns a standalone writer (apply, run without a store)
// whose specs are neither what the state dir says was last applied nor a
// fast-forward of it: applying them undoes what was applied. It warns
// only; one host, one operator, who may mean to roll back.
func (c *cli) warnDiverged(stateDir, specDir, digest string) {
	a, err := state.ReadAppliedFile(stateDir)
	if err != nil {
		c.warnf("%v", err)
		return
	}
	err = revision.Agree(appliedRev(a), specRev(specDir, digest), revision.Ancestry(specDir))
	var de *revision.DivergedError
	if errors.As(err, &de) {
		c.warnf("%v", err)
		c.hintf("these specs are not the ones last applied from this state dir (by %s at %s) nor a descendant of them: applying them undoes what those did; update the checkout if that is not what you mean",
			a.Host, a.At.Format(time.RFC3339))
	}
}

// recordApplied writes the state dir's applied record after a writing
// pass.
func recordApplied(stateDir, specDir, digest string, log *slog.Logger) {
	if err := state.WriteAppliedFile(stateDir, appliedOf(specRev(specDir, digest), time.Now())); err != nil && log != nil {
		log.Warn("record applied revision", "err", err)
	}
}
