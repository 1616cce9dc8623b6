package state

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/esremote/esremote/reconcile/es"
)

// storeTimeout bounds one load or save of the ledger document (the
// Store interface has no context: the engine saves between requests).
const storeTimeout = 30 * time.Second

// ledgerSource is the ledger document's source. The ledger travels as an
// opaque string, not as an object: its keys are cluster names, aliases
// and connection names, and as fields they would grow the index mapping
// with every connection until index.mapping.total_fields.limit (1000)
// refuses the write.
type ledgerSource struct {
	Ledger  string    `json:"ledger"`
	SavedBy string    `json:"saved_by"`
	SavedAt time.Time `json:"saved_at"`
}

// Elasticsearch keeps the ledger in one document (Index/LedgerID) of a
// declared cluster, for admin hosts that share it. Every save is
// conditioned on the version last read or written (if_seq_no and
// if_primary_term; op_type=create for the first), and only a process that
// holds Lease may save: Save checks the lease first and fails with
// ErrNotLeader otherwise. A save that finds the document changed by
// someone else (a leader that was fenced a moment too late, a migrate)
// re-reads it and merges as File does, so nothing recorded is lost.
//
// A nil Lease makes a read-only store for plan and status: Load works,
// Save fails.
type Elasticsearch struct {
	Client *es.Client
	Lease  *Lease
	// Index defaults to Index.
	Index string
	// Now is the clock of saved_at (default time.Now).
	Now func() time.Time

	mu   sync.Mutex
	last es.Doc // the ledger document last read or written
	base []byte // its ledger
}

func (s *Elasticsearch) index() string {
	if s.Index == "" {
		return Index
	}
	return s.Index
}

// Load reads the ledger document (a realtime get: no refresh needed); a
// store without one is no ledger yet (nil, nil).
func (s *Elasticsearch) Load() ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	doc, b, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	s.last, s.base = doc, b
	return b, nil
}

func (s *Elasticsearch) read(ctx context.Context) (es.Doc, []byte, error) {
	doc, err := s.Client.GetDoc(ctx, s.index(), LedgerID)
	if err != nil || !doc.Found {
		return doc, nil, err
	}
	var src ledgerSource
	if err := json.Unmarshal(doc.Source, &src); err != nil || !json.Valid([]byte(src.Ledger)) {
		return doc, nil, fmt.Errorf("ledger document %s/%s on %s is not a ledger: move it aside (esremote state migrate --from %s --to DIR keeps a copy)",
			s.index(), LedgerID, s.Client.Name(), s.Client.Name())
	}
	return doc, []byte(src.Ledger), nil
}

// Save writes the ledger under the lease, conditioned on the version last
// read or written.
func (s *Elasticsearch) Save(ledger []byte) error {
	if s.Lease == nil {
		return fmt.Errorf("save ledger to %s: %w (read-only store)", s, ErrNotLeader)
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 0; ; attempt++ {
		if err := s.Lease.Check(); err != nil {
			return fmt.Errorf("save ledger to %s: %w", s, err)
		}
		out := ledger
		if attempt > 0 {
			cur, theirs, err := s.read(ctx)
			if err != nil {
				return fmt.Errorf("save ledger to %s: re-read: %w", s, err)
			}
			if cur.Found {
				if out, err = Merge(s.base, ledger, theirs); err != nil {
					return fmt.Errorf("save ledger to %s: %w", s, err)
				}
			}
			s.last = cur
		}
		p := es.Precondition{Create: true}
		if s.last.Found {
			p = es.IfMatch(s.last)
		}
		src := ledgerSource{Ledger: string(out), SavedBy: s.Lease.Holder(), SavedAt: s.now().UTC()}
		body, _ := json.Marshal(src)
		w, err := s.Client.IndexDoc(ctx, s.index(), LedgerID, body, p)
		switch {
		case es.IsConflict(err) && attempt == 0:
			continue // someone else saved: read, merge, try once more
		case err != nil:
			return fmt.Errorf("save ledger to %s: %w", s, err)
		}
		s.last = w.Doc(s.index(), LedgerID, body)
		s.base = bytes.Clone(ledger)
		return nil
	}
}

func (s *Elasticsearch) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// String is "elasticsearch CLUSTER/esremote-state/ledger".
func (s *Elasticsearch) String() string {
	return "elasticsearch " + s.Client.Name() + "/" + s.index() + "/" + LedgerID
}

// Retire deletes the ledger document after a migration, under the lease
// and only if it is still the version last read.
func (s *Elasticsearch) Retire() error {
	if s.Lease == nil {
		return fmt.Errorf("retire %s: %w (read-only store)", s, ErrNotLeader)
	}
	if err := s.Lease.Check(); err != nil {
		return fmt.Errorf("retire %s: %w", s, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.last.Found {
		return nil
	}
	if _, err := s.Client.DeleteDoc(ctx, s.index(), LedgerID, es.IfMatch(s.last)); err != nil {
		return fmt.Errorf("retire %s: %w", s, err)
	}
	s.last, s.base = es.Doc{}, nil
	return nil
}
