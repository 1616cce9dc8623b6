package state

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/esremote/esremote/reconcile/es"
)

// Index is the index that holds the ledger and the lease.
const Index = "esremote-state"

// Document ids in Index.
const (
	LeaseID  = "lease"
	LedgerID = "ledger"
)

// DefaultLeaseTTL is --lease-ttl: how long a lease lasts without renewal.
// A standby takes over at most this long after the leader's last renewal
// it saw; long enough that a leader's slow request or a GC pause does not
// hand leadership over, short enough that a dead host is replaced within
// a resync or two.
const DefaultLeaseTTL = 30 * time.Second

// Roles of a process sharing a store.
const (
	RoleLeader  = "leader"
	RoleStandby = "standby"
)

// ErrNotLeader is returned by every write path of a process that does not
// hold the lease (errors.Is): it must not write now.
var ErrNotLeader = errors.New("this esremote does not hold the state store's lease")

// Leadership is who may write, as /status and `esremote status` show it.
type Leadership struct {
	Role string `json:"role"` // RoleLeader or RoleStandby
	// Holder is the lease holder's "HOST:PID" ("" when nobody holds it).
	Holder string `json:"holder"`
	// Expires is when the holder's lease runs out unless renewed.
	Expires time.Time `json:"expires,omitzero"`
	// Error is why the last step could not read or write the lease (the
	// store unreachable); "" when it could. A leader with an error stops
	// writing at its renew deadline; Holder and Expires are then the
	// lease as last seen.
	Error string `json:"error,omitempty"`
	// HolderTTL is the TTL the holder wrote in the lease (0: none held):
	// the one this process waits for before taking over.
	HolderTTL time.Duration `json:"holder_ttl,omitempty"`
	// TTL is this process's own --lease-ttl.
	TTL time.Duration `json:"ttl,omitempty"`
	// Blocked is why this process did not take a free or expired lease
	// (LeaseConfig.MayLead refused); "" when it was not refused.
	Blocked string `json:"blocked,omitempty"`
}

// TTLMismatch says, when the holder is another process whose TTL differs
// from this one's flag, what that means; "" otherwise.
func (ld Leadership) TTLMismatch() string {
	if ld.HolderTTL == 0 || ld.TTL == 0 || ld.HolderTTL == ld.TTL || ld.Role == RoleLeader {
		return ""
	}
	return fmt.Sprintf("this host's --lease-ttl %s differs from the holder's %s: it waits the holder's %s before taking over; make the flag the same on every host", ld.TTL, ld.HolderTTL, ld.HolderTTL)
}

// leaseDoc is the lease document's source.
type leaseDoc struct {
	Holder   string    `json:"holder"` // HOST:PID
	ID       string    `json:"id"`     // unique per process: two processes never share one
	Acquired time.Time `json:"acquired"`
	Renewed  time.Time `json:"renewed"`
	TTLMilli int64     `json:"ttl_ms"`
	Expires  time.Time `json:"expires"`
}

// Lease elects one writer among the processes sharing a store, the way
// client-go's leaderelection does, over an Elasticsearch document written
// with if_seq_no/if_primary_term (op_type=create for the first one):
//
//   - the leader renews every TTL/3 ([Lease.RetryPeriod]);
//   - a leader whose last successful renewal was sent more than
//     2/3 TTL ago ([Lease.RenewDeadline]) stops writing at once
//     ([Lease.Check] fails), before any standby can take over;
//   - a standby takes over only when the lease document has not changed
//     for a whole TTL by its own clock (it never compares clocks across
//     hosts: the expiry written in the document is informational), and
//     that TTL is the holder's, as written in the lease (ttl_ms), never
//     the standby's own --lease-ttl: like client-go's leaderelection,
//     every duration a reader acts on is the one the holder recorded. Two
//     hosts with different flags (mid-way through a config rollout) used
//     to run two leaders: a standby with 6s took over from a holder with
//     60s that renews every 20s. [Leadership.HolderTTL] shows the
//     holder's, so a host whose flag differs can say so.
//
// So two processes never both pass Check at the same time, given clocks
// that run at about the same rate. A lost race is a 409 from
// Elasticsearch, never two leaders.
type Lease struct {
	client  *es.Client
	index   string
	ttl     time.Duration
	now     func() time.Time
	me      leaseDoc
	mayLead func(ctx context.Context) error

	mu       sync.Mutex
	doc      es.Doc    // the lease document last seen (Found false: none)
	seen     leaseDoc  // its source
	seenAt   time.Time // local time the document was last seen to change
	leader   bool
	validTil time.Time // leader: Check passes until then (local clock)
	lastErr  error     // of the last Step; nil when it reached the store
	blocked  error     // MayLead's refusal at the last create or takeover
	// lastStart is when the last Step started (local clock).
	lastStart time.Time
}

