package reconcile

import (
	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// The decide stage's rules that are package decide's; these names keep
// the engine's API as the importer, recovery and cmd use it.

type (
	// Endpoint is decide.Endpoint.
	Endpoint = decide.Endpoint
	// DesiredAlias is decide.DesiredAlias.
	DesiredAlias = decide.DesiredAlias
)

// EndpointOf is decide.EndpointOf.
func EndpointOf(c *spec.Cluster) Endpoint { return decide.EndpointOf(c) }

// Desire is decide.Desire.
func Desire(c *spec.Connection, remote Endpoint) (*DesiredAlias, error) {
	return decide.Desire(c, remote)
}

// canaryAmbiguous is decide.CanaryAmbiguous.
func canaryAmbiguous(a world.CrossClusterAccess) bool { return decide.CanaryAmbiguous(a) }

// ManagedBy is the metadata value marking API keys and roles esremote owns
// (decide.ManagedBy).
const ManagedBy = decide.ManagedBy

// MetaInstallation is decide.MetaInstallation.
const MetaInstallation = decide.MetaInstallation

// CredentialsKey is decide.CredentialsKey.
func CredentialsKey(alias string) string { return decide.CredentialsKey(alias) }

// The decide stage's names the rest of the engine uses.
const (
	keyPrefix          = decide.KeyPrefix
	keyNone            = decide.KeyNone
	keyCreate          = decide.KeyCreate
	keyUpdate          = decide.KeyUpdate
	keyRotate          = decide.KeyRotate
	specDirPlaceholder = decide.SpecDirPlaceholder
)

var errRefused = decide.ErrRefused

func keyName(c *spec.Connection) string                     { return decide.KeyName(c) }
func matches(rec *AliasRecord, live map[string]string) bool { return decide.Matches(rec, live) }
func groupByAlias(flat map[string]string) map[string]map[string]string {
	return decide.GroupByAlias(flat)
}
func canonicalRole(r world.Role) string { return decide.CanonicalRole(r) }

// Detached is decide.Detached: trust work and findings of no connection.
type Detached = decide.Detached
