// Package state is where esremote's ownership ledger lives, and how
// writers take turns with it (DESIGN §9, "one writer at a time"):
//
//   - [File]: the ledger in the state directory (the default). The
//     directory's flock (statedir.LockStateDir) keeps a second writer out;
//     every save re-reads the file and merges what another writer
//     recorded since, so even a writer that ignored the lock loses
//     nothing it did not delete itself.
//   - [Elasticsearch]: the ledger as a document in a declared cluster, for
//     several admin hosts. Writes carry if_seq_no/if_primary_term, and a
//     [Lease] in the same index elects the one process that may write.
//   - [Migrate] moves a ledger from one store to the other.
//
// Each store has the three methods of reconcile's Store interface (Load,
// Save, String); this package does not import the engine.
package state

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/esremote/esremote/reconcile/statedir"
)

// LedgerFile is the ledger's file name in the state directory.
const LedgerFile = "ledger.json"

// MaxLedgerSize bounds what is read as a ledger: it is read by
// statedir.ReadFile, so a FIFO or device in its place is refused
// instead of blocking every command or growing without bound.
const MaxLedgerSize = 256 << 20

// File keeps the ledger in Dir/ledger.json, replaced atomically (write
// temp, fsync, rename, fsync dir), so a crash leaves either the old or the
// new ledger and a reader (plan) always reads a whole one.
//
// Save re-reads the file first: when it changed since this File last
// loaded or saved it, the two are merged ([Merge]) so that records another
// writer made in between are kept. The caller holds the state dir's lock
// while it may save, so the re-read and the write are one step.
type File struct {
	Dir string
	// Guard, when set, is asked before every save: the writer's state dir
	// lock (statedir.StateLock.Check), so that a writer whose lock was
	// removed or replaced saves nothing more.
	Guard func() error

	mu   sync.Mutex
	base []byte // the content this File last loaded or saved; nil: none
}

func (s *File) path() string { return filepath.Join(s.Dir, LedgerFile) }

// Load reads the file; a missing file is no ledger yet (nil, nil).
func (s *File) Load() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := statedir.ReadFile(s.path(), MaxLedgerSize)
	if errors.Is(err, fs.ErrNotExist) {
		s.base = nil
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s.base = b
	return b, nil
}

// Save writes doc, merged with what another writer saved since the last
// Load or Save, creating Dir (0700) if needed.
func (s *File) Save(doc []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Guard != nil {
		if err := s.Guard(); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return err
	}
	out := doc
	cur, err := statedir.ReadFile(s.path(), MaxLedgerSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("re-read %s: %w", s.path(), err)
	case !bytes.Equal(cur, s.base):
		if out, err = Merge(s.base, doc, cur); err != nil {
			return fmt.Errorf("%s changed since it was read, and cannot be merged: %w", s.path(), err)
		}
	}
	if err := statedir.WriteFileAtomic(s.path(), out, 0o600); err != nil {
		return err
	}
	// The base is what this writer knows, its own document: a record
	// another writer made is in the file but not in ours, and must count
	// as theirs (kept) at the next save, not as one we removed.
	s.base = bytes.Clone(doc)
	return nil
}

func (s *File) String() string { return s.path() }

// Retire moves the ledger aside after a migration, to
// ledger.json.migrated: kept for the record, never read again.
func (s *File) Retire() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.Rename(s.path(), s.path()+".migrated"); err != nil {
		return fmt.Errorf("retire %s: %w", s.path(), err)
	}
	return nil
}
