package decide

import (
	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
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

// RemovedKeysOf decides the invalidation of the managed keys (and the
// removal of their keystore entries) whose connection left the specs: it
// gathers the ledger's part for cp's cluster and adds RemovedKeys's
// decision to cp.
func RemovedKeysOf(cp *ClusterPlan, set *spec.Set, led *ledger.Ledger) {
	var keys []RemovedKey
	for _, name := range led.KeyConnections() {
		rec := led.Key(name)
		if rec == nil || rec.Local != cp.Local || set.Connection(name) != nil {
			continue
		}
		keys = append(keys, RemovedKey{Conn: name, Key: rec, Keystore: led.Keystore(cp.Local, CredentialsKey(rec.Alias))})
	}
	for _, rk := range RemovedKeys(cp.Local, keys) {
		d := DeletionFor(cp, rk.Conn)
		if d.Alias == "" {
			d.Alias = rk.Key.Alias
		}
		d.Key = rk.Key
		if rk.Keystore != nil {
			d.Keystore = true
		}
		d.Changes = append(d.Changes, rk.Changes...)
	}
}

// KeystoreRemovalsOf decides the removal of the keystore entries
// esremote wrote for an alias no connection of the cluster declares any
// more (all: an alias renamed, a connection removed whose key record is
// gone), besides those RemovedKeysOf already removes with their key: it
// gathers the ledger's entries and adds KeystoreRemovals's decision to cp.
func KeystoreRemovalsOf(cp *ClusterPlan, all map[string]bool, led *ledger.Ledger) {
	handled := map[string]bool{}
	for _, d := range cp.Deletions {
		if d.Keystore && d.Key != nil {
			handled[CredentialsKey(d.Key.Alias)] = true
		}
	}
	var entries []KeystoreEntry
	for _, setting := range led.KeystoreEntries(cp.Local) {
		entries = append(entries, KeystoreEntry{Setting: setting, Rec: led.Keystore(cp.Local, setting)})
	}
	for _, e := range KeystoreRemovals(cp.Local, entries, all, handled) {
		d := DeletionFor(cp, e.Conn)
		if d.Alias == "" {
			d.Alias = e.Alias
		}
		d.Changes = append(d.Changes, e.Change)
		d.KeystoreRemovals = append(d.KeystoreRemovals, KeystoreRemoval{Setting: e.Setting, Change: e.Change})
	}
}
