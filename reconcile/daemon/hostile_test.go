package daemon

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/esremote/esremote/spec"
)

// A load that blocks (a FIFO in the spec dir, a hung mount) freezes the
// loop: after BusyTimeout /readyz and /healthz say so with 503, and say
// ready again once the load returns. Before, both kept answering 200.
func TestReadyzNotReadyWhileLoopIsStuck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWorld{}
		release := make(chan struct{})
		blocking := false
		load := func(dir string) (*spec.Set, spec.Problems, error) {
			w.mu.Lock()
			b := blocking
			w.mu.Unlock()
			if b {
				<-release
			}
			return w.load(dir)
		}
		l, stop := startLoop(t, w, nil, func(c *LoopConfig) {
			c.Load = load
			c.BusyTimeout = 30 * time.Second
		})
		defer stop()
		h := l.Handler(nil)
		for _, path := range []string{"/healthz", "/readyz"} {
			if rec := get(h, "GET", path); rec.Code != http.StatusOK {
				t.Fatalf("GET %s before = %d %s", path, rec.Code, rec.Body)
			}
		}

		w.set(func(*fakeWorld) { blocking = true })
		l.Reload()
		synctest.Wait() // the loop is now blocked in Load
		time.Sleep(31 * time.Second)
		for path, want := range map[string]string{
			"/readyz":  "loop stuck: loading the spec directory for 31s\n",
			"/healthz": "not alive: loop stuck: loading the spec directory for 31s\n",
		} {
			rec := get(h, "GET", path)
			if rec.Code != http.StatusServiceUnavailable || rec.Body.String() != want {
				t.Errorf("GET %s while stuck = %d %q, want 503 %q", path, rec.Code, rec.Body, want)
			}
		}
		if st := l.Status(); st.Ready || st.Alive {
			t.Errorf("status while stuck: ready %v, alive %v", st.Ready, st.Alive)
		}

		close(release)
		synctest.Wait()
		for _, path := range []string{"/healthz", "/readyz"} {
			if rec := get(h, "GET", path); rec.Code != http.StatusOK {
				t.Errorf("GET %s after the load returned = %d %s", path, rec.Code, rec.Body)
			}
		}
	})
}

// With a token, /status and /-/reload answer 401 without it (or with a
// wrong one) and work with it; probes and metrics need none.
func TestRequireToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWorld{}
		l, stop := startLoop(t, w, nil, nil)
		defer stop()
		const token = "0123456789abcdef0123456789abcdef"
		ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("esremote_up 1\n")) })
		h := RequireToken(token, l.Handler(map[string]http.Handler{"GET /metrics": ok, "GET /{$}": ok}))
		send := func(method, path, auth string) *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(method, path, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			h.ServeHTTP(rec, req)
			return rec
		}
		for _, c := range []struct {
			method, path, auth string
			want               int
		}{
			{"GET", "/status", "", http.StatusUnauthorized},
			{"GET", "/status", "Bearer wrong", http.StatusUnauthorized},
			{"GET", "/status", token, http.StatusUnauthorized}, // no scheme
			{"POST", "/-/reload", "", http.StatusUnauthorized},
			{"GET", "/status/last-change", "", http.StatusUnauthorized},
			// The status page guards itself: without the token it is the
			// read-only view for a wall screen (cmd/esremote's
			// TestStatusPageKiosk), so RequireToken lets it through.
			{"GET", "/", "", http.StatusOK},
			{"GET", "/", "Bearer " + token, http.StatusOK},
			{"GET", "/status", "Bearer " + token, http.StatusOK},
			{"POST", "/-/reload", "Bearer " + token, http.StatusOK},
			{"GET", "/healthz", "", http.StatusOK},
			{"GET", "/readyz", "", http.StatusOK},
			{"GET", "/metrics", "", http.StatusOK},
		} {
			rec := send(c.method, c.path, c.auth)
			if rec.Code != c.want {
				t.Errorf("%s %s with %q = %d %s, want %d", c.method, c.path, c.auth, rec.Code, rec.Body, c.want)
			}
			if c.want == http.StatusUnauthorized && !strings.Contains(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s: 401 without WWW-Authenticate: Bearer", c.method, c.path)
			}
		}
		w.mu.Lock()
		loads := w.loads
		w.mu.Unlock()
		if loads != 2 {
			t.Errorf("%d loads, want 2 (the start and the one authorized reload)", loads)
		}
	})
}
