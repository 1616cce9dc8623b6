package ledger

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/esremote/esremote/reconcile/statedir"
)

// Store is where the ownership ledger lives: one JSON document, loaded
// once when a Reconciler starts and saved whole on every change (records
// are written before each request and after it, so a Save that fails
// stops the request it was for).
//
// FileStore is the default. Other stores (a locked file, an Elasticsearch
// document for several admin hosts) implement the same three methods;
// locking and leases are theirs: the engine calls Save from several
// goroutines but never concurrently (the Ledger serialises saves).
type Store interface {
	// Load returns the stored document, or nil and no error when there is
	// none yet.
	Load() ([]byte, error)
	// Save replaces the stored document; it is durable when Save returns
	// nil.
	Save(doc []byte) error
	// String says where the document is, for messages.
	String() string
}

// FileStore keeps the ledger in Dir/ledger.json, replaced atomically
// (write temp, fsync, rename, fsync dir), so a crash leaves either the old
// or the new ledger.
type FileStore struct {
	Dir string
}

func (s FileStore) path() string { return filepath.Join(s.Dir, File) }

// maxLedgerSize is state.MaxLedgerSize: the ledger is read by
// statedir.ReadFile, so a FIFO or device in its place is refused, not
// waited on.
const maxLedgerSize = 256 << 20

// Load reads the file; a missing file is no ledger yet.
func (s FileStore) Load() ([]byte, error) {
	b, err := statedir.ReadFile(s.path(), maxLedgerSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// Save replaces the file atomically, creating Dir (0700) if needed.
func (s FileStore) Save(doc []byte) error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return err
	}
	if err := statedir.WriteFileAtomic(s.path(), doc, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", s.path(), err)
	}
	return nil
}

func (s FileStore) String() string { return s.path() }

// ReadOnly is a Store that loads from another and never saves: plan reads
// the ledger to tell owned from unmanaged and keeps changes in memory.
type ReadOnly struct{ Store }

// Save does nothing.
func (ReadOnly) Save([]byte) error { return nil }
