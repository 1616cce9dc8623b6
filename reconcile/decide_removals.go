package reconcile

// The decide stage for what connections that left the specs leave
// behind: their managed keys and keystore entries (pure diff functions).

import (
	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/world"
)

// planRemovedKeys plans the invalidation of managed keys (and removal of
// their keystore entries) whose connection left the specs: it gathers the
// ledger's part and adds diffRemovedKeys's decision to cp.
func (ps *passState) planRemovedKeys(cp *ClusterPlan) {
	if ps.scoped {
		return
	}
	led := ps.ledger
	var keys []removedKey
	for _, name := range led.KeyConnections() {
		rec := led.Key(name)
		if rec == nil || rec.Local != cp.Local || ps.set.Connection(name) != nil {
			continue
		}
		keys = append(keys, removedKey{conn: name, key: rec, keystore: led.Keystore(cp.Local, CredentialsKey(rec.Alias))})
	}
	for _, rk := range diffRemovedKeys(cp.Local, keys) {
		d := deletionFor(cp, rk.conn)
		if d.Alias == "" {
			d.Alias = rk.key.Alias
		}
		d.Key = rk.key
		if rk.keystore != nil {
			d.Keystore = true
		}
		d.Changes = append(d.Changes, rk.changes...)
	}
}

// removedKey is a managed key whose connection left the specs, with the
// keystore entry esremote delivered it to (nil when none is recorded),
// and, once decided, the changes that remove them.
type removedKey struct {
	conn     string
	key      *KeyRecord
	keystore *Record
	changes  []*Change
}

// diffRemovedKeys decides the removal of the keys of connections that
// left the specs: the key is invalidated, and its keystore entry removed
// when esremote recorded one. It is pure.
func diffRemovedKeys(local string, keys []removedKey) []removedKey {
	out := make([]removedKey, 0, len(keys))
	for _, rk := range keys {
		rec := rk.key
		rk.changes = []*Change{{Resource: ResourceAPIKey, Target: rec.Remote, Key: rec.Name + " (" + rec.ID + ")",
			Action: ActionDelete, Actual: "key of a removed connection", Origin: OriginSpec}}
		if rk.keystore != nil {
			rk.changes = append(rk.changes, &Change{Resource: ResourceKeystore, Target: local, Key: CredentialsKey(rec.Alias),
				Action: ActionDelete, Actual: drift.Redacted(rk.keystore.Fingerprint), Origin: OriginSpec})
		}
		out = append(out, rk)
	}
	return out
}

// planKeystoreRemovals plans the removal of keystore entries esremote
// wrote for an alias no connection of the cluster declares any more (an
// alias renamed, a connection removed whose key record is gone), besides
// those planRemovedKeys already removes with their key: it gathers the
// ledger's entries and adds diffKeystoreRemovals's decision to cp.
func (ps *passState) planKeystoreRemovals(cp *ClusterPlan, all map[string]bool) {
	if ps.scoped {
		return
	}
	led := ps.ledger
	handled := map[string]bool{}
	for _, d := range cp.Deletions {
		if d.Keystore && d.Key != nil {
			handled[CredentialsKey(d.Key.Alias)] = true
		}
	}
	var entries []keystoreEntry
	for _, setting := range led.KeystoreEntries(cp.Local) {
		entries = append(entries, keystoreEntry{setting: setting, rec: led.Keystore(cp.Local, setting)})
	}
	for _, e := range diffKeystoreRemovals(cp.Local, entries, all, handled) {
		d := deletionFor(cp, e.conn)
		if d.Alias == "" {
			d.Alias = e.alias
		}
		d.Changes = append(d.Changes, e.change)
		d.KeystoreRemovals = append(d.KeystoreRemovals, decide.KeystoreRemoval{Setting: e.setting, Change: e.change})
	}
}

// keystoreEntry is a keystore setting esremote recorded writing.
type keystoreEntry struct {
	setting string
	rec     *Record
	// Decided by diffKeystoreRemovals:
	conn, alias string // the connection it was written for ("(alias a)" when unknown) and its alias
	change      *Change
}

// diffKeystoreRemovals decides which recorded keystore entries of a
// local cluster go: the cluster.remote.<alias>.credentials entries of an
// alias that no connection declares (declared) and that no removed key
// takes with it (handled). Other settings are never touched. It is pure.
func diffKeystoreRemovals(local string, entries []keystoreEntry, declared, handled map[string]bool) []keystoreEntry {
	var out []keystoreEntry
	for _, e := range entries {
		alias, suffix, ok := world.SplitRemoteKey(e.setting)
		if !ok || suffix != "credentials" || declared[alias] || handled[e.setting] {
			continue
		}
		e.alias, e.conn = alias, recConn(e.rec)
		if e.conn == "" {
			e.conn = "(alias " + alias + ")"
		}
		fp := ""
		if e.rec != nil {
			fp = e.rec.Fingerprint
		}
		e.change = &Change{Resource: ResourceKeystore, Target: local, Key: e.setting,
			Action: ActionDelete, Actual: drift.Redacted(fp), Origin: OriginSpec}
		out = append(out, e)
	}
	return out
}
