package daemon

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/spec"
)

// fakeWorld is the Loop's whole environment: a spec directory whose load
// result the test sets, and targets whose passes the test makes fail or
// block.
type fakeWorld struct {
	mu       sync.Mutex
	digest   string          // what Load returns
	problems spec.Problems   // when set, Load rejects the set
	failing  map[string]bool // targets whose connections fail
	passErr  error           // when set, every pass fails with it
	block    chan struct{}   // when set, Pass waits for it or ctx
	loads    int
	reqs     []passRecord
	saved    []*drift.Report
	notes    []Notification
}

type passRecord struct {
	at      time.Time
	trigger drift.Trigger
	targets []string
	digest  string
	ctxErr  error
}

var fakeTargets = []string{"a", "b"}

func (w *fakeWorld) load(dir string) (*spec.Set, spec.Problems, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.loads++
	if len(w.problems) > 0 {
		return nil, w.problems, &spec.InvalidError{Problems: w.problems}
	}
	return &spec.Set{Dir: dir, Digest: w.digest}, nil, nil
}

func (w *fakeWorld) pass(ctx context.Context, req PassRequest) (*drift.Report, error) {
	w.mu.Lock()
	block := w.block
	w.mu.Unlock()
	var ctxErr error
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			ctxErr = ctx.Err()
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reqs = append(w.reqs, passRecord{at: time.Now(), trigger: req.Trigger, targets: req.Targets, digest: req.Set.Digest, ctxErr: ctxErr})
	if w.passErr != nil {
		return nil, w.passErr
	}
	r := drift.New(drift.ModeRun, req.Trigger, time.Now())
	r.SpecDigest = req.Set.Digest
	for _, t := range fakeTargets {
		if req.Targets != nil && !slices.Contains(req.Targets, t) {
			continue
		}
		c := drift.Connection{Name: t + "-link", Local: t, Alias: "x", Sync: drift.SyncInSync, Health: drift.HealthConnected}
		if w.failing[t] {
			c.Sync, c.Health, c.Error = drift.SyncFailed, drift.HealthUnknown, "503 Service Unavailable"
			r.Errors = append(r.Errors, drift.ReportError{Target: t, Message: "503 Service Unavailable"})
		}
		r.Connections = append(r.Connections, c)
	}
	r.Sort()
	r.Tally()
	return r, nil
}

func (w *fakeWorld) save(r *drift.Report) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.saved = append(w.saved, r)
	return nil
}

func (w *fakeWorld) notify(n Notification) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.notes = append(w.notes, n)
}

func (w *fakeWorld) set(f func(w *fakeWorld)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f(w)
}

func (w *fakeWorld) passes() []passRecord {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.reqs)
}

func (w *fakeWorld) lastSaved() *drift.Report {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.saved) == 0 {
		return nil
	}
	return w.saved[len(w.saved)-1]
}

// startLoop runs a Loop on w inside the synctest bubble and waits for its
// first pass. The returned stop cancels Run and checks it returned nil.
func startLoop(t *testing.T, w *fakeWorld, changes chan string, tweak func(*LoopConfig)) (*Loop, func()) {
	t.Helper()
	if w.digest == "" {
		w.digest = "sha256:one"
	}
	if w.failing == nil {
		w.failing = map[string]bool{}
	}
	cfg := LoopConfig{Dir: "specs", Load: w.load, Pass: w.pass, Save: w.save, Notify: w.notify,
		Rand: func() float64 { return 0.5 }} // jitter at its midpoint: exact delays
	if changes != nil {
		cfg.Changes = changes
	}
	if tweak != nil {
		tweak(&cfg)
	}
	l, err := NewLoop(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- l.Run(ctx) }()
	synctest.Wait()
	return l, func() {
		t.Helper()
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	}
}

func TestLoopStartPass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWorld{}
		l, stop := startLoop(t, w, nil, nil)
		defer stop()
		ps := w.passes()
		if len(ps) != 1 || ps[0].trigger != drift.TriggerStart || ps[0].targets != nil {
			t.Fatalf("passes = %+v, want one full start pass", ps)
		}
		st := l.Status()
		if !st.Ready || !st.Alive || st.Digest != "sha256:one" || st.Report == nil || st.Passes != 1 {
			t.Errorf("status = %+v", st)
		}
	})
}

