// Package cloud is a small client for the Elastic Cloud Hosted (ECH) and
// Elastic Cloud Enterprise (ECE) REST APIs: deployment GET and trust updates
// that carry the current plan verbatim, the Elasticsearch keystore, the
// deployment certificate authority, ECE trust relationships and ECH
// organizations.
//
// The client works on raw JSON wherever it sends back what it read, so that
// fields it does not model survive a GET→PUT round trip unchanged. It retries
// 429, 5xx and network failures itself (see Config.MaxRetries): that is the
// only retry layer for a single call; the reconcile loop backs off between
// passes, not between attempts of one request.
//
// Secret values (the Cloud API key, basic-auth password, keystore values) are
// never logged and never put into errors.
package cloud

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// Platform is the kind of control plane a Client talks to.
type Platform string

// The platforms.
const (
	ECH Platform = "ech" // Elastic Cloud Hosted
	ECE Platform = "ece" // Elastic Cloud Enterprise
)

// Defaults applied by New.
const (
	// DefaultTimeout bounds one HTTP attempt. A deployment GET with plans
	// and settings is a few hundred KiB at most; 30s is generous.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxRetries is used when Config.MaxRetries is 0.
	DefaultMaxRetries = 3
	// DefaultECERegion is the single region of an ECE installation; the
	// /platform endpoints live under /api/v1/regions/<region>.
	DefaultECERegion = "ece-region"
	// MaxResponseBytes caps a response body. The largest body the API
	// returns (a deployment with plans and metadata) is far below it.
	MaxResponseBytes = 16 << 20
)

// Config says how to reach one control plane.
type Config struct {
	// Name identifies the target in errors and logs (for example the spec
	// Cluster name). Optional.
	Name string
	// Platform is ECH or ECE.
	Platform Platform
	// URL is the API's base URL, with or without the trailing /api/v1:
	// https://api.elastic-cloud.com or https://ece.example.com:12443.
	URL string
	// APIKey is sent as "Authorization: ApiKey <key>". ECH accepts only an
	// API key; ECE accepts an API key or Username and Password (sent as
	// HTTP basic auth on every request).
	APIKey             string
	Username, Password string
	// CACert is a PEM bundle trusted in addition to the system roots (ECE
	// coordinators often have a self-signed certificate).
	CACert []byte
	// InsecureSkipVerify turns off TLS verification. Callers should warn
	// loudly while it is set.
	InsecureSkipVerify bool
	// Timeout bounds one HTTP attempt; DefaultTimeout when zero.
	Timeout time.Duration
	// Transport replaces the default transport (tests, proxies). When set,
	// CACert and InsecureSkipVerify must be empty: configure TLS on it.
	Transport http.RoundTripper
	// Region is the ECE region used for /platform calls; DefaultECERegion
	// when empty. Unused on ECH.
	Region string
	// MaxRetries is how many times a call is retried after a 429, a 5xx
	// (except 501) or a network error: 0 means DefaultMaxRetries, a
	// negative value turns retries off. Waits honour Retry-After and
	// x-ratelimit-interval, otherwise capped, jittered exponential backoff.
	MaxRetries int
	// MaxRetryWait caps a single wait between attempts (default 30s). A
	// server asking for a longer Retry-After ends the retries; the returned
	// *Error carries RetryAfter so the caller can wait instead.
	MaxRetryWait time.Duration
	// Logger receives debug events: one per attempt (operation, status,
	// time; never headers or bodies) and one per retry. Nil discards them.
	Logger *slog.Logger
	// Sleep waits between attempts; it must return early with ctx.Err()
	// when ctx is done. Nil uses a timer. Tests inject it to avoid waiting.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock used to interpret an HTTP-date Retry-After. Nil uses
	// time.Now.
	Now func() time.Time
	// Limiter, when set, paces every attempt (retries included). Share one
	// between the clients of one API so that a large estate stays under
	// the control plane's rate limit instead of bouncing off its 429s.
	Limiter *rate.Limiter
	// WriteGate, when set, is asked before every request that is not a
	// GET: an error stops the request before it is sent (the process does
	// not hold the state store's lease) and is returned, never retried.
	WriteGate func() error
	// OpaqueID, when set, is sent as X-Opaque-Id on every request: which
	// esremote process ("HOST:PID") sent it, for the other side's logs.
	OpaqueID string
	// Wait, when set, is told of every request as it starts, retries and
	// their waits included (the cluster's name and "METHOD /api/v1/path",
	// never the query or a body), and returns the function to call when it
	// ends: the command shows a request that takes long.
	Wait func(target, op string) (done func())
}

