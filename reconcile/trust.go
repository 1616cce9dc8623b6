package reconcile

import "context"

// trustPlan is the certificate model's trust work of one pass: desired vs
// live trust of every deployment involved. (Being built: issue 6.)
type trustPlan struct{}

// planTrust observes the trust of every deployment that certificate
// connections and TrustedEnvironments involve, and diffs it. It only reads.
func (ps *passState) planTrust(ctx context.Context) {}

// applyTrust writes the trust changes, local deployments first, before any
// cluster settings are written.
func (ps *passState) applyTrust(ctx context.Context) {}

// attachTrust adds the trust changes and findings that concern a
// connection to its plan, so the report shows them with the connection.
func (ps *passState) attachTrust(p *ConnectionPlan) {}
