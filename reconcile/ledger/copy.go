package ledger

import (
	"maps"
	"time"
)

// Copy returns an in-memory copy of the ledger as it is now: a ledger of
// its own, sharing nothing with l, that no store saves. A pass takes one
// when it starts and decides from it (DESIGN §4), so what the pass writes
// to l while it runs never changes a decision of the same pass, and two
// decisions from one Snapshot and one Copy are equal.
func (l *Ledger) Copy() *Ledger {
	l.mu.Lock()
	defer l.mu.Unlock()
	return &Ledger{data: l.data.clone()}
}

// clone is a deep copy of d: every map and record is new.
func (d *document) clone() document {
	c := document{Version: d.Version, Installation: d.Installation, Clusters: maps.Clone(d.Clusters),
		Settings: make(map[string]map[string]*AliasRecord, len(d.Settings)),
		Roles:    cloneGroups(d.Roles), Keystore: cloneGroups(d.Keystore), Trust: cloneGroups(d.Trust),
		Keys:       make(map[string]*KeyRecord, len(d.Keys)),
		KeyIntents: make(map[string]time.Time, len(d.KeyIntents)),
	}
	for local, aliases := range d.Settings {
		m := make(map[string]*AliasRecord, len(aliases))
		for alias, r := range aliases {
			if r == nil { // a document may hold null
				m[alias] = nil
				continue
			}
			rc := *r
			rc.Keys = maps.Clone(r.Keys)
			m[alias] = &rc
		}
		c.Settings[local] = m
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
