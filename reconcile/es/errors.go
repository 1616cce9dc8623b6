package es

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/esremote/esremote/drift"
)

// Kind classifies an [Error]. Every Kind is itself an error, so callers
// match a class with errors.Is:
//
//	if errors.Is(err, es.ErrNotFound) { … }
//	if errors.Is(err, es.ErrRetryable) { … } // any retryable Kind
type Kind int

// The kinds of [Error]. Retryable kinds are the ones where trying the same
// request again later can succeed without anyone changing the request or
// the configuration; all others are terminal.
const (
	// ErrNetwork: the request did not complete (refused, reset, DNS). Retryable.
	ErrNetwork Kind = iota + 1
	// ErrTimeout: no complete response within Config.Timeout. Retryable.
	ErrTimeout
	// ErrThrottled: HTTP 429 (circuit breakers, queues full). Retryable.
	ErrThrottled
	// ErrServer: HTTP 5xx or 408, for example no elected master. Retryable.
	ErrServer
	// ErrNotAcknowledged: the write was committed but not acknowledged by
	// every node within the timeout ("acknowledged": false). Retryable: the
	// next pass observes again and finds the change applied or not.
	ErrNotAcknowledged
	// ErrInvalid: HTTP 400 or another 4xx not listed here, such as a
	// settings validation failure. Terminal.
	ErrInvalid
	// ErrAuth: HTTP 401 or 403. Terminal until the credentials change.
	ErrAuth
	// ErrNotFound: HTTP 404. Terminal.
	ErrNotFound
	// ErrUnsupported: the cluster's version has no such endpoint. Terminal.
	ErrUnsupported
	// ErrNotElasticsearch: the server did not send
	// "X-Elastic-Product: Elasticsearch". Terminal.
	ErrNotElasticsearch
	// ErrTLS: the server's certificate could not be verified. Terminal.
	ErrTLS
	// ErrBadResponse: a success status with a body that is not the expected
	// JSON, or a body larger than the limit. Terminal.
	ErrBadResponse
	// ErrCanceled: the caller's context was canceled or its deadline passed
	// before the request completed. Terminal: the caller gave up.
	ErrCanceled
	// ErrConflict: HTTP 409, a write's precondition no longer held
	// (version_conflict_engine_exception: the document changed since it was
	// read, or already exists). Terminal for this request: read again.
	ErrConflict
	// ErrFenced: the request was not sent, because Config.WriteGate
	// refused it (the process does not hold the state store's lease).
	// Terminal: only the leader writes.
	ErrFenced
)

var kindNames = map[Kind]string{
	ErrNetwork:          "network error",
	ErrTimeout:          "timeout",
	ErrThrottled:        "throttled",
	ErrServer:           "server error",
	ErrNotAcknowledged:  "not acknowledged",
	ErrInvalid:          "invalid request",
	ErrAuth:             "not authorized",
	ErrNotFound:         "not found",
	ErrUnsupported:      "unsupported",
	ErrNotElasticsearch: "not elasticsearch",
	ErrTLS:              "tls verification failed",
	ErrBadResponse:      "bad response",
	ErrCanceled:         "canceled",
	ErrConflict:         "conflict",
	ErrFenced:           "not sent: not the leader",
}

// Error returns the name of the kind, so a Kind can be used as an errors.Is
// target.
func (k Kind) Error() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("es error kind %d", int(k))
}

// Retryable reports whether errors of this kind may succeed when retried.
func (k Kind) Retryable() bool {
	switch k {
	case ErrNetwork, ErrTimeout, ErrThrottled, ErrServer, ErrNotAcknowledged:
		return true
	}
	return false
}

// ErrRetryable matches, through errors.Is, every [Error] whose Kind is
// retryable.
var ErrRetryable = errors.New("retryable")

