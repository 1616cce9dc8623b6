package decide

import (
	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/reconcile/world"
)

// RemovedKey is a managed key whose connection left the specs, with the
// keystore entry esremote delivered it to (nil when none is recorded),
// and, once decided, the changes that remove them.
type RemovedKey struct {
	Conn     string
	Key      *ledger.KeyRecord
	Keystore *ledger.Record
	Changes  []*Change
}

// RemovedKeys decides the removal of the keys of connections that
// left the specs: the key is invalidated, and its keystore entry removed
// when esremote recorded one. It is pure.
func RemovedKeys(local string, keys []RemovedKey) []RemovedKey {
	out := make([]RemovedKey, 0, len(keys))
	for _, rk := range keys {
		rec := rk.Key
		rk.Changes = []*Change{{Resource: drift.ResourceAPIKey, Target: rec.Remote, Key: rec.Name + " (" + rec.ID + ")",
			Action: drift.ActionDelete, Actual: "key of a removed connection", Origin: drift.OriginSpec}}
		if rk.Keystore != nil {
			rk.Changes = append(rk.Changes, &Change{Resource: drift.ResourceKeystore, Target: local, Key: CredentialsKey(rec.Alias),
				Action: drift.ActionDelete, Actual: drift.Redacted(rk.Keystore.Fingerprint), Origin: drift.OriginSpec})
		}
		out = append(out, rk)
	}
	return out
}

// KeystoreEntry is a keystore setting esremote recorded writing.
type KeystoreEntry struct {
	Setting string
	Rec     *ledger.Record
	// Decided by KeystoreRemovals:
	Conn, Alias string // the connection it was written for ("(alias a)" when unknown) and its alias
	Change      *Change
}

// KeystoreRemovals decides which recorded keystore entries of a
// local cluster go: the cluster.remote.<alias>.credentials entries of an
// alias that no connection declares (declared) and that no removed key
// takes with it (handled). Other settings are never touched. It is pure.
func KeystoreRemovals(local string, entries []KeystoreEntry, declared, handled map[string]bool) []KeystoreEntry {
	var out []KeystoreEntry
	for _, e := range entries {
		alias, suffix, ok := world.SplitRemoteKey(e.Setting)
		if !ok || suffix != "credentials" || declared[alias] || handled[e.Setting] {
			continue
		}
		e.Alias, e.Conn = alias, recConn(e.Rec)
		if e.Conn == "" {
			e.Conn = "(alias " + alias + ")"
		}
		fp := ""
		if e.Rec != nil {
			fp = e.Rec.Fingerprint
		}
		e.Change = &Change{Resource: drift.ResourceKeystore, Target: local, Key: e.Setting,
			Action: drift.ActionDelete, Actual: drift.Redacted(fp), Origin: drift.OriginSpec}
		out = append(out, e)
	}
	return out
}
