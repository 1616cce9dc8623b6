package ledger

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

// countingStore counts the saves of a ledger.
type countingStore struct {
	doc   []byte
	saves int
}

func (s *countingStore) Load() ([]byte, error) { return s.doc, nil }
func (s *countingStore) Save(doc []byte) error { s.doc, s.saves = doc, s.saves+1; return nil }
func (s *countingStore) String() string        { return "counting store" }

// A pass decides from a Copy taken when it starts (DESIGN §4): what the
// pass then writes to the ledger does not show in the copy, what is
// changed in the copy does not show in the ledger, and the copy is never
// saved.
func TestCopyIsIndependent(t *testing.T) {
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	store := &countingStore{}
	l, err := OpenStore(store)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(l.SetClusterUUID("local", "uuid-1"))
	must(l.SetAlias("local", "hub", "link", map[string]string{"cluster.remote.hub.mode": "sha256:1"}, false, now))
	must(l.SetRole("local", "reader", &Record{Fingerprint: "sha256:r"}))
	must(l.SetKeystore("local", "cluster.remote.hub.credentials", &Record{Fingerprint: "sha256:k"}))
	must(l.SetTrust("dep", "entry", &Record{Fingerprint: "sha256:t"}))
	must(l.SetKey("link", &KeyRecord{Local: "local", Alias: "hub", Remote: "remote", ID: "new",
		Previous: &KeyRecord{ID: "old"}}))
	must(l.SetKeyIntent("other", now))
	before, err := l.Document()
	if err != nil {
		t.Fatal(err)
	}
	c := l.Copy()
	if got, _ := c.Document(); string(got) != string(before) {
		t.Fatalf("copy differs from the ledger:\n%s\nwant\n%s", got, before)
	}
	if c.Installation() != l.Installation() {
		t.Errorf("copy's installation %q, want %q", c.Installation(), l.Installation())
	}

	// The pass writes the ledger: the copy keeps what it held.
	must(l.SetClusterUUID("local", "uuid-2"))
	must(l.SetAlias("local", "hub", "link", map[string]string{"cluster.remote.hub.mode": "sha256:2"}, true, now))
	must(l.SetRole("local", "reader", nil))
	must(l.SetKeystore("local", "cluster.remote.hub.credentials", &Record{Fingerprint: "sha256:k2"}))
	must(l.SetTrust("dep", "entry", nil))
	must(l.SetKey("link", nil))
	must(l.SetKeyIntent("other", time.Time{}))
	if got, _ := c.Document(); string(got) != string(before) {
		t.Errorf("the ledger's writes show in the copy:\n%s\nwant\n%s", got, before)
	}

	// Changing the copy changes neither the ledger nor its store.
	after, _ := l.Document()
	saves := store.saves
	must(c.SetAlias("local", "extra", "x", map[string]string{"k": "v"}, false, now))
	must(c.SetKey("x", &KeyRecord{ID: "x"}))
	if got, _ := l.Document(); string(got) != string(after) {
		t.Errorf("a change of the copy shows in the ledger")
	}
	if store.saves != saves {
		t.Errorf("the copy saved the ledger's store (%d saves, want %d)", store.saves, saves)
	}

	// Records handed out by the copy are its own.
	if k := c.Key("link"); k == nil || k.Previous == nil || k.Previous.ID != "old" {
		t.Errorf("copy's key record %+v, want the rotated-out key old", k)
	}
	if !reflect.DeepEqual(c.Alias("local", "hub").Keys, map[string]string{"cluster.remote.hub.mode": "sha256:1"}) {
		t.Errorf("copy's alias record %+v", c.Alias("local", "hub"))
	}
}

