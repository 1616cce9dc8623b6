package state

import (
	"strings"
	"testing"
	"time"
)

// Two hosts whose --lease-ttl differ (60s and 6s, as mid-way through a
// config rollout): the 6s standby waits the 60s the holder wrote, so the
// 60s leader renewing every 20s is never joined by a second leader, and
// the standby says its flag differs. When the leader dies, the standby
// takes over a holder's TTL after it last saw the lease change, not its
// own 6s.
func TestLeaseStandbyWaitsHolderTTL(t *testing.T) {
	_, c := startStore(t)
	ctx := t.Context()
	clk := &clock{now: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	a := NewLease(LeaseConfig{Client: c, Holder: "admin-1:100", TTL: 60 * time.Second, Now: clk.Now})
	b := NewLease(LeaseConfig{Client: c, Holder: "admin-2:200", TTL: 6 * time.Second, Now: clk.Now})
	if ok, _ := a.Step(ctx); !ok {
		t.Fatal("a does not lead")
	}
	// 3 minutes in 500ms ticks: a steps at its retry period (20s), b as
	// often as it likes.
	nextA := clk.Now().Add(a.RetryPeriod())
	for range 360 {
		clk.Add(500 * time.Millisecond)
		if !clk.Now().Before(nextA) {
			a.Step(ctx)
			nextA = clk.Now().Add(a.RetryPeriod())
		}
		if ok, _ := b.Step(ctx); ok {
			t.Fatalf("at %s the 6s standby took the lease of the 60s leader", clk.Now().Format(time.TimeOnly))
		}
		if a.Check() == nil && b.Check() == nil {
			t.Fatal("two leaders")
		}
	}
	ld := b.Leadership()
	if ld.HolderTTL != 60*time.Second || ld.TTL != 6*time.Second {
		t.Fatalf("b's leadership: %+v", ld)
	}
	if m := ld.TTLMismatch(); !strings.Contains(m, "--lease-ttl 6s differs from the holder's 1m0s") {
		t.Fatalf("TTLMismatch = %q", m)
	}
	if m := a.Leadership().TTLMismatch(); m != "" {
		t.Fatalf("the leader reports a mismatch: %q", m)
	}
	// a dies right after a renewal that b saw.
	a.Step(ctx)
	b.Step(ctx)
	seen := clk.Now()
	if d := b.NextStep(); d > b.RetryPeriod() {
		t.Fatalf("b's next step in %v", d)
	}
	var took time.Duration
	for range 200 {
		clk.Add(500 * time.Millisecond)
		if ok, _ := b.Step(ctx); ok {
			took = clk.Now().Sub(seen)
			break
		}
	}
	if took < 60*time.Second || took > 61*time.Second {
		t.Fatalf("b took over %v after the last renewal it saw; want the holder's 60s", took)
	}
}

// A lease that names no TTL (unreadable, or written by hand) gets the
// longer of the reader's TTL and the default: taking over late only
// delays a failover, taking over early makes two leaders.
func TestLeaseHolderTTLFallback(t *testing.T) {
	l := NewLease(LeaseConfig{TTL: 6 * time.Second})
	l.seen = leaseDoc{Holder: "(unreadable lease)"}
	if got := l.holderTTL(); got != DefaultLeaseTTL {
		t.Fatalf("holderTTL without ttl_ms = %v; want %v", got, DefaultLeaseTTL)
	}
	l.seen.TTLMilli = 90_000
	if got := l.holderTTL(); got != 90*time.Second {
		t.Fatalf("holderTTL = %v", got)
	}
}