func TestLoopFileSavedOnePassAfterQuiescence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWorld{}
		changes := make(chan string)
		_, stop := startLoop(t, w, changes, nil)
		defer stop()
		w.set(func(w *fakeWorld) { w.digest = "sha256:two" })
		changes <- "specs/a.yaml"
		time.Sleep(DefaultDebounceMin - time.Millisecond)
		synctest.Wait()
		if n := len(w.passes()); n != 1 {
			t.Fatalf("%d passes before the quiet period ended, want 1", n)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		ps := w.passes()
		if len(ps) != 2 || ps[1].trigger != drift.TriggerFile || ps[1].digest != "sha256:two" {
			t.Fatalf("passes = %+v, want a file pass of the new set", ps)
		}
	})
}

func TestLoopBurstIsOnePass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWorld{}
		changes := make(chan string)
		_, stop := startLoop(t, w, changes, nil)
		defer stop()
		w.set(func(w *fakeWorld) { w.digest = "sha256:pulled"; w.loads = 0 })
		start := time.Now()
		for i := range 200 { // a git checkout: 200 events 1ms apart
			changes <- "specs/f" + string(rune('a'+i%26)) + ".yaml"
			time.Sleep(time.Millisecond)
		}
		time.Sleep(DefaultDebounceMin)
		synctest.Wait()
		ps := w.passes()
		w.mu.Lock()
		loads := w.loads
		w.mu.Unlock()
		if len(ps) != 2 || loads != 1 {
			t.Fatalf("passes = %d, loads = %d after a burst, want 2 passes and 1 load", len(ps), loads)
		}
		if got, want := ps[1].at.Sub(start), 200*time.Millisecond+DefaultDebounceMin; got > want {
			t.Errorf("pass %s after the burst began, want at most %s", got, want)
		}
	})
}

func TestLoopBurstMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWorld{}
		changes := make(chan string)
		_, stop := startLoop(t, w, changes, nil)
		defer stop()
		w.set(func(w *fakeWorld) { w.digest = "sha256:busy" })
		start := time.Now()
		// Events every 100ms never leave the quiet period: the max wait
		// acts anyway.
		for time.Since(start) < DefaultDebounceMax+time.Second {
			changes <- "specs/a.yaml"
			time.Sleep(100 * time.Millisecond)
		}
		ps := w.passes()
		if len(ps) < 2 || ps[1].at.Sub(start) != DefaultDebounceMax {
			t.Fatalf("passes = %+v, want the file pass at the max wait %s", ps, DefaultDebounceMax)
		}
	})
}

// A file touched with the same content runs no pass; a reload asked for
// (SIGHUP, POST /-/reload) runs one even so: it is how an operator makes
// the daemon apply now (DESIGN §1, and the hint of a refused apply).
func TestLoopSameDigest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWorld{}
		changes := make(chan string)
		l, stop := startLoop(t, w, changes, nil)
		defer stop()
		changes <- "specs/a.yaml" // touched, same content
		time.Sleep(time.Second)
		synctest.Wait()
		if n := len(w.passes()); n != 1 {
			t.Fatalf("%d passes after a touch, want only the start pass", n)
		}
		l.Reload()
		synctest.Wait()
		if ps := w.passes(); len(ps) != 2 || ps[1].trigger != drift.TriggerSignal || ps[1].targets != nil {
			t.Fatalf("passes = %+v, want a full signal pass after the reload", ps)
		}
		if err := l.ReloadWait(t.Context()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if ps := w.passes(); len(ps) != 3 || ps[2].trigger != TriggerReload {
			t.Fatalf("passes = %+v, want a reload pass after POST /-/reload", ps)
		}
	})
}