// LeaseConfig configures NewLease.
type LeaseConfig struct {
	Client *es.Client
	// Index defaults to Index.
	Index string
	// Holder names this process ("HOST:PID"); default from os.Hostname
	// and os.Getpid.
	Holder string
	// TTL defaults to DefaultLeaseTTL.
	TTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// MayLead, when set, is asked before this process creates the lease
	// or takes it over (never before a renewal): an error keeps it
	// standing by, and Leadership.Blocked says why. Daemons sharing a
	// store use it to refuse leading on specs that diverge from the ones
	// last applied.
	MayLead func(ctx context.Context) error
}

// NewLease prepares a lease; it sends nothing until Step.
func NewLease(cfg LeaseConfig) *Lease {
	if cfg.Index == "" {
		cfg.Index = Index
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultLeaseTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Holder == "" {
		cfg.Holder = HolderName()
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Lease{client: cfg.Client, index: cfg.Index, ttl: cfg.TTL, now: cfg.Now, mayLead: cfg.MayLead,
		me: leaseDoc{Holder: cfg.Holder, ID: hex.EncodeToString(b), TTLMilli: cfg.TTL.Milliseconds()}}
}

// HolderName is this process's "HOST:PID".
func HolderName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	return host + ":" + strconv.Itoa(os.Getpid())
}

// TTL is the lease duration.
func (l *Lease) TTL() time.Duration { return l.ttl }

// RenewDeadline is how long after its last successful renewal (counted
// from when it was sent) a leader still writes: 2/3 of the TTL, so it
// stops a third of a TTL before a standby may take over.
func (l *Lease) RenewDeadline() time.Duration { return l.ttl * 2 / 3 }

// RetryPeriod is how often Run steps: a third of the TTL, so a leader
// gets two tries to renew before its deadline.
func (l *Lease) RetryPeriod() time.Duration { return l.ttl / 3 }

// Holder is this process's name in the lease.
func (l *Lease) Holder() string { return l.me.Holder }

// Check returns nil while this process holds the lease and its renew
// deadline has not passed; every write path calls it before writing.
func (l *Lease) Check() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.leader && l.now().Before(l.validTil) {
		return nil
	}
	if l.doc.Found && l.seen.ID != l.me.ID && l.seen.Holder != "" {
		return fmt.Errorf("%w: it is held by %s", ErrNotLeader, l.seen.Holder)
	}
	return ErrNotLeader
}

// Leadership is this process's role and the holder as last seen.
func (l *Lease) Leadership() Leadership {
	l.mu.Lock()
	defer l.mu.Unlock()
	ld := Leadership{Role: RoleStandby, TTL: l.ttl}
	if l.leader && l.now().Before(l.validTil) {
		ld.Role = RoleLeader
	}
	if l.doc.Found {
		ld.Holder, ld.Expires = l.seen.Holder, l.seen.Expires
		ld.HolderTTL = l.holderTTL()
	}
	if l.lastErr != nil {
		ld.Error = l.lastErr.Error()
	}
	if l.blocked != nil {
		ld.Blocked = l.blocked.Error()
	}
	return ld
}

// NextStep is how long from now Run waits before its next step: until a
// RetryPeriod after the last step started, except for a standby watching
// another holder's lease, which steps again as soon as that lease has
// been unchanged for a TTL by its own clock, so it takes over a dead
// leader's lease then rather than up to a RetryPeriod later.
func (l *Lease) NextStep() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	next := l.lastStart.Add(l.RetryPeriod())
	if l.doc.Found && l.seen.ID != l.me.ID && l.lastErr == nil {
		next = minTime(next, l.seenAt.Add(l.holderTTL()))
	}
	return max(next.Sub(l.now()), 0)
}

