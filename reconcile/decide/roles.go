package decide

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// DesiredRole builds a role of a connection as esremote writes it: the
// spec's privileges, clusters defaulting to the alias, and metadata that
// marks it as esremote's.
func DesiredRole(c *spec.Connection, r spec.Role) world.Role {
	body := world.Role{Cluster: slices.Clone(r.Cluster), Description: r.Description,
		Metadata: map[string]any{"managed_by": ManagedBy, "connection": c.Name}}
	for _, ri := range r.RemoteIndices {
		e := world.RemoteIndicesPrivileges{Clusters: ri.Clusters, Names: ri.Names, Privileges: ri.Privileges,
			Query: esQuery(ri.Query), FieldSecurity: esFieldSecurity(ri.FieldSecurity), AllowRestrictedIndices: trueOrNil(ri.AllowRestrictedIndices)}
		if len(e.Clusters) == 0 {
			e.Clusters = []string{c.Alias}
		}
		body.RemoteIndices = append(body.RemoteIndices, e)
	}
	for _, rc := range r.RemoteCluster {
		e := world.RemoteClusterPrivileges{Clusters: rc.Clusters, Privileges: rc.Privileges}
		if len(e.Clusters) == 0 {
			e.Clusters = []string{c.Alias}
		}
		body.RemoteCluster = append(body.RemoteCluster, e)
	}
	return body
}

// CanonicalRole renders the parts of a role esremote manages in a form
// that does not depend on order or on what Elasticsearch adds on GET
// (allow_restricted_indices: false, transient_metadata, empty lists).
func CanonicalRole(r world.Role) string {
	sorted := func(s []string) []string { return slices.Sorted(slices.Values(s)) }
	type ri struct {
		C, N, P    []string
		Q          string `json:",omitempty"`
		G, E       []string
		Restricted bool `json:",omitempty"`
	}
	var c struct {
		Cluster  []string
		Indices  []ri
		Remote   []ri
		RCluster []ri
		Desc     string
		Managed  any
		Conn     any
	}
	c.Cluster = sorted(r.Cluster)
	for _, e := range r.Indices {
		x := ri{N: sorted(e.Names), P: sorted(e.Privileges), Q: canonicalQuery(e.Query), Restricted: e.AllowRestrictedIndices != nil && *e.AllowRestrictedIndices}
		if e.FieldSecurity != nil {
			x.G, x.E = sorted(e.FieldSecurity.Grant), sorted(e.FieldSecurity.Except)
		}
		c.Indices = append(c.Indices, x)
	}
	for _, e := range r.RemoteIndices {
		x := ri{C: sorted(e.Clusters), N: sorted(e.Names), P: sorted(e.Privileges), Q: canonicalQuery(e.Query), Restricted: e.AllowRestrictedIndices != nil && *e.AllowRestrictedIndices}
		if e.FieldSecurity != nil {
			x.G, x.E = sorted(e.FieldSecurity.Grant), sorted(e.FieldSecurity.Except)
		}
		c.Remote = append(c.Remote, x)
	}
	for _, e := range r.RemoteCluster {
		c.RCluster = append(c.RCluster, ri{C: sorted(e.Clusters), P: sorted(e.Privileges)})
	}
	c.Desc = r.Description
	c.Managed, c.Conn = r.Metadata["managed_by"], r.Metadata["connection"]
	b, _ := json.Marshal(c)
	return string(b)
}

// roleSummary is how a role shows in a report.
func roleSummary(r world.Role) string {
	var parts []string
	if len(r.Cluster) > 0 {
		parts = append(parts, "cluster="+strings.Join(r.Cluster, ","))
	}
	for _, e := range r.Indices {
		parts = append(parts, "indices="+strings.Join(e.Names, ",")+":"+strings.Join(e.Privileges, ","))
	}
	for _, e := range r.RemoteIndices {
		parts = append(parts, "remote_indices="+strings.Join(e.Names, ",")+":"+strings.Join(e.Privileges, ",")+"@"+strings.Join(e.Clusters, ","))
	}
	for _, e := range r.RemoteCluster {
		parts = append(parts, "remote_cluster="+strings.Join(e.Privileges, ",")+"@"+strings.Join(e.Clusters, ","))
	}
	return strings.Join(parts, " ")
}

// covered reports whether an index pattern a role grants is within a key's
// access patterns ("logs-app" and "logs-a*" are within "logs-*").
func covered(name string, patterns []string) bool {
	for _, p := range patterns {
		switch {
		case p == "*" || p == name:
			return true
		case strings.HasSuffix(p, "*") && strings.HasPrefix(strings.TrimSuffix(name, "*"), strings.TrimSuffix(p, "*")):
			return true
		}
	}
	return false
}

