package reconcile

import (
	"github.com/esremote/esremote/reconcile/decide"
)

// The decide stage for what connections that left the specs leave
// behind: their managed keys and keystore entries (pure diff functions).

// planRemovedKeys plans the invalidation of managed keys (and removal of
// their keystore entries) whose connection left the specs: it gathers the
// ledger's part and adds decide.RemovedKeys's decision to cp.
func (ps *passState) planRemovedKeys(cp *ClusterPlan) {
	if ps.scoped {
		return
	}
	led := ps.ledger
	var keys []decide.RemovedKey
	for _, name := range led.KeyConnections() {
		rec := led.Key(name)
		if rec == nil || rec.Local != cp.Local || ps.set.Connection(name) != nil {
			continue
		}
		keys = append(keys, decide.RemovedKey{Conn: name, Key: rec, Keystore: led.Keystore(cp.Local, CredentialsKey(rec.Alias))})
	}
	for _, rk := range decide.RemovedKeys(cp.Local, keys) {
		d := deletionFor(cp, rk.Conn)
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

// planKeystoreRemovals plans the removal of keystore entries esremote
// wrote for an alias no connection of the cluster declares any more (an
// alias renamed, a connection removed whose key record is gone), besides
// those planRemovedKeys already removes with their key: it gathers the
// ledger's entries and adds decide.KeystoreRemovals's decision to cp.
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
	var entries []decide.KeystoreEntry
	for _, setting := range led.KeystoreEntries(cp.Local) {
		entries = append(entries, decide.KeystoreEntry{Setting: setting, Rec: led.Keystore(cp.Local, setting)})
	}
	for _, e := range decide.KeystoreRemovals(cp.Local, entries, all, handled) {
		d := deletionFor(cp, e.Conn)
		if d.Alias == "" {
			d.Alias = e.Alias
		}
		d.Changes = append(d.Changes, e.Change)
		d.KeystoreRemovals = append(d.KeystoreRemovals, decide.KeystoreRemoval{Setting: e.Setting, Change: e.Change})
	}
}
