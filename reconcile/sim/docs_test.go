package sim

import (
	"strconv"
	"testing"
	"time"
)

// The document API a state store uses, step by step: every answer's
// status, result, _seq_no/_primary_term and, for refusals, the exact type
// and reason upstream sends.
func TestDocumentAPI(t *testing.T) {
	srv, clock := startDefault(t)
	const c = "ech-analytics"
	type step struct {
		method, path, body string
		status             int
		result             string // "result" of a write, or "" to skip
		seqNo              int    // expected _seq_no when result is set or on a GET (-1: skip)
		errType, reason    string
	}
	steps := []step{
		// A missing index: 404 index_not_found_exception on get and delete.
		{"GET", "/esremote-state/_doc/lease", "", 404, "", -1, "index_not_found_exception", "no such index [esremote-state]"},
		{"DELETE", "/esremote-state/_doc/lease", "", 404, "", -1, "index_not_found_exception", "no such index [esremote-state]"},
		// op_type=create on a new id creates the index and the document.
		{"PUT", "/esremote-state/_doc/lease?op_type=create", `{"holder":"a:1"}`, 201, "created", 0, "", ""},
		// A second create of the same id conflicts with the real reason.
		{"PUT", "/esremote-state/_doc/lease?op_type=create", `{"holder":"b:2"}`, 409, "", -1,
			"version_conflict_engine_exception", "[lease]: version conflict, document already exists (current version [1])"},
		{"PUT", "/esremote-state/_create/lease", `{"holder":"b:2"}`, 409, "", -1,
			"version_conflict_engine_exception", "[lease]: version conflict, document already exists (current version [1])"},
		// A realtime get: no refresh needed.
		{"GET", "/esremote-state/_doc/lease", "", 200, "", 0, "", ""},
		// A compare-and-set write with the live seq_no and term goes ahead.
		{"PUT", "/esremote-state/_doc/lease?if_seq_no=0&if_primary_term=1", `{"holder":"a:1","renewed":1}`, 200, "updated", 1, "", ""},
		// The same precondition again is stale now.
		{"PUT", "/esremote-state/_doc/lease?if_seq_no=0&if_primary_term=1", `{"holder":"b:2"}`, 409, "", -1,
			"version_conflict_engine_exception", "[lease]: version conflict, required seqNo [0], primary term [1]. current document has seqNo [1] and primary term [1]"},
		// On a document that is not there.
		{"PUT", "/esremote-state/_doc/ledger?if_seq_no=3&if_primary_term=1", `{}`, 409, "", -1,
			"version_conflict_engine_exception", "[ledger]: version conflict, required seqNo [3], primary term [1]. but no document was found"},
		// Half a precondition, and create with one: validation errors.
		{"PUT", "/esremote-state/_doc/lease?if_seq_no=1", `{}`, 400, "", -1,
			"action_request_validation_exception", "Validation Failed: 1: ifSeqNo is set, but primary term is [0];"},
		{"PUT", "/esremote-state/_doc/lease?if_primary_term=1", `{}`, 400, "", -1,
			"action_request_validation_exception", "Validation Failed: 1: ifSeqNo is unassigned, but primary term is [1];"},
		{"PUT", "/esremote-state/_doc/x?op_type=create&if_seq_no=1&if_primary_term=1", `{}`, 400, "", -1,
			"action_request_validation_exception", "Validation Failed: 1: create operations do not support compare and set. use index instead;"},
		{"PUT", "/esremote-state/_doc/x?op_type=upsert", `{}`, 400, "", -1,
			"illegal_argument_exception", "opType must be 'create' or 'index', found: [upsert]"},
		{"PUT", "/esremote-state/_doc/x?refresh=soon", `{}`, 400, "", -1,
			"illegal_argument_exception", "Unknown value for refresh: [soon]."},
		{"PUT", "/Esremote-State/_doc/x", `{}`, 400, "", -1,
			"invalid_index_name_exception", "Invalid index name [Esremote-State], must be lowercase"},
		// A missing document in an existing index.
		{"GET", "/esremote-state/_doc/nothing", "", 404, "", -1, "", ""},
		// Delete with a stale precondition conflicts; with the live one it
		// deletes; a delete of a missing document takes a seq_no and is 404.
		{"DELETE", "/esremote-state/_doc/lease?if_seq_no=0&if_primary_term=1", "", 409, "", -1,
			"version_conflict_engine_exception", "[lease]: version conflict, required seqNo [0], primary term [1]. current document has seqNo [1] and primary term [1]"},
		{"DELETE", "/esremote-state/_doc/lease?if_seq_no=1&if_primary_term=1&refresh=true", "", 200, "deleted", 2, "", ""},
		{"DELETE", "/esremote-state/_doc/lease", "", 404, "not_found", 3, "", ""},
		// Created again within index.gc_deletes: the version continues.
		{"PUT", "/esremote-state/_doc/lease?op_type=create", `{"holder":"b:2"}`, 201, "created", 4, "", ""},
		{"POST", "/esremote-state/_refresh", "", 200, "", -1, "", ""},
		{"POST", "/nothing-here/_refresh", "", 404, "", -1, "index_not_found_exception", "no such index [nothing-here]"},
	}
	for i, s := range steps {
		r := es(t, srv, c, s.method, s.path, nilIfEmpty(s.body))
		if r.status != s.status {
			t.Fatalf("step %d %s %s: status %d, want %d: %s", i, s.method, s.path, r.status, s.status, r.body)
		}
		m := r.json(t)
		if s.errType != "" {
			e, _ := m["error"].(map[string]any)
			if e["type"] != s.errType || e["reason"] != s.reason {
				t.Fatalf("step %d %s %s: error %v: %v, want %s: %s", i, s.method, s.path, e["type"], e["reason"], s.errType, s.reason)
			}
			if s.errType == "version_conflict_engine_exception" && (e["index"] != "esremote-state" || e["shard"] != "0") {
				t.Errorf("step %d: conflict names index %v shard %v; want the shard's metadata", i, e["index"], e["shard"])
			}
			continue
		}
		if s.result != "" && m["result"] != s.result {
			t.Fatalf("step %d %s %s: result %v, want %s", i, s.method, s.path, m["result"], s.result)
		}
		if s.seqNo >= 0 && m["_seq_no"] != float64(s.seqNo) {
			t.Fatalf("step %d %s %s: _seq_no %v, want %d", i, s.method, s.path, m["_seq_no"], s.seqNo)
		}
		if s.result != "" && m["_primary_term"] != float64(1) {
			t.Fatalf("step %d: _primary_term %v, want 1", i, m["_primary_term"])
		}
	}
	if m := es(t, srv, c, "GET", "/esremote-state/_doc/lease", nil).json(t); m["_version"] != float64(5) {
		t.Errorf("re-created within gc_deletes: _version %v, want 5 (1 created, 2 updated, 3 deleted, 4 deleted again while missing, 5 created)", m["_version"])
	}
	if m := es(t, srv, c, "GET", "/esremote-state/_doc/nothing", nil).json(t); m["found"] != false || m["_index"] != "esremote-state" {
		t.Errorf("missing document: %v; want found false", m)
	}

	// After index.gc_deletes a deleted document's version is forgotten.
	es(t, srv, c, "DELETE", "/esremote-state/_doc/lease", nil)
	clock.Add(gcDeletes + time.Second)
	if m := es(t, srv, c, "PUT", "/esremote-state/_doc/lease", `{"holder":"c:3"}`).json(t); m["_version"] != float64(1) {
		t.Errorf("re-created after gc_deletes: _version %v, want 1", m["_version"])
	}

	// A primary failover: writes carry the new term, and a precondition
	// with the old term conflicts.
	_, seq, term, ok := srv.World.Document(c, "esremote-state", "lease")
	if !ok || term != 1 {
		t.Fatalf("Document: ok %v term %d", ok, term)
	}
	if err := srv.World.FailoverPrimary(c, "esremote-state"); err != nil {
		t.Fatal(err)
	}
	r := es(t, srv, c, "PUT", "/esremote-state/_doc/lease?if_seq_no="+itoa(seq)+"&if_primary_term=1", `{"holder":"c:3"}`)
	if r.status != 200 || r.json(t)["_primary_term"] != float64(2) {
		t.Fatalf("write after failover: %d %s; want 200 with _primary_term 2", r.status, r.body)
	}
	r = es(t, srv, c, "PUT", "/esremote-state/_doc/lease?if_seq_no="+itoa(seq+1)+"&if_primary_term=1", `{"holder":"d:4"}`)
	if r.status != 409 {
		t.Fatalf("old term after failover: %d %s; want 409", r.status, r.body)
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
