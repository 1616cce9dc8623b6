package daemon

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/esremote/esremote/drift"
)

// answer is what a target says in one pass: a failure of a class (with
// the remote's wait when throttled), or success with a requeue time.
type answer struct {
	class   drift.Class
	wait    time.Duration // throttled: the Retry-After
	msg     string
	requeue time.Time
	changed bool // the pass corrected something
}

// classWorld is a PassFunc whose targets answer with classes, as the
// engine's reports do (reconcile's setOutcome), on the bubble's clock.
type classWorld struct {
	mu      sync.Mutex
	answers map[string]func(now time.Time) answer // by target; nil: in sync
	passes  []passRecord
}

func (w *classWorld) pass(_ context.Context, req PassRequest) (*drift.Report, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	w.passes = append(w.passes, passRecord{at: now, trigger: req.Trigger, targets: req.Targets, digest: req.Set.Digest})
	r := drift.New(drift.ModeRun, req.Trigger, now)
	r.SpecDigest = req.Set.Digest
	for _, t := range fakeTargets {
		if req.Targets != nil && !slices.Contains(req.Targets, t) {
			continue
		}
		c := drift.Connection{Name: t + "-link", Local: t, Alias: "x", Sync: drift.SyncInSync, Health: drift.HealthConnected}
		var a answer
		if f := w.answers[t]; f != nil {
			a = f(now)
		}
		switch {
		case a.class != "":
			c.Sync, c.Health, c.Error, c.ErrorClass = drift.SyncFailed, drift.HealthUnknown, a.msg, a.class
			e := drift.ReportError{Target: t, Message: a.msg, Class: a.class}
			if a.class == drift.ClassThrottled {
				c.RetryAt, e.RetryAt = now.Add(a.wait), now.Add(a.wait)
			}
			r.Errors = append(r.Errors, e)
		case a.changed:
			c.Sync = drift.SyncCorrected
		}
		c.RequeueAt = a.requeue
		r.Connections = append(r.Connections, c)
	}
	r.Sort()
	r.Tally()
	return r, nil
}

// passesOf are the times (since start) of the passes that covered target
// t, full or alone, and their triggers.
func (w *classWorld) passesOf(t string, start time.Time) ([]time.Duration, []drift.Trigger) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var at []time.Duration
	var triggers []drift.Trigger
	for _, p := range w.passes {
		if p.targets == nil || slices.Contains(p.targets, t) {
			at = append(at, p.at.Sub(start))
			triggers = append(triggers, p.trigger)
		}
	}
	return at, triggers
}

// syncBuffer is a log sink safe for the loop's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) count(sub string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Count(s.b.String(), sub)
}

// errorSeries reads esremote_reconcile_errors_total{class=…} off /metrics.
func errorSeries(t *testing.T, m *drift.Metrics, class drift.Class) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	prefix := `esremote_reconcile_errors_total{class="` + string(class) + `"} `
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			return v
		}
	}
	t.Fatalf("no %s… in /metrics", prefix)
	return ""
}

