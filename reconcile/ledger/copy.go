package ledger

import (
	"maps"
	"time"
)

// Copy returns an in-memory copy of the ledger as it is now: a ledger of
// its own, that no store saves. A pass takes one when it starts and
// decides from it (DESIGN §4), so what the pass writes to l while it runs
// never changes a decision of the same pass, and two decisions from one
// Snapshot and one Copy are equal.
//
// The copy shares the alias records with l, one per alias esremote wrote
// (5,000 for 200 clusters of 25 aliases): a stored record is never changed
// in place (SetAliases stores a new one, with its own keys map) and every
// read hands out a copy (Alias), so sharing them is safe, and the pass
// does not copy every one of them, on its critical path, before its first
// read.
func (l *Ledger) Copy() *Ledger {
	l.mu.Lock()
	defer l.mu.Unlock()
	return &Ledger{data: l.data.clone()}
}

// clone is a copy of d: every map is new, and every record but the alias
// records (see Copy).
func (d *document) clone() document {
	c := document{Version: d.Version, Installation: d.Installation, Clusters: maps.Clone(d.Clusters),
		Settings: make(map[string]map[string]*AliasRecord, len(d.Settings)),
		Roles:    cloneGroups(d.Roles), Keystore: cloneGroups(d.Keystore), Trust: cloneGroups(d.Trust),
		Keys:       make(map[string]*KeyRecord, len(d.Keys)),
		KeyIntents: make(map[string]time.Time, len(d.KeyIntents)),
	}
	for local, aliases := range d.Settings {
		c.Settings[local] = maps.Clone(aliases) // the records are shared: see Copy
	}
	for conn, r := range d.Keys {
		c.Keys[conn] = r.clone()
	}
	maps.Copy(c.KeyIntents, d.KeyIntents)
	if c.Clusters == nil {
		c.Clusters = map[string]string{}
	}
	return c
}

// clone is a copy of r and of the key it rotates out.
func (r *KeyRecord) clone() *KeyRecord {
	if r == nil {
		return nil
	}
	c := *r
	if r.Previous != nil {
		c.Previous = r.Previous.clone()
	}
	return &c
}

func cloneGroups(m map[string]map[string]*Record) map[string]map[string]*Record {
	c := make(map[string]map[string]*Record, len(m))
	for group, recs := range m {
		g := make(map[string]*Record, len(recs))
		for name, r := range recs {
			if r == nil {
				g[name] = nil
				continue
			}
			rc := *r
			g[name] = &rc
		}
		c[group] = g
	}
	return c
}
