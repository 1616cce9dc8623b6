package es

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func productHandler(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}
}

func mustNew(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // hang until the client gives up
	}))
	defer srv.Close()
	c := mustNew(t, Config{Name: "slow", URL: srv.URL, Timeout: 20 * time.Millisecond})
	_, err := c.RemoteInfo(context.Background())
	if !errors.Is(err, ErrTimeout) || !IsRetryable(err) {
		t.Fatalf("err = %v, want retryable ErrTimeout", err)
	}
	if err.Error() != "get remote info on slow: no complete response within 20ms" {
		t.Errorf("message = %q", err)
	}
}

// A hang while the body is streaming is a timeout too.
func TestTimeoutDuringBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		_, _ = io.WriteString(w, `{"a":`)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	c := mustNew(t, Config{URL: srv.URL, Timeout: 20 * time.Millisecond})
	if _, err := c.RemoteInfo(context.Background()); !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
}

func TestCallerCanceled(t *testing.T) {
	started := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	}))
	defer srv.Close()
	c := mustNew(t, Config{URL: srv.URL})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	_, err := c.Info(ctx)
	if !errors.Is(err, ErrCanceled) || !errors.Is(err, context.Canceled) || IsRetryable(err) {
		t.Fatalf("err = %v, want terminal ErrCanceled wrapping context.Canceled", err)
	}
}

func TestNetworkError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	c := mustNew(t, Config{Name: "gone", URL: "http://" + addr, Username: "u", Password: "pw-never-shown"})
	_, err = c.Settings(context.Background())
	e := asError(t, err)
	if e.Kind != ErrNetwork || !IsRetryable(err) || e.Status != 0 {
		t.Errorf("err = %#v", e)
	}
	if !strings.HasPrefix(err.Error(), "get cluster settings on gone: ") || strings.Contains(err.Error(), "pw-never-shown") {
		t.Errorf("message = %q", err)
	}
}

func TestHugeBody(t *testing.T) {
	var sent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		chunk := []byte(`{"a":"` + strings.Repeat("x", 1<<20) + `"},`)
		_, _ = io.WriteString(w, "[")
		for range 20 { // ~20 MiB, more than the default limit
			n, err := w.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
		_, _ = io.WriteString(w, "{}]")
	}))
	defer srv.Close()
	c := mustNew(t, Config{Name: "big", URL: srv.URL})
	_, err := c.Roles(context.Background())
	if !errors.Is(err, ErrBadResponse) || IsRetryable(err) {
		t.Fatalf("err = %v, want ErrBadResponse", err)
	}
	if err.Error() != "get roles on big: response body larger than 16777216 bytes" {
		t.Errorf("message = %q", err)
	}
}

func TestMaxResponseBytes(t *testing.T) {
	srv := httptest.NewServer(productHandler(`{"x":{"connected":true,"mode":"proxy"}}`))
	defer srv.Close()
	if _, err := mustNew(t, Config{URL: srv.URL, MaxResponseBytes: 10}).RemoteInfo(context.Background()); !errors.Is(err, ErrBadResponse) {
		t.Errorf("10-byte limit: err = %v", err)
	}
	if _, err := mustNew(t, Config{URL: srv.URL, MaxResponseBytes: 39}).RemoteInfo(context.Background()); err != nil {
		t.Errorf("limit equal to the body: err = %v", err)
	}
}

func TestProductCheck(t *testing.T) {
	f := newFake(t, exchange{method: "GET", path: "/", resp: infoBody, noProduct: true})
	_, err := f.client(t).Info(context.Background())
	if !errors.Is(err, ErrNotElasticsearch) || IsRetryable(err) {
		t.Fatalf("err = %v, want ErrNotElasticsearch", err)
	}
	if !strings.Contains(err.Error(), `server is not Elasticsearch (no "X-Elastic-Product: Elasticsearch" header)`) {
		t.Errorf("message = %q", err)
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(productHandler(`{}`))
	defer srv.Close()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})

	if _, err := mustNew(t, Config{URL: srv.URL, CACert: caPEM}).RemoteInfo(context.Background()); err != nil {
		t.Errorf("with the CA: %v", err)
	}
	_, err := mustNew(t, Config{Name: "tls", URL: srv.URL}).RemoteInfo(context.Background())
	if !errors.Is(err, ErrTLS) || IsRetryable(err) {
		t.Errorf("without the CA: err = %v, want terminal ErrTLS", err)
	}
	if _, err := mustNew(t, Config{URL: srv.URL, InsecureSkipVerify: true}).RemoteInfo(context.Background()); err != nil {
		t.Errorf("insecure: %v", err)
	}
}

// One client keeps reusing its connection.
func TestConnectionReuse(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(productHandler(`{}`))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := mustNew(t, Config{URL: srv.URL})
	for range 5 {
		if _, err := c.RemoteInfo(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 5 sequential requests, want 1", n)
	}
}

func TestNewRejects(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no url":             {},
		"bad scheme":         {URL: "ftp://h:9200"},
		"no host":            {URL: "https://"},
		"creds in url":       {URL: "https://elastic:hunter2@h:9200"},
		"both auths":         {URL: "https://h", APIKey: "k", Username: "u", Password: "hunter2"},
		"password only":      {URL: "https://h", Password: "hunter2"},
		"negative timeout":   {URL: "https://h", Timeout: -1},
		"bad pem":            {URL: "https://h", CACert: []byte("not pem")},
		"ca with transport":  {URL: "https://h", CACert: []byte("x"), Transport: http.DefaultTransport},
		"negative max bytes": {URL: "https://h", MaxResponseBytes: -1},
	} {
		_, err := New(cfg)
		if err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error leaks the password: %v", name, err)
		}
	}
	c, err := New(Config{URL: "https://h.example.com:9243"})
	if err != nil || c.Name() != "h.example.com:9243" {
		t.Errorf("default name: %v, %v", c, err)
	}
}

func TestCustomTransport(t *testing.T) {
	srv := httptest.NewServer(productHandler(`{}`))
	defer srv.Close()
	var used atomic.Bool
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used.Store(true)
		return http.DefaultTransport.RoundTrip(r)
	})
	if _, err := mustNew(t, Config{URL: srv.URL, Transport: rt}).RemoteInfo(context.Background()); err != nil || !used.Load() {
		t.Errorf("custom transport: used=%v err=%v", used.Load(), err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The client is safe for concurrent use (run with -race).
func TestConcurrentCalls(t *testing.T) {
	srv := httptest.NewServer(productHandler(`{"a":{"connected":true,"mode":"proxy"}}`))
	defer srv.Close()
	c := mustNew(t, Config{URL: srv.URL})
	errs := make(chan error, 16)
	for range cap(errs) {
		go func() {
			_, err := c.RemoteInfo(context.Background())
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// Config.Wait hears of each request as it starts, by target and "METHOD
// /path" (never the query), and its end.
func TestWaitHook(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	var started, ended []string
	c := mustNew(t, Config{Name: "ech-analytics", URL: srv.URL, Wait: func(target, op string) func() {
		started = append(started, target+" "+op)
		return func() { ended = append(ended, target+" "+op) }
	}})
	if _, err := c.RemoteInfo(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"ech-analytics GET /_remote/info"}
	if !slices.Equal(started, want) || !slices.Equal(ended, want) {
		t.Fatalf("started %q, ended %q; want %q", started, ended, want)
	}
}
