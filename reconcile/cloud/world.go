package cloud

import (
	"bytes"
	"encoding/json"

	"github.com/esremote/esremote/reconcile/world"
)

// The data this package reads and writes is plain data of package world,
// which decisions use without importing an adapter (DESIGN §4: decide
// imports no adapter). The names below keep the adapter's API as it was.

// Deployments and their certificate authorities.
type (
	Deployment        = world.Deployment
	ESResource        = world.ESResource
	CACert            = world.CACert
	CertMetadata      = world.CertMetadata
	TrustRelationship = world.TrustRelationship
	Organization      = world.Organization
)

// Trust settings (cloud-api.md §2.2).
type (
	Trust              = world.Trust
	AccountTrust       = world.AccountTrust
	ExternalTrust      = world.ExternalTrust
	DirectTrust        = world.DirectTrust
	TrustedCertificate = world.TrustedCertificate
)

// Direct trust types (DirectTrustRelationship.type).
const (
	DirectECE     = world.DirectECE
	DirectESS     = world.DirectESS
	DirectGeneric = world.DirectGeneric
	DirectProxy   = world.DirectProxy
)

// ParseTrust is world.ParseTrust.
func ParseTrust(raw json.RawMessage) (Trust, error) { return world.ParseTrust(raw) }

// marshal encodes v without HTML escaping (PEMs and names stay readable)
// and without the encoder's trailing newline.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
