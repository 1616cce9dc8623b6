package plan

// KeystoreBody is a KindSetKeystore or KindRemoveKeystore step's body:
// the local deployment whose keystore is written.
type KeystoreBody struct {
	Deployment string `json:"deployment"`
	RefID      string `json:"ref_id,omitempty"`
}

// The kinds of record a step writes (LedgerRecord.Kind).
const (
	LedgerAlias    = "alias"    // Group: local cluster, Name: alias, Record: AliasRecord
	LedgerRole     = "role"     // Group: local cluster, Name: role, Record: Record
	LedgerKeystore = "keystore" // Group: local cluster, Name: setting, Record: Record (fingerprint from the secret written)
	LedgerTrust    = "trust"    // Group: deployment id, Name: entry, Record: Record
	LedgerKey      = "key"      // Name: connection, Record: KeyRecord (a created key's id, fingerprint and expiry from the request)
	LedgerCluster  = "cluster"  // Name: cluster, Record: its cluster_uuid, recorded before the request
	// LedgerKeyIntent: Name: connection; when esremote set out to create
	// its key (the key's id only exists after the request).
	LedgerKeyIntent = "key_intent"
	// LedgerKeyDelivered: Name: connection; its new key is in the
	// keystore: the key record is no longer pending.
	LedgerKeyDelivered = "key_delivered"
	// LedgerKeyRotated: Name: connection; the rotated-out key is
	// invalidated: the record forgets it.
	LedgerKeyRotated = "key_rotated"
)
