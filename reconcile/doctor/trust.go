package doctor

import (
	"context"
	"fmt"
	"slices"

	"github.com/esremote/esremote/reconcile/cloud"
	"github.com/esremote/esremote/spec"
)

// trust checks, for the certificate model between two declared
// deployments, that each trusts the other's cluster ID.
func (ck *Checkup) trust(ctx context.Context) {
	const step = StepTrust
	c := ck.Conn
	lcl, rcl := ck.Set.Cluster(c.Local), ck.Set.Cluster(c.Remote.Cluster)
	if lcl == nil || rcl == nil || lcl.Deployment == nil || rcl.Deployment == nil {
		ck.add(step, Skipped, "", "trust is read only when both sides are declared Clusters with a deployment block", "")
		return
	}
	if ck.Deployment == nil {
		ck.add(step, Skipped, "", "the deployments are not read in this pass", "")
		return
	}
	read := func(cl *spec.Cluster) (*cloud.Deployment, *cloud.ESResource, error) {
		d, err := ck.Deployment(ctx, cl)
		if err != nil {
			return nil, nil, err
		}
		res, err := d.ES(cl.Deployment.RefID)
		return d, res, err
	}
	ld, lres, err := read(lcl)
	if err != nil {
		ck.add(step, Skipped, "", "cannot read the deployment of "+lcl.Name+": "+err.Error(), "")
		return
	}
	rd, rres, err := read(rcl)
	if err != nil {
		ck.add(step, Skipped, "", "cannot read the deployment of "+rcl.Name+": "+err.Error(), "")
		return
	}
	fix := "run esremote apply " + ck.Set.Dir + ": a certificate connection between declared deployments writes trust on both sides"
	if !trustCovers(lres.Trust, rd, rres) {
		ck.add(step, Problem, CauseTrust, fmt.Sprintf("%s does not trust cluster %s of %s (no account, external or direct trust entry covers it)", lcl.Name, rres.ClusterID, rcl.Name), fix)
		return
	}
	if !trustCovers(rres.Trust, ld, lres) {
		ck.add(step, Problem, CauseNotTrustedByRemote, fmt.Sprintf("%s does not trust cluster %s of %s back (no account, external or direct trust entry covers it)", rcl.Name, lres.ClusterID, lcl.Name), fix)
		return
	}
	ck.add(step, OK, "", fmt.Sprintf("%s trusts cluster %s and %s trusts cluster %s", lcl.Name, rres.ClusterID, rcl.Name, lres.ClusterID), "")
}

// trustCovers reports whether trust t covers cluster x of deployment d: an
// account entry of d's organization, or an external or direct entry, that
// trusts all or lists x's cluster ID. (Environment IDs of ECE are not on
// the deployment, so direct and external entries are matched by cluster
// ID or trust_all alone.)
func trustCovers(t cloud.Trust, d *cloud.Deployment, x *cloud.ESResource) bool {
	covered := func(all bool, list []string) bool { return all || slices.Contains(list, x.ClusterID) }
	org := d.OrganizationID
	if org == "" {
		org = x.OrganizationID
	}
	for _, a := range t.Accounts {
		if (org == "" || a.AccountID == org) && covered(a.TrustAll, a.TrustAllowlist) {
			return true
		}
	}
	for _, e := range t.External {
		if covered(e.TrustAll, e.TrustAllowlist) {
			return true
		}
	}
	for _, e := range t.Direct {
		if covered(e.TrustAll, e.TrustAllowlist) {
			return true
		}
	}
	return false
}
