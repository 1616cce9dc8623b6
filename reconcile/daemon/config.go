package daemon

import (
	"context"
	"log/slog"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/spec"
)

// Loop defaults (DESIGN §2, §9).
const (
	DefaultResync      = 5 * time.Minute
	DefaultDebounceMin = 250 * time.Millisecond
	DefaultDebounceMax = 5 * time.Second
	// DefaultBackoffBase is the first retry delay of a failing target; it
	// doubles on every further failure up to the resync interval, since a
	// resync pass retries every target anyway.
	DefaultBackoffBase = time.Second
	// DefaultJitter spreads resyncs and retries by ±10% so that several
	// daemons, or many failing targets, do not hit the APIs in step.
	DefaultJitter = 0.1
	// DefaultStopTimeout is how long a stop lets the pass in flight finish
	// before cancelling it; systemd's TimeoutStopSec must be longer.
	DefaultStopTimeout = 10 * time.Second
	// DefaultPassTimeout cancels a pass that runs this long; a pass still
	// running after it (plus the stop timeout) counts as stuck, and the
	// watchdog pings stop.
	DefaultPassTimeout = 10 * time.Minute
	// DefaultBusyTimeout is how long the loop may spend in one step of its
	// own (loading the spec directory, saving a report) before it counts
	// as stuck: /readyz and /healthz then answer 503 and the watchdog
	// pings stop. A load takes milliseconds; a file that blocks (a FIFO
	// the loader did not catch, a hung network mount) takes forever.
	DefaultBusyTimeout = 30 * time.Second
)

// maxReportedProblems bounds how many problems of a rejected reload are
// copied into reports; the log has all of them.
const maxReportedProblems = 20

// PassRequest is one pass the Loop asks for.
type PassRequest struct {
	// Set is the spec set to reconcile: always the last good one.
	Set *spec.Set
	// Trigger says why the pass runs.
	Trigger drift.Trigger
	// Targets restricts the pass to these local clusters (a retry of
	// failing targets); nil means every target.
	Targets []string
	// Seq numbers passes from 1 in the order they start. The engine may
	// use it to count passes, e.g. to detect a key that flips back several
	// passes in a row (contention).
	Seq uint64
}

// PassFunc runs one pass and returns its report. It must return promptly
// once ctx is cancelled, with the report of what it did so far when it has
// one. An error means the pass could not run at all: the Loop then makes
// the report itself (see Loop), naming the error's target when it is a
// *PassError.
type PassFunc func(ctx context.Context, req PassRequest) (*drift.Report, error)

// PassError is the error of a pass that could not run, with the target it
// concerns (the cluster holding a shared state store, say), which the
// report of the failed pass names.
type PassError struct {
	Target string
	Err    error
}

func (e *PassError) Error() string { return e.Err.Error() }
func (e *PassError) Unwrap() error { return e.Err }

// passTarget is the target a failed pass's report names when the error
// names none.
const passTarget = "esremote"

// passFailed begins the report error of a pass that could not run.
const passFailed = "the pass could not run: "

// LoadFunc loads a spec directory; spec.Load is the production one.
type LoadFunc func(dir string) (*spec.Set, spec.Problems, error)

// NotifyKind is a lifecycle event of the Loop, which cmd/esremote maps to
// sd_notify(3) messages.
type NotifyKind int

// Lifecycle events, in the order a daemon's life sends them.
const (
	NotifyReady     NotifyKind = iota + 1 // started or reloaded (READY=1)
	NotifyReloading                       // an asked-for reload begins (RELOADING=1)
	NotifyStatus                          // a new status line (STATUS=)
	NotifyStopping                        // Run is stopping (STOPPING=1)
	NotifyWatchdog                        // the loop made progress (WATCHDOG=1)
)

// Notification is one lifecycle event; Status is the one-line status of
// the daemon ("12 in sync, 1 drifted, 0 failed").
type Notification struct {
	Kind   NotifyKind
	Status string
}

// LoopConfig configures a Loop. Dir, Load and Pass are required; every
// other zero value is a documented default.
type LoopConfig struct {
	Dir  string
	Load LoadFunc
	Pass PassFunc
	// Save stores each report (the state-dir history); nil stores nothing.
	Save func(*drift.Report) error
	// Changes receives a path for every change in the spec directory (see
	// Watch); nil means no watching.
	Changes <-chan string
	// Notify receives lifecycle events; nil drops them.
	Notify func(Notification)
	// Logger receives the loop's events (default: discard).
	Logger *slog.Logger

	// Resync is the interval of full passes (DefaultResync).
	Resync time.Duration
	// DebounceMin and DebounceMax are the quiescence window: act once no
	// change came for DebounceMin, or DebounceMax after the first change
	// of a burst, whichever is first (consul-template's wait = "min:max").
	DebounceMin, DebounceMax time.Duration
	// BackoffBase and BackoffMax bound the per-target retry delay
	// (DefaultBackoffBase, Resync).
	BackoffBase, BackoffMax time.Duration
	// RetryAfter, when set, is how long a failing target asked to be left
	// alone (Retry-After, rate-limit headers); a retry never comes sooner.
	// The report's retry_at says the same per error; this is a second
	// source (the engine's Reconciler.RetryAfter).
	RetryAfter func(target string) time.Duration
	// OnError, when set, hears of every target that failed a pass, once
	// per pass, with the class that decided its retry (the metric
	// esremote_reconcile_errors_total, drift.Metrics.CountError).
	OnError func(target string, class drift.Class)
	// Affected, when set, names the targets a file change can concern
	// (AffectedLocals); the pass after the change is restricted to them.
	// nil from it means every target. Reloads by signal or HTTP and the
	// resync always pass everything.
	Affected func(old, new *spec.Set) []string
	// Jitter is the relative spread of resync and retry delays
	// (DefaultJitter); a negative value disables it.
	Jitter float64
	// Rand returns a number in [0, 1) for the jitter (math/rand/v2).
	Rand func() float64
	// StopTimeout (DefaultStopTimeout) and PassTimeout (DefaultPassTimeout):
	// see their defaults.
	StopTimeout, PassTimeout time.Duration
	// BusyTimeout (DefaultBusyTimeout): see its default.
	BusyTimeout time.Duration
	// Watchdog is how often the loop reports progress (NotifyWatchdog);
	// zero sends none. Use half of systemd's WatchdogSec.
	Watchdog time.Duration
	// Leadership, when set, is this daemon's role among those sharing a
	// state store, now. Status puts it in the report at every call, so
	// /status follows the lease rather than the last pass; a failed
	// pass's report carries it too.
	Leadership func() *drift.Leadership
	// Now is the clock of the reports the Loop makes itself (time.Now).
	Now func() time.Time
}
