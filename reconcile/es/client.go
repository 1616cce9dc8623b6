// Package es is esremote's Elasticsearch adapter: the few REST calls the
// reconciler needs (cluster settings, _remote/info, _resolve/cluster,
// cross-cluster API keys, roles, secure-settings reload, a canary search),
// on top of github.com/elastic/go-elasticsearch/v8's esapi and
// github.com/elastic/elastic-transport-go, wired together here rather than
// through go-elasticsearch's root package: the root package imports the
// typed API (858 generated packages), which tripled a cold build of the
// binary for code esremote never calls (BENCHMARKS.md, "cold build").
// TestNoTypedAPI keeps it that way.
//
// Every call makes at most one HTTP request: the client never retries (see
// [New]). Failures are *[Error] values classified as retryable or terminal,
// so the one retry layer — the engine's per-target backoff — can decide.
// Values are decoded into this package's own types rather than the typed
// API's, because the typed API drops or mangles fields the reconciler
// depends on (es-api.md §9.3).
//
// The package takes plain configuration values and imports no other
// esremote package.
package es

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/elastic/elastic-transport-go/v8/elastictransport"
	"github.com/elastic/go-elasticsearch/v8/esapi"
)

const (
	// DefaultTimeout bounds one request, from sending it to reading the
	// last byte of the response. Elasticsearch's own master and ack
	// timeouts default to 30s, so a shorter client timeout would cut off
	// answers that are merely slow.
	DefaultTimeout = 30 * time.Second

	// DefaultMaxResponseBytes caps how much of a response body is read.
	// The largest answers esremote reads (all roles, all API keys of an
	// owner) are far below it; a bigger body means a wrong endpoint or a
	// misbehaving proxy, and must not exhaust the daemon's memory.
	DefaultMaxResponseBytes = 16 << 20

	// maxIdleConnsPerHost keeps enough idle connections for the handful of
	// requests one reconcile pass sends to a cluster concurrently, so they
	// are reused between passes instead of redialled (TLS handshakes).
	maxIdleConnsPerHost = 8
)

// Config says how to reach and authenticate to one cluster.
type Config struct {
	// Name identifies the cluster in errors ("put cluster settings on
	// <name>: …"). Defaults to the URL's host.
	Name string
	// URL is the cluster's HTTP endpoint, e.g. https://host:9243. It must
	// not carry credentials.
	URL string

	// APIKey is an encoded API key (base64 of "id:key"); or set Username
	// and Password for basic authentication. Not both.
	APIKey   string
	Username string
	Password string

	// CACert is PEM data added to the system roots to verify the server.
	// TLS verification is always on unless InsecureSkipVerify is set.
	CACert             []byte
	InsecureSkipVerify bool

	// Timeout bounds each request; zero means DefaultTimeout.
	Timeout time.Duration
	// MaxResponseBytes caps the response body read; zero means
	// DefaultMaxResponseBytes.
	MaxResponseBytes int64

	// Transport, if set, replaces the client's own HTTP transport (tests,
	// a pool shared between clients). CACert and InsecureSkipVerify then
	// do not apply and must be empty.
	Transport http.RoundTripper

	// WriteGate, when set, is asked before every request that writes (see
	// IsWrite): an error stops the request before it is sent, and the call
	// fails with an *Error of kind ErrFenced. The daemon passes its lease
	// check, so that a process that does not hold the state store's lease
	// writes nothing, whatever path the write takes.
	WriteGate func() error
	// OpaqueID, when set, is sent as X-Opaque-Id on every request: which
	// esremote process ("HOST:PID") sent it, as Elasticsearch's slow logs
	// and task list show it.
	OpaqueID string

	// Logger receives one debug event per request: the operation, the
	// status (or error kind) and how long it took; never headers or
	// bodies. Nil discards them.
	Logger *slog.Logger
	// Wait, when set, is told of every request as it starts (the cluster's
	// name and "METHOD /path", never the query or a body) and returns the
	// function to call when it ends: the command shows a request that
	// takes long ("still waiting for …").
	Wait func(target, op string) (done func())
}

// Client talks to one Elasticsearch cluster. It is safe for concurrent use.
type Client struct {
	name     string
	es       *esapi.API
	timeout  time.Duration
	maxBody  int64
	ownTrans *http.Transport // nil when Config.Transport was given
	log      *slog.Logger

	// settingKeys and aliasKeys are the keys of the last settings and
	// remote-info answers (decodeSettings, decodeRemoteInfo).
	settingKeys, aliasKeys keyTable
}

