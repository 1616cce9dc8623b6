package plan

import (
	"encoding/json"
	"slices"
)

// Kind is what a step writes.
type Kind string

// The kinds of step. Each is one request (or, for the ledger kinds, one
// ledger record) on its Target; Body says what is sent.
const (
	// KindClusterSettings: PUT /_cluster/settings on the local cluster,
	// Body a SettingsBody (every change of the cluster in one request).
	KindClusterSettings Kind = "put_cluster_settings"
	// KindPutRole: PUT /_security/role/{Name}, Body the role.
	KindPutRole Kind = "put_role"
	// KindDeleteRole: DELETE /_security/role/{Name}.
	KindDeleteRole Kind = "delete_role"
	// KindForget: no request; what the ledger records is gone already
	// (a role, a trust entry) and its records go.
	KindForget Kind = "forget"
	// KindCreateKey: POST /_security/cross_cluster/api_key on the remote,
	// Body a KeyBody; the key's encoded secret is what a later
	// KindSetKeystore step refers to (SecretRef.Step).
	KindCreateKey Kind = "create_api_key"
	// KindUpdateKey: PUT /_security/cross_cluster/api_key/{ID} on the
	// remote, Body a KeyBody.
	KindUpdateKey Kind = "update_api_key"
	// KindInvalidateKeys: DELETE /_security/api_key on the remote, Body
	// an InvalidateBody.
	KindInvalidateKeys Kind = "invalidate_api_keys"
	// KindSetKeystore: the Cloud API's keystore PATCH on the local
	// deployment, entry Name set to the secret SecretRef names.
	KindSetKeystore Kind = "set_keystore"
	// KindRemoveKeystore: the same PATCH removing entry Name.
	KindRemoveKeystore Kind = "remove_keystore"
	// KindReload: POST /_nodes/reload_secure_settings on a self-managed
	// local cluster.
	KindReload Kind = "reload_secure_settings"
	// KindPutTrust: PUT /deployments/{id}?version= with the deployment's
	// whole trust (Body a TrustBody), the version of the precondition.
	KindPutTrust Kind = "put_trust"
)

// Kinds lists every kind, for the JSON Schema.
var Kinds = []Kind{KindClusterSettings, KindPutRole, KindDeleteRole, KindForget, KindCreateKey, KindUpdateKey,
	KindInvalidateKeys, KindSetKeystore, KindRemoveKeystore, KindReload, KindPutTrust}

// Step is one write of a plan: on Target (a declared Cluster's name),
// of Kind, sent only while Precondition holds and every step of After
// succeeded. It carries no secret: SecretRef names where the secret
// comes from when the step is run.
type Step struct {
	ID     string `json:"id" jsonschema:"required"`
	Target string `json:"target" jsonschema:"required"`
	Kind   Kind   `json:"kind" jsonschema:"required"`
	// Name is the object the step writes: a role, a keystore entry, the
	// API key's name.
	Name string `json:"name,omitempty"`
	// Connection ties the step to its row: the connection (or removed
	// connection) whose changes it makes; "" for work of no single
	// connection (a cluster's settings PUT, trust of several).
	Connection   string          `json:"connection,omitempty"`
	Precondition *Precondition   `json:"precondition,omitempty"`
	Body         json.RawMessage `json:"body,omitempty"`
	SecretRef    *SecretRef      `json:"secret_ref,omitempty"`
	// After are the steps this one depends on: when one of them did not
	// succeed, this one is not sent.
	After []string `json:"after,omitempty"`
	// Ledger is what the ledger records for the step: the intent before
	// the request (pending) and the record after it (committed).
	Ledger []LedgerRecord `json:"ledger,omitempty"`
}

// Read is what a precondition reads.
type Read string

