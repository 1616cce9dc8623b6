package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/spec"
)

// Triggers of the daemon's passes besides those drift declares.
const (
	// TriggerRetry is a pass of only the targets whose backoff expired.
	TriggerRetry drift.Trigger = "retry"
	// TriggerReload is a reload asked for over HTTP (POST /-/reload).
	TriggerReload drift.Trigger = "reload"
	// TriggerLeader is the pass a daemon runs at once when it takes the
	// lease of a shared state store (PassNow), so that drift made while
	// nobody led is corrected now, not at the next resync.
	TriggerLeader drift.Trigger = "leader"
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

// Loop is the daemon of `esremote run` (DESIGN §2, §5, §9).
//
// Guarantees:
//
//   - Level-based: events (file changes, Reload, the resync timer, retry
//     timers) only trigger passes; every pass observes again.
//   - One pass at a time. Triggers that arrive during a pass are coalesced
//     into at most one pass that starts when it ends.
//   - The last good spec set is kept. A reload whose set has any error is
//     rejected whole: every problem is logged with file:line:col, reported
//     in every later report and in Status, and the previous set keeps
//     being reconciled. A file change that leaves the digest of the
//     running set changes nothing; a reload asked for (Reload, ReloadWait)
//     runs a full pass even then.
//   - Each target is handled by the class of what failed in it (a report
//     error naming it, or a failed connection of it; see schedule):
//     terminal → reported and alerted once, not retried until its specs
//     change, a reload is asked for or the resync comes; retryable →
//     retried alone after a capped, jittered exponential backoff, reset
//     by its first success; throttled → the same, never before the
//     remote's Retry-After. A target that did not fail but has something
//     falling due (the report's requeue_at: a key's rotation window, a
//     keystore load grace) is passed alone at that time instead of at the
//     next resync. The other targets keep the resync interval. Full
//     passes (resync, reload) include every target.
//   - Nothing polls while idle: the loop blocks on its channels and timers.
//   - Run stops when its context is cancelled: a pass in flight gets
//     StopTimeout to finish, is then cancelled, and its report is saved.
//   - A pass that could not run (its PassFunc returned an error) still
//     makes a report, which replaces the last one everywhere (/status,
//     history, metrics, alerts): the error, and every connection of the
//     pass marked as not observed (sync failed, health unknown, no
//     changes; its error says when it was last observed, and as what). No
//     stale report passes for a fresh one. Its targets are retried with
//     the backoff. A pass cancelled by a stop makes none.
type Loop struct {
	cfg  LoopConfig
	log  *slog.Logger
	hup  chan struct{}
	now  chan drift.Trigger
	reqc chan reloadRequest
	done chan struct{}

	mu          sync.Mutex
	started     bool
	stopped     bool
	ready       bool
	digest      string
	passes      uint64
	passStarted time.Time // zero when no pass is in flight
	busy        string    // what the loop itself is doing, "" while it waits
	busySince   time.Time
	report      *drift.Report
	reloadErr   spec.Problems
	reloadFail  error // a load error that is not a list of problems
	failures    map[string]int
	// terminal is, per target failing with a terminal error, that error
	// (logged when it changes, not at every resync).
	terminal map[string]string
	// observed is, per connection name, its state in the last pass that
	// observed it (for the reports of failed passes).
	observed map[string]observation
}

// observation is a connection's state as a pass saw it.
type observation struct {
	sync   drift.Sync
	health drift.Health
	at     time.Time
}

type reloadRequest struct {
	trigger drift.Trigger
	reply   chan error
}

// NewLoop returns a Loop; Run starts it.
func NewLoop(cfg LoopConfig) (*Loop, error) {
	if cfg.Dir == "" || cfg.Load == nil || cfg.Pass == nil {
		return nil, errors.New("loop: Dir, Load and Pass are required")
	}
	if cfg.Resync <= 0 {
		cfg.Resync = DefaultResync
	}
	if cfg.DebounceMin <= 0 {
		cfg.DebounceMin = DefaultDebounceMin
	}
	if cfg.DebounceMax <= 0 {
		cfg.DebounceMax = DefaultDebounceMax
	}
	if cfg.DebounceMax < cfg.DebounceMin {
		return nil, fmt.Errorf("loop: debounce max %s is shorter than min %s", cfg.DebounceMax, cfg.DebounceMin)
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = DefaultBackoffBase
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = cfg.Resync
	}
	if cfg.Jitter == 0 {
		cfg.Jitter = DefaultJitter
	}
	if cfg.Jitter < 0 {
		cfg.Jitter = 0
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = DefaultStopTimeout
	}
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = DefaultBusyTimeout
	}
	if cfg.PassTimeout <= 0 {
		cfg.PassTimeout = DefaultPassTimeout
	}
	if cfg.Notify == nil {
		cfg.Notify = func(Notification) {}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Loop{cfg: cfg, log: cfg.Logger, hup: make(chan struct{}, 1), now: make(chan drift.Trigger, 1), reqc: make(chan reloadRequest),
		done: make(chan struct{}), failures: map[string]int{}, terminal: map[string]string{}, observed: map[string]observation{}}, nil
}

// PassNow asks the running loop for a full pass as soon as none is in
// flight, whether or not the specs changed (a reload of unchanged specs
// runs none). It never blocks; passes asked for while one is pending
// coalesce.
func (l *Loop) PassNow(trigger drift.Trigger) {
	select {
	case l.now <- trigger:
	default:
	}
}

// Reload asks the running loop to reload the spec directory, as SIGHUP
// does. It never blocks; reloads asked for while one is pending coalesce.
func (l *Loop) Reload() {
	select {
	case l.hup <- struct{}{}:
	default:
	}
}

// ReloadWait reloads the spec directory and waits for the outcome: nil
// when the set was accepted or unchanged, the problems when it was
// rejected. It is what POST /-/reload calls.
func (l *Loop) ReloadWait(ctx context.Context) error {
	req := reloadRequest{trigger: TriggerReload, reply: make(chan error, 1)}
	select {
	case l.reqc <- req:
	case <-l.done:
		return errors.New("the daemon is stopping")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pending is the pass waiting for the one in flight, or for its timer.
type pending struct {
	trigger drift.Trigger
	targets []string // nil: every target
}

func (p *pending) merge(trigger drift.Trigger, targets []string) {
	switch {
	case targets == nil:
		p.trigger, p.targets = trigger, nil
	case p.targets != nil:
		for _, t := range targets {
			if !slices.Contains(p.targets, t) {
				p.targets = append(p.targets, t)
			}
		}
		slices.Sort(p.targets)
	}
}

type passDone struct {
	req    PassRequest
	report *drift.Report
	err    error
}

// Run loads the spec directory, reconciles it and keeps it reconciled
// until ctx is cancelled; then it stops as the Loop doc says and returns
// nil. Run may be called once.
func (l *Loop) Run(ctx context.Context) error {
	l.mu.Lock()
	if l.started {
		l.mu.Unlock()
		return errors.New("loop: Run called twice")
	}
	l.started = true
	l.mu.Unlock()
	defer close(l.done)

	var (
		current  *spec.Set
		want     *pending // a pass to start as soon as none is in flight
		inflight bool
		cancel   context.CancelFunc
		donec    = make(chan passDone, 1)
		seq      uint64
		dues     = map[string]due{} // per target: its next pass of its own
		burst    bool
		changes  = l.cfg.Changes
	)
	quiet := stoppedTimer()
	burstMax := stoppedTimer()
	retry := stoppedTimer()
	resync := time.NewTimer(l.jitter(l.cfg.Resync))
	defer quiet.Stop()
	defer burstMax.Stop()
	defer retry.Stop()
	defer resync.Stop()
	var watchdog <-chan time.Time
	if l.cfg.Watchdog > 0 {
		t := time.NewTicker(l.cfg.Watchdog)
		defer t.Stop()
		watchdog = t.C
	}

	ask := func(trigger drift.Trigger, targets []string) {
		if want == nil {
			want = &pending{trigger: trigger, targets: targets}
			return
		}
		want.merge(trigger, targets)
	}
	start := func() {
		if inflight || want == nil || current == nil {
			return
		}
		seq++
		req := PassRequest{Set: current, Trigger: want.trigger, Targets: want.targets, Seq: seq}
		want = nil
		if req.Targets == nil {
			resync.Reset(l.jitter(l.cfg.Resync))
		}
		var pctx context.Context
		// The pass outlives ctx by up to StopTimeout: a stop must not tear
		// a write in half when it could finish.
		pctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), l.cfg.PassTimeout)
		inflight = true
		l.mu.Lock()
		l.passStarted = time.Now()
		l.mu.Unlock()
		l.log.Info("pass started", "trigger", string(req.Trigger), "targets", targetList(req.Targets), "seq", req.Seq)
		go func() {
			rep, err := l.cfg.Pass(pctx, req)
			donec <- passDone{req: req, report: rep, err: err}
		}()
	}
	finish := func(d passDone) {
		cancel()
		inflight = false
		l.mu.Lock()
		l.passStarted = time.Time{}
		l.mu.Unlock()
		l.finished(d, dues)
		l.resetRetry(retry, dues)
	}
	reload := func(trigger drift.Trigger) error {
		set, err := l.reload(current)
		if set != nil {
			var targets []string
			l.mu.Lock()
			ready := l.ready
			l.mu.Unlock()
			// Only once a full pass has run: before that, every target is new.
			if trigger == drift.TriggerFile && l.cfg.Affected != nil && current != nil && ready {
				targets = l.cfg.Affected(current, set)
			}
			current = set
			ask(trigger, targets)
		} else if err == nil && current != nil && trigger != drift.TriggerFile {
			// An asked-for reload (SIGHUP, POST /-/reload) reconciles even
			// when the specs are unchanged (DESIGN §1): it is how an
			// operator makes the daemon apply now.
			ask(trigger, nil)
		}
		return err
	}

	if set, _ := l.reload(nil); set != nil {
		current = set
		ask(drift.TriggerStart, nil)
	}
	l.cfg.Notify(Notification{Kind: NotifyReady, Status: l.statusLine()})
	start()

	for {
		select {
		case <-ctx.Done():
			l.cfg.Notify(Notification{Kind: NotifyStopping, Status: "stopping"})
			l.log.Info("stopping")
			if inflight {
				l.stop(donec, cancel, finish)
			}
			l.mu.Lock()
			l.stopped = true
			l.mu.Unlock()
			return nil

		case p, ok := <-changes:
			if !ok {
				l.log.Error("spec directory watch ended; reload with SIGHUP or POST /-/reload")
				changes = nil
				continue
			}
			l.log.Debug("spec file changed", "path", p)
			if !burst {
				burst = true
				burstMax.Reset(l.cfg.DebounceMax)
			}
			quiet.Reset(l.cfg.DebounceMin)

		case <-quiet.C:
			burst = false
			burstMax.Stop()
			_ = reload(drift.TriggerFile)
		case <-burstMax.C:
			burst = false
			quiet.Stop()
			_ = reload(drift.TriggerFile)

		case trigger := <-l.now:
			ask(trigger, nil)

		case <-l.hup:
			l.cfg.Notify(Notification{Kind: NotifyReloading})
			_ = reload(drift.TriggerSignal)
			l.cfg.Notify(Notification{Kind: NotifyReady, Status: l.statusLine()})
		case req := <-l.reqc:
			l.cfg.Notify(Notification{Kind: NotifyReloading})
			req.reply <- reload(req.trigger)
			l.cfg.Notify(Notification{Kind: NotifyReady, Status: l.statusLine()})

		case <-resync.C:
			resync.Reset(l.jitter(l.cfg.Resync))
			ask(drift.TriggerResync, nil)
		case <-retry.C:
			now := time.Now()
			byTrigger := map[drift.Trigger][]string{}
			for t, d := range dues {
				if !d.at.After(now) {
					byTrigger[d.trigger] = append(byTrigger[d.trigger], t)
					delete(dues, t)
				}
			}
			// A retry names the pass when both fall due together.
			for _, trigger := range []drift.Trigger{TriggerRetry, TriggerRequeue} {
				if ts := byTrigger[trigger]; len(ts) > 0 {
					slices.Sort(ts)
					ask(trigger, ts)
				}
			}
			l.resetRetry(retry, dues)

		case d := <-donec:
			finish(d)
			l.cfg.Notify(Notification{Kind: NotifyStatus, Status: l.statusLine()})

		case <-watchdog:
			if l.Alive() {
				l.cfg.Notify(Notification{Kind: NotifyWatchdog})
			}
		}
		start()
	}
}

// stop waits StopTimeout for the pass in flight, cancels it, and waits
// for it to return (another StopTimeout at most: a pass that ignores its
// context is abandoned).
func (l *Loop) stop(donec <-chan passDone, cancel context.CancelFunc, finish func(passDone)) {
	grace := time.NewTimer(l.cfg.StopTimeout)
	defer grace.Stop()
	select {
	case d := <-donec:
		finish(d)
		return
	case <-grace.C:
	}
	l.log.Warn("cancelling the pass in flight", "after", l.cfg.StopTimeout.String())
	cancel()
	grace.Reset(l.cfg.StopTimeout)
	select {
	case d := <-donec:
		finish(d)
	case <-grace.C:
		l.log.Error("the pass in flight did not stop; its report is lost")
	}
}

// reload loads the spec directory. It returns the new set when it is
// valid and differs from current, else nil and, when the set was
// rejected, why.
func (l *Loop) reload(current *spec.Set) (*spec.Set, error) {
	l.setBusy("loading the spec directory")
	set, problems, err := l.cfg.Load(l.cfg.Dir)
	l.setBusy("")
	if err != nil {
		errs := problems.Errors()
		for _, p := range errs {
			l.log.Error("spec problem", "at", p.Pos.String(), "problem", p.Message)
		}
		keeping := "no valid spec set yet; nothing is reconciled"
		if current != nil {
			keeping = "keeping spec set " + current.Digest
		}
		l.log.Error("reload rejected", "errors", len(errs), "err", firstErrLine(err), "keeping", keeping)
		l.mu.Lock()
		l.reloadErr, l.reloadFail = errs, nil
		if len(errs) == 0 {
			l.reloadFail = err
		}
		l.mu.Unlock()
		return nil, fmt.Errorf("reload rejected, %s: %w", keeping, err)
	}
	for _, p := range problems.Warnings() {
		l.log.Warn("spec warning", "at", p.Pos.String(), "problem", p.Message)
	}
	l.mu.Lock()
	l.reloadErr, l.reloadFail = nil, nil
	l.mu.Unlock()
	if current != nil && set.Digest == current.Digest {
		l.log.Info("spec unchanged", "digest", set.Digest)
		return nil, nil
	}
	l.mu.Lock()
	l.digest = set.Digest
	l.mu.Unlock()
	l.log.Info("spec loaded", "digest", set.Digest, "files", set.Files, "connections", len(set.Connections))
	return set, nil
}

// finished records a pass: its report (merged into the last one for a
// retry of some targets), the history, and each target's next pass
// (schedule).
func (l *Loop) finished(d passDone, dues map[string]due) {
	var outs map[string]*outcome
	if d.err != nil {
		l.log.Error("pass failed", "trigger", string(d.req.Trigger), "err", d.err)
		if errors.Is(d.err, context.Canceled) {
			return // stopped: the next start observes again
		}
		var failing map[string]bool
		d.report, failing = l.failedReport(d.req, d.err)
		// Its targets are those of the connections it marked not
		// observed, failing as the pass did; its error's target (a state
		// store, "esremote") is no local cluster to pass alone.
		class, wait := drift.Classify(d.err)
		outs = map[string]*outcome{}
		for t := range failing {
			outs[t] = &outcome{}
			outs[t].fail(class, retryAt(class, wait, d.report.GeneratedAt), firstErrLine(d.err))
		}
	}
	if d.report == nil {
		return
	}
	if outs == nil {
		outs = outcomes(d.report, true)
		l.mu.Lock()
		for _, c := range d.report.Connections {
			if c.Sync != drift.SyncDisabled {
				l.observed[c.Name] = observation{sync: c.Sync, health: c.Health, at: d.report.GeneratedAt}
			}
		}
		l.mu.Unlock()
	}
	now := time.Now()

	l.mu.Lock()
	l.passes++
	var failed []classified
	switch {
	case d.err != nil:
		l.report = d.report // the failed pass's report is whole already
		failed = l.schedule(outs, []string{}, dues, now)
	case d.req.Targets == nil:
		l.report = d.report
		failed = l.schedule(outs, nil, dues, now)
	default:
		l.report = mergeReport(l.report, d.report, d.req.Targets)
		failed = l.schedule(outs, d.req.Targets, dues, now)
	}
	if d.err == nil && d.req.Targets == nil && d.req.Set.Digest == l.digest {
		l.ready = true
	}
	out := l.withReloadErrors(l.report)
	l.mu.Unlock()
	if l.cfg.OnError != nil {
		for _, f := range failed {
			l.cfg.OnError(f.target, f.class)
		}
	}

	s := out.Summary
	l.log.Info("pass finished", "trigger", string(d.req.Trigger), "in_sync", s.InSync, "drifted", s.Drifted,
		"corrected", s.Corrected, "failed", s.Failed, "unhealthy", s.Unhealthy, "errors", len(out.Errors))
	if l.cfg.Save != nil {
		l.setBusy("saving the report")
		err := l.cfg.Save(out)
		l.setBusy("")
		if err != nil {
			l.log.Error("save report", "err", err)
		}
	}
}

// failedReport is the report of a pass that could not run, and the
// targets to retry: the last report's connections (before any, the spec
// set's), those of the pass marked as not observed by it, and the error.
// A retry of some targets keeps the rest of the last report as it was.
func (l *Loop) failedReport(req PassRequest, err error) (*drift.Report, map[string]bool) {
	now := l.cfg.Now()
	target := passTarget
	var pe *PassError
	if errors.As(err, &pe) && pe.Target != "" {
		target = pe.Target
	}
	l.mu.Lock()
	prev := l.report
	observed := maps.Clone(l.observed)
	l.mu.Unlock()

	mode := drift.ModeRun
	var conns []drift.Connection
	var prevErrors []drift.ReportError
	if prev != nil {
		mode = prev.Mode
		conns = slices.Clone(prev.Connections)
		prevErrors = prev.Errors
	} else {
		for _, c := range req.Set.Connections {
			conn := drift.Connection{Name: c.Name, Local: c.Local, Alias: c.Alias, Security: string(c.Security),
				Policy: string(c.Policy), Changes: []drift.Change{}, Findings: []drift.Finding{}}
			if c.Policy == spec.PolicyDisabled {
				conn.Sync, conn.Health = drift.SyncDisabled, drift.HealthUnknown
			}
			conns = append(conns, conn)
		}
	}
	r := drift.New(mode, req.Trigger, now)
	r.SpecDigest = req.Set.Digest
	if prev != nil {
		r.SpecRevision = prev.SpecRevision
	}
	in := func(local string) bool { return req.Targets == nil || slices.Contains(req.Targets, local) }
	class, wait := drift.Classify(err)
	retry := retryAt(class, wait, now)
	failing := map[string]bool{}
	for _, c := range conns {
		if !in(c.Local) || c.Sync == drift.SyncDisabled || c.Policy == string(spec.PolicyDisabled) {
			r.Connections = append(r.Connections, c)
			continue
		}
		last := "never observed"
		if o, ok := observed[c.Name]; ok {
			last = fmt.Sprintf("not observed since %s (then %s, %s)", o.at.UTC().Format(time.RFC3339), o.sync, o.health)
		}
		c.Sync, c.Health = drift.SyncFailed, drift.HealthUnknown
		c.Changes, c.Evidence = []drift.Change{}, nil
		c.ErrorClass, c.RetryAt, c.RequeueAt = class, retry, time.Time{}
		c.Error = fmt.Sprintf("%s: the pass at %s could not run: %s", last, now.UTC().Format(time.RFC3339), firstErrLine(err))
		r.Connections = append(r.Connections, c)
		failing[c.Local] = true
	}
	for _, e := range prevErrors {
		if req.Targets != nil && !in(e.Target) && !strings.HasPrefix(e.Message, passFailed) {
			r.Errors = append(r.Errors, e)
		}
	}
	r.Errors = append(r.Errors, drift.ReportError{Target: target, Message: passFailed + err.Error(), Class: class, RetryAt: retry})
	if l.cfg.Leadership != nil {
		r.Leadership = l.cfg.Leadership()
	}
	r.Sort()
	r.Tally()
	return r, failing
}

// LoopStatus is a snapshot of the daemon for /status, /readyz and metrics.
type LoopStatus struct {
	// Ready: a full pass of the running spec set finished and the last
	// reload was accepted.
	Ready bool
	// Alive: Run is running and no pass is stuck.
	Alive bool
	// Stuck says what the loop has been doing for longer than
	// BusyTimeout ("loading the spec directory for 31s"); "" when it is
	// not stuck.
	Stuck string
	// Digest of the running spec set; "" before the first valid load.
	Digest string
	// Passes counts the passes that produced a report.
	Passes uint64
	// Report is the last report with the reload problems, if any, in its
	// Errors and, with LoopConfig.Leadership, the leadership now; nil
	// before the first pass.
	Report *drift.Report
	// ReloadErrors are the problems of the last rejected reload
	// ("file:line:col: error: message"); empty when it was accepted.
	ReloadErrors []string
	// Failing maps each failing target to its consecutive failures.
	Failing map[string]int
}

// Status returns a snapshot of the loop. It is safe to call at any time.
func (l *Loop) Status() LoopStatus {
	st := l.status()
	// Outside l.mu: the leadership has a lock of its own.
	st.Report = l.withLeadership(st.Report)
	return st
}

func (l *Loop) status() LoopStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	stuck := l.stuckLocked(now)
	st := LoopStatus{Ready: l.ready && l.reloadOK() && stuck == "", Alive: l.aliveLocked(now), Stuck: stuck, Digest: l.digest,
		Passes: l.passes, ReloadErrors: l.reloadLines(), Failing: map[string]int{}}
	for t, n := range l.failures {
		st.Failing[t] = n
	}
	if l.report != nil {
		st.Report = l.withReloadErrors(l.report)
	}
	return st
}

