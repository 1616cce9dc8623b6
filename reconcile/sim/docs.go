package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The document API: what a state store needs from Elasticsearch (index,
// get and delete of one document with optimistic concurrency control,
// op_type=create, refresh). One primary shard per index, as a store index
// is created; every behaviour below names the upstream class and method it
// follows (elastic/elasticsearch, server/src/main/java/org/elasticsearch/…).

// gcDeletes is index.gc_deletes (IndexSettings.INDEX_GC_DELETES_SETTING,
// default 60s): how long the version of a deleted document is remembered,
// so that re-creating it continues its version instead of starting at 1.
const gcDeletes = 60 * time.Second

// docIndex is one index of documents.
type docIndex struct {
	name, uuid string
	// primaryTerm is the shard's primary term: 1 when created, +1 on each
	// primary failover (World.FailoverPrimary).
	primaryTerm int64
	// nextSeqNo is the sequence number the next operation gets; every
	// index or delete operation, even a delete of a missing document,
	// takes one (InternalEngine.generateSeqNoForOperationOnPrimary).
	nextSeqNo int64
	docs      map[string]*storedDoc
	// tombs remember deleted documents' versions until gcDeletes passed
	// (InternalEngine.pruneDeletedTombstones).
	tombs map[string]tomb
	// refreshes counts refreshes; a realtime GET does not need one
	// (ShardGetService.innerGet with realtime=true).
	refreshes int
}

type storedDoc struct {
	source      json.RawMessage
	version     int64
	seqNo       int64
	primaryTerm int64
}

type tomb struct {
	version int64
	at      time.Time
}

// docRoutes registers the document API on a cluster's mux. Writes are
// served on PUT only: ES also takes POST with an id, but that route would
// overlap POST /_nodes/{node}/reload_secure_settings in Go's mux; a POST
// gets the catch-all 400, the harsher answer.
func (h *esHandler) docRoutes(add func(pattern string, fn http.HandlerFunc)) {
	add("PUT /{index}/_doc/{id}", h.auth(h.indexDoc))
	add("PUT /{index}/_create/{id}", h.auth(h.createDoc))
	add("GET /{index}/_doc/{id}", h.auth(h.getDoc))
	add("DELETE /{index}/_doc/{id}", h.auth(h.deleteDoc))
	add("POST /{index}/_refresh", h.auth(h.refresh))
	add("GET /{index}/_refresh", h.auth(h.refresh))
	add("POST /_refresh", h.auth(h.refresh))
	add("GET /_refresh", h.auth(h.refresh))
}

// shardError is an error raised on a shard: ElasticsearchException adds
// the shard's index, index_uuid and shard to the cause
// (ElasticsearchException.setShard, metadataToXContent).
func shardError(rw http.ResponseWriter, status int, typ, reason string, ix *docIndex) {
	cause := map[string]any{"type": typ, "reason": reason, "index_uuid": ix.uuid, "shard": "0", "index": ix.name}
	errObj := map[string]any{"root_cause": []any{cause}}
	for k, v := range cause {
		errObj[k] = v
	}
	writeJSON(rw, status, map[string]any{"error": errObj, "status": status})
}

// indexNotFound is IndexNotFoundException (404) with its resource metadata
// (ResourceNotFoundException.setResources, index_uuid "_na_").
func indexNotFound(rw http.ResponseWriter, index string) {
	cause := map[string]any{"type": "index_not_found_exception", "reason": "no such index [" + index + "]",
		"resource.type": "index_or_alias", "resource.id": index, "index_uuid": "_na_", "index": index}
	errObj := map[string]any{"root_cause": []any{cause}}
	for k, v := range cause {
		errObj[k] = v
	}
	writeJSON(rw, 404, map[string]any{"error": errObj, "status": 404})
}

// validationFailed is ActionRequestValidationException: every message
// numbered, each followed by ";" (ValidationException.getMessage).
func validationFailed(msgs ...string) *esError {
	var b strings.Builder
	b.WriteString("Validation Failed: ")
	for i, m := range msgs {
		fmt.Fprintf(&b, "%d: %s;", i+1, m)
	}
	return &esError{status: 400, typ: "action_request_validation_exception", reason: b.String()}
}

// validIndexName follows MetadataCreateIndexService.validateIndexOrAliasName
// for the names a store would use: the checks on case and leading
// characters (the harsher subset of what upstream refuses).
func validIndexName(name string) *esError {
	e := func(why string) *esError {
		return &esError{status: 400, typ: "invalid_index_name_exception", reason: "Invalid index name [" + name + "], " + why}
	}
	switch {
	case name != strings.ToLower(name):
		return e("must be lowercase")
	case strings.HasPrefix(name, "_"), strings.HasPrefix(name, "-"), strings.HasPrefix(name, "+"):
		return e("must not start with '_', '-', or '+'")
	case strings.ContainsAny(name, `\/*?"<>| ,#:`):
		return e(`must not contain the following characters [ , ", *, \, <, |, ,, >, /, ?]`)
	}
	return nil
}

// casParams are the optimistic concurrency parameters of a write.
type casParams struct {
	ifSeqNo, ifPrimaryTerm int64 // -2 / 0 when unset (UNASSIGNED_SEQ_NO, UNASSIGNED_PRIMARY_TERM)
	refresh                string
}

const (
	unassignedSeqNo       = -2 // SequenceNumbers.UNASSIGNED_SEQ_NO
	unassignedPrimaryTerm = 0  // SequenceNumbers.UNASSIGNED_PRIMARY_TERM
)

// parseCAS reads if_seq_no, if_primary_term and refresh as
// RestActions.parseLong / WriteRequest.RefreshPolicy.parse do, then
// validates them as DocWriteRequest.validateSeqNoBasedCASParams does.
func parseCAS(r *http.Request) (casParams, *esError) {
	q := r.URL.Query()
	p := casParams{ifSeqNo: unassignedSeqNo, ifPrimaryTerm: unassignedPrimaryTerm}
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"if_seq_no", &p.ifSeqNo}, {"if_primary_term", &p.ifPrimaryTerm}} {
		if !q.Has(f.name) {
			continue
		}
		v := q.Get(f.name)
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return p, badRequest("Failed to parse long parameter [%s] with value [%s]", f.name, v)
		}
		// IndexRequest.setIfSeqNo / setIfPrimaryTerm.
		if f.name == "if_seq_no" && n < 0 {
			return p, badRequest("sequence numbers must be non negative. got [%d].", n)
		}
		if f.name == "if_primary_term" && n < 0 {
			return p, badRequest("primary term must be non negative. got [%d]", n)
		}
		*f.dst = n
	}
	if q.Has("refresh") {
		switch v := q.Get("refresh"); v {
		case "", "true":
			p.refresh = "true"
		case "false", "wait_for":
			p.refresh = v
		default:
			return p, badRequest("Unknown value for refresh: [%s].", v)
		}
	}
	return p, nil
}