func TestLoopBadSaveKeepsLastGoodSet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWorld{}
		changes := make(chan string)
		l, stop := startLoop(t, w, changes, nil)
		defer stop()
		w.set(func(w *fakeWorld) {
			w.problems = spec.Problems{{Pos: spec.Pos{File: "a.yaml", Line: 3, Column: 7}, Severity: spec.SeverityError, Message: `unknown field "alais"`}}
		})
		changes <- "specs/a.yaml"
		time.Sleep(time.Second)
		st := l.Status()
		if len(w.passes()) != 1 {
			t.Fatalf("a rejected reload ran a pass")
		}
		if st.Ready || len(st.ReloadErrors) != 1 || !strings.Contains(st.ReloadErrors[0], "a.yaml:3:7") {
			t.Fatalf("status = %+v, want not ready with the problem at a.yaml:3:7", st)
		}
		if !hasError(st.Report, "a.yaml:3:7") {
			t.Errorf("status report errors = %+v, want the problem", st.Report.Errors)
		}
		if err := l.ReloadWait(t.Context()); err == nil || !strings.Contains(err.Error(), "keeping spec set sha256:one") {
			t.Errorf("ReloadWait = %v, want rejected keeping the running set", err)
		}

		// The resync still reconciles the last good set, and says why.
		time.Sleep(DefaultResync)
		synctest.Wait()
		ps := w.passes()
		if len(ps) != 2 || ps[1].trigger != drift.TriggerResync || ps[1].digest != "sha256:one" {
			t.Fatalf("passes = %+v, want a resync of the last good set", ps)
		}
		if !hasError(w.lastSaved(), "a.yaml:3:7") {
			t.Errorf("saved report errors = %+v, want the rejected reload", w.lastSaved().Errors)
		}
		if st := l.Status(); st.Failing["specs"] != 0 || len(st.Failing) != 0 {
			t.Errorf("the spec directory counted as a failing target: %v", st.Failing)
		}

		// Fixed: accepted, reported clean.
		w.set(func(w *fakeWorld) { w.problems = nil; w.digest = "sha256:fixed" })
		changes <- "specs/a.yaml"
		time.Sleep(time.Second)
		if st := l.Status(); !st.Ready || len(st.ReloadErrors) != 0 || hasError(st.Report, "a.yaml") {
			t.Errorf("status after the fix = %+v", st)
		}
	})
}

func hasError(r *drift.Report, sub string) bool {
	if r == nil {
		return false
	}
	for _, e := range r.Errors {
		if strings.Contains(e.Message, sub) {
			return true
		}
	}
	return false
}

func TestLoopReloadSignal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWorld{}
		l, stop := startLoop(t, w, nil, nil)
		defer stop()
		w.set(func(w *fakeWorld) { w.digest = "sha256:two" })
		l.Reload()
		synctest.Wait()
		ps := w.passes()
		if len(ps) != 2 || ps[1].trigger != drift.TriggerSignal || ps[1].digest != "sha256:two" {
			t.Fatalf("passes = %+v, want a signal pass of the new set", ps)
		}
		w.set(func(w *fakeWorld) { w.digest = "sha256:three" })
		if err := l.ReloadWait(t.Context()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if ps := w.passes(); len(ps) != 3 || ps[2].trigger != TriggerReload {
			t.Fatalf("passes = %+v, want a reload pass", ps)
		}
		var kinds []NotifyKind
		for _, n := range w.notes {
			kinds = append(kinds, n.Kind)
		}
		want := []NotifyKind{NotifyReady, NotifyStatus, NotifyReloading, NotifyReady, NotifyStatus, NotifyReloading, NotifyReady, NotifyStatus}
		if !slices.Equal(kinds, want) {
			t.Errorf("notifications = %v, want %v", kinds, want)
		}
		if got := w.notes[len(w.notes)-1].Status; got != "2 in sync, 0 drifted, 0 failed" {
			t.Errorf("status line = %q", got)
		}
	})
}

func TestLoopStopCancelsPassAndSavesReport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWorld{}
		l, stop := startLoop(t, w, nil, nil)
		w.set(func(w *fakeWorld) { w.block = make(chan struct{}); w.digest = "sha256:two" })
		l.Reload()
		synctest.Wait() // the pass is in flight, blocked
		if n := len(w.passes()); n != 1 {
			t.Fatalf("%d passes finished, want the second in flight", n)
		}
		stopped := make(chan struct{})
		start := time.Now()
		go func() { stop(); close(stopped) }()
		synctest.Wait()
		if len(w.passes()) != 1 {
			t.Fatal("the pass was cancelled before the stop timeout")
		}
		<-stopped
		if d := time.Since(start); d != DefaultStopTimeout {
			t.Errorf("stopped after %s, want the stop timeout %s", d, DefaultStopTimeout)
		}
		ps := w.passes()
		if len(ps) != 2 || !errors.Is(ps[1].ctxErr, context.Canceled) {
			t.Fatalf("passes = %+v, want the second to see its context cancelled", ps)
		}
		if r := w.lastSaved(); r == nil || r.SpecDigest != "sha256:two" {
			t.Errorf("last saved report = %+v, want the cancelled pass's", r)
		}
		if w.notes[len(w.notes)-1].Kind != NotifyStopping {
			t.Errorf("last notification = %+v, want stopping", w.notes[len(w.notes)-1])
		}
		if l.Alive() {
			t.Error("Alive after Run returned")
		}
	})
}

func TestLoopStopLetsQuickPassFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWorld{}
		l, stop := startLoop(t, w, nil, nil)
		block := make(chan struct{})
		w.set(func(w *fakeWorld) { w.block = block; w.digest = "sha256:two" })
		l.Reload()
		synctest.Wait()
		go func() { time.Sleep(time.Second); close(block) }()
		stop()
		if ps := w.passes(); len(ps) != 2 || ps[1].ctxErr != nil {
			t.Fatalf("passes = %+v, want the second to finish uncancelled", ps)
		}
	})
}

func TestLoopFailingTargetBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWorld{failing: map[string]bool{"a": true}}
		start := time.Now()
		l, stop := startLoop(t, w, nil, nil)
		defer stop()
		time.Sleep(DefaultResync + time.Second)
		synctest.Wait()

		var retries []time.Duration
		var full []time.Duration
		for _, p := range w.passes() {
			switch {
			case p.targets == nil:
				full = append(full, p.at.Sub(start))
			case slices.Equal(p.targets, []string{"a"}):
				retries = append(retries, p.at.Sub(start))
			default:
				t.Fatalf("pass of targets %v: only a retries", p.targets)
			}
		}
		// 1s, then +2s, +4s … capped at the resync interval.
		wantRetries := []time.Duration{1, 3, 7, 15, 31, 63, 127, 255}
		for i := range wantRetries {
			wantRetries[i] *= time.Second
		}
		if !slices.Equal(retries, wantRetries) {
			t.Errorf("retries of a at %v, want %v", retries, wantRetries)
		}
		if !slices.Equal(full, []time.Duration{0, DefaultResync}) {
			t.Errorf("full passes at %v, want the start and one resync", full)
		}
		st := l.Status()
		if st.Failing["a"] == 0 || st.Failing["b"] != 0 {
			t.Errorf("failing = %v", st.Failing)
		}
		// The merged report keeps b from the full pass and a from the retry.
		if st.Report.Summary.Connections != 2 || st.Report.Summary.Failed != 1 {
			t.Errorf("summary = %+v", st.Report.Summary)
		}

		// a recovers: the next retry succeeds and resets its backoff.
		w.set(func(w *fakeWorld) { w.failing = map[string]bool{} })
		time.Sleep(DefaultResync)
		synctest.Wait()
		if st := l.Status(); len(st.Failing) != 0 || st.Report.Summary.Failed != 0 {
			t.Errorf("after recovery: failing = %v, summary = %+v", st.Failing, st.Report.Summary)
		}
		n := len(w.passes())
		time.Sleep(DefaultResync - 2*time.Second)
		synctest.Wait()
		if got := len(w.passes()); got != n {
			t.Errorf("%d passes while all targets are healthy, want none before the resync", got-n)
		}
	})
}

