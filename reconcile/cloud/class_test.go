package cloud

import (
	"fmt"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
)

// Every status of the Cloud APIs has the class docs/reliability.md gives
// it, also through the engine's wrapping.
func TestErrorClass(t *testing.T) {
	for _, tc := range []struct {
		status     int
		code       string
		retryAfter time.Duration
		class      drift.Class
	}{
		{400, "deployments.invalid_request", 0, drift.ClassTerminal},
		{401, "root.unauthenticated", 0, drift.ClassTerminal},
		{403, "root.unauthorized", 0, drift.ClassTerminal},
		{404, "deployments.deployment_not_found", 0, drift.ClassTerminal},
		{449, "root.needs_elevated_permissions", 0, drift.ClassTerminal},
		{501, "root.not_implemented", 0, drift.ClassTerminal},
		{409, "deployments.version_conflict", 0, drift.ClassRetryable},
		{400, "deployments.version_conflict", 0, drift.ClassRetryable},
		{412, "clusters.cluster_plan_state_error", 0, drift.ClassRetryable},
		{500, "internal.server.error", 0, drift.ClassRetryable},
		{503, "root.service_unavailable", 0, drift.ClassRetryable},
		{503, "root.service_unavailable", 20 * time.Second, drift.ClassThrottled},
		{429, "root.rate_limited", 0, drift.ClassThrottled},
		{429, "root.rate_limited", time.Minute, drift.ClassThrottled},
	} {
		e := &Error{Target: "ech", Op: "PUT /api/v1/deployments/x", Status: tc.status, Errors: []ErrorDetail{{Code: tc.code}}, RetryAfter: tc.retryAfter}
		class, wait := drift.Classify(fmt.Errorf("write trust of a: %w", e))
		wantWait := time.Duration(0)
		if tc.class == drift.ClassThrottled {
			wantWait = tc.retryAfter
		}
		if class != tc.class || wait != wantWait {
			t.Errorf("%d %s (Retry-After %s): class %q, wait %s; want %q, %s", tc.status, tc.code, tc.retryAfter, class, wait, tc.class, wantWait)
		}
	}
	if class, _ := drift.Classify(fmt.Errorf("set keystore: %w", &netError{op: "PATCH", err: fmt.Errorf("connection reset by peer")})); class != drift.ClassRetryable {
		t.Errorf("network error: class %q, want retryable", class)
	}
}
