package es

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// Document calls: what a state store keeps in Elasticsearch. Every write
// may carry a precondition, so that two writers can never both win:
// Elasticsearch accepts the write only when the document is still the
// version the writer read (if_seq_no + if_primary_term), or, for a first
// write, only when there is no document yet (op_type=create). A lost race
// is an *Error of kind ErrConflict, which the caller answers by reading
// again, never by retrying the same write.

// Doc is one document as read, with what a later write must quote to be
// sure nothing changed in between.
type Doc struct {
	Index  string
	ID     string
	Source json.RawMessage
	// Found is false when neither the document nor its index exists; the
	// other fields are then empty.
	Found bool
	// Version is the document's _version (informational).
	Version int64
	// SeqNo and PrimaryTerm are the document's _seq_no and _primary_term:
	// the precondition of a write that replaces exactly this version.
	SeqNo       int64
	PrimaryTerm int64
}

// Precondition is a write's condition on the live document.
type Precondition struct {
	// Create: the write succeeds only when the id does not exist
	// (op_type=create). Exclusive with IfSeqNo/IfPrimaryTerm.
	Create bool
	// Match: the write succeeds only when the live document has exactly
	// this _seq_no and _primary_term (from a Doc or a Written).
	Match       bool
	SeqNo       int64
	PrimaryTerm int64
	// Refresh makes the write visible to searches before the answer
	// ("true"); "" leaves it to the index's refresh interval. A realtime
	// GetDoc sees every acknowledged write either way.
	Refresh bool
}

// IfMatch is the precondition "still exactly the version read".
func IfMatch(d Doc) Precondition {
	return Precondition{Match: true, SeqNo: d.SeqNo, PrimaryTerm: d.PrimaryTerm}
}

// Written is what a successful write answered.
type Written struct {
	// Result is "created", "updated", "deleted" or "not_found".
	Result      string
	Version     int64
	SeqNo       int64
	PrimaryTerm int64
}

// Doc returns the Doc a successful write left, for the next precondition.
func (w Written) Doc(index, id string, source json.RawMessage) Doc {
	return Doc{Index: index, ID: id, Source: source, Found: true, Version: w.Version, SeqNo: w.SeqNo, PrimaryTerm: w.PrimaryTerm}
}

// IsConflict reports whether err, or an error it wraps, is a 409 [Error]:
// a precondition no longer held (the document changed, or already
// exists). Read again to learn who wrote it.
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }

type docBody struct {
	Index       string          `json:"_index"`
	ID          string          `json:"_id"`
	Version     int64           `json:"_version"`
	SeqNo       *int64          `json:"_seq_no"`
	PrimaryTerm *int64          `json:"_primary_term"`
	Found       bool            `json:"found"`
	Source      json.RawMessage `json:"_source"`
	Result      string          `json:"result"`
}

// GetDoc reads GET /{index}/_doc/{id} (privilege read), a realtime get:
// it sees every acknowledged write without a refresh. A missing document
// or index is Found false, not an error.
func (c *Client) GetDoc(ctx context.Context, index, id string) (Doc, error) {
	const op = "get document"
	r, err := c.send(ctx, op, func(ctx context.Context) (*esapi.Response, error) {
		return c.es.Get(index, id, c.es.Get.WithContext(ctx))
	})
	if err != nil {
		return Doc{}, err
	}
	if r.status == 404 {
		// {"found": false} for a missing document; index_not_found_exception
		// for a missing index. Anything else on 404 (a proxy) is an error.
		var b docBody
		if json.Unmarshal(r.body, &b) == nil && b.ID == id && !b.Found {
			return Doc{Index: index, ID: id}, nil
		}
		e := c.statusError(op, r)
		if e.Type == "index_not_found_exception" {
			return Doc{Index: index, ID: id}, nil
		}
		return Doc{}, e
	}
	var b docBody
	if err := c.decode(op, r, &b); err != nil {
		return Doc{}, err
	}
	if !b.Found || b.SeqNo == nil || b.PrimaryTerm == nil {
		return Doc{}, &Error{Op: op, Target: c.name, Kind: ErrBadResponse, Status: r.status,
			Reason: "document answer without found, _seq_no or _primary_term"}
	}
	return Doc{Index: index, ID: id, Source: b.Source, Found: true, Version: b.Version, SeqNo: *b.SeqNo, PrimaryTerm: *b.PrimaryTerm}, nil
}