// Issue 22 (a): a target answering 401 is reported and alerted once, and
// not retried before the resync; the resync passes it again (still no new
// alert, no new log line), and so does a change of its specs; the metric
// counts one terminal error per pass that met it.
func TestLoopTerminalNotRetriedBeforeResync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const resync = time.Hour
		cw := &classWorld{answers: map[string]func(time.Time) answer{
			"a": func(time.Time) answer {
				return answer{class: drift.ClassTerminal, msg: "get cluster settings on a: 401 unauthorized: security_exception: unable to authenticate user [esremote]"}
			},
		}}
		alerter, err := drift.NewAlerter(drift.AlertConfig{})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var fired []string // alert transitions, over all saved reports
		metrics := drift.NewMetrics()
		logs := &syncBuffer{}
		w := &fakeWorld{}
		changes := make(chan string)
		start := time.Now()
		l, stop := startLoop(t, w, changes, func(c *LoopConfig) {
			c.Pass = cw.pass
			c.Resync = resync
			c.Logger = slog.New(slog.NewTextHandler(logs, nil))
			c.OnError = func(_ string, class drift.Class) { metrics.CountError(class) }
			c.Save = func(r *drift.Report) error {
				mu.Lock()
				defer mu.Unlock()
				for _, al := range alerter.Observe(r) {
					fired = append(fired, al.Name()+" "+al.Labels["target"]+al.Labels["connection"])
				}
				return nil
			}
		})
		defer stop()

		time.Sleep(resync - time.Second)
		synctest.Wait()
		at, _ := cw.passesOf("a", start)
		if !slices.Equal(at, []time.Duration{0}) {
			t.Errorf("passes of a before the resync at %v, want only the start pass: a 401 is not retried", at)
		}
		mu.Lock()
		firstAlerts := slices.Clone(fired)
		mu.Unlock()
		if len(firstAlerts) == 0 || !slices.ContainsFunc(firstAlerts, func(s string) bool { return strings.Contains(s, "EsremoteTargetError a") }) {
			t.Errorf("alerts = %v, want EsremoteTargetError for a", firstAlerts)
		}
		if st := l.Status(); st.Failing["a"] != 1 || !slices.Equal(st.Terminal, []string{"a"}) || st.Report.Errors[0].Class != drift.ClassTerminal {
			t.Errorf("status: failing %v, terminal %v, errors %+v; want a failing once, terminal", st.Failing, st.Terminal, st.Report.Errors)
		}
		if s := l.statusLine(); s != "1 in sync, 0 drifted, 1 failed, 1 not retried (terminal error)" {
			t.Errorf("status line %q", s)
		}
		if got := errorSeries(t, metrics, drift.ClassTerminal); got != "1" {
			t.Errorf("terminal errors counted: %s, want 1", got)
		}
		if n := logs.count("not retried until"); n != 1 {
			t.Errorf("%d log lines for the terminal error, want 1", n)
		}

		// The resync passes a again; the same error alerts and logs nothing new.
		time.Sleep(time.Second)
		synctest.Wait()
		at, triggers := cw.passesOf("a", start)
		if !slices.Equal(at, []time.Duration{0, resync}) || triggers[1] != drift.TriggerResync {
			t.Errorf("passes of a at %v (%v), want the start and the resync", at, triggers)
		}
		mu.Lock()
		if !slices.Equal(fired, firstAlerts) {
			t.Errorf("alerts after the resync: %v, want none new after %v", fired[len(firstAlerts):], firstAlerts)
		}
		mu.Unlock()
		if n := logs.count("not retried until"); n != 1 {
			t.Errorf("%d log lines for the same terminal error after the resync, want still 1", n)
		}
		if got := errorSeries(t, metrics, drift.ClassTerminal); got != "2" {
			t.Errorf("terminal errors counted: %s, want 2 (the start pass and the resync)", got)
		}
		if got := errorSeries(t, metrics, drift.ClassRetryable); got != "0" {
			t.Errorf("retryable errors counted: %s, want 0", got)
		}

		// A change of the specs passes it at once (after the debounce).
		w.set(func(w *fakeWorld) { w.digest = "sha256:two" })
		changes <- "specs/a.yaml"
		time.Sleep(DefaultDebounceMin)
		synctest.Wait()
		at, triggers = cw.passesOf("a", start)
		if len(at) != 3 || triggers[2] != drift.TriggerFile {
			t.Errorf("passes of a at %v (%v), want a file pass after the spec change", at, triggers)
		}
	})
}

// Issue 22 (b): a 503 backs off, capped and doubling; a 429 whose
// Retry-After is longer than the backoff waits for it.
func TestLoopRetryableBacksOffThrottledWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cw := &classWorld{answers: map[string]func(time.Time) answer{
			"a": func(time.Time) answer {
				return answer{class: drift.ClassRetryable, msg: "get cluster settings on a: 503 service unavailable: master_not_discovered_exception"}
			},
			"b": func(time.Time) answer {
				return answer{class: drift.ClassThrottled, wait: 40 * time.Second, msg: "put cluster settings on b: 429 too many requests"}
			},
		}}
		var counted []string
		var mu sync.Mutex
		start := time.Now()
		_, stop := startLoop(t, &fakeWorld{}, nil, func(c *LoopConfig) {
			c.Pass = cw.pass
			c.OnError = func(target string, class drift.Class) {
				mu.Lock()
				defer mu.Unlock()
				counted = append(counted, target+" "+string(class))
			}
		})
		defer stop()
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		secs := func(ds ...time.Duration) []time.Duration {
			for i := range ds {
				ds[i] *= time.Second
			}
			return ds
		}
		if at, _ := cw.passesOf("a", start); !slices.Equal(at, secs(0, 1, 3, 7, 15, 31, 63)) {
			t.Errorf("passes of a (503) at %v, want the backoff 1s, 2s, 4s … after each", at)
		}
		// Backoff 1s, 2s, 4s, … is below 40s until 64s: every 40s, then the backoff.
		if at, _ := cw.passesOf("b", start); !slices.Equal(at, secs(0, 40, 80, 120)) {
			t.Errorf("passes of b (429, Retry-After 40s) at %v, want every 40s", at)
		}
		mu.Lock()
		defer mu.Unlock()
		if !slices.Contains(counted, "a retryable") || !slices.Contains(counted, "b throttled") || slices.ContainsFunc(counted, func(s string) bool { return strings.HasSuffix(s, "terminal") }) {
			t.Errorf("errors counted: %v", counted)
		}
	})
}

