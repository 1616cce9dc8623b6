package drift

import "time"

// Class is how a failure is treated: the error classes of DESIGN §4. The
// adapters classify their errors (they implement [Classifier]), a report's
// errors carry the class ([ReportError.Class], [Connection.ErrorClass]),
// and the daemon switches on it per target, as controller-runtime's
// reconcile handler switches on a TerminalError, an error and a
// RequeueAfter. docs/reliability.md has the table.
type Class string

// The classes.
const (
	// ClassTerminal: the same request cannot succeed until someone changes
	// something: the specs (a wrong password, a 400 validation error, a
	// deployment that is not there, a missing secret) or the target (its
	// permissions, a standby not holding the lease). The daemon reports it
	// and alerts once, and passes the target again only when its specs
	// change, a reload is asked for or the resync comes.
	ClassTerminal Class = "terminal"
	// ClassRetryable: the same request may succeed later (5xx, network
	// errors, timeouts, an unacknowledged write, a write whose precondition
	// moved (409) and that a fresh observation replans). The daemon
	// retries the target alone after a capped, jittered backoff.
	ClassRetryable Class = "retryable"
	// ClassThrottled: the remote asked esremote to slow down (429, or a
	// Retry-After on a 5xx). The daemon retries the target no sooner than
	// the remote asked ([ReportError.RetryAt]) and no sooner than the
	// backoff.
	ClassThrottled Class = "throttled"
)

// Classes lists every class, in the order of the metrics' series.
var Classes = []Class{ClassTerminal, ClassRetryable, ClassThrottled}

// Classifier is an error that knows its class: the adapters' typed
// errors (es.Error, cloud.Error) and the errors [Terminal] wraps.
type Classifier interface {
	// ErrorClass returns the error's class and, when the remote said how
	// long to wait (Retry-After, rate-limit headers), that wait; zero
	// otherwise.
	ErrorClass() (Class, time.Duration)
}

// Classify returns the class of err and how long the remote asked to be
// left alone. It follows err's chain (errors.Unwrap, and every branch of
// an errors.Join), and the first [Classifier] met on a branch decides that
// branch; several branches are merged with [Merge], their waits by the
// longest. An error nothing classifies is retryable: retrying with a
// backoff is what the daemon did before the classes existed, and a
// terminal verdict must be positive. A nil error has no class ("").
func Classify(err error) (Class, time.Duration) {
	if err == nil {
		return "", 0
	}
	if c, ok := err.(Classifier); ok {
		return c.ErrorClass()
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		if inner := u.Unwrap(); inner != nil {
			return Classify(inner)
		}
	case interface{ Unwrap() []error }:
		var class Class
		var wait time.Duration
		for _, e := range u.Unwrap() {
			c, w := Classify(e)
			class, wait = Merge(class, c), max(wait, w)
		}
		if class != "" {
			return class, wait
		}
	}
	return ClassRetryable, 0
}

// Merge is the class of a target that failed in both ways a and b (""
// is no failure): throttled over retryable over terminal. One retry of a
// target covers all of its failures, so any failure that may pass later
// calls for the retry, and a throttled one sets its earliest time.
func Merge(a, b Class) Class {
	for _, c := range []Class{ClassThrottled, ClassRetryable, ClassTerminal} {
		if a == c || b == c {
			return c
		}
	}
	return ""
}

// Terminal marks err as terminal (see [ClassTerminal]) for errors the
// adapters did not classify: a secret that cannot be read, a cluster the
// specs do not declare. It wraps err: errors.Is and errors.As see
// through it, and its message is err's. Terminal(nil) is nil.
func Terminal(err error) error {
	if err == nil {
		return nil
	}
	return &terminalError{err}
}

type terminalError struct{ err error }

func (e *terminalError) Error() string                      { return e.err.Error() }
func (e *terminalError) Unwrap() error                      { return e.err }
func (e *terminalError) ErrorClass() (Class, time.Duration) { return ClassTerminal, 0 }

// IsTerminal reports whether err is terminal (see [Classify]).
func IsTerminal(err error) bool {
	c, _ := Classify(err)
	return c == ClassTerminal
}
