package decide

import (
	"strings"
	"testing"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/world"
)

func TestDecideCanaryPrivileges(t *testing.T) {
	local := world.PrivilegesGroup{Names: []string{"esremote-canary-*"}, Privileges: []string{"view_index_metadata"}}
	remote := func(clusters, names []string, privs ...string) world.PrivilegesGroup {
		return world.PrivilegesGroup{Clusters: clusters, Names: names, Privileges: privs}
	}
	superuser := &world.UserPrivileges{Cluster: []string{"all"},
		Indices:       []world.PrivilegesGroup{{Names: []string{"*"}, Privileges: []string{"all"}}},
		RemoteIndices: []world.PrivilegesGroup{remote([]string{"*"}, []string{"*"}, "all")}}
	managed := CanaryCheck{Conn: "c1", Alias: "logs", Managed: true, Health: drift.HealthUnknown}
	const refusedLocally = "action [indices:admin/resolve/cluster] towards remote cluster [logs] is unauthorized for user [admin] with effective roles [esremote_admin] because no remote indices privileges apply for the target cluster"
	const refusedRemotely = "action [indices:admin/resolve/cluster] towards remote cluster is unauthorized for user [admin] with assigned roles [esremote_admin] authenticated by API key id [k1] of user [elastic] on indices [esremote-canary-k1], this action is granted by the index privileges [view_index_metadata,manage,read_cross_cluster,all]"
	with := func(c CanaryCheck, h drift.Health, refusal string) CanaryCheck {
		c.Health, c.Refusal = h, refusal
		return c
	}
	tests := []struct {
		name  string
		privs *world.UserPrivileges
		links []CanaryCheck
		// want: connection → finding message fragments ("" none), and
		// whether the refusal is the local credential's.
		want      map[string][]string
		wantLocal map[string]bool
		wantFix   string
	}{
		{name: "superuser", privs: superuser, links: []CanaryCheck{managed}},
		{name: "exact grant", links: []CanaryCheck{managed}, privs: &world.UserPrivileges{Indices: []world.PrivilegesGroup{local},
			RemoteIndices: []world.PrivilegesGroup{remote([]string{"logs"}, []string{"esremote-canary-*"}, "view_index_metadata")}}},
		{name: "wildcards that cover", links: []CanaryCheck{managed}, privs: &world.UserPrivileges{
			Indices:       []world.PrivilegesGroup{{Names: []string{"logs-*"}, Privileges: []string{"read"}}},
			RemoteIndices: []world.PrivilegesGroup{remote([]string{"lo*"}, []string{"esremote-*"}, "read_cross_cluster")}}},
		{name: "an action pattern grants", links: []CanaryCheck{managed}, privs: &world.UserPrivileges{
			Indices:       []world.PrivilegesGroup{{Names: []string{"x"}, Privileges: []string{"indices:admin/*"}}},
			RemoteIndices: []world.PrivilegesGroup{remote([]string{"*"}, []string{"*"}, "indices:admin/resolve/cluster")}}},
		{name: "README admin: manage and manage_security only", links: []CanaryCheck{managed, {Conn: "c2", Alias: "archive", Managed: true}},
			privs: &world.UserPrivileges{Cluster: []string{"manage", "manage_security"}},
			want: map[string][]string{
				"c1": {"cannot prove logs", "lacks a local index privilege granting indices:admin/resolve/cluster", "remote_indices on alias logs covering esremote-canary-*"},
				"c2": {"cannot prove archive", "remote_indices on alias archive"}},
			wantFix: `PUT /_security/role/esremote_canary {"indices":[{"names":["esremote-canary-*"],"privileges":["view_index_metadata"]}],"remote_indices":[{"clusters":["archive","logs"],"names":["esremote-canary-*"],"privileges":["view_index_metadata"]}]}`},
		{name: "remote names that miss the canary", links: []CanaryCheck{with(managed, drift.HealthUnauthorized, refusedRemotely)},
			privs: &world.UserPrivileges{Indices: []world.PrivilegesGroup{local},
				RemoteIndices: []world.PrivilegesGroup{remote([]string{"logs"}, []string{"logs-*", "esremote-canary-x*", "/esremote-canary-.*/"}, "all")}},
			want:      map[string][]string{"c1": {"remote_indices on alias logs covering esremote-canary-*"}},
			wantLocal: map[string]bool{"c1": true},
			wantFix:   `{"remote_indices":[{"clusters":["logs"],"names":["esremote-canary-*"],"privileges":["view_index_metadata"]}]}`},
		{name: "the key failed authentication: its own fault, whatever the privileges",
			links: []CanaryCheck{with(managed, drift.HealthUnauthorized, "unable to authenticate user [k1] for action [indices:admin/resolve/cluster]")},
			privs: &world.UserPrivileges{Indices: []world.PrivilegesGroup{local}, RemoteIndices: []world.PrivilegesGroup{remote([]string{"logs"}, []string{"logs-*"}, "read")}},
			want:  map[string][]string{"c1": {"remote_indices on alias logs covering esremote-canary-*"}}},
		{name: "a privilege that does not grant the action", links: []CanaryCheck{managed},
			privs: &world.UserPrivileges{Indices: []world.PrivilegesGroup{{Names: []string{"*"}, Privileges: []string{"write", "monitor"}}},
				RemoteIndices: []world.PrivilegesGroup{remote([]string{"logs"}, []string{"*"}, "monitor", "cross_cluster_replication")}},
			want: map[string][]string{"c1": {"lacks a local index privilege", "remote_indices on alias logs"}}},
		{name: "another alias's privileges", links: []CanaryCheck{managed},
			privs: &world.UserPrivileges{Indices: []world.PrivilegesGroup{local}, RemoteIndices: []world.PrivilegesGroup{remote([]string{"logs-2"}, []string{"*"}, "all")}},
			want:  map[string][]string{"c1": {"remote_indices on alias logs"}}},
		{name: "unmanaged key: any remote_indices on the alias", links: []CanaryCheck{{Conn: "c3", Alias: "logs"}},
			privs: &world.UserPrivileges{Indices: []world.PrivilegesGroup{local}, RemoteIndices: []world.PrivilegesGroup{remote([]string{"logs"}, []string{"logs-*"}, "read")}}},
		{name: "privileges unread: the local refusal alone decides", links: []CanaryCheck{with(managed, drift.HealthUnauthorized, refusedLocally), {Conn: "c2", Alias: "archive", Managed: true, Health: drift.HealthUnauthorized, Refusal: refusedRemotely}},
			want:      map[string][]string{"c1": {"remote_indices on alias logs", "(" + "ech" + " answered: " + refusedLocally + ")"}},
			wantLocal: map[string]bool{"c1": true}},
		{name: "privileges unread, nothing refused", links: []CanaryCheck{managed}},
		{name: "proven connected: the evidence wins", links: []CanaryCheck{with(managed, drift.HealthConnected, "")},
			privs: &world.UserPrivileges{Cluster: []string{"manage"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CanaryPrivileges("ech", tt.privs, tt.links)
			if len(got) != len(tt.want) {
				t.Fatalf("verdicts for %d links, want %d: %+v", len(got), len(tt.want), got)
			}
			for conn, frags := range tt.want {
				v, ok := got[conn]
				if !ok || v.Finding == nil {
					t.Fatalf("%s: no finding", conn)
				}
				f := v.Finding
				if f.Code != CodeCanaryPrivilegeMissing || f.Severity != drift.SeverityError {
					t.Errorf("%s: %s %s", conn, f.Severity, f.Code)
				}
				for _, frag := range frags {
					if !strings.Contains(f.Message, frag) {
						t.Errorf("%s: message %q lacks %q", conn, f.Message, frag)
					}
				}
				if tt.wantFix != "" && !strings.Contains(f.Fix, tt.wantFix) {
					t.Errorf("%s: fix %q lacks %q", conn, f.Fix, tt.wantFix)
				}
				if v.LocalRefusal != tt.wantLocal[conn] {
					t.Errorf("%s: local refusal %t, want %t", conn, v.LocalRefusal, tt.wantLocal[conn])
				}
			}
		})
	}
}

func TestWildcardCovers(t *testing.T) {
	for _, tt := range []struct {
		p, s   string
		prefix bool
		want   bool
	}{
		{"*", "esremote-canary-", true, true},
		{"esremote-canary-*", "esremote-canary-", true, true},
		{"esremote-*", "esremote-canary-", true, true},
		{"*canary-*", "esremote-canary-", true, true},
		{"esremote-canary-", "esremote-canary-", true, false},
		{"esremote-canary-?", "esremote-canary-", true, false},
		{"esremote-canary-x*", "esremote-canary-", true, false},
		{"*canary-a*", "esremote-canary-", true, false},
		{"logs-*", "esremote-canary-", true, false},
		{"lo*", "logs", false, true},
		{"lo?s", "logs", false, true},
		{"logs", "logs-2", false, false},
		{"indices:admin/*", "indices:admin/resolve/cluster", false, true},
	} {
		if got := wildcardCovers(tt.p, tt.s, tt.prefix); got != tt.want {
			t.Errorf("wildcardCovers(%q, %q, %t) = %t, want %t", tt.p, tt.s, tt.prefix, got, tt.want)
		}
	}
}
