package decide

import (
	"strings"
	"testing"

	"github.com/esremote/esremote/reconcile/world"
)

// What a role asks of the local cluster's version, at each rule's bound.
func TestRoleVersionGates(t *testing.T) {
	ri := []world.RemoteIndicesPrivileges{{Names: []string{"logs-*"}, Privileges: []string{"read"}}}
	rc := func(p string) []world.RemoteClusterPrivileges {
		return []world.RemoteClusterPrivileges{{Clusters: []string{"logs"}, Privileges: []string{p}}}
	}
	for _, tc := range []struct {
		v    string
		role world.Role
		need []string
	}{
		{"8.13.4", world.Role{RemoteIndices: ri}, []string{"8.14"}},
		{"8.14.0", world.Role{RemoteIndices: ri}, nil},
		{"8.14.3", world.Role{RemoteCluster: rc("monitor_enrich")}, []string{"8.15"}},
		{"8.15.0", world.Role{RemoteCluster: rc("monitor_enrich")}, nil},
		{"8.16.2", world.Role{RemoteCluster: rc("monitor_stats")}, []string{"8.17"}},
		{"8.17.0", world.Role{RemoteCluster: rc("monitor_stats")}, nil},
		{"8.14.3", world.Role{Description: "reads logs"}, []string{"8.15"}},
		{"8.13.0", world.Role{RemoteIndices: ri, RemoteCluster: rc("monitor_stats"), Description: "x"}, []string{"8.14", "8.15", "8.15"}},
	} {
		v, err := world.ParseVersion(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		var need []string
		for _, g := range RoleVersionGates(tc.role, v) {
			need = append(need, g.need)
		}
		if strings.Join(need, ",") != strings.Join(tc.need, ",") {
			t.Errorf("%s %+v: needs %v, want %v", tc.v, tc.role, need, tc.need)
		}
	}
}