// String describes the configuration without its secrets.
func (c Config) String() string {
	auth := "none"
	switch {
	case c.APIKey != "":
		auth = "api_key=<redacted>"
	case c.Username != "":
		auth = "basic user=" + c.Username + " password=<redacted>"
	}
	return fmt.Sprintf("cloud.Config{name=%q platform=%s url=%s auth=%s}", c.Name, c.Platform, c.URL, auth)
}

// GoString is String, so %#v does not print secrets either.
func (c Config) GoString() string { return c.String() }

// LogValue keeps secrets out of structured logs.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Client talks to one ECH or ECE control plane. It is safe for concurrent use.
type Client struct {
	name       string
	platform   Platform
	base       *url.URL // scheme://host[:port]/prefix, without /api/v1
	authHeader string
	region     string
	http       *http.Client
	maxRetries int
	maxWait    time.Duration
	log        *slog.Logger
	sleep      func(context.Context, time.Duration) error
	now        func() time.Time
	jitter     func() float64 // in [0,1)
	limiter    *rate.Limiter
	gate       func() error
	opaqueID   string
	wait       func(target, op string) (done func())
}

// New checks cfg and returns a Client. It does no I/O.
func New(cfg Config) (*Client, error) {
	if cfg.Platform != ECH && cfg.Platform != ECE {
		return nil, fmt.Errorf("cloud client %s: platform %q is not %q or %q", cfg.Name, cfg.Platform, ECH, ECE)
	}
	base, err := parseBase(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("cloud client %s: %w", cfg.Name, err)
	}
	c := &Client{
		name:       cfg.Name,
		platform:   cfg.Platform,
		base:       base,
		region:     cfg.Region,
		maxRetries: cfg.MaxRetries,
		maxWait:    cfg.MaxRetryWait,
		log:        cfg.Logger,
		sleep:      cfg.Sleep,
		now:        cfg.Now,
		jitter:     rand.Float64,
		limiter:    cfg.Limiter,
		gate:       cfg.WriteGate,
		opaqueID:   cfg.OpaqueID,
		wait:       cfg.Wait,
	}
	switch {
	case cfg.APIKey != "" && (cfg.Username != "" || cfg.Password != ""):
		return nil, fmt.Errorf("cloud client %s: set an API key or a username and password, not both", cfg.Name)
	case cfg.APIKey != "":
		c.authHeader = "ApiKey " + cfg.APIKey
	case cfg.Platform == ECH:
		return nil, fmt.Errorf("cloud client %s: ECH needs an API key (basic auth is not accepted)", cfg.Name)
	case cfg.Username != "" && cfg.Password != "":
		c.authHeader = "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password))
	default:
		return nil, fmt.Errorf("cloud client %s: ECE needs an API key or a username and password", cfg.Name)
	}
	if c.region == "" {
		c.region = DefaultECERegion
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = DefaultMaxRetries
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.maxWait <= 0 {
		c.maxWait = 30 * time.Second
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	if c.now == nil {
		c.now = time.Now
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	rt := cfg.Transport
	if rt != nil && (len(cfg.CACert) > 0 || cfg.InsecureSkipVerify) {
		return nil, fmt.Errorf("cloud client %s: a custom transport excludes ca_cert and insecure_skip_verify", cfg.Name)
	}
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // opt-in, callers warn
		if len(cfg.CACert) > 0 {
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(cfg.CACert) {
				return nil, fmt.Errorf("cloud client %s: ca cert: no PEM certificate found", cfg.Name)
			}
			tc.RootCAs = pool
		}
		t.TLSClientConfig = tc
		rt = t
	}
	c.http = &http.Client{Transport: rt, Timeout: timeout}
	return c, nil
}

// Platform reports the platform the client was configured for.
func (c *Client) Platform() Platform { return c.platform }

// parseBase accepts a base URL with or without /api/v1 and returns it
// without that suffix.
func parseBase(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("url is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("url %q: scheme must be https or http", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("url %q has no host", raw)
	}
	if u.User != nil {
		return nil, errors.New("url must not carry credentials; use the auth settings")
	}
	u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/api/v1")
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// request is one API call.
type request struct {
	method string
	path   string // under /api/v1, starting with "/", segments already escaped
	query  url.Values
	body   []byte // nil for none
	out    any    // decoded from a 2xx body when non-nil
}

// do sends r, retrying transient failures, and returns the response header
// of the successful attempt. Failures are *Error (an HTTP status) or a
// wrapped transport / decoding error.
func (c *Client) do(ctx context.Context, r request) (http.Header, error) {
	op := r.method + " /api/v1" + r.path
	target := c.base.String() + "/api/v1" + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	if c.gate != nil && r.method != http.MethodGet && r.method != http.MethodHead {
		if err := c.gate(); err != nil {
			return nil, fmt.Errorf("%s on %s: not sent: %w", op, c.name, err)
		}
	}
	if c.wait != nil {
		done := c.wait(c.name, op)
		defer done()
	}
	for attempt := 0; ; attempt++ {
		hdr, err := c.once(ctx, op, target, r)
		if err == nil {
			return hdr, nil
		}
		if ctx.Err() != nil || attempt >= c.maxRetries || !IsRetryable(err) {
			return nil, err
		}
		wait, ok := c.waitFor(err, attempt)
		if !ok {
			return nil, err
		}
		c.log.DebugContext(ctx, "retrying cloud api request", "target", c.name, "action", op, "attempt", attempt+1, "wait", wait, "err", err)
		if serr := c.sleep(ctx, wait); serr != nil {
			return nil, fmt.Errorf("%s: %w (while waiting to retry after: %v)", op, serr, err)
		}
	}
}

// once performs one attempt.
func (c *Client) once(ctx context.Context, op, target string, r request) (http.Header, error) {
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			return nil, &netError{op: op, err: fmt.Errorf("waiting for the rate limiter: %w", err)}
		}
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	req.Header.Set("Authorization", c.authHeader)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "esremote")
	if c.opaqueID != "" {
		req.Header.Set("X-Opaque-Id", c.opaqueID)
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.log.DebugContext(ctx, "cloud api request", "target", c.name, "action", op, "err", "network error", "took", time.Since(start).Round(time.Millisecond))
		// url.Error carries the URL (no credentials: they are in headers).
		return nil, &netError{op: op, err: err}
	}
	c.log.DebugContext(ctx, "cloud api request", "target", c.name, "action", op, "status", resp.StatusCode, "took", time.Since(start).Round(time.Millisecond))
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, &netError{op: op, err: fmt.Errorf("read response: %w", err)}
	}
	if len(data) > MaxResponseBytes {
		return nil, fmt.Errorf("%s: response body exceeds %d bytes", op, MaxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, c.newError(op, resp, data)
	}
	if r.out != nil {
		if err := decodeJSON(data, resp.Header, r.out); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
	return resp.Header, nil
}

// decodeJSON decodes a response body, with a clear error for bodies that
// are not JSON at all (HTML from a proxy, an empty body). The body itself is
// not quoted: it could echo request content.
func decodeJSON(data []byte, h http.Header, out any) error {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return errors.New("empty response body, expected JSON")
	}
	if !json.Valid(trimmed) {
		ct := h.Get("Content-Type")
		if mt, _, err := mime.ParseMediaType(ct); err == nil {
			ct = mt
		}
		if ct == "" {
			ct = "no content type"
		}
		return fmt.Errorf("response body is not JSON (%s, %d bytes)", ct, len(data))
	}
	if err := json.Unmarshal(trimmed, out); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}

// netError is a transport failure (connection refused, reset, timeout).
// It is retryable.
type netError struct {
	op  string
	err error
}

func (e *netError) Error() string { return e.op + ": " + e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pathEscape escapes one path segment.
func pathEscape(s string) string { return url.PathEscape(s) }
