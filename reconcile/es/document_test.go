package es

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/esremote/esremote/reconcile/sim"
)

func simClient(t *testing.T) (*Client, *sim.Server) {
	t.Helper()
	srv, err := sim.Start(context.Background(), sim.DefaultWorld())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return mustNew(t, Config{Name: "store", URL: srv.ClusterURL("ech-analytics"), APIKey: srv.AdminAPIKey("ech-analytics")}), srv
}

// Two writers race for one document: the precondition lets exactly one
// win each round, and the loser gets a typed conflict carrying
// Elasticsearch's reason, never a silent overwrite.
func TestDocumentPreconditions(t *testing.T) {
	c, _ := simClient(t)
	ctx := t.Context()
	const index, id = "esremote-state", "lease"

	d, err := c.GetDoc(ctx, index, id)
	if err != nil || d.Found {
		t.Fatalf("missing index: %+v, %v; want not found and no error", d, err)
	}
	w, err := c.IndexDoc(ctx, index, id, []byte(`{"holder":"a"}`), Precondition{Create: true})
	if err != nil || w.Result != "created" {
		t.Fatalf("first create: %+v, %v", w, err)
	}
	_, err = c.IndexDoc(ctx, index, id, []byte(`{"holder":"b"}`), Precondition{Create: true})
	var e *Error
	if !IsConflict(err) || !errors.As(err, &e) || e.Type != "version_conflict_engine_exception" ||
		e.Reason != "[lease]: version conflict, document already exists (current version [1])" || e.Retryable() {
		t.Fatalf("second create: %v; want a terminal conflict with the reason", err)
	}

	read, err := c.GetDoc(ctx, index, id)
	if err != nil || !read.Found || read.SeqNo != w.SeqNo || read.PrimaryTerm != w.PrimaryTerm || string(read.Source) != `{"holder":"a"}` {
		t.Fatalf("get: %+v, %v", read, err)
	}
	// Both read the same version; the first compare-and-set wins.
	w2, err := c.IndexDoc(ctx, index, id, []byte(`{"holder":"a","n":2}`), IfMatch(read))
	if err != nil || w2.Result != "updated" || w2.SeqNo <= read.SeqNo {
		t.Fatalf("compare-and-set: %+v, %v", w2, err)
	}
	_, err = c.IndexDoc(ctx, index, id, []byte(`{"holder":"b"}`), IfMatch(read))
	if !IsConflict(err) || !strings.Contains(err.Error(), "current document has seqNo [1] and primary term [1]") {
		t.Fatalf("stale compare-and-set: %v", err)
	}
	// A stale delete is refused too; the current one deletes.
	if _, err := c.DeleteDoc(ctx, index, id, IfMatch(read)); !IsConflict(err) {
		t.Fatalf("stale delete: %v", err)
	}
	del, err := c.DeleteDoc(ctx, index, id, IfMatch(w2.Doc(index, id, nil)))
	if err != nil || del.Result != "deleted" {
		t.Fatalf("delete: %+v, %v", del, err)
	}
	if del, err := c.DeleteDoc(ctx, index, id, Precondition{}); err != nil || del.Result != "not_found" {
		t.Fatalf("delete again: %+v, %v; want not_found and no error", del, err)
	}
	if del, err := c.DeleteDoc(ctx, "no-such-index", id, Precondition{}); err != nil || del.Result != "not_found" {
		t.Fatalf("delete in a missing index: %+v, %v", del, err)
	}
	if d, err := c.GetDoc(ctx, index, id); err != nil || d.Found {
		t.Fatalf("get after delete: %+v, %v", d, err)
	}
	if err := c.Refresh(ctx, index); err != nil {
		t.Fatal(err)
	}
	if _, err := c.IndexDoc(ctx, index, id, []byte(`{}`), Precondition{Create: true, Match: true}); err == nil {
		t.Fatal("create and compare-and-set together: no error")
	}
}

// Concurrent compare-and-set on one document: of N writers who read the
// same version, exactly one succeeds.
func TestDocumentCASRace(t *testing.T) {
	c, _ := simClient(t)
	ctx := t.Context()
	w, err := c.IndexDoc(ctx, "esremote-state", "ledger", []byte(`{"n":0}`), Precondition{})
	if err != nil {
		t.Fatal(err)
	}
	base := w.Doc("esremote-state", "ledger", nil)
	const n = 8
	results := make(chan error, n)
	for i := range n {
		go func() {
			b, _ := json.Marshal(map[string]int{"n": i + 1})
			_, err := c.IndexDoc(ctx, "esremote-state", "ledger", b, IfMatch(base))
			results <- err
		}()
	}
	won, lost := 0, 0
	for range n {
		switch err := <-results; {
		case err == nil:
			won++
		case IsConflict(err):
			lost++
		default:
			t.Fatal(err)
		}
	}
	if won != 1 || lost != n-1 {
		t.Fatalf("won %d, lost %d; want exactly one winner", won, lost)
	}
}

// A process without the lease sends no write: the gate stops it before it
// leaves, as a terminal ErrFenced; reads and searches go through, and
// every request says who sent it.
func TestWriteGate(t *testing.T) {
	srv, err := sim.Start(context.Background(), sim.DefaultWorld())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	notLeader := errors.New("this esremote does not hold the state store's lease")
	var refuse bool
	c := mustNew(t, Config{Name: "ech-analytics", URL: srv.ClusterURL("ech-analytics"), APIKey: srv.AdminAPIKey("ech-analytics"),
		OpaqueID: "admin-2:200", WriteGate: func() error {
			if refuse {
				return notLeader
			}
			return nil
		}})
	ctx := t.Context()
	if err := c.PutSettings(ctx, map[string]Value{"cluster.remote.x.seeds": String("10.0.0.1:9300")}); err != nil {
		t.Fatalf("leader write: %v", err)
	}
	refuse = true
	srv.World.ResetLog()
	err = c.PutSettings(ctx, map[string]Value{"cluster.remote.x.seeds": String("10.0.0.2:9300")})
	var e *Error
	if !errors.As(err, &e) || e.Kind != ErrFenced || e.Retryable() || !errors.Is(err, notLeader) {
		t.Fatalf("standby write: %v; want a terminal ErrFenced wrapping the gate's reason", err)
	}
	if _, err := c.Settings(ctx); err != nil {
		t.Fatalf("standby read: %v", err)
	}
	if _, err := c.Search(ctx, "logs-*", nil); err != nil {
		t.Fatalf("standby search: %v", err)
	}
	log := srv.Log()
	if len(log) != 2 || log[0].Method != "GET" || log[1].Method != "POST" || !strings.HasSuffix(log[1].Path, "/_search") {
		t.Fatalf("requests sent by the standby: %+v; want the read and the search only", log)
	}
	for _, r := range log {
		if r.OpaqueID != "admin-2:200" {
			t.Fatalf("request without X-Opaque-Id: %+v", r)
		}
	}
}
