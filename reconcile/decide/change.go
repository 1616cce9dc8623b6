package decide

import "github.com/esremote/esremote/drift"

// Change is one difference between desired and live state, and what apply
// does about it. Actual and Desired never hold secret values: secrets are
// shown as drift.Redacted fingerprints.
type Change struct {
	Resource drift.Resource
	Target   string // the cluster or deployment the change is made on
	Key      string
	Action   drift.Action
	Actual   string
	Desired  string
	Origin   drift.Origin
	// Err is why the change is not made, as decided (nothing is sent
	// for it). What became of a change that is made is its step's
	// outcome, never written back here.
	Err error
	// Step is the ID of the plan step that makes the change (set when
	// the step is built; "" when no step makes it).
	Step string
}

// Finding is something a pass noticed that is not a change: a warning, an
// action the operator must take, the likely cause of a disconnected link.
type Finding struct {
	Severity drift.Severity
	Code     string
	Message  string
	Fix      string
}

// Unmanaged is a live object esremote does not own and leaves alone.
type Unmanaged struct {
	Target string
	Kind   string // alias | role | api_key | trust
	Name   string
	// Reason: "unmanaged" (never written by esremote) or "foreign"
	// (written by esremote, then changed by someone else).
	Reason string
}