// withLeadership returns r, or a copy of it with the daemon's leadership
// now (LoopConfig.Leadership).
func (l *Loop) withLeadership(r *drift.Report) *drift.Report {
	if r == nil || l.cfg.Leadership == nil {
		return r
	}
	c := *r
	c.Leadership = l.cfg.Leadership()
	return &c
}

// Alive reports whether Run is running and not stuck in a pass: the
// condition of /healthz and of the watchdog pings. It says nothing about
// the clusters' health.
func (l *Loop) Alive() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.aliveLocked(time.Now())
}

func (l *Loop) aliveLocked(now time.Time) bool {
	if !l.started || l.stopped || l.stuckLocked(now) != "" {
		return false
	}
	return l.passStarted.IsZero() || now.Sub(l.passStarted) < l.cfg.PassTimeout+l.cfg.StopTimeout
}

// setBusy records what the loop goroutine is doing ("" when it is back
// waiting for events), for stuckLocked.
func (l *Loop) setBusy(what string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.busy = what
	if what != "" {
		l.busySince = time.Now()
	}
}

// stuckLocked says what the loop goroutine has been busy with for longer
// than BusyTimeout, or "". While it is, no event is handled: the daemon is
// neither ready nor alive.
func (l *Loop) stuckLocked(now time.Time) string {
	if l.busy == "" || now.Sub(l.busySince) < l.cfg.BusyTimeout {
		return ""
	}
	return fmt.Sprintf("%s for %s", l.busy, now.Sub(l.busySince).Round(time.Second))
}

