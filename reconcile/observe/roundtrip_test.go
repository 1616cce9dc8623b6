package observe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/esremote/esremote/reconcile/es"
)

// A local cluster costs one round trip (DESIGN §5, README's "sent at
// once"): its fixed three reads and, when wanted, its roles and its
// credential's privileges are all in flight before any of them is
// answered. The server holds each request until all five are in flight at
// once; read one after another, none would ever have company, each would
// wait out the hold alone, and the check below fails.
func TestStartLocalSendsItsReadsAtOnce(t *testing.T) {
	const reads = 5 // GET /, settings, remote info, roles, privileges
	f := &fakeES{count: map[string]int{}}
	var (
		mu       sync.Mutex
		inFlight int
		most     int
	)
	together := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		if inFlight == reads {
			close(together)
		}
		mu.Unlock()
		select {
		case <-together:
		case <-time.After(5 * time.Second): // a hold, not a bound: nothing asserts how long the reads took
		}
		mu.Lock()
		inFlight--
		mu.Unlock()
		if r.URL.Path == "/_security/user/_privileges" {
			w.Header().Set("X-Elastic-Product", "Elasticsearch")
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"cluster":["manage"],"global":[],"indices":[],"applications":[],"run_as":[],"remote_indices":[]}`))
			return
		}
		f.serve(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := es.New(es.Config{Name: "hub", URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)

	lr := NewReads().StartLocal(context.Background(), "hub", c, Want{Roles: true, Privileges: true})
	if _, err := lr.Observed(); err != nil {
		t.Fatal(err)
	}
	if roles, err := lr.Roles(); err != nil || len(roles) != 1 {
		t.Fatalf("roles %v, %v", roles, err)
	}
	if lr.Privileges() == nil {
		t.Fatal("the privileges were asked for and not read")
	}
	select {
	case <-together:
	default:
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("at most %d of the %d reads were in flight together: a local cluster costs more than one round trip", most, reads)
	}
	for _, r := range []string{"GET /", "GET /_cluster/settings", "GET /_remote/info", "GET /_security/role"} {
		if n := f.count[r]; n != 1 {
			t.Errorf("%s sent %d times, want once", r, n)
		}
	}
}