// A pass takes its Copy before its first read: the copy does not copy
// every alias record (one per alias esremote wrote), only the maps that
// hold them; the records are never changed in place, and what is read
// from the copy is still its own (TestCopyIsIndependent).
func TestCopySharesTheAliasRecords(t *testing.T) {
	l, err := New("x")
	if err != nil {
		t.Fatal(err)
	}
	const locals, aliases = 10, 100
	for i := range locals {
		recs := map[string]*AliasRecord{}
		for a := range aliases {
			recs[fmt.Sprintf("a%03d", a)] = &AliasRecord{Connection: "c", Keys: map[string]string{"k1": "v", "k2": "v"}}
		}
		if err := l.SetAliases(fmt.Sprintf("l%02d", i), recs); err != nil {
			t.Fatal(err)
		}
	}
	if n := testing.AllocsPerRun(5, func() { _ = l.Copy() }); n >= locals*aliases {
		t.Errorf("Copy made %.0f allocations for %d alias records: it copies each record", n, locals*aliases)
	}
}

// PendingAliases names exactly the pending aliases of a cluster, and in a
// cluster with none pending (an estate in sync) it copies no record and
// allocates nothing, whatever the number of aliases.
func TestPendingAliases(t *testing.T) {
	l, err := New("x")
	if err != nil {
		t.Fatal(err)
	}
	recs := map[string]*AliasRecord{}
	for a := range 100 {
		recs[fmt.Sprintf("a%03d", a)] = &AliasRecord{Connection: "c", Keys: map[string]string{"k": "v"}, Pending: a%40 == 7}
	}
	if err := l.SetAliases("l", recs); err != nil {
		t.Fatal(err)
	}
	got := l.PendingAliases("l")
	slices.Sort(got)
	if want := []string{"a007", "a047", "a087"}; !slices.Equal(got, want) {
		t.Errorf("PendingAliases = %v, want %v", got, want)
	}
	if err := l.SetAliases("l", map[string]*AliasRecord{"a007": {Connection: "c", Keys: map[string]string{"k": "v"}},
		"a047": {Connection: "c", Keys: map[string]string{"k": "v"}}, "a087": {Connection: "c", Keys: map[string]string{"k": "v"}}}); err != nil {
		t.Fatal(err)
	}
	if got := l.PendingAliases("l"); len(got) != 0 {
		t.Errorf("PendingAliases after the commits = %v, want none", got)
	}
	if n := testing.AllocsPerRun(10, func() { _ = l.PendingAliases("l") }); n != 0 {
		t.Errorf("PendingAliases of 100 committed aliases: %.0f allocations, want 0", n)
	}
	if got := l.PendingAliases("other"); len(got) != 0 {
		t.Errorf("PendingAliases of a cluster with no record = %v", got)
	}
}

// SharedAlias hands out the stored record itself, without a copy or an
// allocation; a later SetAliases stores a new record and leaves the one
// handed out as it was.
func TestSharedAlias(t *testing.T) {
	l, err := New("x")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetAlias("l", "a", "c", map[string]string{"k": "v1"}, true, time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	rec := l.SharedAlias("l", "a")
	if rec == nil || rec.Connection != "c" || rec.Keys["k"] != "v1" || !rec.Pending || l.SharedAlias("l", "b") != nil || l.SharedAlias("m", "a") != nil {
		t.Fatalf("SharedAlias = %+v", rec)
	}
	if !reflect.DeepEqual(rec, l.Alias("l", "a")) || l.SharedAlias("l", "a") != rec {
		t.Errorf("SharedAlias %+v is not the stored record (Alias: %+v)", rec, l.Alias("l", "a"))
	}
	if n := testing.AllocsPerRun(10, func() { _ = l.SharedAlias("l", "a") }); n != 0 {
		t.Errorf("SharedAlias: %.0f allocations, want 0", n)
	}
	if err := l.SetAlias("l", "a", "c", map[string]string{"k": "v2"}, false, time.Unix(2, 0)); err != nil {
		t.Fatal(err)
	}
	if rec.Keys["k"] != "v1" || !rec.Pending || l.SharedAlias("l", "a").Keys["k"] != "v2" {
		t.Errorf("after SetAlias: the record handed out is %+v, the stored one %+v", rec, l.SharedAlias("l", "a"))
	}
}
