package reconcile

import "github.com/esremote/esremote/reconcile/ledger"

// The ownership ledger is package ledger's; these names keep the engine's
// API as the daemon, the importer, recovery and cmd use it.

type (
	// Ledger is ledger.Ledger.
	Ledger = ledger.Ledger
	// AliasRecord is ledger.AliasRecord.
	AliasRecord = ledger.AliasRecord
	// Record is ledger.Record.
	Record = ledger.Record
	// KeyRecord is ledger.KeyRecord.
	KeyRecord = ledger.KeyRecord
	// Store is ledger.Store.
	Store = ledger.Store
	// FileStore is ledger.FileStore.
	FileStore = ledger.FileStore
)

// LedgerFile is the ledger's file name in the state directory.
const LedgerFile = ledger.File

// OpenLedger is ledger.Open.
func OpenLedger(stateDir string) (*Ledger, error) { return ledger.Open(stateDir) }

// OpenLedgerStore is ledger.OpenStore.
func OpenLedgerStore(store Store) (*Ledger, error) { return ledger.OpenStore(store) }

// NewLedger is ledger.New.
func NewLedger(installation string) (*Ledger, error) { return ledger.New(installation) }

// Fingerprint is ledger.Fingerprint.
func Fingerprint(v string) string { return ledger.Fingerprint(v) }