func (l *Loop) reloadOK() bool { return len(l.reloadErr) == 0 && l.reloadFail == nil }

func (l *Loop) reloadLines() []string {
	var out []string
	for _, p := range l.reloadErr {
		// Errors only (Problems.Errors): the report renders them as
		// errors already, so no "error: …: a.yaml:2:1: error: …".
		out = append(out, p.Pos.String()+": "+p.Message)
	}
	if l.reloadFail != nil {
		out = append(out, l.reloadFail.Error())
	}
	return out
}

// withReloadErrors returns r, or a copy of it carrying the problems of
// the rejected reload as errors of the spec directory.
func (l *Loop) withReloadErrors(r *drift.Report) *drift.Report {
	lines := l.reloadLines()
	if len(lines) == 0 {
		return r
	}
	c := *r
	c.Errors = slices.Clone(r.Errors)
	if len(lines) > maxReportedProblems {
		extra := len(lines) - maxReportedProblems
		lines = append(lines[:maxReportedProblems:maxReportedProblems], fmt.Sprintf("… and %d more problems (see the log)", extra))
	}
	for _, s := range lines {
		c.Errors = append(c.Errors, drift.ReportError{Target: l.cfg.Dir, Message: "reload rejected, previous spec set still running: " + s})
	}
	return &c
}