// New checks cfg and returns a client for it. It sends no request.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	switch {
	case cfg.URL == "":
		return nil, errors.New("new elasticsearch client: url is required")
	case err != nil:
		return nil, fmt.Errorf("new elasticsearch client: invalid url: %w", err)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return nil, fmt.Errorf("new elasticsearch client: url must be http(s)://host[:port], got scheme %q", u.Scheme)
	case u.User != nil:
		return nil, errors.New("new elasticsearch client: url must not contain credentials; use api key or username and password")
	}
	name := cfg.Name
	if name == "" {
		name = u.Host
	}
	fail := func(msg string) error { return fmt.Errorf("new elasticsearch client for %s: %s", name, msg) }
	switch {
	case cfg.APIKey != "" && (cfg.Username != "" || cfg.Password != ""):
		return nil, fail("set either an api key or username and password, not both")
	case cfg.Password != "" && cfg.Username == "":
		return nil, fail("password given without username")
	case cfg.Timeout < 0:
		return nil, fail("timeout must not be negative")
	case cfg.MaxResponseBytes < 0:
		return nil, fail("max response bytes must not be negative")
	}

	c := &Client{name: name, timeout: cfg.Timeout, maxBody: cfg.MaxResponseBytes, log: cfg.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxBody == 0 {
		c.maxBody = DefaultMaxResponseBytes
	}

	rt := cfg.Transport
	if rt == nil {
		t, err := newTransport(cfg.CACert, cfg.InsecureSkipVerify)
		if err != nil {
			return nil, fail(err.Error())
		}
		c.ownTrans, rt = t, t
	} else if len(cfg.CACert) > 0 || cfg.InsecureSkipVerify {
		return nil, fail("ca cert and insecure skip verify apply only to the built-in transport, not to a custom one")
	}

	u.Path = strings.TrimRight(u.Path, "/")
	opts := []elastictransport.Option{
		elastictransport.WithURLs(u),
		elastictransport.WithTransport(rt),
		elastictransport.WithUserAgent(userAgent),
		// One retry layer (STYLE.md item 8): the transport would retry
		// 502/503/504 and network errors up to 3 times on its own. It is
		// switched off here; every call makes one request and returns a
		// classified *Error, and daemon.Loop's per-target backoff is
		// the only place that retries.
		elastictransport.WithDisableRetry(),
	}
	switch {
	case cfg.APIKey != "":
		opts = append(opts, elastictransport.WithAPIKey(cfg.APIKey))
	case cfg.Username != "":
		opts = append(opts, elastictransport.WithBasicAuth(cfg.Username, cfg.Password))
	}
	tp, err := elastictransport.NewClient(opts...)
	if err != nil {
		return nil, fail(err.Error())
	}
	// The product check stays on: like go-elasticsearch's root client
	// (elasticsearch.go, BaseClient.Perform/genuineCheckHeader), a first
	// successful response without "X-Elastic-Product: Elasticsearch" is
	// refused, which catches a URL pointing at the wrong server; send
	// reports it as ErrNotElasticsearch. The typed-API "compatibility
	// mode" headers are not sent: the target is 8.x.
	var next esapi.Transport = &productCheck{next: tp}
	if cfg.WriteGate != nil || cfg.OpaqueID != "" {
		next = &gated{next: next, gate: cfg.WriteGate, opaqueID: cfg.OpaqueID}
	}
	if cfg.Wait != nil {
		next = &waited{next: next, name: cfg.Name, wait: cfg.Wait}
	}
	c.es = esapi.New(next)
	return c, nil
}

// IsWrite reports whether a request may change the cluster: any method
// but GET and HEAD, except a search sent as POST.
func IsWrite(method, path string) bool {
	switch {
	case method == http.MethodGet, method == http.MethodHead:
		return false
	case method == http.MethodPost && strings.HasSuffix(path, "/_search"):
		return false
	}
	return true
}

// fencedError is a write WriteGate stopped; transportError makes it an
// *Error of kind ErrFenced.
type fencedError struct{ err error }

func (e *fencedError) Error() string { return "not sent: " + e.err.Error() }
func (e *fencedError) Unwrap() error { return e.err }

// gated asks the write gate before a write and labels every request.
type gated struct {
	next     esapi.Transport
	gate     func() error
	opaqueID string
}

