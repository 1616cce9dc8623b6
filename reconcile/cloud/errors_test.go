package cloud

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestErrorFixtures(t *testing.T) {
	tests := []struct {
		fixture    string
		status     int
		codes      []string
		notFound   bool
		planState  bool
		fields     []string
		wantSubstr string
	}{
		{
			fixture: "error-deployment-not-found.json", status: 404,
			codes: []string{"deployments.deployment_not_found"}, notFound: true,
			wantSubstr: "404 not found: deployments.deployment_not_found: No Deployment with id [62bed072dffd4509b84dfe7dc125bb12] could be found",
		},
		{
			fixture: "error-with-fields.json", status: 412,
			codes:     []string{"clusters.cluster_plan_state_error", "auth.invalid_password"},
			planState: true, fields: []string{"body.password"},
			wantSubstr: "auth.invalid_password: request password doesn't match the user's password (fields: body.password)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				serveJSON(tt.status, fixture(t, tt.fixture), nil)(w, r)
			}))
			defer srv.Close()
			c, _ := newTestClient(t, srv, ECH, nil)
			_, err := c.Deployment(context.Background(), "62bed072dffd4509b84dfe7dc125bb12")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Status != tt.status || strings.Join(e.Codes(), ",") != strings.Join(tt.codes, ",") {
				t.Errorf("error = %+v", e)
			}
			if IsNotFound(err) != tt.notFound || IsPlanPending(err) != tt.planState || IsConflict(err) || e.Retryable() || IsRetryable(err) {
				t.Errorf("classification wrong for %v", err)
			}
			if tt.fields != nil && strings.Join(e.Errors[len(e.Errors)-1].Fields, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("fields = %v", e.Errors)
			}
			if !strings.Contains(err.Error(), tt.wantSubstr) || !strings.HasPrefix(err.Error(), "get deployment ") {
				t.Errorf("message = %q", err)
			}
			if n.Load() != 1 {
				t.Errorf("requests = %d, want 1 (terminal errors are not retried)", n.Load())
			}
			if strings.Contains(err.Error(), testAPIKey) {
				t.Error("API key in error")
			}
		})
	}
}

func TestNonJSONBodies(t *testing.T) {
	html := []byte("<html><body>502 Bad Gateway</body></html>")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/api/v1/organizations" {
			w.Write(html) // 200 but not JSON
			return
		}
		w.WriteHeader(http.StatusBadGateway)
		w.Write(html)
	}))
	defer srv.Close()
	c, sl := newTestClient(t, srv, ECH, nil)

	_, err := c.Organizations(context.Background())
	if err == nil || !strings.Contains(err.Error(), "response body is not JSON (text/html, 41 bytes)") {
		t.Errorf("200 html: err = %v", err)
	}
	_, err = c.Keystore(context.Background(), "d", "_main")
	var e *Error
	if !errors.As(err, &e) || e.Status != 502 || len(e.Errors) != 0 {
		t.Fatalf("502 html: err = %v", err)
	}
	if !strings.Contains(err.Error(), "502 bad gateway") {
		t.Errorf("message = %q", err)
	}
	if len(sl.all()) != DefaultMaxRetries {
		t.Errorf("502 retried %d times, want %d", len(sl.all()), DefaultMaxRetries)
	}
}

