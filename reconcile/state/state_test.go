package state

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/sim"
)

func TestMerge(t *testing.T) {
	for _, tc := range []struct {
		name, base, ours, theirs, want string
	}{
		{"they added, we added elsewhere", `{"keys":{"a":1}}`, `{"keys":{"a":1,"b":2}}`, `{"keys":{"a":1,"c":3}}`, `{"keys":{"a":1,"b":2,"c":3}}`},
		{"we removed, they kept", `{"keys":{"a":1,"b":2}}`, `{"keys":{"a":1}}`, `{"keys":{"a":1,"b":2}}`, `{"keys":{"a":1}}`},
		{"they removed what we left", `{"keys":{"a":1,"b":2}}`, `{"keys":{"a":1,"b":2}}`, `{"keys":{"a":1}}`, `{"keys":{"a":1}}`},
		{"both changed: ours", `{"v":1}`, `{"v":2}`, `{"v":3}`, `{"v":2}`},
		{"we changed nothing: theirs", `{"v":1}`, `{"v":1}`, `{"v":3}`, `{"v":3}`},
		{"no base", ``, `{"a":{"x":1}}`, `{"a":{"y":2},"b":1}`, `{"a":{"x":1,"y":2},"b":1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Merge([]byte(tc.base), []byte(tc.ours), []byte(tc.theirs))
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			json.Unmarshal(got, &g)
			json.Unmarshal([]byte(tc.want), &w)
			gb, _ := json.Marshal(g)
			wb, _ := json.Marshal(w)
			if string(gb) != string(wb) {
				t.Fatalf("got %s, want %s", gb, wb)
			}
		})
	}
}

// The daemon read the ledger at start and rewrites it whole; an apply
// recorded a key in between (the second bug). The daemon's next
// save keeps the apply's record, and keeps keeping it.
func TestFileSaveKeepsAnotherWritersRecords(t *testing.T) {
	dir := t.TempDir()
	daemon := &File{Dir: dir}
	if err := daemon.Save([]byte(`{"keys":{}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := daemon.Load(); err != nil {
		t.Fatal(err)
	}
	apply := &File{Dir: dir}
	if _, err := apply.Load(); err != nil {
		t.Fatal(err)
	}
	if err := apply.Save([]byte(`{"keys":{"by-apply":"A"}}`)); err != nil {
		t.Fatal(err)
	}
	for i, ours := range []string{`{"keys":{"by-daemon":"D"}}`, `{"keys":{"by-daemon":"D2"}}`} {
		if err := daemon.Save([]byte(ours)); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, LedgerFile))
		var got struct{ Keys map[string]string }
		json.Unmarshal(b, &got)
		if got.Keys["by-apply"] != "A" || !strings.HasPrefix(got.Keys["by-daemon"], "D") {
			t.Fatalf("save %d: %s; the apply's record is lost", i+1, b)
		}
	}
}

// clock is a settable clock shared by the leases of a test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func startStore(t *testing.T) (*sim.Server, *es.Client) {
	t.Helper()
	srv, err := sim.Start(context.Background(), sim.DefaultWorld())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c, err := es.New(es.Config{Name: "onprem-search", URL: srv.ClusterURL("onprem-search"), APIKey: srv.AdminAPIKey("onprem-search")})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// Two processes, one lease: exactly one leads; when the leader stops
// renewing, it stops passing Check at 2/3 TTL after its last renewal,
// and the standby takes over only a whole TTL after it last saw the
// lease change; at no instant do both pass Check.
func TestLeaseElectsOneAndFailsOver(t *testing.T) {
	_, c := startStore(t)
	ctx := t.Context()
	clk := &clock{now: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	const ttl = 3 * time.Second
	a := NewLease(LeaseConfig{Client: c, Holder: "admin-1:100", TTL: ttl, Now: clk.Now})
	b := NewLease(LeaseConfig{Client: c, Holder: "admin-2:200", TTL: ttl, Now: clk.Now})
	both := func(when string) {
		t.Helper()
		if a.Check() == nil && b.Check() == nil {
			t.Fatalf("%s: both pass Check", when)
		}
	}
	if ok, err := a.Step(ctx); !ok || err != nil {
		t.Fatalf("first step of a: %v %v", ok, err)
	}
	if ok, err := b.Step(ctx); ok || err != nil {
		t.Fatalf("b leads too: %v %v", ok, err)
	}
	if err := b.Check(); !errors.Is(err, ErrNotLeader) || !strings.Contains(err.Error(), "held by admin-1:100") {
		t.Fatalf("b.Check: %v", err)
	}
	if ld := b.Leadership(); ld.Role != RoleStandby || ld.Holder != "admin-1:100" || !ld.Expires.Equal(clk.Now().Add(ttl)) {
		t.Fatalf("b sees %+v", ld)
	}
	// Renewals keep a leading; b keeps seeing the lease change.
	for range 5 {
		clk.Add(a.RetryPeriod())
		a.Step(ctx)
		b.Step(ctx)
		both("renewing")
		if a.Check() != nil {
			t.Fatal("a lost the lease while renewing")
		}
	}
	// a stops renewing (it died, or cannot reach the store): 100ms steps.
	lastRenew := clk.Now()
	aStopped, bLeads := time.Duration(0), time.Duration(0)
	for i := 1; i <= 60 && bLeads == 0; i++ {
		clk.Add(100 * time.Millisecond)
		if ok, _ := b.Step(ctx); ok && bLeads == 0 {
			bLeads = clk.Now().Sub(lastRenew)
		}
		if a.Check() != nil && aStopped == 0 {
			aStopped = clk.Now().Sub(lastRenew)
		}
		both("failing over")
	}
	if aStopped == 0 || aStopped > a.RenewDeadline() {
		t.Fatalf("a stopped writing %v after its last renewal; want by its renew deadline %v", aStopped, a.RenewDeadline())
	}
	if bLeads < ttl || bLeads > ttl+b.RetryPeriod() {
		t.Fatalf("b took over %v after a's last renewal; want between TTL %v and TTL + a retry period", bLeads, ttl)
	}
	// a comes back: it sees b's lease and stays standby.
	if ok, _ := a.Step(ctx); ok || a.Leadership().Holder != "admin-2:200" {
		t.Fatalf("a after b took over: leads %v, %+v", ok, a.Leadership())
	}
	// b stops cleanly: the lease is released and a leads at its next step.
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := a.Step(ctx); !ok || err != nil {
		t.Fatalf("a after release: %v %v", ok, err)
	}
}

// A leader cut off from the store cluster (every request fails) stops
// writing before the lease it last wrote expires.
func TestLeaseFencedWhenStoreUnreachable(t *testing.T) {
	srv, c := startStore(t)
	ctx := t.Context()
	clk := &clock{now: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	a := NewLease(LeaseConfig{Client: c, Holder: "admin-1:100", TTL: 3 * time.Second, Now: clk.Now})
	if ok, _ := a.Step(ctx); !ok {
		t.Fatal("a does not lead")
	}
	expires := a.Leadership().Expires
	if _, err := srv.World.AddFault(sim.Fault{Target: "onprem-search", Kind: sim.FaultStatus, Status: 503}); err != nil {
		t.Fatal(err)
	}
	store := &Elasticsearch{Client: c, Lease: a, Now: clk.Now}
	for clk.Now().Before(expires) {
		clk.Add(a.RetryPeriod() / 2)
		_, err := a.Step(ctx)
		if err == nil {
			t.Fatal("a step against an unreachable store succeeded")
		}
		if a.Check() == nil && !clk.Now().Before(expires.Add(-a.TTL()/3)) {
			t.Fatalf("a still writes at %v, within a third of a TTL of the expiry %v", clk.Now(), expires)
		}
	}
	if err := store.Save([]byte(`{}`)); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("save by a fenced leader: %v; want ErrNotLeader", err)
	}
}

// The ledger document: saved under the lease with preconditions; a
// second writer's save (a fenced leader a moment too late) is merged, not
// lost; a standby cannot save; migration round-trips.
func TestElasticsearchStore(t *testing.T) {
	srv, c := startStore(t)
	ctx := t.Context()
	lease := NewLease(LeaseConfig{Client: c, Holder: "admin-1:100"})
	if ok, err := lease.Step(ctx); !ok || err != nil {
		t.Fatal(ok, err)
	}
	s := &Elasticsearch{Client: c, Lease: lease}
	if b, err := s.Load(); b != nil || err != nil {
		t.Fatalf("empty store: %s %v", b, err)
	}
	if err := s.Save([]byte(`{"keys":{"a":"1"}}`)); err != nil {
		t.Fatal(err)
	}
	// Someone else writes the document behind the store's back.
	src, _ := json.Marshal(ledgerSource{Ledger: `{"keys":{"a":"1","other":"9"}}`, SavedBy: "admin-2:200"})
	if err := srv.World.PutDocument("onprem-search", Index, LedgerID, src); err != nil {
		t.Fatal(err)
	}
	if err := s.Save([]byte(`{"keys":{"a":"1","b":"2"}}`)); err != nil {
		t.Fatal(err)
	}
	reader := &Elasticsearch{Client: c}
	b, err := reader.Load()
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Keys map[string]string }
	json.Unmarshal(b, &got)
	if got.Keys["other"] != "9" || got.Keys["b"] != "2" {
		t.Fatalf("after a concurrent write: %s; want both writers' records", b)
	}
	if err := reader.Save([]byte(`{}`)); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("read-only store saved: %v", err)
	}

	// Migrate to a file and back.
	f := &File{Dir: t.TempDir()}
	if _, err := Migrate(s, f); err != nil {
		t.Fatal(err)
	}
	if err := s.Retire(); err != nil {
		t.Fatal(err)
	}
	if b, _ := reader.Load(); b != nil {
		t.Fatalf("retired store still holds %s", b)
	}
	if _, err := Migrate(f, s); err != nil {
		t.Fatal(err)
	}
	if _, err := Migrate(f, s); !errors.Is(err, ErrDestinationHolds) {
		t.Fatalf("second migrate: %v; want a refusal", err)
	}
	if b, _ := reader.Load(); !strings.Contains(string(b), `"other": "9"`) {
		t.Fatalf("after the round trip: %s", b)
	}
}