func (g *gated) Perform(req *http.Request) (*http.Response, error) {
	if g.gate != nil && IsWrite(req.Method, req.URL.Path) {
		if err := g.gate(); err != nil {
			return nil, &fencedError{err: err}
		}
	}
	if g.opaqueID != "" {
		req.Header.Set("X-Opaque-Id", g.opaqueID)
	}
	return g.next.Perform(req)
}

// waited tells Config.Wait of each request while it is under way.
type waited struct {
	next esapi.Transport
	name string
	wait func(target, op string) (done func())
}

func (w *waited) Perform(req *http.Request) (*http.Response, error) {
	done := w.wait(w.name, req.Method+" "+req.URL.Path)
	defer done()
	return w.next.Perform(req)
}

// userAgent names esremote and the library version it speaks through, as
// go-elasticsearch's root client would ("go-elasticsearch/8.19.7").
var userAgent = "esremote go-elasticsearch/" + esapi.Version

// readBody reads at most limit+1 bytes of a response, into one buffer of
// the announced length when there is one (Elasticsearch sends it,
// DefaultRestChannel.sendResponse) instead of growing from 512 bytes.
func readBody(body io.Reader, h http.Header, limit int64) ([]byte, error) {
	r := io.LimitReader(body, limit+1)
	if n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil && n > 0 && n <= limit {
		var buf bytes.Buffer
		buf.Grow(int(n) + bytes.MinRead) // ReadFrom needs MinRead free to stop without growing
		_, err := buf.ReadFrom(r)
		return buf.Bytes(), err
	}
	return io.ReadAll(r)
}

// errNotElasticsearch is what productCheck returns; transportError turns
// it into an *Error of kind ErrNotElasticsearch.
var errNotElasticsearch = errors.New(`server is not Elasticsearch (no "X-Elastic-Product: Elasticsearch" header)`)

// productCheck refuses a successful response that does not say it comes
// from Elasticsearch, until one does; after that it passes everything
// through. This is go-elasticsearch's own rule (BaseClient.doProductCheck):
// the header is checked on 2xx responses only, because proxies in front
// of a cluster answer errors without it.
type productCheck struct {
	next   esapi.Transport
	passed atomic.Bool
}

func (p *productCheck) Perform(req *http.Request) (*http.Response, error) {
	res, err := p.next.Perform(req)
	if err != nil || p.passed.Load() || res.StatusCode < 200 || res.StatusCode >= 300 {
		return res, err
	}
	if res.Header.Get("X-Elastic-Product") != "Elasticsearch" {
		res.Body.Close()
		return nil, errNotElasticsearch
	}
	p.passed.Store(true)
	return res, nil
}

// newTransport builds the client's own HTTP transport: HTTP/2 where the
// server offers it, idle connections kept for reuse, and TLS verified
// against the system roots plus caPEM.
func newTransport(caPEM []byte, insecure bool) (*http.Transport, error) {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if len(caPEM) > 0 && !roots.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("ca cert holds no PEM certificate")
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = maxIdleConnsPerHost
	t.TLSClientConfig = &tls.Config{
		RootCAs:            roots,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: insecure, // only when the operator asked for it
	}
	return t, nil
}

// Name returns the cluster name used in errors.
func (c *Client) Name() string { return c.name }

// Close releases idle connections of the client's own transport. The
// client must not be used afterwards.
func (c *Client) Close() {
	if c.ownTrans != nil {
		c.ownTrans.CloseIdleConnections()
	}
}

// response is a fully read HTTP response.
type response struct {
	status int
	header http.Header
	body   []byte
}

// send runs one esapi call under the client's timeout and reads the whole
// (size-limited) body. A non-nil error is always an *Error; an HTTP error
// status is not an error here (see decode).
func (c *Client) send(ctx context.Context, op string, call func(context.Context) (*esapi.Response, error)) (response, error) {
	return c.sendWithin(ctx, op, c.timeout, call)
}