// casErrors is DocWriteRequest.validateSeqNoBasedCASParams.
func (p casParams) casErrors() []string {
	var msgs []string
	if p.ifPrimaryTerm == unassignedPrimaryTerm && p.ifSeqNo != unassignedSeqNo {
		msgs = append(msgs, "ifSeqNo is set, but primary term is [0]")
	}
	if p.ifPrimaryTerm != unassignedPrimaryTerm && p.ifSeqNo == unassignedSeqNo {
		msgs = append(msgs, fmt.Sprintf("ifSeqNo is unassigned, but primary term is [%d]", p.ifPrimaryTerm))
	}
	return msgs
}

// casConflict is the reason of VersionConflictEngineException's
// compare-and-write constructor: "[id]: version conflict, required seqNo
// [X], primary term [Y]. current document has seqNo [A] and primary term
// [B]", or "… but no document was found" when there is none.
func casConflict(id string, p casParams, cur *storedDoc) string {
	s := fmt.Sprintf("[%s]: version conflict, required seqNo [%d], primary term [%d].", id, p.ifSeqNo, p.ifPrimaryTerm)
	if cur == nil {
		return s + " but no document was found"
	}
	return s + fmt.Sprintf(" current document has seqNo [%d] and primary term [%d]", cur.seqNo, cur.primaryTerm)
}

