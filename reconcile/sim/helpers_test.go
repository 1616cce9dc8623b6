package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// testClock is a settable clock for World.Now.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// startDefault serves the default world with a fixed clock.
func startDefault(t *testing.T, opts ...Option) (*Server, *testClock) {
	t.Helper()
	w := DefaultWorld()
	clock := &testClock{now: time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)}
	w.Now = clock.Now
	srv, err := Start(context.Background(), w, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, clock
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return m
}

// do sends a request with an Authorization header value.
func do(t *testing.T, client *http.Client, method, url, authz string, body any) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	req.Header.Set("Content-Type", "application/json")
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// es calls a cluster with its admin API key.
func es(t *testing.T, srv *Server, cluster, method, path string, body any) response {
	t.Helper()
	return do(t, srv.HTTPClient(), method, srv.ClusterURL(cluster)+path, "ApiKey "+srv.AdminAPIKey(cluster), body)
}

// esBasic calls a cluster as its admin user.
func esBasic(t *testing.T, srv *Server, cluster, method, path string, body any) response {
	t.Helper()
	u, p := srv.BasicAuth(cluster)
	return do(t, srv.HTTPClient(), method, srv.ClusterURL(cluster)+path, basicHeader(u, p), body)
}

// cloud calls a control plane with its API key.
func cloud(t *testing.T, srv *Server, platform, method, path string, body any) response {
	t.Helper()
	return do(t, srv.HTTPClient(), method, srv.ControlPlaneURL(platform)+path, "ApiKey "+srv.ControlPlaneAPIKey(platform), body)
}

func errorReason(t *testing.T, r response) string {
	t.Helper()
	m := r.json(t)
	e, _ := m["error"].(map[string]any)
	s, _ := e["reason"].(string)
	return s
}

func errorType(t *testing.T, r response) string {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	s, _ := e["type"].(string)
	return s
}
