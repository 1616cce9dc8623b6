package reconcile

import (
	"context"
	"slices"

	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/spec"
)

// wantPrivileges reports whether a local cluster's pass reads its
// credential's privileges (GET /_security/user/_privileges, with the
// other reads): when one of its connections is an API-key link esremote
// looks after, whose evidence request the credential must be allowed to
// make (decide.CanaryPrivileges).
func wantPrivileges(conns []*spec.Connection) bool {
	return slices.ContainsFunc(conns, func(c *spec.Connection) bool {
		return c.Security == spec.SecurityAPIKey && c.Policy != spec.PolicyDisabled
	})
}

// CanaryPrivileges checks, for esremote doctor, whether the credential
// esremote uses on c's local cluster may make c's evidence request: one
// GET /_security/user/_privileges, decided by decide.CanaryPrivileges.
func (r *Reconciler) CanaryPrivileges(ctx context.Context, local *es.Client, c *spec.Connection) (missing bool, evidence, fix string, err error) {
	privs, err := local.UserPrivileges(ctx)
	if err != nil {
		return false, "", "", err
	}
	managed := c.APIKey != nil && c.APIKey.Managed
	v := decide.CanaryPrivileges(c.Local, &privs, []decide.CanaryCheck{{Conn: c.Name, Alias: c.Alias, Managed: managed, Health: HealthUnknown}})
	if f := v[c.Name].Finding; f != nil {
		return true, f.Message, f.Fix, nil
	}
	what := "remote_indices on alias " + c.Alias
	if managed {
		what += " covering " + canaryPrefix + "*"
	}
	return false, "the credential esremote uses on " + c.Local + " may make the evidence request (GET /_security/user/_privileges: an index privilege granting " +
		decide.CanaryAction + ", and " + what + ")", "", nil
}