// holderTTL is how long the lease last seen lasts without renewal, as its
// holder wrote it (l.mu held). A lease that names no TTL, or that cannot
// be read, gets the longer of this process's TTL and DefaultLeaseTTL:
// the harsher choice, since taking over too early makes two leaders and
// too late only delays a failover.
func (l *Lease) holderTTL() time.Duration {
	if l.seen.TTLMilli > 0 {
		return time.Duration(l.seen.TTLMilli) * time.Millisecond
	}
	return max(l.ttl, DefaultLeaseTTL)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// Step is one round of the election (client-go's tryAcquireOrRenew): read
// the lease; renew it when this process holds it; create it when there is
// none; take it over when it has not changed for a TTL. It returns
// whether this process leads now. An error (the store unreachable) leaves
// a leader leading until its renew deadline, no longer.
func (l *Lease) Step(ctx context.Context) (bool, error) {
	ok, err := l.step(ctx)
	l.mu.Lock()
	l.lastErr = err
	l.mu.Unlock()
	return ok, err
}

func (l *Lease) step(ctx context.Context) (bool, error) {
	start := l.now()
	l.mu.Lock()
	l.lastStart = start
	l.mu.Unlock()
	cur, err := l.client.GetDoc(ctx, l.index, LeaseID)
	if err != nil {
		return l.leading(), fmt.Errorf("read lease: %w", err)
	}
	l.mu.Lock()
	if !cur.Found || !sameVersion(cur, l.doc) {
		l.doc, l.seenAt = cur, start
		l.seen = leaseDoc{}
		if cur.Found {
			if err := json.Unmarshal(cur.Source, &l.seen); err != nil {
				l.seen = leaseDoc{Holder: "(unreadable lease)"}
			}
		}
	}
	mine := cur.Found && l.seen.ID == l.me.ID
	expired := cur.Found && !mine && start.Sub(l.seenAt) >= l.holderTTL()
	l.mu.Unlock()

	var p es.Precondition
	switch {
	case !cur.Found:
		p = es.Precondition{Create: true}
	case mine, expired:
		p = es.IfMatch(cur)
	default:
		l.lose()
		return false, nil
	}
	if !mine && l.mayLead != nil {
		err := l.mayLead(ctx)
		l.mu.Lock()
		l.blocked = err
		l.mu.Unlock()
		if err != nil {
			l.lose()
			return false, nil
		}
	}
	next := l.me
	next.Renewed, next.Expires = start.UTC(), start.Add(l.ttl).UTC()
	next.Acquired = start.UTC()
	if mine && !l.seen.Acquired.IsZero() {
		next.Acquired = l.seen.Acquired
	}
	body, _ := json.Marshal(next)
	w, err := l.client.IndexDoc(ctx, l.index, LeaseID, body, p)
	switch {
	case es.IsConflict(err):
		// Someone else wrote the lease between our read and our write.
		l.lose()
		return false, nil
	case err != nil:
		return l.leading(), fmt.Errorf("write lease: %w", err)
	}
	l.mu.Lock()
	l.doc, l.seen, l.seenAt = w.Doc(l.index, LeaseID, body), next, start
	l.leader, l.validTil = true, start.Add(l.RenewDeadline())
	l.mu.Unlock()
	return true, nil
}

func sameVersion(a, b es.Doc) bool {
	return a.Found == b.Found && a.SeqNo == b.SeqNo && a.PrimaryTerm == b.PrimaryTerm
}

func (l *Lease) lose() {
	l.mu.Lock()
	l.leader = false
	l.mu.Unlock()
}

// leading is whether Check passes now.
func (l *Lease) leading() bool { return l.Check() == nil }

// Release gives the lease up (a clean stop), so a standby takes over at
// its next step instead of a TTL later: the document is read again (a
// renewal cut short may have landed unseen) and deleted only if it is
// still this process's, at the version read.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	was := l.leader
	l.leader = false
	l.mu.Unlock()
	if !was {
		return nil
	}
	cur, err := l.client.GetDoc(ctx, l.index, LeaseID)
	if err != nil || !cur.Found {
		return err
	}
	var d leaseDoc
	if json.Unmarshal(cur.Source, &d) != nil || d.ID != l.me.ID {
		return nil // someone else's by now
	}
	_, err = l.client.DeleteDoc(ctx, l.index, LeaseID, es.IfMatch(cur))
	if es.IsConflict(err) {
		return nil
	}
	return err
}

// Run steps until ctx ends, waiting NextStep between steps, and calls
// onChange (if set) whenever the role or the holder changes, with the new
// leadership; it releases the lease on the way out. onStep (if set) hears
// of every step's outcome: its error, nil when the store answered.
func (l *Lease) Run(ctx context.Context, onChange func(Leadership), onStep func(error)) {
	var last Leadership
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		if _, err := l.Step(ctx); onStep != nil && ctx.Err() == nil {
			onStep(err)
		}
		if ld := l.Leadership(); ld.Role != last.Role || ld.Holder != last.Holder || ld.HolderTTL != last.HolderTTL {
			last = ld
			if onChange != nil {
				onChange(ld)
			}
		}
		t.Reset(l.NextStep())
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.Background(), l.RetryPeriod())
			_ = l.Release(rctx)
			cancel()
			return
		case <-t.C:
		}
	}
}
