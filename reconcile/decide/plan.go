package decide

import (
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// ConnectionPlan is the plan for one Connection.
type ConnectionPlan struct {
	Conn     *spec.Connection
	Desired  *DesiredAlias // nil when the desired state could not be computed
	Changes  []*Change
	Findings []Finding
	Health   drift.Health
	// Evidence is what Health rests on: the request that carried the
	// link's credential and its answer (nil when nothing was asked).
	Evidence *drift.Evidence
	// Err is why this connection cannot be planned or applied (its local
	// cluster failed to answer, a secret is missing, …).
	Err error
	// Contested is set when the daemon stopped rewriting a flipping key.
	Contested bool

	// KeyExpiration is when the connection's cross-cluster API key
	// expires (zero when it never does or is not known): for metrics.
	KeyExpiration time.Time
	// CAExpiration is when the first CA the connection's trust relies on
	// expires (certificate model; zero when unknown): for metrics.
	CAExpiration time.Time
	// RequeueAt is the earliest time after the pass that something of the
	// connection falls due (schedule); zero when nothing does.
	RequeueAt time.Time

	// Observed is the alias in the pass's GET /_remote/info (before any
	// write of this pass); observedOK is false when it was not listed.
	Observed   world.RemoteStatus
	ObservedOK bool

	// settings is set by Diff when the alias's cluster settings change.
	SettingsChanged bool
	// Key is the credential work of an api_key connection (Key).
	Key *KeyWork
	// KeyConflict is set by Key when the alias's keystore entry is
	// someone else's: Diff then writes none of the alias's settings.
	KeyConflict bool
	// Refused is set by Diff when the connection is a conflict (its alias
	// or keystore entry is not esremote's): nothing of it is written,
	// not its key, keystore, settings, roles, reload or trust.
	Refused bool

	// Proven is the managed key a request was authorized under, refusal
	// the remote's error when it refused one, refusedKey the API key id
	// that refusal names (the key the local cluster sent; evidence.go).
	Proven     string
	Refusal    string
	RefusedKey string
}

// Add appends a change and returns it.
func (c *ConnectionPlan) Add(ch *Change) *Change {
	c.Changes = append(c.Changes, ch)
	return ch
}

// Enforced reports whether apply writes this connection's changes.
func (c *ConnectionPlan) Enforced() bool {
	return c.Err == nil && c.Conn.Policy != spec.PolicyReport && c.Conn.Policy != spec.PolicyDisabled
}

// Writes reports whether apply sends anything for this connection: it is
// enforced and not refused as a conflict.
func (c *ConnectionPlan) Writes() bool { return c.Enforced() && !c.Refused }

// AliasDeletion is an owned alias whose Connection left the specs.
type AliasDeletion struct {
	Alias      string
	Connection string // the connection that created it, from the ledger
	Changes    []*Change
	// Key is the connection's managed key, invalidated with the alias.
	Key *ledger.KeyRecord
	// Keystore is the keystore entry esremote wrote for the alias.
	Keystore bool
	// KeystoreRemovals are entries of aliases no longer declared.
	KeystoreRemovals []KeystoreRemoval
}

// KeystoreRemoval is a keystore entry esremote wrote for an alias that is
// no longer declared, and the change that removes it.
type KeystoreRemoval struct {
	Setting string
	Change  *Change
}

// Put is the single PUT /_cluster/settings a cluster gets. A nil value
// removes the key.
type Put struct {
	Persistent map[string]*string
	Transient  map[string]*string
}

// Empty reports whether the Put has nothing to send.
func (p *Put) Empty() bool { return len(p.Persistent) == 0 && len(p.Transient) == 0 }

// ClusterPlan is the plan for one local cluster.
type ClusterPlan struct {
	Local   string
	Version string
	// UUID and Observed are the cluster_uuid and the remote-cluster
	// settings the plan was made from (see ClusterDoc).
	UUID        string
	Observed    map[string]string
	Connections []*ConnectionPlan
	Deletions   []*AliasDeletion
	Unmanaged   []Unmanaged
	Put         Put
	// RoleWrites are role bodies to PUT (name → body), RoleDeletes the
	// owned roles to delete; both filled by the role planner.
	RoleWrites  map[string]*RoleWrite
	RoleDeletes []RoleDelete
	// RoleForgets are owned roles that are gone from the cluster: apply
	// drops their records.
	RoleForgets []string
	// Err is an observation error: nothing was planned for this cluster.
	Err error
}

// KeyWork is what a connection needs done about its credentials.
type KeyWork struct {
	Kind string
	// Remote names the remote cluster (its state is in the pass's
	// Snapshot: the plan holds no client).
	Remote     string
	Access     world.CrossClusterAccess
	AccessHash string
	Live       *world.APIKey // the current key, when there is one
	Orphans    []world.APIKey
	// Keystore says the keystore entry must be (re)written: with the new
	// key's secret (managed) or with the credential (hand-made key).
	Keystore    bool
	Secret      spec.Secret // hand-made key
	KeystoreKey string      // cluster.remote.<alias>.credentials
	// Previous is an old key whose invalidation waits for a verified link;
	// finish says this pass invalidates it (rotationFinish).
	Previous *ledger.KeyRecord
	Finish   bool
	// Displaced is the key id, not esremote's, that the keystore held
	// when this pass decided to replace it (KeyRecord.Displaced).
	Displaced string
	Changes   map[string]*Change // by role in the flow: "key", "keystore", "orphan:<id>", "previous"
}

// RoleWrite is a role body to PUT on a local cluster.
type RoleWrite struct {
	Conn        *ConnectionPlan
	Body        world.Role
	Fingerprint string
	Change      *Change
}

// RoleDelete is an owned role whose connection left the specs.
type RoleDelete struct {
	Name   string
	Change *Change
}

// Plan is everything one pass would do, cluster by cluster, sorted.
type Plan struct {
	Clusters []*ClusterPlan
}

// Changes counts the changes apply would make (enforced connections and
// deletions), not those only reported.
func (p *Plan) Changes() (n int) {
	for _, cp := range p.Clusters {
		for _, c := range cp.Connections {
			n += len(c.Changes)
		}
		for _, d := range cp.Deletions {
			n += len(d.Changes)
		}
	}
	return n
}
