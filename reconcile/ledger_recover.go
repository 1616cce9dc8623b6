package reconcile

// What `esremote state recover` (package reconcile/recovery) needs of the
// engine to rebuild a lost ledger: a ledger with a chosen installation id,
// its document, and the names and fingerprints the engine records.

import (
	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// Metadata fields of the cross-cluster API keys esremote creates (besides
// managed_by and MetaInstallation): the connection, its local cluster and
// alias, and the hash of the access it was created with.
const (
	MetaConnection = decide.MetaConnection
	MetaLocal      = decide.MetaLocal
	MetaAlias      = decide.MetaAlias
	MetaAccessHash = decide.MetaAccessHash
)

// RoleFingerprint is the fingerprint the ledger records for a role body:
// the parts esremote manages, in a form that does not depend on order or
// on what Elasticsearch adds on GET.
func RoleFingerprint(r world.Role) string { return Fingerprint(canonicalRole(r)) }

// ManagedKeyName is the name of a connection's managed cross-cluster API
// key: "esremote-<connection>".
func ManagedKeyName(c *spec.Connection) string { return keyName(c) }

// SettingFingerprint is the fingerprint the ledger records for a value
// esremote wrote under cluster.remote.<alias>.<suffix>.
func SettingFingerprint(key, value string) string {
	_, suffix, _ := world.SplitRemoteKey(key)
	return Fingerprint(world.Normalize(suffix, value))
}
