package daemon

import (
	"time"

	"github.com/esremote/esremote/drift"
)

// TriggerRequeue is a pass of only the targets whose requeue time came:
// something of theirs fell due (a key's rotation window opened, a
// keystore load grace ended) before the next resync.
const TriggerRequeue drift.Trigger = "requeue"

// due is when a target's next pass of its own comes, and why.
type due struct {
	at      time.Time
	trigger drift.Trigger // TriggerRetry or TriggerRequeue
}

// outcome is what one pass says of one target: whether it failed and how
// (its errors' classes merged), or, when it did not, when something of
// it falls due.
type outcome struct {
	class   drift.Class // "" when the target did not fail
	retryAt time.Time   // throttled: the earliest time the target accepts a request
	requeue time.Time   // no failure: the earliest requeue_at of its connections
	why     string      // the first error, for the log
	// cause is the cluster the first error is about: the target itself,
	// or a cluster its pass reads (an unreachable remote).
	cause string
}

func (o *outcome) fail(class drift.Class, retryAt time.Time, cause, why string) {
	if class == "" {
		// A report without classes (older, or a connection whose
		// change failed without an error): what the daemon always did.
		class = drift.ClassRetryable
	}
	o.class = drift.Merge(o.class, class)
	if retryAt.After(o.retryAt) {
		o.retryAt = retryAt
	}
	if o.why == "" {
		o.why, o.cause = why, cause
	}
}

// outcomes reads each target's outcome from a report: the targets named by
// its errors (when errors is set) and the local clusters of its
// connections. A connection fails its target when its sync is failed.
func outcomes(r *drift.Report, errors bool) map[string]*outcome {
	out := map[string]*outcome{}
	get := func(t string) *outcome {
		o := out[t]
		if o == nil {
			o = &outcome{}
			out[t] = o
		}
		return o
	}
	if errors {
		for _, e := range r.Errors {
			switch {
			case e.Local != "": // a cluster the local one reads: retry the local one
				get(e.Local).fail(e.Class, e.RetryAt, e.Target, e.Message)
			case e.Target != "":
				get(e.Target).fail(e.Class, e.RetryAt, e.Target, e.Message)
			}
		}
	}
	for _, c := range r.Connections {
		o := get(c.Local)
		switch {
		case c.Sync == drift.SyncFailed:
			o.fail(c.ErrorClass, c.RetryAt, c.Local, c.Error)
		case c.Sync != drift.SyncDisabled && !c.RequeueAt.IsZero():
			if o.requeue.IsZero() || c.RequeueAt.Before(o.requeue) {
				o.requeue = c.RequeueAt
			}
		}
	}
	return out
}

// classified is a failing target and its class, for LoopConfig.OnError.
type classified struct {
	target string
	class  drift.Class
}

// schedule is the daemon's reconcile handler: after a pass it decides,
// per target, from the class of what failed (DESIGN §4, as
// controller-runtime's reconcileHandler does), with the log in the same
// place:
//
//   - terminal: counted, logged when its error is new, and not retried:
//     the target's due time is dropped. It is passed again when its specs
//     change (a file change that concerns it), a reload is asked for, or
//     the resync comes.
//   - retryable: retried alone after the capped, jittered backoff of its
//     consecutive failures.
//   - throttled: as retryable, but never before the time the remote gave
//     (retry_at) nor before LoopConfig.RetryAfter.
//   - no failure: its failures are forgotten; with a requeue time, a pass
//     of the target alone at that time (never sooner than BackoffBase
//     from now, so that an engine that keeps saying "due now" cannot spin
//     the loop), else nothing until the next full pass.
//
// scope is the targets the pass covered (nil: every target), whose state
// a target missing from outs clears. It returns the failing targets with
// their class, for LoopConfig.OnError. l.mu must be held.
func (l *Loop) schedule(outs map[string]*outcome, scope []string, dues map[string]due, now time.Time) []classified {
	clear := func(t string) {
		delete(l.failures, t)
		delete(l.terminal, t)
		delete(dues, t)
	}
	switch {
	case scope == nil:
		for t := range l.failures {
			if outs[t] == nil {
				clear(t)
			}
		}
		for t := range dues {
			if outs[t] == nil {
				clear(t)
			}
		}
	default:
		for _, t := range scope {
			if outs[t] == nil {
				clear(t)
			}
		}
	}
	var failed []classified
	for t, o := range outs {
		switch o.class {
		case drift.ClassTerminal:
			l.failures[t]++
			delete(dues, t)
			if l.terminal[t] != o.why {
				l.log.Warn("target failing; not retried until its specs change, a reload or the resync",
					failingAttrs(t, o, "class", string(o.class))...)
			}
			l.terminal[t] = o.why
		case drift.ClassRetryable, drift.ClassThrottled:
			delete(l.terminal, t)
			l.failures[t]++
			delay := l.backoff(l.failures[t])
			if l.cfg.RetryAfter != nil {
				delay = max(delay, l.cfg.RetryAfter(t))
			}
			if o.class == drift.ClassThrottled {
				delay = max(delay, o.retryAt.Sub(now))
			}
			dues[t] = due{at: now.Add(delay), trigger: TriggerRetry}
			l.log.Warn("target failing; retrying later", failingAttrs(t, o, "class", string(o.class),
				"attempt", l.failures[t], "retry_in", delay.String())...)
		default:
			delete(l.failures, t)
			delete(l.terminal, t)
			if o.requeue.IsZero() {
				delete(dues, t)
				break
			}
			at := o.requeue
			if floor := now.Add(l.cfg.BackoffBase); at.Before(floor) {
				at = floor
			}
			dues[t] = due{at: at, trigger: TriggerRequeue}
			l.log.Info("target due again before the resync", "target", t, "at", at.UTC().Format(time.RFC3339), "in", at.Sub(now).Round(time.Second).String())
		}
		if o.class != "" {
			failed = append(failed, classified{t, o.class})
		}
	}
	return failed
}

// failingAttrs are the log attributes of failing target t: the cluster
// that failed as target (an unreachable remote rather than the local
// cluster that reads it, which is then local: the one passed again),
// then more, then the error (scrubbed: it comes from the report).
func failingAttrs(t string, o *outcome, more ...any) []any {
	attrs := []any{"target", t}
	if o.cause != "" && o.cause != t {
		attrs = []any{"target", o.cause, "local", t}
	}
	attrs = append(attrs, more...)
	if o.why != "" {
		attrs = append(attrs, "err", o.why)
	}
	return attrs
}

// resetRetry arms the timer for the earliest due target.
func (l *Loop) resetRetry(t *time.Timer, dues map[string]due) {
	t.Stop()
	var first time.Time
	for _, d := range dues {
		if first.IsZero() || d.at.Before(first) {
			first = d.at
		}
	}
	if !first.IsZero() {
		t.Reset(max(time.Until(first), 0))
	}
}

// backoff is the delay before the attempt after n consecutive failures.
func (l *Loop) backoff(n int) time.Duration {
	d := l.cfg.BackoffBase
	for i := 1; i < n && d < l.cfg.BackoffMax; i++ {
		d *= 2
	}
	return l.jitter(min(d, l.cfg.BackoffMax))
}

func (l *Loop) jitter(d time.Duration) time.Duration {
	if l.cfg.Jitter == 0 {
		return d
	}
	return time.Duration(float64(d) * (1 + l.cfg.Jitter*(2*l.cfg.Rand()-1)))
}
