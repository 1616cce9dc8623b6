package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// Finding codes the engine emits (alerts and scripts match on them).
const (
	CodeKeyExpiresSoon     = "key_expires_soon"
	CodeActionRequired     = "action_required"
	CodeVersionTooOld      = decide.CodeVersionTooOld
	CodeRoleNotCovered     = "role_not_covered_by_key"
	CodeCertificateModel   = "certificate_model_deprecated"
	CodeInsecureSkipVerify = "insecure_skip_verify"
	CodeReloadFailed       = "reload_failed"
	CodeDisconnected       = "link_disconnected"
	CodeRotationStuck      = drift.CodeRotationStuck
	CodeCanaryAmbiguous    = "canary_ambiguous"
	// CodeKeystoreNotLoaded (warning): esremote wrote a key to the
	// keystore past the grace ago and no request has shown it in use,
	// with evidence naming no key; esremote waits rather than write
	// again (a write restarts the platform's load). Within the grace it
	// is an info finding of a disconnected link (diagnose): the value is
	// loading, nothing is missing and apply has nothing to write.
	CodeKeystoreNotLoaded = "keystore_not_loaded"
	// CodeRotationWindow (info): a rotation's old key stays valid until
	// the new one has been proven over the window (RotationOverlap).
	CodeRotationWindow = "rotation_window"
)

// ManagedBy is the metadata value marking API keys and roles esremote owns.
const ManagedBy = "esremote"

// MetaInstallation is the metadata field of API keys and roles that holds
// the installation id of the ledger that created them.
const MetaInstallation = "installation"

// keyPrefix names every cross-cluster API key esremote creates:
// "esremote-<connection>".
const keyPrefix = "esremote-"

// Key kinds of work, decided by diffKey.
const (
	keyNone   = ""
	keyCreate = "create" // no usable key: create one (first time, deleted, invalidated, secret lost)
	keyUpdate = "update" // access changed: update in place
	keyRotate = "rotate" // near expiry: create a new key, swap, verify, invalidate the old one
)

// accessOf converts a spec's access block into Elasticsearch's.
func accessOf(a spec.Access) world.CrossClusterAccess {
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

// canonicalAccess renders access the same way whatever ES added to it
// (allow_restricted_indices: false on every entry, names order, the DLS
// query as a string or an object), so that live and desired compare.
func canonicalAccess(a world.CrossClusterAccess) string {
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

func accessHash(a world.CrossClusterAccess) string {
	sum := sha256.Sum256([]byte(canonicalAccess(a)))
	return hex.EncodeToString(sum[:8])
}

func keyName(c *spec.Connection) string { return keyPrefix + c.Name }

// CredentialsKey is the keystore setting holding an alias's cross-cluster
// API key: cluster.remote.<alias>.credentials.
func CredentialsKey(alias string) string { return world.RemoteKey(alias, "credentials") }