// The reads a precondition can name. Each is one request (or the
// ledger), whose answer is reduced to a digest or a version.
const (
	// ReadSettings: GET / and GET /_cluster/settings on the target: its
	// cluster_uuid and every cluster.remote.* setting (Digest).
	ReadSettings Read = "cluster_settings"
	// ReadCluster: GET / on the target: its cluster_uuid (Value).
	ReadCluster Read = "cluster"
	// ReadRole: GET /_security/role/{Name} (Digest; "absent" when none).
	ReadRole Read = "role"
	// ReadKeys: GET / and GET /_security/api_key?name={Name} on the
	// target (Digest of the cluster_uuid and the keys' ids and states).
	ReadKeys Read = "api_keys"
	// ReadDeployment: GET /deployments/{id} (Version:
	// x-cloud-resource-version, sent back as ?version= by the write).
	ReadDeployment Read = "deployment"
	// ReadLedger: no request: the ledger's record of Name (Digest of the
	// record as it was when planned; "absent" when none).
	ReadLedger Read = "ledger"
)

// Absent is the digest of an object that does not exist.
const Absent = "absent"

// Precondition is what a step was planned against: the value (its
// digest) or the version the read returned then. Right before the step
// is sent the read is made again; a different answer makes the step
// stale, and it is not sent.
type Precondition struct {
	Read Read   `json:"read" jsonschema:"required"`
	Name string `json:"name,omitempty"`
	// Digest is the SHA-256 of the canonical value read (execute's
	// digest functions); Value a value shown as is (a cluster_uuid);
	// Version a version for compare-and-set.
	Digest  string `json:"digest,omitempty"`
	Value   string `json:"value,omitempty"`
	Version string `json:"version,omitempty"`
	// UUID is the cluster_uuid the target answered with.
	UUID string `json:"cluster_uuid,omitempty"`
	// Values are the values read, where they are no secret and a stale
	// step should name what changed (ReadSettings: every flat
	// cluster.remote.* setting, transient ones with a " (transient)"
	// suffix).
	Values map[string]string `json:"values,omitempty"`
	// Shows says in words what was read, for the reasons of a stale step.
	Shows string `json:"shows,omitempty"`
}

// SecretRef names a secret a step sends without carrying it.
type SecretRef struct {
	// Step: the encoded key a KindCreateKey step returns.
	Step string `json:"step,omitempty"`
	// Connection: the api_key.credentials of this connection's spec
	// (a hand-made key), read from where the spec says when run.
	Connection string `json:"connection,omitempty"`
	// Fingerprint is the secret's fingerprint when planned (for a spec
	// secret): a different secret now makes the step stale.
	Fingerprint string `json:"fingerprint,omitempty"`
}

// LedgerRecord is one ledger record a step writes: of Kind ("alias",
// "role", "keystore", "trust", "key", "cluster"), in Group (the cluster,
// deployment id or connection), named Name. Record is the record as
// committed (null: the record goes); the intent before the request is
// the same record marked pending.
type LedgerRecord struct {
	Kind   string          `json:"kind" jsonschema:"required"`
	Group  string          `json:"group,omitempty"`
	Name   string          `json:"name,omitempty"`
	Record json.RawMessage `json:"record,omitempty"`
}

// SettingsBody is a KindClusterSettings step's body: flat keys, a nil
// value removes the key; list settings (seeds) are comma-joined.
type SettingsBody struct {
	Persistent map[string]*string `json:"persistent,omitempty"`
	Transient  map[string]*string `json:"transient,omitempty"`
}

// KeyBody is a KindCreateKey or KindUpdateKey step's body.
type KeyBody struct {
	// ID is the key to update (KindUpdateKey).
	ID         string          `json:"id,omitempty"`
	Name       string          `json:"name,omitempty"`
	Access     json.RawMessage `json:"access" jsonschema:"required"`
	Metadata   map[string]any  `json:"metadata,omitempty"`
	Expiration string          `json:"expiration,omitempty"`
}

// InvalidateBody is a KindInvalidateKeys step's body.
type InvalidateBody struct {
	IDs []string `json:"ids" jsonschema:"required"`
}

// TrustBody is a KindPutTrust step's body: the deployment id, its
// Elasticsearch resource and the whole trust to write.
type TrustBody struct {
	Deployment string          `json:"deployment" jsonschema:"required"`
	RefID      string          `json:"ref_id" jsonschema:"required"`
	Trust      json.RawMessage `json:"trust" jsonschema:"required"`
}

// Step returns the step named id, or nil.
func (p *Plan) Step(id string) *Step {
	i := slices.IndexFunc(p.Steps, func(s Step) bool { return s.ID == id })
	if i < 0 {
		return nil
	}
	return &p.Steps[i]
}