func TestLoopBackoffCapAndJitter(t *testing.T) {
	l, err := NewLoop(LoopConfig{Dir: "d", Load: (&fakeWorld{}).load, Pass: (&fakeWorld{}).pass,
		BackoffBase: time.Second, BackoffMax: 10 * time.Second, Rand: func() float64 { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range map[int]time.Duration{1: 900 * time.Millisecond, 2: 1800 * time.Millisecond, 4: 7200 * time.Millisecond, 5: 9 * time.Second, 60: 9 * time.Second} {
		if got := l.backoff(n); got != want {
			t.Errorf("backoff(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestLoopWatchdogStopsWhenStuck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWorld{}
		l, stop := startLoop(t, w, nil, func(c *LoopConfig) {
			c.Watchdog = 10 * time.Second
			c.PassTimeout = time.Minute
		})
		defer stop()
		count := func() int {
			w.mu.Lock()
			defer w.mu.Unlock()
			n := 0
			for _, x := range w.notes {
				if x.Kind == NotifyWatchdog {
					n++
				}
			}
			return n
		}
		time.Sleep(30*time.Second + time.Millisecond)
		if got := count(); got != 3 {
			t.Fatalf("%d watchdog pings in 30s, want 3", got)
		}
		// A pass that ignores its context hangs the loop's progress.
		hang := make(chan struct{})
		l.cfg.Pass = func(ctx context.Context, req PassRequest) (*drift.Report, error) { <-hang; return nil, nil }
		w.set(func(w *fakeWorld) { w.digest = "sha256:two" })
		l.Reload()
		time.Sleep(5 * time.Minute)
		before := count()
		time.Sleep(time.Minute)
		if got := count(); got != before || l.Alive() {
			t.Errorf("watchdog pings went on (%d → %d) with a stuck pass", before, got)
		}
		close(hang)
		synctest.Wait()
	})
}

// A target that answered 429 with Retry-After is not retried sooner than
// it asked, whatever the backoff says.
func TestLoopRetryAfterHonoured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWorld{failing: map[string]bool{"a": true}}
		start := time.Now()
		_, stop := startLoop(t, w, nil, func(c *LoopConfig) {
			c.RetryAfter = func(target string) time.Duration {
				if target == "a" {
					return 40 * time.Second
				}
				return 0
			}
		})
		defer stop()
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		var retries []time.Duration
		for _, p := range w.passes() {
			if slices.Equal(p.targets, []string{"a"}) {
				retries = append(retries, p.at.Sub(start))
			}
		}
		if want := []time.Duration{40 * time.Second, 80 * time.Second, 120 * time.Second}; !slices.Equal(retries, want) {
			t.Errorf("retries of a at %v, want every 40s (its Retry-After) until the backoff grows past it: %v", retries, want)
		}
	})
}

// After a file change the pass is restricted to the targets the change
// concerns; the merged report keeps the others from the full pass, and a
// reload by signal still passes everything.
func TestLoopFileChangePassesAffectedTargets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWorld{}
		changes := make(chan string)
		l, stop := startLoop(t, w, changes, func(c *LoopConfig) {
			c.Affected = func(old, new *spec.Set) []string { return []string{"a"} }
		})
		defer stop()
		w.set(func(w *fakeWorld) { w.digest = "sha256:two" })
		changes <- "specs/a.yaml"
		time.Sleep(DefaultDebounceMin)
		synctest.Wait()
		ps := w.passes()
		if len(ps) != 2 || !slices.Equal(ps[1].targets, []string{"a"}) || ps[1].trigger != drift.TriggerFile {
			t.Fatalf("passes = %+v, want the start pass then a file pass of target a", ps)
		}
		if st := l.Status(); st.Report.Summary.Connections != 2 || st.Report.SpecDigest != "sha256:two" {
			t.Errorf("merged report: %+v digest %s", st.Report.Summary, st.Report.SpecDigest)
		}
		w.set(func(w *fakeWorld) { w.digest = "sha256:three" })
		l.Reload()
		synctest.Wait()
		if ps := w.passes(); len(ps) != 3 || ps[2].targets != nil {
			t.Fatalf("after SIGHUP: %+v, want a full pass", ps)
		}
	})
}

// A pass that cannot run (the ledger unreadable: a leader cut off from
// its state store) replaces the last good report with one that says so:
// the error, with its target, and every connection marked as not
// observed, saying what it last was and when; /status never keeps a
// stale good report. Its targets are retried; the first pass that runs
// again clears it all.
func TestLoopFailedPassReports(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWorld{}
		l, stop := startLoop(t, w, nil, nil)
		defer stop()
		good := l.Status().Report
		observedAt := good.GeneratedAt

		time.Sleep(time.Minute)
		w.set(func(w *fakeWorld) {
			w.passErr = &PassError{Target: "onprem-search", Err: errors.New("read ledger: get esremote-state/ledger on onprem-search: 503 Service Unavailable")}
		})
		l.PassNow(TriggerLeader)
		synctest.Wait()
		ps := w.passes()
		if len(ps) != 2 || ps[1].trigger != TriggerLeader || ps[1].targets != nil {
			t.Fatalf("passes = %+v, want the start pass and one full leader pass", ps)
		}
		st := l.Status()
		r := st.Report
		if r == good || !r.GeneratedAt.After(observedAt) || r.Trigger != TriggerLeader {
			t.Fatalf("status keeps the report of %s (trigger %s); want the failed pass's", r.GeneratedAt, r.Trigger)
		}
		if r.Summary.Failed != 2 || r.Summary.InSync != 0 || len(r.Connections) != 2 {
			t.Errorf("summary = %+v; want both connections failed", r.Summary)
		}
		wantLast := "not observed since " + observedAt.Format(time.RFC3339) + " (then in_sync, connected)"
		for _, c := range r.Connections {
			if c.Health != drift.HealthUnknown ||
				!strings.Contains(c.Error, "503 Service Unavailable") || !strings.Contains(c.Error, wantLast) {
				t.Errorf("connection %s: %s, %s, %q; want unknown health, not observed, %q", c.Name, c.Sync, c.Health, c.Error, wantLast)
			}
		}
		if len(r.Errors) != 1 || r.Errors[0].Target != "onprem-search" || !strings.Contains(r.Errors[0].Message, "could not run: read ledger") {
			t.Errorf("errors = %+v; want the pass's error on onprem-search", r.Errors)
		}
		if w.lastSaved() != r && w.lastSaved().GeneratedAt != r.GeneratedAt {
			t.Errorf("the failed pass's report was not saved")
		}
		if st.Failing["a"] != 1 || st.Failing["b"] != 1 {
			t.Errorf("failing = %v; want a and b to be retried", st.Failing)
		}

		// The retry fails too: still failed, and still says when each
		// connection was last observed (not when it was last marked).
		time.Sleep(DefaultBackoffBase)
		synctest.Wait()
		r = l.Status().Report
		if n := len(w.passes()); n != 3 || r.Summary.Failed != 2 || !strings.Contains(r.Connections[0].Error, wantLast) || len(r.Errors) != 1 {
			t.Fatalf("after a failed retry (%d passes): %+v %q %+v", n, r.Summary, r.Connections[0].Error, r.Errors)
		}

		// The store is back: the next retry observes, and the report is clean.
		w.set(func(w *fakeWorld) { w.passErr = nil })
		time.Sleep(2 * DefaultBackoffBase)
		synctest.Wait()
		st = l.Status()
		if st.Report.Summary.InSync != 2 || len(st.Report.Errors) != 0 || len(st.Failing) != 0 {
			t.Fatalf("after recovery: %+v, errors %+v, failing %v", st.Report.Summary, st.Report.Errors, st.Failing)
		}
	})
}

