package daemon

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/spec"
)

func get(h http.Handler, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func TestLoopHandler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWorld{}
		l, stop := startLoop(t, w, nil, nil)
		defer stop()
		h := l.Handler(map[string]http.Handler{"GET /metrics": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("esremote_up 1\n"))
		})})

		for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
			if rec := get(h, "GET", path); rec.Code != http.StatusOK {
				t.Errorf("GET %s = %d %s", path, rec.Code, rec.Body)
			}
		}
		rec := get(h, "GET", "/status")
		r, err := drift.ReadJSON(rec.Body)
		if rec.Code != http.StatusOK || err != nil || r.Summary.Connections != 2 || r.Mode != drift.ModeRun {
			t.Fatalf("GET /status = %d, %v, %+v", rec.Code, err, r)
		}

		if rec := get(h, "GET", "/-/reload"); rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("GET /-/reload = %d, want 405", rec.Code)
		}
		w.set(func(w *fakeWorld) { w.digest = "sha256:two" })
		if rec := get(h, "POST", "/-/reload"); rec.Code != http.StatusOK {
			t.Errorf("POST /-/reload = %d %s", rec.Code, rec.Body)
		}
		synctest.Wait()
		if ps := w.passes(); len(ps) != 2 || ps[1].trigger != TriggerReload {
			t.Errorf("passes = %+v, want a reload pass", ps)
		}

		w.set(func(w *fakeWorld) {
			w.problems = spec.Problems{{Pos: spec.Pos{File: "b.yaml", Line: 1, Column: 2}, Severity: spec.SeverityError, Message: "bad"}}
		})
		rec = get(h, "POST", "/-/reload")
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "b.yaml:1:2") {
			t.Errorf("POST /-/reload of a bad set = %d %s", rec.Code, rec.Body)
		}
		if rec := get(h, "GET", "/readyz"); rec.Code != http.StatusServiceUnavailable || rec.Body.String() != "spec reload rejected (1 problem); see /status\n" {
			t.Errorf("GET /readyz after a rejected reload = %d %q", rec.Code, rec.Body)
		}
		// The report's error is an error already: the problem in it does
		// not say "error:" a second time.
		if rec := get(h, "GET", "/status"); !strings.Contains(rec.Body.String(), "previous spec set still running: b.yaml:1:2: bad") {
			t.Errorf("GET /status after a rejected reload does not carry the problem once: %s", rec.Body)
		}
		if rec := get(h, "GET", "/healthz"); rec.Code != http.StatusOK {
			t.Errorf("GET /healthz after a rejected reload = %d: liveness is not spec validity", rec.Code)
		}
	})
}

func TestLoopHandlerBeforeFirstPass(t *testing.T) {
	l, err := NewLoop(LoopConfig{Dir: "d", Load: (&fakeWorld{}).load, Pass: (&fakeWorld{}).pass})
	if err != nil {
		t.Fatal(err)
	}
	h := l.Handler(nil)
	for _, path := range []string{"/healthz", "/readyz", "/status"} {
		if rec := get(h, "GET", path); rec.Code != http.StatusServiceUnavailable {
			t.Errorf("GET %s before Run = %d, want 503", path, rec.Code)
		}
	}
}
