package reconcile

import (
	"errors"
	"fmt"

	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// planRoles diffs the live roles of a cluster (GET /_security/role, read
// by the observe stage when there is a role to manage) with the specs and
// the ledger (decide.Roles). It reads nothing: the observe stage asked
// wantRoles with every connection of the cluster, a superset of those
// that prepared, so a cluster whose roles are planned had them read.
func (ps *passState) planRoles(cl *spec.Cluster, cp *ClusterPlan, cr *world.ClusterRead) error {
	var conns []*spec.Connection
	for _, p := range cp.Connections {
		if p.Err == nil {
			conns = append(conns, p.Conn)
		}
	}
	if !ps.wantRoles(cl.Name, conns) {
		return nil
	}
	live, err := cr.Roles, cr.RolesErr
	if !cr.RolesRead {
		err = errors.New("not observed in this pass")
	}
	if err != nil {
		return fmt.Errorf("read roles: %w", err)
	}
	decide.Roles(ps.set, cl, cp, cr.Observed.Version, live, ps.ledger, ps.scoped)
	return nil
}

// wantRoles says whether a local cluster's pass plans roles: one of conns
// (not disabled) declares roles, or the ledger owns roles there and the
// pass is not scoped to one connection. observeAll asks it before the
// connections are prepared, planRoles after, without the connections that
// failed to prepare. A cluster whose roles were read with its observation
// and whose role-declaring connections all failed to prepare read them
// for nothing: that costs a read only in a pass that fails anyway.
func (ps *passState) wantRoles(local string, conns []*spec.Connection) bool {
	for _, c := range conns {
		if c.Policy != spec.PolicyDisabled && len(c.Roles) > 0 {
			return true
		}
	}
	return len(ps.ledger.Roles(local)) > 0 && !ps.scoped
}
