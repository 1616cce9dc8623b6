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

// CodeCanaryPrivilegeMissing is decide.CodeCanaryPrivilegeMissing.
const CodeCanaryPrivilegeMissing = decide.CodeCanaryPrivilegeMissing

// canaryAmbiguous is decide.CanaryAmbiguous.
func canaryAmbiguous(a world.CrossClusterAccess) bool { return decide.CanaryAmbiguous(a) }
