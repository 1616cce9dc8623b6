package es

import (
	"fmt"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
)

// Every kind has the class docs/reliability.md gives it, also through the
// engine's wrapping; a Retry-After on a retryable answer makes it
// throttled with that wait.
func TestErrorClass(t *testing.T) {
	for _, tc := range []struct {
		kind       Kind
		status     int
		retryAfter time.Duration
		class      drift.Class
	}{
		{ErrAuth, 401, 0, drift.ClassTerminal},
		{ErrAuth, 403, 0, drift.ClassTerminal},
		{ErrInvalid, 400, 0, drift.ClassTerminal},
		{ErrNotFound, 404, 0, drift.ClassTerminal},
		{ErrUnsupported, 0, 0, drift.ClassTerminal},
		{ErrNotElasticsearch, 200, 0, drift.ClassTerminal},
		{ErrTLS, 0, 0, drift.ClassTerminal},
		{ErrBadResponse, 200, 0, drift.ClassTerminal},
		{ErrFenced, 0, 0, drift.ClassTerminal},
		{ErrServer, 503, 0, drift.ClassRetryable},
		{ErrServer, 408, 0, drift.ClassRetryable},
		{ErrNetwork, 0, 0, drift.ClassRetryable},
		{ErrTimeout, 0, 0, drift.ClassRetryable},
		{ErrNotAcknowledged, 200, 0, drift.ClassRetryable},
		{ErrConflict, 409, 0, drift.ClassRetryable},
		{ErrCanceled, 0, 0, drift.ClassRetryable},
		{ErrThrottled, 429, 0, drift.ClassThrottled},
		{ErrThrottled, 429, 7 * time.Second, drift.ClassThrottled},
		{ErrServer, 503, 30 * time.Second, drift.ClassThrottled},
	} {
		e := &Error{Op: "put cluster settings", Target: "local-a", Kind: tc.kind, Status: tc.status, RetryAfter: tc.retryAfter}
		class, wait := drift.Classify(fmt.Errorf("cluster local-a: %w", e))
		wantWait := time.Duration(0)
		if tc.class == drift.ClassThrottled {
			wantWait = tc.retryAfter
		}
		if class != tc.class || wait != wantWait {
			t.Errorf("%s (%d, Retry-After %s): class %q, wait %s; want %q, %s", tc.kind, tc.status, tc.retryAfter, class, wait, tc.class, wantWait)
		}
	}
}