// casMismatch is InternalEngine.planIndexingAsPrimary /
// planDeletionAsPrimary: with if_seq_no set, the write goes ahead only
// when the live document has exactly that seq_no and primary term; a
// missing document never matches.
func (p casParams) mismatch(cur *storedDoc) bool {
	if p.ifSeqNo == unassignedSeqNo {
		return false
	}
	return cur == nil || cur.seqNo != p.ifSeqNo || cur.primaryTerm != p.ifPrimaryTerm
}

func (c *cluster) docIndex(name string) *docIndex {
	if c.docs == nil {
		return nil
	}
	return c.docs[name]
}

// autoCreate creates an index on the first write to it
// (action.auto_create_index defaults to true; TransportBulkAction creates
// missing indices before the write, AutoCreateIndex.shouldAutoCreate).
func (c *cluster) autoCreate(name string) *docIndex {
	if ix := c.docIndex(name); ix != nil {
		return ix
	}
	if c.docs == nil {
		c.docs = map[string]*docIndex{}
	}
	ix := &docIndex{name: name, uuid: randomString(22), primaryTerm: 1,
		docs: map[string]*storedDoc{}, tombs: map[string]tomb{}}
	c.docs[name] = ix
	if !slices.Contains(c.Indices, name) {
		c.Indices = append(c.Indices, name)
	}
	return ix
}

// currentVersion is the version a document has, or had before a delete
// still remembered (LiveVersionMap tombstones): 0 when unknown.
func (ix *docIndex) currentVersion(id string, now time.Time) int64 {
	if d := ix.docs[id]; d != nil {
		return d.version
	}
	if t, ok := ix.tombs[id]; ok {
		if now.Sub(t.at) < gcDeletes {
			return t.version
		}
		delete(ix.tombs, id)
	}
	return 0
}

// writeResult is DocWriteResponse.innerToXContent; the status is
// DocWriteResponse.status(): 201 for created, 404 for a delete that found
// nothing, else 200. One replica is assigned and in sync.
func writeResult(rw http.ResponseWriter, ix *docIndex, id, result string, version, seqNo int64, p casParams) {
	status := 200
	switch result {
	case "created":
		status = 201
	case "not_found":
		status = 404
	}
	out := map[string]any{"_index": ix.name, "_id": id, "_version": version, "result": result,
		"_shards": map[string]any{"total": 2, "successful": 2, "failed": 0},
		"_seq_no": seqNo, "_primary_term": ix.primaryTerm}
	if p.refresh == "true" {
		// WriteResponse.setForcedRefresh: only an immediate refresh says so.
		out["forced_refresh"] = true
		ix.refreshes++
	}
	writeES(rw, status, out)
}

// indexDoc is RestIndexAction: PUT /{index}/_doc/{id} with op_type
// index (default) or create.
func (h *esHandler) indexDoc(rw http.ResponseWriter, r *http.Request, c *cluster, _ principal) {
	op := "index"
	if r.URL.Query().Has("op_type") {
		v := r.URL.Query().Get("op_type")
		switch strings.ToLower(v) {
		case "index", "create":
			op = strings.ToLower(v)
		default:
			// IndexRequest.opType(String).
			writeESError(rw, badRequest("opType must be 'create' or 'index', found: [%s]", v))
			return
		}
	}
	h.write(rw, r, c, op)
}