// A standby does not wait for its next RetryPeriod tick to take over: it
// steps again exactly when the leader's lease has been unchanged for a
// TTL by its clock, so it leads then, not up to a RetryPeriod later. A
// leader steps a RetryPeriod after its last step started.
func TestLeaseNextStepTakesOverAtExpiry(t *testing.T) {
	srv, c := startStore(t)
	ctx := t.Context()
	clk := &clock{now: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	const ttl = 3 * time.Second
	a := NewLease(LeaseConfig{Client: c, Holder: "admin-1:100", TTL: ttl, Now: clk.Now})
	b := NewLease(LeaseConfig{Client: c, Holder: "admin-2:200", TTL: ttl, Now: clk.Now})
	if ok, _ := a.Step(ctx); !ok {
		t.Fatal("a does not lead")
	}
	if got := a.NextStep(); got != a.RetryPeriod() {
		t.Fatalf("leader's next step in %v; want a retry period %v", got, a.RetryPeriod())
	}
	clk.Add(400 * time.Millisecond) // b sees a's last renewal 400ms after it was sent
	if ok, _ := b.Step(ctx); ok {
		t.Fatal("b leads beside a")
	}
	seen := clk.Now()
	// a dies. b steps at its retry period while the lease is fresh (its
	// first step 150ms late, as after a slow request), then at the lease's
	// expiry by its clock, not at its next retry tick.
	var steps []time.Duration
	for i := range 10 {
		d := b.NextStep()
		if d > b.RetryPeriod() {
			t.Fatalf("b waits %v; more than a retry period", d)
		}
		if i == 0 {
			d += 150 * time.Millisecond
		}
		clk.Add(d)
		steps = append(steps, clk.Now().Sub(seen))
		if ok, _ := b.Step(ctx); ok {
			break
		}
	}
	if got := steps[len(steps)-1]; got != ttl {
		t.Fatalf("b stepped at %v after it last saw the lease change and led at %v; want it to lead exactly a TTL (%v) after", steps, got, ttl)
	}
	if a.Check() == nil {
		t.Fatal("both lead")
	}

	// The store goes away: b's leadership says why it cannot renew, and
	// says nothing once it can again.
	if _, err := srv.World.AddFault(sim.Fault{Target: "onprem-search", Path: "/" + Index + "/_doc/" + LeaseID, Kind: sim.FaultStatus, Status: 503}); err != nil {
		t.Fatal(err)
	}
	clk.Add(b.NextStep())
	if _, err := b.Step(ctx); err == nil {
		t.Fatal("step against a 503 succeeded")
	}
	if ld := b.Leadership(); ld.Role != RoleLeader || !strings.Contains(ld.Error, "503") {
		t.Fatalf("b within its renew deadline, renewal failing: %+v; want leader with the error", ld)
	}
	clk.Add(b.RenewDeadline())
	if ld := b.Leadership(); ld.Role != RoleStandby || !strings.Contains(ld.Error, "503") {
		t.Fatalf("b past its renew deadline: %+v; want standby with the error", ld)
	}
	srv.World.ClearFaults()
	if ok, err := b.Step(ctx); !ok || err != nil {
		t.Fatalf("b after the store came back: %v %v", ok, err)
	}
	if ld := b.Leadership(); ld.Error != "" {
		t.Fatalf("error kept after recovery: %+v", ld)
	}
}
