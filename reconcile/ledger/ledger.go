// Package ledger is esremote's ownership ledger (DESIGN §5): for every
// object esremote wrote (alias settings, keystore entries, API keys, trust
// entries, roles), a fingerprint of the value it wrote, on the cluster
// identified by its cluster_uuid, under an installation id. It is the only
// memory the engine keeps between passes, and where it lives is a Store.
//
// A pass reads it twice over: the decide stage reads a Copy taken at the
// start of the pass (DESIGN §4: "plus a copy of the ledger taken at pass
// start"), so a decision never depends on what the pass has written so
// far; the execute stage writes the live Ledger, pending before each
// request and committed after it. The package imports no other stage.
package ledger

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// File is the ledger's file name in the state directory.
const File = "ledger.json"

// formatVersion is bumped when the file's meaning changes.
const formatVersion = 1

// Ledger records every object esremote wrote, with a fingerprint of the
// value it wrote. It is the only memory the engine keeps between passes.
//
// Guarantees: the file is replaced atomically (write temp, fsync, rename,
// fsync dir), so a crash leaves either the old or the new ledger. Writes
// are recorded as pending before they are sent and committed after the
// remote acknowledged them; a pending record whose value is live is as
// good as a committed one, one whose value is not live is ignored. So a
// crash between "sent" and "recorded" can neither lose ownership nor claim
// what esremote never wrote.
//
// Where the ledger lives is a Store: FileStore (the state directory, the
// default) or any other that loads and saves one document.
type Ledger struct {
	mu    sync.Mutex
	store Store // nil for an in-memory ledger (plan never persists)
	data  document

	// Saving is serialised by fileMu, outside mu, so that one cluster's
	// fsync does not stall every other cluster's ledger reads. seq counts
	// changes (under mu); written is the newest change on disk (under
	// fileMu): see saveLocked.
	fileMu  sync.Mutex
	seq     uint64
	written uint64
}

type document struct {
	Version int `json:"version"`
	// Installation is this ledger's random identity, created with it and
	// written into the metadata of every API key esremote creates: only
	// keys carrying it can be orphans of this installation.
	Installation string `json:"installation"`
	// Clusters: cluster name → the cluster_uuid of the cluster esremote
	// first wrote under that name. Every record of the name is about that
	// cluster; another cluster answering at the name's URL gets no writes.
	Clusters map[string]string `json:"clusters,omitempty"`
	// Settings: local cluster → alias → what esremote wrote.
	Settings map[string]map[string]*AliasRecord `json:"settings"`
	// Roles: local cluster → role name → fingerprint of the role body.
	Roles map[string]map[string]*Record `json:"roles,omitempty"`
	// Keys: connection name → the cross-cluster API key esremote manages.
	Keys map[string]*KeyRecord `json:"keys,omitempty"`
	// Keystore: local cluster → keystore setting → fingerprint of the secret.
	Keystore map[string]map[string]*Record `json:"keystore,omitempty"`
	// Trust: deployment id → trust entry identity → fingerprint.
	Trust map[string]map[string]*Record `json:"trust,omitempty"`
	// KeyIntents: connection → when esremote last set out to create its
	// key (saved before the create request; the ID only exists after).
	KeyIntents map[string]time.Time `json:"key_intents,omitempty"`
}

// Open reads the ledger in stateDir, or starts an empty one when
// there is none. stateDir "" gives an in-memory ledger that Save ignores.
func Open(stateDir string) (*Ledger, error) {
	if stateDir == "" {
		return OpenStore(nil)
	}
	return OpenStore(FileStore{Dir: stateDir})
}