// createDoc is RestIndexAction.CreateHandler: PUT /{index}/_create/{id}
// refuses any op_type other than create (CreateHandler.validateOpType).
func (h *esHandler) createDoc(rw http.ResponseWriter, r *http.Request, c *cluster, _ principal) {
	if r.URL.Query().Has("op_type") {
		if v := r.URL.Query().Get("op_type"); strings.ToLower(v) != "create" {
			writeESError(rw, badRequest("opType must be 'create', found: [%s]", v))
			return
		}
	}
	h.write(rw, r, c, "create")
}

func (h *esHandler) write(rw http.ResponseWriter, r *http.Request, c *cluster, op string) {
	index, id := r.PathValue("index"), r.PathValue("id")
	if e := validIndexName(index); e != nil {
		writeESError(rw, e)
		return
	}
	p, e := parseCAS(r)
	if e != nil {
		writeESError(rw, e)
		return
	}
	body, _ := io.ReadAll(r.Body)
	// IndexRequest.validate: the create checks return at once; then the
	// CAS parameter checks.
	var msgs []string
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		msgs = append(msgs, "source is missing", "content type is missing")
	case op == "create" && (p.ifSeqNo != unassignedSeqNo || p.ifPrimaryTerm != unassignedPrimaryTerm):
		msgs = append(msgs, "create operations do not support compare and set. use index instead")
	default:
		msgs = append(msgs, p.casErrors()...)
	}
	if len(id) > 512 {
		msgs = append(msgs, fmt.Sprintf("id [%s] is too long, must be no longer than 512 bytes but was: %d", id, len(id)))
	}
	if len(msgs) > 0 {
		writeESError(rw, validationFailed(msgs...))
		return
	}
	var src map[string]any
	if err := decodeJSON(body, &src); err != nil {
		// DocumentParser: a source that is not a JSON object.
		writeESError(rw, &esError{status: 400, typ: "document_parsing_exception", reason: "[1:1] failed to parse: " + err.Error()})
		return
	}
	now := h.w.now()
	ix := c.autoCreate(index)
	cur := ix.docs[id]
	switch {
	case op == "create" && cur != nil:
		// VersionType.INTERNAL.explainConflictForWrites with MATCH_DELETED.
		shardError(rw, 409, "version_conflict_engine_exception",
			fmt.Sprintf("[%s]: version conflict, document already exists (current version [%d])", id, cur.version), ix)
		return
	case p.mismatch(cur):
		shardError(rw, 409, "version_conflict_engine_exception", casConflict(id, p, cur), ix)
		return
	}
	d := &storedDoc{source: json.RawMessage(bytes.Clone(body)), version: ix.currentVersion(id, now) + 1,
		seqNo: ix.nextSeqNo, primaryTerm: ix.primaryTerm}
	ix.nextSeqNo++
	ix.docs[id] = d
	delete(ix.tombs, id)
	result := "updated"
	if cur == nil {
		result = "created"
	}
	writeResult(rw, ix, id, result, d.version, d.seqNo, p)
}

// getDoc is RestGetAction: a realtime get (no refresh needed) answering
// GetResult.toXContent, 404 with "found": false for a missing document
// and index_not_found_exception for a missing index.
func (h *esHandler) getDoc(rw http.ResponseWriter, r *http.Request, c *cluster, _ principal) {
	index, id := r.PathValue("index"), r.PathValue("id")
	ix := c.docIndex(index)
	if ix == nil {
		indexNotFound(rw, index)
		return
	}
	d := ix.docs[id]
	if d == nil {
		writeES(rw, 404, map[string]any{"_index": index, "_id": id, "found": false})
		return
	}
	writeES(rw, 200, map[string]any{"_index": index, "_id": id, "_version": d.version,
		"_seq_no": d.seqNo, "_primary_term": d.primaryTerm, "found": true, "_source": d.source})
}

