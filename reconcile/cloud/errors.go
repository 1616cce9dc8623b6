package cloud

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/esremote/esremote/drift"
)

// Error is a non-2xx answer of the API. Errors holds the elements of the
// API's {"errors":[…]} body (BasicFailedReply); it is empty when the body was
// not in that shape.
type Error struct {
	// Target is Config.Name of the client that got the error.
	Target string
	// Op is the method and path, e.g. "PUT /api/v1/deployments/<id>".
	Op     string
	Status int
	Errors []ErrorDetail
	// RetryAfter is how long the server asked us to wait (Retry-After, or
	// x-ratelimit-interval on a 429 with no remaining quota); zero if none.
	RetryAfter time.Duration
}

// ErrorDetail is one element of a BasicFailedReply.
type ErrorDetail struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Fields  []string `json:"fields,omitempty"` // request field paths such as "body.password"
}

// Error renders "cloud api <target>: <op>: <status>: <code>: <message>; …".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("cloud api ")
	if e.Target != "" {
		b.WriteString(e.Target)
		b.WriteString(": ")
	}
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.Status))
	if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" ")
		b.WriteString(strings.ToLower(t))
	}
	for i, d := range e.Errors {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(d.Code)
		if d.Message != "" {
			b.WriteString(": ")
			b.WriteString(d.Message)
		}
		if len(d.Fields) > 0 {
			b.WriteString(" (fields: ")
			b.WriteString(strings.Join(d.Fields, ", "))
			b.WriteString(")")
		}
	}
	return b.String()
}

// Retryable reports whether the same request may succeed later: 429 and
// 5xx except 501. Everything else (400 validation, 401/403, 404, 409, 412,
// 449) is terminal for this request.
func (e *Error) Retryable() bool {
	return e.Status == http.StatusTooManyRequests ||
		(e.Status >= 500 && e.Status <= 599 && e.Status != http.StatusNotImplemented)
}

// ErrorClass classifies the error for the daemon (drift.Classifier):
//
//   - throttled: 429, and a retryable status whose answer said when to
//     come back (Retry-After; on a 429 with no quota left,
//     x-ratelimit-interval); the wait is RetryAfter;
//   - retryable: the other 5xx but 501, a 409 or *.version_conflict (the
//     next pass reads the resource again and replans), and 412 or
//     clusters.cluster_plan_state_error (a plan change is in progress and
//     will end);
//   - terminal: 400 validation, 401/403 (a wrong API key, or a deployment
//     of another organization), 404 (a declared deployment that is not
//     there), 449 and 501.
func (e *Error) ErrorClass() (drift.Class, time.Duration) {
	switch {
	case e.Status == http.StatusTooManyRequests, e.Retryable() && e.RetryAfter > 0:
		return drift.ClassThrottled, e.RetryAfter
	case e.Retryable(), IsConflict(e), IsPlanPending(e):
		return drift.ClassRetryable, 0
	}
	return drift.ClassTerminal, 0
}

// ErrorClass: a request that did not complete is retryable
// (drift.Classifier).
func (e *netError) ErrorClass() (drift.Class, time.Duration) { return drift.ClassRetryable, 0 }

// HasCode reports whether one of the elements has the given code.
func (e *Error) HasCode(code string) bool {
	for _, d := range e.Errors {
		if d.Code == code {
			return true
		}
	}
	return false
}

// Codes lists the error codes in order.
func (e *Error) Codes() []string {
	out := make([]string, 0, len(e.Errors))
	for _, d := range e.Errors {
		out = append(out, d.Code)
	}
	return out
}

// ErrPlanPending is returned (wrapped) by UpdateTrust when the deployment's
// Elasticsearch resource has a plan change in progress. Wait for it to
// finish, re-read the deployment and try again.
var ErrPlanPending = errors.New("a plan change is in progress")

// IsConflict reports whether err is a stale-version conflict: status 409 or
// a *.version_conflict code. The caller re-reads the resource and retries.
func IsConflict(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	if e.Status == http.StatusConflict {
		return true
	}
	for _, d := range e.Errors {
		if strings.HasSuffix(d.Code, ".version_conflict") {
			return true
		}
	}
	return false
}

