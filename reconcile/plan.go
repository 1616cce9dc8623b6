package reconcile

import (
	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/decide"
)

// The engine speaks the report's vocabulary (package drift) directly:
// a Change's resource, action and origin, a finding's severity and a
// link's health are drift's types, so plan, apply, the daemon and the
// report cannot drift apart. These names are the engine's shorthands.
const (
	ActionCreate = drift.ActionCreate
	ActionUpdate = drift.ActionUpdate
	ActionDelete = drift.ActionDelete

	// OriginSpec: the spec changed since esremote last wrote the value (or
	// esremote never wrote it).
	OriginSpec = drift.OriginSpec
	// OriginExternal: the live value differs from what esremote last
	// wrote: someone changed the cluster.
	OriginExternal = drift.OriginExternal

	ResourceClusterSetting = drift.ResourceClusterSetting
	ResourceRole           = drift.ResourceRole
	ResourceAPIKey         = drift.ResourceAPIKey
	ResourceKeystore       = drift.ResourceKeystore
	ResourceTrust          = drift.ResourceTrust

	HealthConnected    = drift.HealthConnected
	HealthDisconnected = drift.HealthDisconnected
	HealthUnauthorized = drift.HealthUnauthorized // the remote refused a request with the link's credential
	HealthRotating     = drift.HealthRotating     // a new key is written, not yet proven in use over the window; the old one stays valid
	HealthUnknown      = drift.HealthUnknown
)

// The plan's types are the decide stage's (package decide).
type (
	Change         = decide.Change
	Finding        = decide.Finding
	Unmanaged      = decide.Unmanaged
	ConnectionPlan = decide.ConnectionPlan
	AliasDeletion  = decide.AliasDeletion
	Put            = decide.Put
	ClusterPlan    = decide.ClusterPlan
	Plan           = decide.Plan
)
