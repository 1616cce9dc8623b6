package reconcile

import (
	"strings"
	"testing"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/es"
)

func TestDecideCanaryPrivileges(t *testing.T) {
	local := es.PrivilegesGroup{Names: []string{"esremote-canary-*"}, Privileges: []string{"view_index_metadata"}}
	remote := func(clusters, names []string, privs ...string) es.PrivilegesGroup {
		return es.PrivilegesGroup{Clusters: clusters, Names: names, Privileges: privs}
	}
	superuser := &es.UserPrivileges{Cluster: []string{"all"},
		Indices:       []es.PrivilegesGroup{{Names: []string{"*"}, Privileges: []string{"all"}}},
		RemoteIndices: []es.PrivilegesGroup{remote([]string{"*"}, []string{"*"}, "all")}}
	managed := canaryCheck{Conn: "c1", Alias: "logs", Managed: true, Health: HealthUnknown}
	const refusedLocally = "action [indices:admin/resolve/cluster] towards remote cluster [logs] is unauthorized for user [admin] with effective roles [esremote_admin] because no remote indices privileges apply for the target cluster"
	const refusedRemotely = "action [indices:admin/resolve/cluster] towards remote cluster is unauthorized for user [admin] with assigned roles [esremote_admin] authenticated by API key id [k1] of user [elastic] on indices [esremote-canary-k1], this action is granted by the index privileges [view_index_metadata,manage,read_cross_cluster,all]"
	with := func(c canaryCheck, h drift.Health, refusal string) canaryCheck {
		c.Health, c.Refusal = h, refusal
		return c
	}
	tests := []struct {
		name  string
		privs *es.UserPrivileges
		links []canaryCheck
		// want: connection → finding message fragments ("" none), and
		// whether the refusal is the local credential's.
		want      map[string][]string
		wantLocal map[string]bool
		wantFix   string
	}{
		{name: "superuser", privs: superuser, links: []canaryCheck{managed}},
		{name: "exact grant", links: []canaryCheck{managed}, privs: &es.UserPrivileges{Indices: []es.PrivilegesGroup{local},
			RemoteIndices: []es.PrivilegesGroup{remote([]string{"logs"}, []string{"esremote-canary-*"}, "view_index_metadata")}}},
		{name: "wildcards that cover", links: []canaryCheck{managed}, privs: &es.UserPrivileges{
			Indices:       []es.PrivilegesGroup{{Names: []string{"logs-*"}, Privileges: []string{"read"}}},
			RemoteIndices: []es.PrivilegesGroup{remote([]string{"lo*"}, []string{"esremote-*"}, "read_cross_cluster")}}},
		{name: "an action pattern grants", links: []canaryCheck{managed}, privs: &es.UserPrivileges{
			Indices:       []es.PrivilegesGroup{{Names: []string{"x"}, Privileges: []string{"indices:admin/*"}}},
			RemoteIndices: []es.PrivilegesGroup{remote([]string{"*"}, []string{"*"}, "indices:admin/resolve/cluster")}}},
		{name: "README admin: manage and manage_security only", links: []canaryCheck{managed, {Conn: "c2", Alias: "archive", Managed: true}},
			privs: &es.UserPrivileges{Cluster: []string{"manage", "manage_security"}},
			want: map[string][]string{
				"c1": {"cannot prove logs", "lacks a local index privilege granting indices:admin/resolve/cluster", "remote_indices on alias logs covering esremote-canary-*"},
				"c2": {"cannot prove archive", "remote_indices on alias archive"}},
			wantFix: `PUT /_security/role/esremote_canary {"indices":[{"names":["esremote-canary-*"],"privileges":["view_index_metadata"]}],"remote_indices":[{"clusters":["archive","logs"],"names":["esremote-canary-*"],"privileges":["view_index_metadata"]}]}`},
		{name: "remote names that miss the canary", links: []canaryCheck{with(managed, HealthUnauthorized, refusedRemotely)},
			privs: &es.UserPrivileges{Indices: []es.PrivilegesGroup{local},
				RemoteIndices: []es.PrivilegesGroup{remote([]string{"logs"}, []string{"logs-*", "esremote-canary-x*", "/esremote-canary-.*/"}, "all")}},
			want:      map[string][]string{"c1": {"remote_indices on alias logs covering esremote-canary-*"}},
			wantLocal: map[string]bool{"c1": true},
			wantFix:   `{"remote_indices":[{"clusters":["logs"],"names":["esremote-canary-*"],"privileges":["view_index_metadata"]}]}`},
		{name: "the key failed authentication: its own fault, whatever the privileges",
			links: []canaryCheck{with(managed, HealthUnauthorized, "unable to authenticate user [k1] for action [indices:admin/resolve/cluster]")},
			privs: &es.UserPrivileges{Indices: []es.PrivilegesGroup{local}, RemoteIndices: []es.PrivilegesGroup{remote([]string{"logs"}, []string{"logs-*"}, "read")}},
			want:  map[string][]string{"c1": {"remote_indices on alias logs covering esremote-canary-*"}}},
		{name: "a privilege that does not grant the action", links: []canaryCheck{managed},
			privs: &es.UserPrivileges{Indices: []es.PrivilegesGroup{{Names: []string{"*"}, Privileges: []string{"write", "monitor"}}},
				RemoteIndices: []es.PrivilegesGroup{remote([]string{"logs"}, []string{"*"}, "monitor", "cross_cluster_replication")}},
			want: map[string][]string{"c1": {"lacks a local index privilege", "remote_indices on alias logs"}}},
		{name: "another alias's privileges", links: []canaryCheck{managed},
			privs: &es.UserPrivileges{Indices: []es.PrivilegesGroup{local}, RemoteIndices: []es.PrivilegesGroup{remote([]string{"logs-2"}, []string{"*"}, "all")}},
			want:  map[string][]string{"c1": {"remote_indices on alias logs"}}},
		{name: "unmanaged key: any remote_indices on the alias", links: []canaryCheck{{Conn: "c3", Alias: "logs"}},
			privs: &es.UserPrivileges{Indices: []es.PrivilegesGroup{local}, RemoteIndices: []es.PrivilegesGroup{remote([]string{"logs"}, []string{"logs-*"}, "read")}}},
		{name: "privileges unread: the local refusal alone decides", links: []canaryCheck{with(managed, HealthUnauthorized, refusedLocally), {Conn: "c2", Alias: "archive", Managed: true, Health: HealthUnauthorized, Refusal: refusedRemotely}},
			want:      map[string][]string{"c1": {"remote_indices on alias logs", "(" + "ech" + " answered: " + refusedLocally + ")"}},
			wantLocal: map[string]bool{"c1": true}},
		{name: "privileges unread, nothing refused", links: []canaryCheck{managed}},
		{name: "proven connected: the evidence wins", links: []canaryCheck{with(managed, HealthConnected, "")},
			privs: &es.UserPrivileges{Cluster: []string{"manage"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decideCanaryPrivileges("ech", tt.privs, tt.links)
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