// IndexDoc writes PUT /{index}/_doc/{id} (privilege index; the first
// write creates the index, which needs create_index) under the
// precondition: a lost race is ErrConflict.
func (c *Client) IndexDoc(ctx context.Context, index, id string, source []byte, p Precondition) (Written, error) {
	const op = "index document"
	if p.Create && p.Match {
		return Written{}, &Error{Op: op, Target: c.name, Kind: ErrInvalid, Reason: "a write is either a create or a compare-and-set, not both"}
	}
	r, err := c.send(ctx, op, func(ctx context.Context) (*esapi.Response, error) {
		ix := c.es.Index
		opts := []func(*esapi.IndexRequest){ix.WithContext(ctx), ix.WithDocumentID(id)}
		if p.Create {
			opts = append(opts, ix.WithOpType("create"))
		}
		if p.Match {
			opts = append(opts, ix.WithIfSeqNo(int(p.SeqNo)), ix.WithIfPrimaryTerm(int(p.PrimaryTerm)))
		}
		if p.Refresh {
			opts = append(opts, ix.WithRefresh("true"))
		}
		return ix(index, bytes.NewReader(source), opts...)
	})
	if err != nil {
		return Written{}, err
	}
	return c.written(op, r)
}

// DeleteDoc deletes DELETE /{index}/_doc/{id} (privilege delete) under the
// precondition (Create is meaningless here and refused). Deleting what is
// not there is not an error: Result is "not_found".
func (c *Client) DeleteDoc(ctx context.Context, index, id string, p Precondition) (Written, error) {
	const op = "delete document"
	if p.Create {
		return Written{}, &Error{Op: op, Target: c.name, Kind: ErrInvalid, Reason: "a delete cannot be a create"}
	}
	r, err := c.send(ctx, op, func(ctx context.Context) (*esapi.Response, error) {
		del := c.es.Delete
		opts := []func(*esapi.DeleteRequest){del.WithContext(ctx)}
		if p.Match {
			opts = append(opts, del.WithIfSeqNo(int(p.SeqNo)), del.WithIfPrimaryTerm(int(p.PrimaryTerm)))
		}
		if p.Refresh {
			opts = append(opts, del.WithRefresh("true"))
		}
		return del(index, id, opts...)
	})
	if err != nil {
		return Written{}, err
	}
	if r.status == 404 {
		var b docBody
		if json.Unmarshal(r.body, &b) == nil && b.Result == "not_found" {
			return Written{Result: b.Result, Version: b.Version}, nil
		}
		e := c.statusError(op, r)
		if e.Type == "index_not_found_exception" {
			return Written{Result: "not_found"}, nil
		}
		return Written{}, e
	}
	return c.written(op, r)
}

func (c *Client) written(op string, r response) (Written, error) {
	var b docBody
	if err := c.decode(op, r, &b); err != nil {
		return Written{}, err
	}
	if b.SeqNo == nil || b.PrimaryTerm == nil || b.Result == "" {
		return Written{}, &Error{Op: op, Target: c.name, Kind: ErrBadResponse, Status: r.status,
			Reason: "write answer without result, _seq_no or _primary_term"}
	}
	return Written{Result: b.Result, Version: b.Version, SeqNo: *b.SeqNo, PrimaryTerm: *b.PrimaryTerm}, nil
}

// Refresh makes every write to index visible to searches
// (POST /{index}/_refresh, privilege maintenance).
func (c *Client) Refresh(ctx context.Context, index string) error {
	const op = "refresh"
	r, err := c.send(ctx, op, func(ctx context.Context) (*esapi.Response, error) {
		return c.es.Indices.Refresh(c.es.Indices.Refresh.WithContext(ctx), c.es.Indices.Refresh.WithIndex(index))
	})
	if err != nil {
		return err
	}
	return c.decode(op, r, nil)
}
