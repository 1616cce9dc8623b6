package world

import (
	"encoding/json"
	"time"
)

// CrossClusterAccess is the "access" of a cross-cluster API key, in
// Elasticsearch's JSON shape. At least one of Search and Replication must
// be non-empty.
type CrossClusterAccess struct {
	Search      []SearchAccess      `json:"search,omitempty"`
	Replication []ReplicationAccess `json:"replication,omitempty"`
}

// SearchAccess grants cross-cluster search on Names.
type SearchAccess struct {
	Names []string `json:"names"`
	// Query is a DLS query: a JSON object when sent; GET returns it as a
	// JSON string holding the object.
	Query                  json.RawMessage `json:"query,omitempty"`
	FieldSecurity          *FieldSecurity  `json:"field_security,omitempty"`
	AllowRestrictedIndices *bool           `json:"allow_restricted_indices,omitempty"` // GET always returns it (default false)
}

// ReplicationAccess grants cross-cluster replication on Names.
type ReplicationAccess struct {
	Names                  []string `json:"names"`
	AllowRestrictedIndices *bool    `json:"allow_restricted_indices,omitempty"`
}

// FieldSecurity is field-level security.
type FieldSecurity struct {
	Grant  []string `json:"grant,omitempty"`
	Except []string `json:"except,omitempty"`
}

// APIKey is one key of GET /_security/api_key.
type APIKey struct {
	ID           string
	Name         string
	Type         string // "rest" or "cross_cluster"
	Creation     time.Time
	Expiration   time.Time // zero: never expires
	Invalidated  bool
	Invalidation time.Time // zero when not invalidated, or before 8.12
	Username     string
	Realm        string
	Metadata     map[string]any // never nil
	// RoleDescriptors is returned as Elasticsearch sent it, by name.
	RoleDescriptors map[string]json.RawMessage
	// Access is set for cross-cluster keys; Elasticsearch adds
	// allow_restricted_indices: false to every entry.
	Access *CrossClusterAccess
}

// Expired reports whether the key has an expiration at or before now.
func (k APIKey) Expired(now time.Time) bool {
	return !k.Expiration.IsZero() && !k.Expiration.After(now)
}

// Role is a security role as PUT and GET /_security/role use it. Unknown
// or rarely used parts (applications, global) are kept as raw JSON.
type Role struct {
	Cluster       []string                  `json:"cluster,omitempty"`
	Indices       []IndicesPrivileges       `json:"indices,omitempty"`
	RemoteIndices []RemoteIndicesPrivileges `json:"remote_indices,omitempty"` // 8.14+
	RemoteCluster []RemoteClusterPrivileges `json:"remote_cluster,omitempty"` // 8.15+
	Applications  json.RawMessage           `json:"applications,omitempty"`
	Global        json.RawMessage           `json:"global,omitempty"`
	RunAs         []string                  `json:"run_as,omitempty"`
	Metadata      map[string]any            `json:"metadata,omitempty"`
	Description   string                    `json:"description,omitempty"`
	// TransientMetadata is returned by GET ({"enabled": true}); PutRole
	// never sends it.
	TransientMetadata map[string]any `json:"transient_metadata,omitempty"`
}

// IndicesPrivileges grants privileges on local indices.
type IndicesPrivileges struct {
	Names                  []string        `json:"names"`
	Privileges             []string        `json:"privileges"`
	FieldSecurity          *FieldSecurity  `json:"field_security,omitempty"`
	Query                  json.RawMessage `json:"query,omitempty"` // GET returns a JSON string
	AllowRestrictedIndices *bool           `json:"allow_restricted_indices,omitempty"`
}

// RemoteIndicesPrivileges grants privileges on indices of the remote
// clusters whose aliases match Clusters.
type RemoteIndicesPrivileges struct {
	Clusters               []string        `json:"clusters"`
	Names                  []string        `json:"names"`
	Privileges             []string        `json:"privileges"`
	FieldSecurity          *FieldSecurity  `json:"field_security,omitempty"`
	Query                  json.RawMessage `json:"query,omitempty"`
	AllowRestrictedIndices *bool           `json:"allow_restricted_indices,omitempty"`
}

// RemoteClusterPrivileges grants cluster privileges ("monitor_enrich",
// "monitor_stats") on remote clusters whose aliases match Clusters.
type RemoteClusterPrivileges struct {
	Clusters   []string `json:"clusters"`
	Privileges []string `json:"privileges"`
}
