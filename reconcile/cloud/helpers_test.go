package cloud

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"
)

const testAPIKey = "essu_dGVzdC1hcGkta2V5LXNlY3JldA=="

// fixture reads testdata/<name> (copies of shared/reference/fixtures/cloud-api).
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sleeps records the waits a client asked for instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// newTestClient returns a client for srv that records sleeps.
func newTestClient(t *testing.T, srv *httptest.Server, platform Platform, mod func(*Config)) (*Client, *sleeps) {
	t.Helper()
	s := &sleeps{}
	cfg := Config{Name: "test", Platform: platform, URL: srv.URL, APIKey: testAPIKey, Transport: srv.Client().Transport, Sleep: s.sleep}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.jitter = func() float64 { return 0.5 }
	return c, s
}

// jsonEqual reports whether a and b are the same JSON value.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("decode %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

// member returns the raw JSON at a path of object keys and array indexes.
func member(t *testing.T, doc []byte, path ...any) json.RawMessage {
	t.Helper()
	cur := json.RawMessage(doc)
	for _, p := range path {
		switch k := p.(type) {
		case string:
			var m map[string]json.RawMessage
			if err := json.Unmarshal(cur, &m); err != nil {
				t.Fatalf("at %v: %v", p, err)
			}
			v, ok := m[k]
			if !ok {
				t.Fatalf("no member %q in %s", k, cur)
			}
			cur = v
		case int:
			var a []json.RawMessage
			if err := json.Unmarshal(cur, &a); err != nil {
				t.Fatalf("at %v: %v", p, err)
			}
			if k >= len(a) {
				t.Fatalf("index %d out of range in %s", k, cur)
			}
			cur = a[k]
		}
	}
	return bytes.TrimSpace(cur)
}

// serveJSON answers every request with status and body.
func serveJSON(status int, body []byte, hdr map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	}
}