func TestResponseTooLarge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"organizations":[`))
		chunk := []byte(strings.Repeat(`{"id":"x"},`, 1000))
		for written := 0; written <= MaxResponseBytes; written += len(chunk) {
			w.Write(chunk)
		}
		w.Write([]byte(`{"id":"x"}]}`))
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv, ECH, nil)
	if _, err := c.Organizations(context.Background()); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("err = %v", err)
	}
}

func TestRetries(t *testing.T) {
	type step struct {
		status int
		hdr    map[string]string
	}
	tests := []struct {
		name       string
		steps      []step // the last one repeats
		maxRetries int
		wantSleeps []time.Duration
		wantOK     bool
		wantRetry  time.Duration // RetryAfter of the final error
	}{
		{
			name:       "429 with Retry-After",
			steps:      []step{{429, map[string]string{"Retry-After": "2"}}, {200, nil}},
			wantSleeps: []time.Duration{2 * time.Second}, wantOK: true,
		},
		{
			name:       "429 with rate-limit headers",
			steps:      []step{{429, map[string]string{"x-ratelimit-remaining": "0", "x-ratelimit-limit": "100", "x-ratelimit-interval": "5"}}, {200, nil}},
			wantSleeps: []time.Duration{5 * time.Second}, wantOK: true,
		},
		{
			name:  "429 with HTTP-date Retry-After",
			steps: []step{{429, map[string]string{"Retry-After": "Sun, 06 Nov 1994 08:49:44 GMT"}}, {200, nil}},
			// testNow is 7s before that date.
			wantSleeps: []time.Duration{7 * time.Second}, wantOK: true,
		},
		{
			name:  "503 until the cap",
			steps: []step{{503, nil}},
			// equal jitter at 0.5: 3/4 of 0.5s, 1s, 2s.
			wantSleeps: []time.Duration{375 * time.Millisecond, 750 * time.Millisecond, 1500 * time.Millisecond},
		},
		{
			name:       "backoff is capped",
			steps:      []step{{500, nil}},
			maxRetries: 7,
			wantSleeps: []time.Duration{375 * time.Millisecond, 750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second, 6 * time.Second, 7500 * time.Millisecond, 7500 * time.Millisecond},
		},
		{
			name:      "Retry-After beyond MaxRetryWait gives up",
			steps:     []step{{429, map[string]string{"Retry-After": "3600"}}},
			wantRetry: time.Hour,
		},
		{name: "400 is terminal", steps: []step{{400, nil}}},
		{name: "401 is terminal", steps: []step{{401, nil}}},
		{name: "501 is terminal", steps: []step{{501, nil}}},
		{name: "retries off", steps: []step{{503, nil}}, maxRetries: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := int(n.Add(1)) - 1
				s := tt.steps[min(i, len(tt.steps)-1)]
				body := []byte(`{"organizations":[{"id":"554443047","name":"org"}]}`)
				if s.status != 200 {
					body = []byte(`{"errors":[{"code":"root.some_error","message":"nope"}]}`)
				}
				serveJSON(s.status, body, s.hdr)(w, r)
			}))
			defer srv.Close()
			c, sl := newTestClient(t, srv, ECH, func(cfg *Config) {
				cfg.MaxRetries = tt.maxRetries
				cfg.Now = func() time.Time { return time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC) }
			})
			orgs, err := c.Organizations(context.Background())
			if tt.wantOK != (err == nil) {
				t.Fatalf("err = %v", err)
			}
			if tt.wantOK && (len(orgs) != 1 || orgs[0].ID != "554443047") {
				t.Errorf("orgs = %+v", orgs)
			}
			got := sl.all()
			if len(got) != len(tt.wantSleeps) {
				t.Fatalf("sleeps = %v, want %v", got, tt.wantSleeps)
			}
			for i := range got {
				if got[i] != tt.wantSleeps[i] {
					t.Errorf("sleeps = %v, want %v", got, tt.wantSleeps)
					break
				}
			}
			if int(n.Load()) != len(got)+1 {
				t.Errorf("requests = %d, sleeps = %d", n.Load(), len(got))
			}
			var e *Error
			if err != nil && errors.As(err, &e) && e.RetryAfter != tt.wantRetry {
				t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tt.wantRetry)
			}
		})
	}
}

func TestRetryNetworkError(t *testing.T) {
	srv := httptest.NewServer(serveJSON(200, []byte(`{"secrets":{}}`), nil))
	defer srv.Close()
	var n atomic.Int32
	flaky := roundTripper(func(r *http.Request) (*http.Response, error) {
		if n.Add(1) == 1 {
			return nil, errors.New("connection reset by peer")
		}
		return srv.Client().Transport.RoundTrip(r)
	})
	c, sl := newTestClient(t, srv, ECH, func(cfg *Config) { cfg.Transport = flaky })
	if _, err := c.Keystore(context.Background(), "d", "_main"); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 2 || len(sl.all()) != 1 {
		t.Errorf("attempts = %d, sleeps = %v", n.Load(), sl.all())
	}
}

func TestRetryStopsWhenContextEnds(t *testing.T) {
	srv := httptest.NewServer(serveJSON(503, []byte(`{"errors":[]}`), nil))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	c, _ := newTestClient(t, srv, ECH, func(cfg *Config) {
		cfg.Sleep = func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }
	})
	_, err := c.Organizations(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
