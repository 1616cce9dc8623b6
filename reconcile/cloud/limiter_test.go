package cloud

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// A shared limiter paces the client: with a burst of 2 and no refill, the
// third request waits instead of being sent, and gives up with the caller.
func TestLimiterPacesRequests(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"organizations":[]}`))
	}))
	defer srv.Close()
	c, err := New(Config{Platform: ECH, URL: srv.URL, APIKey: "k", Limiter: rate.NewLimiter(0, 2), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := c.Organizations(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Organizations(ctx); err == nil {
		t.Fatal("third request went through a limiter with no tokens left")
	}
	if n := hits.Load(); n != 2 {
		t.Fatalf("server saw %d requests, want 2", n)
	}
}
