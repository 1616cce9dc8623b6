package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// AliasRecord is what esremote wrote under cluster.remote.<alias>.
type AliasRecord struct {
	Connection string `json:"connection"`
	// Keys maps each flat key written to the fingerprint of its value.
	Keys      map[string]string `json:"keys"`
	Pending   bool              `json:"pending,omitempty"`
	WrittenAt time.Time         `json:"written_at"`
}

// Record is the fingerprint of one object esremote wrote.
type Record struct {
	Fingerprint string `json:"fingerprint"`
	// Connection is the connection the object was written for.
	Connection string    `json:"connection,omitempty"`
	Pending    bool      `json:"pending,omitempty"`
	WrittenAt  time.Time `json:"written_at"`
}

// KeyRecord is a cross-cluster API key esremote created. The secret is
// never stored: only its id and a fingerprint of the encoded value.
type KeyRecord struct {
	Local       string    `json:"local"`
	Alias       string    `json:"alias"`
	Remote      string    `json:"remote"`
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Fingerprint string    `json:"fingerprint"`
	AccessHash  string    `json:"access_hash"`
	Expiration  time.Time `json:"expiration,omitzero"`
	// Previous is the key being rotated out: invalidated once the link is
	// verified with the new one.
	Previous *KeyRecord `json:"previous,omitempty"`
	// Delivered is the ID of the key the local keystore holds while this
	// record is pending (the key it replaces; "" when none was ever
	// delivered).
	Delivered string    `json:"delivered,omitempty"`
	Pending   bool      `json:"pending,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// ProvenAt is when a request first proved the local cluster uses
	// this key (its canary authorized), in the current proof window: zero
	// until then, and again when a later request shows a node still
	// sending the key it replaced (the window starts over). A rotation
	// invalidates the old key only once the new one has been proven
	// again Options.RotationOverlap after ProvenAt (DESIGN §5, proof is
	// per node).
	ProvenAt time.Time `json:"proven_at,omitzero"`
	// Displaced is a key esremote never made that the keystore held when
	// this key was written to it (a refusal named it): a node that has
	// not loaded this key yet still sends that one, which is "not loaded
	// yet", not a new hand-made key.
	Displaced string `json:"displaced,omitempty"`
}

// Fingerprint is the short, non-reversible fingerprint esremote records
// and shows for a value: "sha256:" and 16 hex digits.
func Fingerprint(v string) string {
	sum := sha256.Sum256([]byte(v))
	return "sha256:" + hex.EncodeToString(sum[:8])
}

// DeliveredKeyID is the ID of the key the local keystore holds for a
// connection according to the ledger: the recorded key once delivered,
// the one it replaces while a new key is still pending (its keystore
// write failed or has not happened), "" when none was delivered.
func (r *KeyRecord) DeliveredKeyID() string {
	switch {
	case r == nil:
		return ""
	case !r.Pending:
		return r.ID
	}
	return r.Delivered
}