// OpenStore reads the ledger from store, or starts an empty one
// (with a new installation id) when the store holds none. A nil store
// gives an in-memory ledger.
func OpenStore(store Store) (*Ledger, error) {
	l := &Ledger{store: store, data: document{Version: formatVersion}}
	if store == nil {
		return l.init()
	}
	b, err := store.Load()
	if err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	if b == nil {
		return l.init()
	}
	if err := json.Unmarshal(b, &l.data); err != nil {
		return nil, fmt.Errorf("read ledger %s: %w (the ledger is corrupt; rebuild it from what is live with: esremote state recover SPECDIR --force, which keeps a copy of this one)", store, err)
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] != '{' {
		// "null", "[]" or a bare value unmarshal without error into
		// nothing: a ledger that lost its records and would get a new
		// installation id, making esremote's own keys another's.
		return nil, fmt.Errorf("read ledger %s: not a ledger (a JSON object is expected, the file holds %.20q); rebuild it from what is live with: esremote state recover SPECDIR --force", store, t)
	}
	if l.data.Version > formatVersion {
		return nil, fmt.Errorf("ledger %s has version %d; this esremote understands up to %d: upgrade esremote", store, l.data.Version, formatVersion)
	}
	return l.init()
}

func (l *Ledger) init() (*Ledger, error) {
	if l.data.Settings == nil {
		l.data.Settings = map[string]map[string]*AliasRecord{}
	}
	if l.data.Roles == nil {
		l.data.Roles = map[string]map[string]*Record{}
	}
	if l.data.Keys == nil {
		l.data.Keys = map[string]*KeyRecord{}
	}
	if l.data.Keystore == nil {
		l.data.Keystore = map[string]map[string]*Record{}
	}
	if l.data.Trust == nil {
		l.data.Trust = map[string]map[string]*Record{}
	}
	if l.data.Clusters == nil {
		l.data.Clusters = map[string]string{}
	}
	if l.data.KeyIntents == nil {
		l.data.KeyIntents = map[string]time.Time{}
	}
	if l.data.Installation == "" {
		// A ledger from before installation ids, or a new one: the id is
		// saved with the first record.
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("create installation id: %w", err)
		}
		l.data.Installation = hex.EncodeToString(b)
	}
	l.data.Version = formatVersion
	return l, nil
}

// Path is where the ledger is stored ("" when in memory).
func (l *Ledger) Path() string {
	if l.store == nil {
		return ""
	}
	return l.store.String()
}

// Installation is the ledger's installation id (see document).
func (l *Ledger) Installation() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.data.Installation
}

// ClusterUUID is the cluster_uuid recorded for a cluster name ("" when
// esremote never wrote there).
func (l *Ledger) ClusterUUID(name string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.data.Clusters[name]
}

// ClusterUUIDs is every cluster name with the cluster_uuid recorded for it.
func (l *Ledger) ClusterUUIDs() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.data.Clusters)
}

// SetClusterUUID records which cluster a name designates and saves; it is
// called before the first write of a pass to that cluster.
func (l *Ledger) SetClusterUUID(name, uuid string) error {
	l.mu.Lock()
	if l.data.Clusters[name] == uuid {
		l.mu.Unlock()
		return nil
	}
	if uuid == "" {
		delete(l.data.Clusters, name)
	} else {
		l.data.Clusters[name] = uuid
	}
	return l.saveLocked()
}

// Names lists every cluster name the ledger holds any record about:
// aliases, roles, keystore entries, keys (by local and remote) and
// recorded cluster_uuids.
func (l *Ledger) Names() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[string]bool{}
	for n := range l.data.Settings {
		seen[n] = true
	}
	for n := range l.data.Roles {
		seen[n] = true
	}
	for n := range l.data.Keystore {
		seen[n] = true
	}
	for n := range l.data.Clusters {
		seen[n] = true
	}
	for _, k := range l.data.Keys {
		seen[k.Local], seen[k.Remote] = true, true
	}
	return slices.Sorted(maps.Keys(seen))
}

// KeystoreEntries lists the keystore settings recorded for a local cluster.
func (l *Ledger) KeystoreEntries(local string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Sorted(maps.Keys(l.data.Keystore[local]))
}

// SetKeyIntent records (or, with a zero time, clears) that esremote is
// about to create a connection's key, and saves: no record, no create.
func (l *Ledger) SetKeyIntent(conn string, at time.Time) error {
	l.mu.Lock()
	if at.IsZero() {
		delete(l.data.KeyIntents, conn)
	} else {
		l.data.KeyIntents[conn] = at.UTC()
	}
	return l.saveLocked()
}

// Save writes the ledger to its store. It is a no-op for an in-memory
// ledger.
func (l *Ledger) Save() error {
	l.mu.Lock()
	return l.saveLocked()
}