// Issue 22 (c): a rotation due in 10 minutes runs at its time, not at the
// next resync (1h): the report's requeue_at sets a timer for the target
// alone, and after the rotation nothing is due until the resync.
func TestLoopRequeueRunsAtItsTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const resync = time.Hour
		start := time.Now()
		window := start.Add(10 * time.Minute) // the key's rotation window opens
		var rotatedAt time.Time
		cw := &classWorld{answers: map[string]func(time.Time) answer{
			"a": func(now time.Time) answer {
				switch {
				case now.Before(window):
					return answer{requeue: window}
				case rotatedAt.IsZero():
					rotatedAt = now
					return answer{changed: true}
				}
				return answer{}
			},
		}}
		_, stop := startLoop(t, &fakeWorld{}, nil, func(c *LoopConfig) {
			c.Pass = cw.pass
			c.Resync = resync
		})
		defer stop()
		time.Sleep(resync - time.Second)
		synctest.Wait()
		at, triggers := cw.passesOf("a", start)
		if !slices.Equal(at, []time.Duration{0, 10 * time.Minute}) || triggers[1] != TriggerRequeue {
			t.Fatalf("passes of a at %v (%v), want the start and a requeue at 10m", at, triggers)
		}
		if got := rotatedAt.Sub(start); got != 10*time.Minute {
			t.Errorf("rotated at %s, want 10m", got)
		}
		if at, _ := cw.passesOf("b", start); !slices.Equal(at, []time.Duration{0}) {
			t.Errorf("passes of b at %v: nothing of b was due", at)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if at, _ := cw.passesOf("a", start); len(at) != 3 || at[2] != resync {
			t.Errorf("passes of a at %v, want the resync next", at)
		}
	})
}

// A requeue time that is already past (or the engine saying "now" again
// and again) cannot spin the loop: the pass comes BackoffBase later.
func TestLoopRequeueNowIsFloored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cw := &classWorld{answers: map[string]func(time.Time) answer{
			"a": func(now time.Time) answer { return answer{requeue: now} },
		}}
		start := time.Now()
		_, stop := startLoop(t, &fakeWorld{}, nil, func(c *LoopConfig) { c.Pass = cw.pass })
		defer stop()
		time.Sleep(3*time.Second + time.Millisecond)
		synctest.Wait()
		if at, _ := cw.passesOf("a", start); !slices.Equal(at, []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second}) {
			t.Errorf("passes of a at %v, want one per BackoffBase (1s)", at)
		}
	})
}

// A target whose terminal error clears (the password was fixed and the
// resync came) is no longer failing, and a later terminal error is logged
// again.
func TestLoopTerminalClearsOnSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		broken := true
		cw := &classWorld{answers: map[string]func(time.Time) answer{
			"a": func(time.Time) answer {
				mu.Lock()
				defer mu.Unlock()
				if broken {
					return answer{class: drift.ClassTerminal, msg: "401"}
				}
				return answer{}
			},
		}}
		logs := &syncBuffer{}
		l, stop := startLoop(t, &fakeWorld{}, nil, func(c *LoopConfig) {
			c.Pass = cw.pass
			c.Logger = slog.New(slog.NewTextHandler(logs, nil))
		})
		defer stop()
		mu.Lock()
		broken = false
		mu.Unlock()
		time.Sleep(DefaultResync)
		synctest.Wait()
		if st := l.Status(); len(st.Failing) != 0 || len(st.Terminal) != 0 || st.Report.Summary.Failed != 0 {
			t.Errorf("after the fix and a resync: failing %v, terminal %v, summary %+v", st.Failing, st.Terminal, st.Report.Summary)
		}
		mu.Lock()
		broken = true
		mu.Unlock()
		time.Sleep(DefaultResync)
		synctest.Wait()
		if n := logs.count("not retried until"); n != 2 {
			t.Errorf("%d log lines for the terminal error, want 2 (it came back)", n)
		}
	})
}