// Roles diffs the roles the connections of a cluster declare with the
// live roles and the ledger, and adds the writes, deletions, conflicts
// and findings to cp. It is pure: the ledger is only read, and records of
// owned roles that are gone are listed in cp.RoleForgets for apply.
func Roles(set *spec.Set, cl *spec.Cluster, cp *ClusterPlan, liveVersion string, live map[string]world.Role, led *ledger.Ledger, scoped bool) {
	owned := led.Roles(cl.Name)
	version, _ := world.ParseVersion(liveVersion)
	// Every role a connection of this cluster declares is kept, whatever
	// became of the connection in this pass: one that failed to prepare
	// (a remote down, a control plane 503, a secret unset) is still
	// declared, and its roles are not "left the specs".
	declared := map[string]bool{}
	for _, c := range set.ConnectionsFrom(cl.Name) {
		for _, r := range c.Roles {
			declared[r.Name] = true
		}
	}
	for _, p := range cp.Connections {
		if p.Conn.Policy == spec.PolicyDisabled || p.Err != nil {
			continue
		}
		var keyPatterns []string
		if p.Conn.Security == spec.SecurityAPIKey && p.Conn.APIKey != nil && p.Conn.APIKey.Managed {
			for _, s := range p.Conn.APIKey.Access.Search {
				keyPatterns = append(keyPatterns, s.Names...)
			}
			for _, s := range p.Conn.APIKey.Access.Replication {
				keyPatterns = append(keyPatterns, s.Names...)
			}
		}
		for _, sr := range p.Conn.Roles {
			declared[sr.Name] = true
			body := DesiredRole(p.Conn, sr)
			// The installation id goes with the role (not compared, so
			// roles written before it are not rewritten for it): a lost
			// ledger's recovery tells this installation's roles apart.
			body.Metadata[MetaInstallation] = led.Installation()
			if gates := RoleVersionGates(body, version); len(gates) > 0 {
				p.Findings = append(p.Findings, RoleVersionFinding(sr.Name, cl.Name, liveVersion, gates))
				continue
			}
			if keyPatterns != nil {
				for _, ri := range body.RemoteIndices {
					for _, n := range ri.Names {
						if !covered(n, keyPatterns) {
							p.Findings = append(p.Findings, Finding{Severity: "warning", Code: CodeRoleNotCovered,
								Message: fmt.Sprintf("role %s grants %s on %s, which the cross-cluster key's access (%s) does not cover: the grant is useless", sr.Name, n, p.Conn.Alias, strings.Join(keyPatterns, ",")),
								Fix:     "add the pattern to api_key.access or narrow the role"})
						}
					}
				}
			}
			fp := ledger.Fingerprint(CanonicalRole(body))
			cur, exists := live[sr.Name]
			if exists && CanonicalRole(cur) == CanonicalRole(body) {
				continue
			}
			ch := &Change{Resource: drift.ResourceRole, Target: cl.Name, Key: sr.Name, Desired: roleSummary(body), Origin: drift.OriginSpec}
			if exists && led.Role(cl.Name, sr.Name) == nil {
				// A role esremote never wrote: the spec would overwrite it.
				ch.Action, ch.Actual = drift.ActionUpdate, roleSummary(cur)
				ch.Err = ErrConflict
				p.Add(ch)
				p.Findings = append(p.Findings, Finding{Severity: "error", Code: CodeConflict,
					Message: fmt.Sprintf("role %s exists on %s but esremote did not create it; the spec would change it, so it is left alone", sr.Name, cl.Name),
					Fix:     "rename the role in the spec, or delete the hand-made role if it is no longer used"})
				continue
			}
			if exists {
				ch.Action, ch.Actual = drift.ActionUpdate, roleSummary(cur)
				if rec := led.Role(cl.Name, sr.Name); rec != nil && rec.Fingerprint != ledger.Fingerprint(CanonicalRole(cur)) {
					ch.Origin = drift.OriginExternal
				}
			} else {
				ch.Action = drift.ActionCreate
				if led.Role(cl.Name, sr.Name) != nil {
					ch.Origin = drift.OriginExternal
				}
			}
			p.Add(ch)
			if p.Refused {
				// The connection is a conflict: its role is shown, never
				// written (DESIGN §5, "nothing of the connection").
				ch.Err = ErrRefused
				continue
			}
			if p.Enforced() {
				if cp.RoleWrites == nil {
					cp.RoleWrites = map[string]*RoleWrite{}
				}
				cp.RoleWrites[sr.Name] = &RoleWrite{Conn: p, Body: body, Fingerprint: fp, Change: ch}
			}
		}
	}
	if scoped {
		return
	}
	// Owned roles no connection declares any more.
	for _, name := range sortedKeys(toSet(owned)) {
		if declared[name] {
			continue
		}
		rec := led.Role(cl.Name, name)
		cur, exists := live[name]
		switch {
		case !exists:
			cp.RoleForgets = append(cp.RoleForgets, name)
		case ledger.Fingerprint(CanonicalRole(cur)) != rec.Fingerprint:
			cp.Unmanaged = append(cp.Unmanaged, Unmanaged{Target: cl.Name, Kind: "role", Name: name, Reason: "foreign"})
		default:
			d := DeletionFor(cp, rec.Connection)
			ch := &Change{Resource: drift.ResourceRole, Target: cl.Name, Key: name, Action: drift.ActionDelete, Actual: roleSummary(cur), Origin: drift.OriginSpec}
			d.Changes = append(d.Changes, ch)
			cp.RoleDeletes = append(cp.RoleDeletes, RoleDelete{Name: name, Change: ch})
		}
	}
}

func toSet(names []string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// DeletionFor finds or adds the deletion entry of a removed connection.
func DeletionFor(cp *ClusterPlan, conn string) *AliasDeletion {
	for _, d := range cp.Deletions {
		if d.Connection == conn {
			return d
		}
	}
	d := &AliasDeletion{Connection: conn}
	cp.Deletions = append(cp.Deletions, d)
	return d
}
