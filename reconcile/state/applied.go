package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/statedir"
)

// AppliedFile is the state dir's record of the spec revision the last
// writing pass applied (the file store's counterpart of AppliedID).
const AppliedFile = "applied.json"

// AppliedID is the state store's document (in Index) recording the spec
// revision the leader last applied. It outlives the lease (a clean stop
// deletes the lease), so that a host returning with older specs still
// knows what newer specs were applied before it.
const AppliedID = "applied"

// Applied is what the last writing pass applied: the spec set's revision
// (the clean git commit, when there is one, and the digest), by whom and
// when.
type Applied struct {
	Commit string    `json:"commit,omitempty"`
	Digest string    `json:"digest"`
	Host   string    `json:"host"`
	At     time.Time `json:"at"`
}

// IsZero reports whether nothing was recorded.
func (a Applied) IsZero() bool { return a.Commit == "" && a.Digest == "" }

// maxApplied bounds the record: a few hundred bytes when well formed.
const maxApplied = 64 << 10

// ReadAppliedFile reads dir's record; none is the zero Applied.
func ReadAppliedFile(dir string) (Applied, error) {
	path := filepath.Join(dir, AppliedFile)
	b, err := statedir.ReadFile(path, maxApplied)
	if errors.Is(err, fs.ErrNotExist) {
		return Applied{}, nil
	}
	if err != nil {
		return Applied{}, err
	}
	var a Applied
	if err := json.Unmarshal(b, &a); err != nil {
		return Applied{}, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// WriteAppliedFile replaces dir's record atomically.
func WriteAppliedFile(dir string, a Applied) error {
	b, _ := json.Marshal(a)
	return statedir.WriteFileAtomic(filepath.Join(dir, AppliedFile), append(b, '\n'), 0o600)
}

// ReadApplied reads the store's record; none is the zero Applied.
func ReadApplied(ctx context.Context, c *es.Client, index string) (Applied, error) {
	if index == "" {
		index = Index
	}
	d, err := c.GetDoc(ctx, index, AppliedID)
	if err != nil {
		return Applied{}, fmt.Errorf("read applied revision: %w", err)
	}
	if !d.Found {
		return Applied{}, nil
	}
	var a Applied
	if err := json.Unmarshal(d.Source, &a); err != nil {
		return Applied{}, fmt.Errorf("read applied revision: %w", err)
	}
	return a, nil
}

// WriteApplied records a in the store. Only the lease holder calls it,
// after a pass as leader, having checked the lease (the store's client has
// no write gate: the lease itself is written through it).
func WriteApplied(ctx context.Context, c *es.Client, index string, a Applied) error {
	if index == "" {
		index = Index
	}
	b, _ := json.Marshal(a)
	if _, err := c.IndexDoc(ctx, index, AppliedID, b, es.Precondition{}); err != nil {
		return fmt.Errorf("record applied revision: %w", err)
	}
	return nil
}