// Cause is one entry of an Elasticsearch error cause (root_cause,
// suppressed, a node's reload_exception).
type Cause struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// Error is every failure of a [Client] call: a transport problem, an HTTP
// error status with the body Elasticsearch sent, or an unexpected response.
//
// It never holds request bodies or credentials: only the operation, the
// target's name, the status and what Elasticsearch said about it.
type Error struct {
	Op     string // what was attempted, e.g. "put cluster settings"
	Target string // Config.Name of the cluster
	Kind   Kind
	Status int // HTTP status; 0 when no response was received

	// From the Elasticsearch error body, when there is one.
	Type       string  // error.type, e.g. "illegal_argument_exception"
	Reason     string  // error.reason
	RootCause  []Cause // error.root_cause
	Suppressed []Cause // error.suppressed (further validation failures)

	// RetryAfter is the server's Retry-After header on 429/503, or zero.
	RetryAfter time.Duration

	// Err is the underlying transport or decoding error, if any.
	Err error
}

// Error formats as "<op> on <target>: <status> <type>: <reason>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Target != "" {
		b.WriteString(" on ")
		b.WriteString(e.Target)
	}
	b.WriteString(": ")
	switch {
	case e.Status != 0 && e.Kind != ErrNotAcknowledged && e.Kind != ErrBadResponse:
		fmt.Fprintf(&b, "%d %s", e.Status, statusText(e.Status))
		if e.Type != "" {
			b.WriteString(": ")
			b.WriteString(e.Type)
		}
		if e.Reason != "" {
			b.WriteString(": ")
			b.WriteString(e.Reason)
		}
		if n := len(e.Suppressed); n > 0 {
			fmt.Fprintf(&b, " (and %d more)", n)
		}
	case e.Reason != "":
		b.WriteString(e.Reason)
	default:
		b.WriteString(e.Kind.Error())
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func statusText(code int) string {
	if s := http.StatusText(code); s != "" {
		return strings.ToLower(s)
	}
	return "status"
}

// Unwrap returns the underlying error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the error's Kind and, for retryable kinds, [ErrRetryable].
func (e *Error) Is(target error) bool {
	if k, ok := target.(Kind); ok {
		return e.Kind == k
	}
	return target == ErrRetryable && e.Retryable()
}

// Retryable reports whether the same request may succeed later: 429, 5xx,
// network errors, timeouts and unacknowledged writes. Validation errors
// (400), authentication (401/403) and 404 are terminal.
func (e *Error) Retryable() bool { return e.Kind.Retryable() }

// ErrorClass classifies the error for the daemon (drift.Classifier),
// which is a question about the next pass, not about sending this request
// again (that is [Kind.Retryable], for the client's own retries):
//
//   - throttled: 429, and any retryable kind whose answer carried
//     Retry-After (a 503 that says when to come back); the wait is
//     RetryAfter (zero on a 429 without the header: the backoff decides);
//   - retryable: the other retryable kinds (network, timeouts, 5xx, 408,
//     "acknowledged": false), a 409 (what the write was planned against
//     moved: the next pass observes again and replans) and a cancelled
//     request (the pass ran out of time or was stopped);
//   - terminal: 400 and the other 4xx, 401/403, 404, an unsupported
//     version, a server that is not Elasticsearch, a certificate that does
//     not verify, a body that is not what the API returns, and a write
//     refused because this process does not hold the lease.
func (e *Error) ErrorClass() (drift.Class, time.Duration) {
	switch {
	case e.Kind == ErrThrottled, e.Kind.Retryable() && e.RetryAfter > 0:
		return drift.ClassThrottled, e.RetryAfter
	case e.Kind.Retryable(), e.Kind == ErrConflict, e.Kind == ErrCanceled:
		return drift.ClassRetryable, 0
	}
	return drift.ClassTerminal, 0
}

// IsRetryable reports whether err, or an error it wraps, is a retryable
// [Error].
func IsRetryable(err error) bool { return errors.Is(err, ErrRetryable) }

// IsNotFound reports whether err, or an error it wraps, is a 404 [Error].
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// kindForStatus classifies an HTTP error status.
func kindForStatus(status int) Kind {
	switch {
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return ErrAuth
	case status == http.StatusNotFound:
		return ErrNotFound
	case status == http.StatusConflict:
		return ErrConflict
	case status == http.StatusTooManyRequests:
		return ErrThrottled
	case status == http.StatusRequestTimeout, status >= 500:
		return ErrServer
	default:
		return ErrInvalid
	}
}
