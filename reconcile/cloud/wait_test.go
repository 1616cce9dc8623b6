package cloud

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// Config.Wait hears of each request once, retries and their waits
// included, by target and "METHOD /api/v1/path" (never the query).
func TestWaitHook(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"errors":[{"code":"root.unavailable","message":"busy"}]}`))
			return
		}
		w.Header().Set("x-cloud-resource-version", "1")
		w.Write([]byte(`{"id":"abc","resources":{"elasticsearch":[]}}`))
	}))
	defer srv.Close()
	var started, ended []string
	c, _ := newTestClient(t, srv, ECH, func(cfg *Config) {
		cfg.Wait = func(target, op string) func() {
			started = append(started, target+" "+op)
			return func() { ended = append(ended, target+" "+op) }
		}
	})
	_, _ = c.Deployment(t.Context(), "abc")
	if calls != 2 {
		t.Fatalf("%d requests; want a retry", calls)
	}
	want := []string{"test GET /api/v1/deployments/abc"}
	if !slices.Equal(started, want) || !slices.Equal(ended, want) {
		t.Fatalf("started %q, ended %q; want %q", started, ended, want)
	}
}