// sendWithin is send with its own deadline (a settings PUT, which
// Elasticsearch answers only after its ack timeout).
func (c *Client) sendWithin(ctx context.Context, op string, d time.Duration, call func(context.Context) (*esapi.Response, error)) (response, error) {
	rctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()

	start := time.Now()
	res, err := call(rctx)
	// The event's attributes are made only when it is logged: a daemon
	// logs at info, and every request of every pass comes here.
	debug := c.log.Enabled(ctx, slog.LevelDebug)
	if err != nil {
		e := c.transportError(ctx, op, d, err)
		if debug {
			c.log.DebugContext(ctx, "es request", "target", c.name, "action", op, "err", e.Kind.Error(), "took", time.Since(start).Round(time.Millisecond))
		}
		return response{}, e
	}
	if debug {
		c.log.DebugContext(ctx, "es request", "target", c.name, "action", op, "status", res.StatusCode, "took", time.Since(start).Round(time.Millisecond))
	}
	defer res.Body.Close()
	body, err := readBody(res.Body, res.Header, c.maxBody)
	if err != nil {
		return response{}, c.transportError(ctx, op, d, err)
	}
	if int64(len(body)) > c.maxBody {
		return response{}, &Error{Op: op, Target: c.name, Kind: ErrBadResponse, Status: res.StatusCode,
			Reason: fmt.Sprintf("response body larger than %d bytes", c.maxBody)}
	}
	return response{status: res.StatusCode, header: res.Header, body: body}, nil
}

// transportError classifies an error that left no usable response.
func (c *Client) transportError(ctx context.Context, op string, d time.Duration, err error) *Error {
	e := &Error{Op: op, Target: c.name, Kind: ErrNetwork, Err: err}
	var (
		netErr  net.Error
		certErr *tls.CertificateVerificationError
		unkAuth x509.UnknownAuthorityError
		hostErr x509.HostnameError
		invErr  x509.CertificateInvalidError
	)
	var fenced *fencedError
	switch {
	case errors.As(err, &fenced):
		e.Kind, e.Err = ErrFenced, fenced.err
	case ctx.Err() != nil:
		// The caller gave up (shutdown, its own deadline): not ours to retry.
		e.Kind, e.Err = ErrCanceled, ctx.Err()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		e.Kind, e.Err = ErrTimeout, nil
		e.Reason = fmt.Sprintf("no complete response within %s", d)
	case errors.As(err, &certErr), errors.As(err, &unkAuth), errors.As(err, &hostErr), errors.As(err, &invErr):
		e.Kind = ErrTLS
	case errors.Is(err, errNotElasticsearch):
		e.Kind, e.Err = ErrNotElasticsearch, nil
		e.Reason = errNotElasticsearch.Error()
	}
	return e
}

// decode turns a response into out (may be nil) or into an *Error: any
// status of 300 or more is an error built from the Elasticsearch error body.
func (c *Client) decode(op string, r response, out any) error {
	if r.status >= 300 {
		return c.statusError(op, r)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(r.body, out); err != nil {
		return &Error{Op: op, Target: c.name, Kind: ErrBadResponse, Status: r.status,
			Reason: describeBadBody(r), Err: err}
	}
	return nil
}

// describeBadBody says what came back when JSON was expected, without
// quoting the body (it may be anything).
func describeBadBody(r response) string {
	ct := r.header.Get("Content-Type")
	if ct == "" {
		ct = "no content type"
	}
	if !json.Valid(r.body) {
		return fmt.Sprintf("response is not JSON (%s, %d bytes)", ct, len(r.body))
	}
	return "response JSON has an unexpected shape"
}

// esErrorBody is Elasticsearch's error envelope. "error" is an object on
// 8.x, and a plain string for some errors (no handler found for uri).
type esErrorBody struct {
	Error  json.RawMessage `json:"error"`
	Status int             `json:"status"`
}

type esErrorCause struct {
	Type       string  `json:"type"`
	Reason     string  `json:"reason"`
	RootCause  []Cause `json:"root_cause"`
	Suppressed []Cause `json:"suppressed"`
}

// statusError builds the *Error for an HTTP error status.
func (c *Client) statusError(op string, r response) *Error {
	e := &Error{Op: op, Target: c.name, Kind: kindForStatus(r.status), Status: r.status}
	if ra := r.header.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(ra); err == nil && secs >= 0 {
			e.RetryAfter = time.Duration(secs) * time.Second
		}
	}
	var body esErrorBody
	if len(bytes.TrimSpace(r.body)) == 0 {
		return e
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		// A proxy's HTML page, for instance. Say what it was, not what it said.
		e.Reason = describeBadBody(r)
		return e
	}
	var cause esErrorCause
	var msg string
	switch {
	case len(body.Error) == 0:
	case json.Unmarshal(body.Error, &cause) == nil:
		e.Type, e.Reason, e.RootCause, e.Suppressed = cause.Type, cause.Reason, cause.RootCause, cause.Suppressed
	case json.Unmarshal(body.Error, &msg) == nil:
		e.Reason = msg
	}
	return e
}
