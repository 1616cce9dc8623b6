package main

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/sim"
	"github.com/esremote/esremote/reconcile/state"
)

// capture is a slog.Handler that keeps every record.
type capture struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (c *capture) Enabled(context.Context, slog.Level) bool { return true }
func (c *capture) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recs = append(c.recs, r.Clone())
	return nil
}
func (c *capture) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *capture) WithGroup(string) slog.Handler      { return c }

// lines are the records with one of the messages, as "LEVEL msg err=…".
func (c *capture) lines(msgs ...string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, r := range c.recs {
		for _, m := range msgs {
			if r.Message != m {
				continue
			}
			s := r.Level.String() + " " + r.Message
			r.Attrs(func(a slog.Attr) bool {
				if a.Key == "err" {
					s += " err=" + a.Value.String()
				}
				return true
			})
			out = append(out, s)
		}
	}
	return out
}

// The daemon's lease loop logs the lease's errors on change (STYLE.md
// rule 9): once when the store stops answering, again only when the error
// changes, once when it answers again, and again after that when it
// fails anew; not at every step.
func TestSharedLeaseErrorsLoggedOnChange(t *testing.T) {
	srv, err := sim.Start(context.Background(), sim.DefaultWorld())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	client, err := es.New(es.Config{Name: "onprem-search", URL: srv.ClusterURL("onprem-search"), APIKey: srv.AdminAPIKey("onprem-search")})
	if err != nil {
		t.Fatal(err)
	}
	logs := &capture{}
	sh := &shared{lease: state.NewLease(state.LeaseConfig{Client: client, TTL: 300 * time.Millisecond}), client: client, log: slog.New(logs)}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); sh.run(ctx, func() {}) }()
	defer func() { cancel(); <-done }()

	leaseDoc := "/" + state.Index + "/_doc/" + state.LeaseID
	steps := func() int {
		n := 0
		for _, r := range srv.Log() {
			if r.Method == "GET" && r.Path == leaseDoc {
				n++
			}
		}
		return n
	}
	// waitSteps waits for n more steps of the lease loop.
	waitSteps := func(n int) {
		t.Helper()
		want := steps() + n
		waitFor(t, "lease steps", func() bool { return steps() >= want })
	}
	fault := func(status int) int {
		t.Helper()
		// GET only: a fault that also caught the renew's PUT logged a
		// "write lease" line when it landed mid-renew (then "read lease"
		// on the next step), so under load the test saw 5 lines, not 4.
		id, err := srv.World.AddFault(sim.Fault{Target: "onprem-search", Method: "GET", Path: leaseDoc, Kind: sim.FaultStatus, Status: status})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	msgs := []string{"state store lease", "state store lease recovered"}

	waitFor(t, "leads", func() bool { return sh.lease.Check() == nil })
	id := fault(503)
	waitSteps(4)
	// The 500 goes in before the 503 goes out: no step between them
	// reaches the store.
	id500 := fault(500)
	srv.World.RemoveFault(id)
	waitSteps(4)
	srv.World.RemoveFault(id500)
	waitSteps(4)
	fault(503)
	waitSteps(2)

	got := logs.lines(msgs...)
	want := []string{"WARN state store lease err=read lease: ", "WARN state store lease err=read lease: ", "INFO state store lease recovered", "WARN state store lease err=read lease: "}
	if len(got) != len(want) {
		t.Fatalf("logged:\n%s\nwant 4 lines: the 503, the 500, the recovery, the 503 again", strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("line %d: %q; want it to begin %q", i+1, got[i], want[i])
		}
	}
	if !strings.Contains(got[0], "503") || !strings.Contains(got[1], "500") || !strings.Contains(got[3], "503") {
		t.Errorf("logged:\n%s\nwant the 503, then the 500, then the 503", strings.Join(got, "\n"))
	}
	// /status says why too, while it lasts.
	if ld := sh.leadership(); !strings.Contains(ld.Error, "503") {
		t.Errorf("leadership while the lease cannot be read: %+v; want the error", ld)
	}
}

// What `esremote status` prints about the leadership, the lease reachable
// or not.
func TestLeadershipText(t *testing.T) {
	at := time.Date(2026, 11, 29, 14, 0, 30, 0, time.UTC)
	for _, tc := range []struct {
		ld   drift.Leadership
		want string
	}{
		{drift.Leadership{Role: drift.RoleLeader, Holder: "a:1", Expires: at},
			"Leader: this daemon holds the state store's lease until " + stamp(at) + " and writes."},
		{drift.Leadership{Role: drift.RoleLeader, Holder: "a:1", Expires: at, Error: "read lease: 503"},
			"Leader: this daemon holds the state store's lease until " + stamp(at) + " and writes, but cannot renew it (read lease: 503): it stops writing before the lease expires."},
		{drift.Leadership{Role: drift.RoleStandby, Holder: "b:2", Expires: at},
			"Standby: observes and reports only; b:2 leads (lease until " + stamp(at) + ")."},
		{drift.Leadership{Role: drift.RoleStandby, Holder: "a:1", Expires: at, Error: "read lease: 503"},
			"Standby: this daemon cannot reach the state store's lease (read lease: 503) and writes nothing; last seen held by a:1 (lease until " + stamp(at) + ")."},
		{drift.Leadership{Role: drift.RoleStandby, Error: "read lease: 503"},
			"Standby: this daemon cannot reach the state store's lease (read lease: 503) and writes nothing."},
	} {
		if got := leadershipText(&tc.ld); got != tc.want {
			t.Errorf("%+v:\n got %s\nwant %s", tc.ld, got, tc.want)
		}
	}
}
