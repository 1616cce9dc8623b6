package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Store is where a ledger lives: the methods reconcile.Store has.
type Store interface {
	Load() ([]byte, error)
	Save(doc []byte) error
	String() string
}

// ErrDestinationHolds is Migrate's refusal to overwrite a ledger.
var ErrDestinationHolds = errors.New("the destination already holds a ledger")

// Migrate copies the ledger of from into to and reads it back: the bytes
// must be the same. It refuses a destination that already holds a ledger
// (two ledgers are merged by no one: move one aside first) and a source
// without one. The caller holds what makes both stores writable (the state
// dir's lock, the store's lease) and retires the source afterwards.
func Migrate(from, to Store) ([]byte, error) {
	b, err := from.Load()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", from, err)
	}
	if b == nil {
		return nil, fmt.Errorf("%s holds no ledger: nothing to migrate", from)
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("%s is not a ledger (not JSON)", from)
	}
	existing, err := to.Load()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", to, err)
	}
	if existing != nil {
		return nil, fmt.Errorf("%s: %w", to, ErrDestinationHolds)
	}
	if err := to.Save(b); err != nil {
		return nil, fmt.Errorf("write %s: %w", to, err)
	}
	back, err := to.Load()
	if err != nil {
		return nil, fmt.Errorf("read back %s: %w", to, err)
	}
	if !bytes.Equal(back, b) {
		return nil, fmt.Errorf("read back %s: it differs from what was written", to)
	}
	return b, nil
}
