package decide

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"

	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// ManagedBy is the metadata value marking API keys and roles esremote owns.
const ManagedBy = "esremote"

// MetaInstallation is the metadata field of API keys and roles that holds
// the installation id of the ledger that created them.
const MetaInstallation = "installation"

// Metadata fields of the cross-cluster API keys esremote creates (besides
// managed_by and MetaInstallation): the connection, its local cluster and
// alias, and the hash of the access it was created with.
const (
	MetaConnection = "connection"
	MetaLocal      = "local"
	MetaAlias      = "alias"
	MetaAccessHash = "access_hash"
)

// KeyPrefix names every cross-cluster API key esremote creates:
// "esremote-<connection>".
const KeyPrefix = "esremote-"

// Key kinds of work, decided by Key.
const (
	KeyNone   = ""
	KeyCreate = "create" // no usable key: create one (first time, deleted, invalidated, secret lost)
	KeyUpdate = "update" // access changed: update in place
	KeyRotate = "rotate" // near expiry: create a new key, swap, verify, invalidate the old one
)

// AccessOf converts a spec's access block into Elasticsearch's.
func AccessOf(a spec.Access) world.CrossClusterAccess {
	var out world.CrossClusterAccess
	for _, s := range a.Search {
		out.Search = append(out.Search, world.SearchAccess{Names: slices.Clone(s.Names), Query: esQuery(s.Query),
			FieldSecurity: esFieldSecurity(s.FieldSecurity), AllowRestrictedIndices: trueOrNil(s.AllowRestrictedIndices)})
	}
	for _, r := range a.Replication {
		out.Replication = append(out.Replication, world.ReplicationAccess{Names: slices.Clone(r.Names),
			AllowRestrictedIndices: trueOrNil(r.AllowRestrictedIndices)})
	}
	return out
}

// The spec-to-ES conversions that keys and roles share.

func esQuery(q string) json.RawMessage {
	if q == "" {
		return nil
	}
	return json.RawMessage(q)
}

func esFieldSecurity(fs *spec.FieldSecurity) *world.FieldSecurity {
	if fs == nil {
		return nil
	}
	return &world.FieldSecurity{Grant: fs.Grant, Except: fs.Except}
}

// trueOrNil leaves allow_restricted_indices out unless it is true (ES's
// default is false, and GET always returns it).
func trueOrNil(b bool) *bool {
	if !b {
		return nil
	}
	return &b
}

// canonicalQuery renders a DLS query the same whether ES returns it as a
// JSON string holding the object (GET) or the object itself (the spec).
func canonicalQuery(q json.RawMessage) string {
	if len(q) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(q, &s) != nil {
		s = string(q)
	}
	var v any
	if json.Unmarshal([]byte(s), &v) == nil {
		b, _ := json.Marshal(v)
		return string(b)
	}
	return s
}

// CanonicalAccess renders access the same way whatever ES added to it
// (allow_restricted_indices: false on every entry, names order, the DLS
// query as a string or an object), so that live and desired compare.
func CanonicalAccess(a world.CrossClusterAccess) string {
	type entry struct {
		Names      []string `json:"n"`
		Query      string   `json:"q,omitempty"`
		Grant      []string `json:"g,omitempty"`
		Except     []string `json:"e,omitempty"`
		Restricted bool     `json:"r,omitempty"`
	}
	conv := func(names []string, q json.RawMessage, fs *world.FieldSecurity, r *bool) entry {
		e := entry{Names: slices.Sorted(slices.Values(names)), Restricted: r != nil && *r, Query: canonicalQuery(q)}
		if fs != nil {
			e.Grant, e.Except = slices.Sorted(slices.Values(fs.Grant)), slices.Sorted(slices.Values(fs.Except))
		}
		return e
	}
	var c struct {
		S []entry `json:"s,omitempty"`
		R []entry `json:"r,omitempty"`
	}
	for _, s := range a.Search {
		c.S = append(c.S, conv(s.Names, s.Query, s.FieldSecurity, s.AllowRestrictedIndices))
	}
	for _, r := range a.Replication {
		c.R = append(c.R, conv(r.Names, nil, nil, r.AllowRestrictedIndices))
	}
	b, _ := json.Marshal(c)
	return string(b)
}

func AccessHash(a world.CrossClusterAccess) string {
	sum := sha256.Sum256([]byte(CanonicalAccess(a)))
	return hex.EncodeToString(sum[:8])
}

func KeyName(c *spec.Connection) string { return KeyPrefix + c.Name }

// CredentialsKey is the keystore setting holding an alias's cross-cluster
// API key: cluster.remote.<alias>.credentials.
func CredentialsKey(alias string) string { return world.RemoteKey(alias, "credentials") }
