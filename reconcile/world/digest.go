package world

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
)

// A step's precondition holds a digest of what it was decided against;
// the executor reads the same object right before the write and compares
// digests. Both sides reduce with these functions: equal answers give
// equal digests.

// Digest is the SHA-256 of v's JSON, as "sha256:<hex>".
func Digest(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("world: digest of an unmarshalable value: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// KeysDigest is the digest of the API keys named name among keys: their
// ids, expiry and metadata, in id order (absent for none). Whether a key
// is invalidated is left out: a pass invalidates the orphans of a name
// before it creates or updates the key of that name, and a key
// invalidated by someone else since is refused by the write itself.
func KeysDigest(keys []APIKey, name, absent string) string {
	type key struct {
		ID         string
		Expiration string
		Metadata   map[string]any
	}
	var ks []key
	for _, k := range keys {
		if k.Name == name {
			ks = append(ks, key{k.ID, k.Expiration.UTC().Format("2006-01-02T15:04:05Z"), k.Metadata})
		}
	}
	if len(ks) == 0 {
		return absent
	}
	slices.SortFunc(ks, func(a, b key) int { return strings.Compare(a.ID, b.ID) })
	return Digest(ks)
}