// statusLine is the one-line status for systemd ("12 in sync, 1 drifted,
// 0 failed").
func (l *Loop) statusLine() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s string
	switch {
	case l.report != nil:
		sum := l.report.Summary
		s = fmt.Sprintf("%d in sync, %d drifted, %d failed", sum.InSync+sum.Corrected, sum.Drifted, sum.Failed)
		if sum.Contested > 0 {
			s += fmt.Sprintf(", %d contested", sum.Contested)
		}
		if sum.Unhealthy > 0 {
			s += fmt.Sprintf(", %d unhealthy", sum.Unhealthy)
		}
	case l.digest != "":
		s = "first pass running"
	default:
		s = "no valid spec set"
	}
	if n := len(l.reloadLines()); n > 0 {
		s += fmt.Sprintf("; reload failed (%d problems)", n)
	}
	return s
}

// mergeReport puts the report of a pass over some targets into the last
// full report: the connections, unmanaged objects and errors of those
// targets are replaced, the rest kept.
func mergeReport(prev, part *drift.Report, targets []string) *drift.Report {
	if prev == nil {
		return part
	}
	in := func(t string) bool { return slices.Contains(targets, t) }
	out := *part
	out.Connections, out.Unmanaged, out.Errors = nil, nil, nil
	inPart := map[string]bool{}
	for _, c := range part.Connections {
		inPart[c.Name] = true
	}
	for _, c := range prev.Connections {
		// A connection of a target is replaced by the part's view; so is
		// an entry the part also has (the pass-level trust entry, which
		// belongs to no local cluster).
		if !in(c.Local) && !inPart[c.Name] {
			out.Connections = append(out.Connections, c)
		}
	}
	out.Connections = append(out.Connections, part.Connections...)
	for _, u := range prev.Unmanaged {
		if !in(u.Target) {
			out.Unmanaged = append(out.Unmanaged, u)
		}
	}
	out.Unmanaged = append(out.Unmanaged, part.Unmanaged...)
	for _, e := range prev.Errors {
		// A pass ran since the one that could not: its error is over.
		if !in(e.Target) && !strings.HasPrefix(e.Message, passFailed) {
			out.Errors = append(out.Errors, e)
		}
	}
	out.Errors = append(out.Errors, part.Errors...)
	out.Sort()
	out.Tally()
	return &out
}

func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

func targetList(ts []string) string {
	if ts == nil {
		return "all"
	}
	return fmt.Sprint(ts)
}

func firstErrLine(err error) string {
	s := err.Error()
	for i := range len(s) {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

// retryAt is the time a throttled error allows the next request, counted
// from at; zero for the other classes.
func retryAt(class drift.Class, wait time.Duration, at time.Time) time.Time {
	if class != drift.ClassThrottled || wait <= 0 {
		return time.Time{}
	}
	return at.Add(wait).UTC()
}
