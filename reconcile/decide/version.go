package decide

import (
	"fmt"
	"slices"

	"github.com/esremote/esremote/reconcile/world"
)

// RoleGate is a part of a role the local cluster's version cannot take:
// what it is and the version it needs.
type RoleGate struct {
	what, need string
}

// RoleVersionGates lists the parts of a role body the version v lacks
// (docs/sim.md "Versions", es-api.md §12/§15), decided before any write,
// so that the write never fails with Elasticsearch's 400:
//
//   - remote_indices: esremote's floor is 8.14, the API key model's GA
//     (RoleDescriptor parses the field from 8.10, PR #98307, as a beta;
//     before 8.10 it is "unexpected field [remote_indices]");
//   - remote_cluster: 8.15 (RemoteClusterPermissions, ROLE_REMOTE_CLUSTER_PRIVS);
//   - monitor_stats in remote_cluster: 8.17 (ROLE_MONITOR_STATS);
//   - description: 8.15 (SECURITY_ROLE_DESCRIPTION).
//
// An unreadable version lacks everything: the harsher reading.
func RoleVersionGates(body world.Role, v world.Version) []RoleGate {
	var out []RoleGate
	if len(body.RemoteIndices) > 0 && !v.AtLeast(8, 14, 0) {
		out = append(out, RoleGate{"remote_indices privileges", "8.14"})
	}
	if len(body.RemoteCluster) > 0 && !v.AtLeast(8, 15, 0) {
		out = append(out, RoleGate{"remote_cluster privileges", "8.15"})
	} else if !v.AtLeast(8, 17, 0) && slices.ContainsFunc(body.RemoteCluster, func(rc world.RemoteClusterPrivileges) bool {
		return slices.Contains(rc.Privileges, "monitor_stats")
	}) {
		out = append(out, RoleGate{"the remote_cluster privilege monitor_stats", "8.17"})
	}
	if body.Description != "" && !v.AtLeast(8, 15, 0) {
		out = append(out, RoleGate{"a description", "8.15"})
	}
	return out
}

// RoleVersionFinding is the finding of a role the version cannot take.
func RoleVersionFinding(role, cluster, version string, gates []RoleGate) Finding {
	f := Finding{Severity: "error", Code: CodeVersionTooOld}
	g := gates[0]
	f.Message = fmt.Sprintf("role %s uses %s, which need Elasticsearch %s on %s (it runs %s); the role is not written", role, g.what, g.need, cluster, version)
	f.Fix = fmt.Sprintf("upgrade %s to %s or later, or remove %s from the role", cluster, g.need, g.what)
	for _, g := range gates[1:] {
		f.Message += fmt.Sprintf("; %s need %s", g.what, g.need)
	}
	return f
}

// APIKeyVersionFinding is the finding of an api_key link with a cluster
// older than 8.14 on either side: the API key security model is GA from
// 8.14 (es-api.md §12; a beta from 8.10, which esremote does not use).
func APIKeyVersionFinding(cluster, version string) Finding {
	return Finding{Severity: "error", Code: CodeVersionTooOld,
		Message: fmt.Sprintf("api_key security needs Elasticsearch 8.14 or later on both clusters; %s runs %s: nothing of the link is written", cluster, version),
		Fix:     fmt.Sprintf("upgrade %s to 8.14 or later, or use certificate security", cluster)}
}