// IsNotFound reports whether err is a 404. (ECH answers 403 for a
// deployment of another organization; that is reported as what it is.)
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// IsPlanPending reports whether err says a plan change is in progress:
// ErrPlanPending, or the API's 412 clusters.cluster_plan_state_error.
func IsPlanPending(err error) bool {
	if errors.Is(err, ErrPlanPending) {
		return true
	}
	var e *Error
	return errors.As(err, &e) && (e.HasCode("clusters.cluster_plan_state_error") ||
		e.Status == http.StatusPreconditionFailed)
}

// IsRetryable reports whether err is worth retrying later: a retryable
// *Error or a network failure.
func IsRetryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Retryable()
	}
	var n *netError
	return errors.As(err, &n)
}

// newError builds an *Error from a non-2xx response.
func (c *Client) newError(op string, resp *http.Response, body []byte) *Error {
	e := &Error{Target: c.name, Op: op, Status: resp.StatusCode}
	var reply struct {
		Errors []ErrorDetail `json:"errors"`
	}
	if json.Unmarshal(body, &reply) == nil {
		e.Errors = reply.Errors
	}
	if len(e.Errors) == 0 {
		if codes := resp.Header.Get("x-cloud-error-codes"); codes != "" {
			for code := range strings.SplitSeq(codes, ",") {
				e.Errors = append(e.Errors, ErrorDetail{Code: strings.TrimSpace(code)})
			}
		}
	}
	e.RetryAfter = c.retryAfter(resp)
	return e
}

// retryAfter reads Retry-After (seconds or an HTTP date) and, on a 429
// with no quota left, x-ratelimit-interval (seconds or a Go duration).
func (c *Client) retryAfter(resp *http.Response) time.Duration {
	if v := strings.TrimSpace(resp.Header.Get("Retry-After")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			if d := t.Sub(c.now()); d > 0 {
				return d
			}
			return 0
		}
	}
	if resp.StatusCode == http.StatusTooManyRequests && strings.TrimSpace(resp.Header.Get("x-ratelimit-remaining")) == "0" {
		v := strings.TrimSpace(resp.Header.Get("x-ratelimit-interval"))
		if s, err := strconv.Atoi(v); err == nil && s > 0 {
			return time.Duration(s) * time.Second
		}
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			return d
		}
	}
	return 0
}

// Backoff parameters for failures that carry no server hint.
const (
	backoffBase = 500 * time.Millisecond
	backoffCap  = 10 * time.Second
)

// waitFor returns how long to wait before retry number attempt+1, and false
// when the server asked for more than MaxRetryWait (the caller gives up and
// returns the error, which carries RetryAfter).
func (c *Client) waitFor(err error, attempt int) (time.Duration, bool) {
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		if e.RetryAfter > c.maxWait {
			return 0, false
		}
		return e.RetryAfter, true
	}
	// Equal jitter: uniform in [d/2, d) where d doubles per attempt, capped.
	d := backoffCap
	if attempt < 30 {
		d = time.Duration(math.Min(float64(backoffCap), float64(backoffBase)*math.Pow(2, float64(attempt))))
	}
	d = min(d, c.maxWait)
	return d/2 + time.Duration(c.jitter()*float64(d/2)), true
}

// redactError returns err with every occurrence of the given secret values
// replaced in the API's error messages. Used where a request carried
// secrets, in case the server echoes them. err must come straight from do.
func redactError(err error, secrets []string) error {
	e, ok := err.(*Error)
	if !ok {
		return err
	}
	cp := *e
	cp.Errors = make([]ErrorDetail, len(e.Errors))
	for i, d := range e.Errors {
		for _, s := range secrets {
			if s == "" {
				continue
			}
			d.Message = strings.ReplaceAll(d.Message, s, "<redacted>")
			d.Code = strings.ReplaceAll(d.Code, s, "<redacted>")
		}
		cp.Errors[i] = d
	}
	return &cp
}