// saveLocked makes the change the caller just made under l.mu durable.
// Callers hold l.mu; it is released on return. Saves are group-committed:
// whoever gets the file lock writes a snapshot of the newest state, and
// callers whose change that snapshot already holds return without writing
// again. So many clusters recording at once cost a few writes, not one
// each, and no reader waits for an fsync.
func (l *Ledger) saveLocked() error {
	if l.store == nil {
		l.mu.Unlock()
		return nil
	}
	l.seq++
	mine := l.seq
	l.mu.Unlock()

	l.fileMu.Lock()
	defer l.fileMu.Unlock()
	if l.written >= mine {
		return nil // a snapshot holding this change is on disk
	}
	l.mu.Lock()
	b, err := json.MarshalIndent(&l.data, "", "  ")
	snap := l.seq
	l.mu.Unlock()
	if err != nil {
		return err
	}
	if err := l.store.Save(append(b, '\n')); err != nil {
		return fmt.Errorf("save ledger: %w", err)
	}
	l.written = snap
	return nil
}

// Alias returns a copy of the record for local/alias, or nil.
func (l *Ledger) Alias(local, alias string) *AliasRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.data.Settings[local][alias]
	if r == nil {
		return nil
	}
	c := *r
	c.Keys = maps.Clone(r.Keys)
	return &c
}

// SharedAlias returns the record for local/alias, or nil, without copying
// it: the record is the ledger's, for reading only. A stored record is
// never changed in place (SetAliases stores a new one, with its own keys
// map), so it may be read while the ledger is written. A decision reads
// the record of every alias of every cluster each pass, where Alias
// copies each record and its keys; a caller that changes what it got
// takes Alias.
func (l *Ledger) SharedAlias(local, alias string) *AliasRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.data.Settings[local][alias]
}

// Aliases lists the aliases recorded for a local cluster.
func (l *Ledger) Aliases(local string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for a := range l.data.Settings[local] {
		out = append(out, a)
	}
	return out
}

// PendingAliases lists the aliases of local whose record is pending
// (recorded before its write, not committed after it), in no order and
// without copying a record: a pass asks it of every cluster to commit
// the writes that landed, and in an estate in sync none is pending, where
// asking Alias of every alias copied each record and its keys.
func (l *Ledger) PendingAliases(local string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for a, r := range l.data.Settings[local] {
		if r != nil && r.Pending {
			out = append(out, a)
		}
	}
	return out
}

// Owns reports whether the ledger records anything esremote owns on or
// for the local cluster: an alias, a role, a keystore entry, or the
// managed key of one of its connections. Such a cluster is visited by
// every pass even when no connection declares it any more, so that what a
// failed removal left (a key the remote refused to invalidate, the
// keystore entry kept with it) is retried, never forgotten.
func (l *Ledger) Owns(local string) bool {
	if len(l.Aliases(local)) > 0 || len(l.Roles(local)) > 0 || len(l.KeystoreEntries(local)) > 0 {
		return true
	}
	for _, conn := range l.KeyConnections() {
		if rec := l.Key(conn); rec != nil && rec.Local == local {
			return true
		}
	}
	return false
}

// SetAlias records (pending or committed) what esremote writes under an
// alias and saves the ledger. A nil keys map removes the record.
func (l *Ledger) SetAlias(local, alias, conn string, keys map[string]string, pending bool, now time.Time) error {
	var rec *AliasRecord
	if keys != nil {
		rec = &AliasRecord{Connection: conn, Keys: keys, Pending: pending, WrittenAt: now}
	}
	return l.SetAliases(local, map[string]*AliasRecord{alias: rec})
}

// SetAliases records several aliases of one cluster (a nil record removes
// one) and saves the ledger once: a pass records all the aliases of its
// single PUT together.
func (l *Ledger) SetAliases(local string, recs map[string]*AliasRecord) error {
	l.mu.Lock()
	for alias, r := range recs {
		if r == nil {
			delete(l.data.Settings[local], alias)
			continue
		}
		if l.data.Settings[local] == nil {
			l.data.Settings[local] = map[string]*AliasRecord{}
		}
		c := *r
		c.Keys = maps.Clone(r.Keys)
		c.WrittenAt = r.WrittenAt.UTC()
		l.data.Settings[local][alias] = &c
	}
	if len(l.data.Settings[local]) == 0 {
		delete(l.data.Settings, local)
	}
	return l.saveLocked()
}