// deleteDoc is RestDeleteAction. Deletes never create an index
// (TransportBulkAction skips auto-creation for delete-only requests), so a
// missing index is index_not_found_exception; a missing document still
// takes a sequence number and answers 404 "not_found".
func (h *esHandler) deleteDoc(rw http.ResponseWriter, r *http.Request, c *cluster, _ principal) {
	index, id := r.PathValue("index"), r.PathValue("id")
	p, e := parseCAS(r)
	if e != nil {
		writeESError(rw, e)
		return
	}
	if msgs := p.casErrors(); len(msgs) > 0 {
		writeESError(rw, validationFailed(msgs...))
		return
	}
	ix := c.docIndex(index)
	if ix == nil {
		indexNotFound(rw, index)
		return
	}
	now := h.w.now()
	cur := ix.docs[id]
	if p.mismatch(cur) {
		shardError(rw, 409, "version_conflict_engine_exception", casConflict(id, p, cur), ix)
		return
	}
	seqNo := ix.nextSeqNo
	ix.nextSeqNo++
	if cur == nil {
		// A delete of a missing document still bumps the remembered version.
		v := ix.currentVersion(id, now) + 1
		ix.tombs[id] = tomb{version: v, at: now}
		writeResult(rw, ix, id, "not_found", v, seqNo, p)
		return
	}
	delete(ix.docs, id)
	ix.tombs[id] = tomb{version: cur.version + 1, at: now}
	writeResult(rw, ix, id, "deleted", cur.version+1, seqNo, p)
}

// refresh is RestRefreshAction: BroadcastResponse shards of the indices
// refreshed (one primary and one replica each); a missing index is 404.
func (h *esHandler) refresh(rw http.ResponseWriter, r *http.Request, c *cluster, _ principal) {
	var names []string
	if expr := r.PathValue("index"); expr != "" && expr != "_all" && expr != "*" {
		for _, n := range strings.Split(expr, ",") {
			if c.docIndex(n) == nil {
				indexNotFound(rw, n)
				return
			}
			names = append(names, n)
		}
	} else {
		for n := range c.docs {
			names = append(names, n)
		}
	}
	for _, n := range names {
		c.docs[n].refreshes++
	}
	writeES(rw, 200, map[string]any{"_shards": map[string]any{"total": 2 * len(names), "successful": 2 * len(names), "failed": 0}})
}

// Document is what a cluster holds under index/id: its source, sequence
// number and primary term; ok is false when there is none.
func (w *World) Document(cluster, index, id string) (source []byte, seqNo, primaryTerm int64, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.clusters[cluster]
	if c == nil {
		return nil, 0, 0, false
	}
	ix := c.docIndex(index)
	if ix == nil || ix.docs[id] == nil {
		return nil, 0, 0, false
	}
	d := ix.docs[id]
	return bytes.Clone(d.source), d.seqNo, d.primaryTerm, true
}

// PutDocument writes a document out of band (another client of the
// cluster), as an index operation without preconditions would.
func (w *World) PutDocument(cluster, index, id string, source []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.clusters[cluster]
	if c == nil {
		return fmt.Errorf("no cluster %q", cluster)
	}
	if !json.Valid(source) {
		return fmt.Errorf("document %s/%s is not JSON", index, id)
	}
	ix := c.autoCreate(index)
	d := &storedDoc{source: bytes.Clone(source), version: ix.currentVersion(id, w.now()) + 1,
		seqNo: ix.nextSeqNo, primaryTerm: ix.primaryTerm}
	ix.nextSeqNo++
	ix.docs[id] = d
	delete(ix.tombs, id)
	return nil
}

// FailoverPrimary promotes a replica of an index's shard: the primary term
// grows by one (IndexShard.updateShardState on promotion). Documents keep
// the term they were written in; every later write carries the new one.
func (w *World) FailoverPrimary(cluster, index string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.clusters[cluster]
	if c == nil || c.docIndex(index) == nil {
		return fmt.Errorf("no index %q on cluster %q", index, cluster)
	}
	c.docs[index].primaryTerm++
	return nil
}
