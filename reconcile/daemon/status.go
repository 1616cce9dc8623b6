package daemon

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/esremote/esremote/drift"
)

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
	// Terminal lists, sorted, the failing targets whose error is terminal:
	// not retried until their specs change, a reload or the resync.
	Terminal []string
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
	st.Terminal = slices.Sorted(maps.Keys(l.terminal))
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
		if n := len(l.terminal); n > 0 {
			// Those an operator must fix: the daemon waits for them.
			s += fmt.Sprintf(", %d not retried (terminal error)", n)
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
