package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
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
		cause := passTarget
		if pe, ok := errors.AsType[*PassError](d.err); ok && pe.Target != "" {
			cause = pe.Target
		}
		outs = map[string]*outcome{}
		for t := range failing {
			outs[t] = &outcome{}
			outs[t].fail(class, retryAt(class, wait, d.report.GeneratedAt), cause, firstErrLine(d.err))
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