// Role returns the record of a role esremote wrote on local, or nil.
func (l *Ledger) Role(local, name string) *Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.data.Roles[local][name]; r != nil {
		c := *r
		return &c
	}
	return nil
}

// Roles lists the roles recorded for a local cluster.
func (l *Ledger) Roles(local string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for n := range l.data.Roles[local] {
		out = append(out, n)
	}
	return out
}

// SetRole records a role's fingerprint (nil removes) and saves.
func (l *Ledger) SetRole(local, name string, r *Record) error {
	return l.setRecord(l.data.Roles, local, name, r)
}

// Keystore returns the record of a keystore entry esremote wrote, or nil.
func (l *Ledger) Keystore(local, setting string) *Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.data.Keystore[local][setting]; r != nil {
		c := *r
		return &c
	}
	return nil
}

// SetKeystore records a keystore entry's fingerprint (nil removes) and saves.
func (l *Ledger) SetKeystore(local, setting string, r *Record) error {
	return l.setRecord(l.data.Keystore, local, setting, r)
}

// Trust returns the record of a trust entry esremote wrote, or nil.
func (l *Ledger) Trust(deployment, entry string) *Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.data.Trust[deployment][entry]; r != nil {
		c := *r
		return &c
	}
	return nil
}

// TrustEntries lists the trust entries recorded for a deployment.
func (l *Ledger) TrustEntries(deployment string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for n := range l.data.Trust[deployment] {
		out = append(out, n)
	}
	return out
}

// SetTrust records a trust entry's fingerprint (nil removes) and saves.
func (l *Ledger) SetTrust(deployment, entry string, r *Record) error {
	return l.setRecord(l.data.Trust, deployment, entry, r)
}

func (l *Ledger) setRecord(m map[string]map[string]*Record, group, name string, r *Record) error {
	return l.setRecords(m, group, map[string]*Record{name: r})
}

// setRecords records several objects of one group (nil removes) and saves once.
func (l *Ledger) setRecords(m map[string]map[string]*Record, group string, recs map[string]*Record) error {
	l.mu.Lock()
	for name, r := range recs {
		if r == nil {
			delete(m[group], name)
			continue
		}
		if m[group] == nil {
			m[group] = map[string]*Record{}
		}
		c := *r
		m[group][name] = &c
	}
	if len(m[group]) == 0 {
		delete(m, group)
	}
	return l.saveLocked()
}

// SetRoles records several roles of one cluster (nil removes) and saves once.
func (l *Ledger) SetRoles(local string, recs map[string]*Record) error {
	return l.setRecords(l.data.Roles, local, recs)
}

// Key returns the key record of a connection, or nil.
func (l *Ledger) Key(conn string) *KeyRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.data.Keys[conn]; r != nil {
		c := *r
		if r.Previous != nil {
			p := *r.Previous
			c.Previous = &p
		}
		return &c
	}
	return nil
}

// KeyConnections lists the connections that have a key record.
func (l *Ledger) KeyConnections() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for n := range l.data.Keys {
		out = append(out, n)
	}
	return out
}

// SetKey records a connection's key (nil removes) and saves.
func (l *Ledger) SetKey(conn string, r *KeyRecord) error {
	l.mu.Lock()
	if r == nil {
		delete(l.data.Keys, conn)
	} else {
		c := *r
		l.data.Keys[conn] = &c
	}
	delete(l.data.KeyIntents, conn) // the key is recorded: the intent is settled
	return l.saveLocked()
}

// New returns an empty in-memory ledger whose installation id is
// installation, or a new random one when installation is "". Recovery
// (esremote state recover) fills it with the Set* methods and saves its
// Document once.
func New(installation string) (*Ledger, error) {
	l := &Ledger{data: document{Version: formatVersion, Installation: installation}}
	return l.init()
}

// Document is the ledger as a store saves it.
func (l *Ledger) Document() ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, err := json.MarshalIndent(&l.data, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