// A first pass that cannot run lists the spec set's connections, never
// observed; a pass cancelled by a stop makes no report.
func TestLoopFirstPassFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWorld{passErr: errors.New("no route to the store")}
		load := func(dir string) (*spec.Set, spec.Problems, error) {
			return &spec.Set{Dir: dir, Digest: "sha256:one", Connections: []*spec.Connection{
				{Name: "x-link", Local: "x", Alias: "y", Security: spec.SecurityAPIKey, Policy: spec.PolicyEnforce},
				{Name: "off-link", Local: "x", Alias: "z", Security: spec.SecurityAPIKey, Policy: spec.PolicyDisabled}}}, nil, nil
		}
		l, stop := startLoop(t, w, nil, func(c *LoopConfig) { c.Load = load })
		defer stop()
		st := l.Status()
		if st.Report == nil || st.Ready {
			t.Fatalf("status = %+v; want a report, not ready", st)
		}
		r := st.Report
		if len(r.Connections) != 2 || r.Connections[1].Name != "x-link" || r.Connections[1].Sync != drift.SyncFailed ||
			!strings.Contains(r.Connections[1].Error, "never observed") {
			t.Fatalf("connections = %+v", r.Connections)
		}
		if r.Connections[0].Sync != drift.SyncDisabled || r.Connections[0].Error != "" {
			t.Errorf("the disabled connection was marked: %+v", r.Connections[0])
		}
		if len(r.Errors) != 1 || r.Errors[0].Target != "esremote" {
			t.Errorf("errors = %+v; want the pass's error on esremote", r.Errors)
		}
	})
}

// /status follows the daemon's leadership now, not the last pass's: a
// leader fenced between passes reads standby at once.
func TestLoopStatusFollowsLeadership(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWorld{}
		var mu sync.Mutex
		role := drift.RoleLeader
		lead := func() *drift.Leadership {
			mu.Lock()
			defer mu.Unlock()
			return &drift.Leadership{Role: role, Holder: "admin-1:1"}
		}
		l, stop := startLoop(t, w, nil, func(c *LoopConfig) { c.Leadership = lead })
		defer stop()
		if got := l.Status().Report.Leadership; got == nil || got.Role != drift.RoleLeader {
			t.Fatalf("leadership = %+v; want leader", got)
		}
		mu.Lock()
		role = drift.RoleStandby
		mu.Unlock()
		if got := l.Status().Report.Leadership; got.Role != drift.RoleStandby {
			t.Fatalf("after losing the lease, no pass since: %+v; want standby", got)
		}
		if n := len(w.passes()); n != 1 {
			t.Errorf("%d passes; the leadership needs none", n)
		}
	})
}
