package sim

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// adminWorld serves the default world's two deployments, ech-analytics's
// admin holding the named roles (none: superuser), with an API-key link
// ech-analytics → ece-prod-logs whose key grants logs-* and canary.
func adminWorld(t *testing.T, roles map[string]any, adminRoles []string, canary string) *Server {
	t.Helper()
	w, err := NewWorld(WorldSpec{
		ControlPlanes: map[string]ControlPlaneSpec{PlatformECH: {}, PlatformECE: {}},
		Clusters: []ClusterSpec{
			{Name: "ech-analytics", Version: "8.19.3", Platform: PlatformECH, Username: "admin",
				Roles: roles, AdminRoles: adminRoles},
			{Name: "ece-prod-logs", Version: "8.19.3", Platform: PlatformECE, Indices: []string{"logs-1"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Now = (&testClock{now: time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)}).Now
	srv, err := Start(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ece, _ := w.Cluster("ece-prod-logs")
	_, encoded, err := w.CreateCrossClusterKey("ece-prod-logs", "k", `{"search":[{"names":["logs-*"]},{"names":["`+canary+`"]}]}`, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetKeystore("ech-analytics", "cluster.remote.ece-prod-logs.credentials", encoded); err != nil {
		t.Fatal(err)
	}
	put := map[string]any{"persistent": map[string]any{
		"cluster.remote.ece-prod-logs.mode": "proxy", "cluster.remote.ece-prod-logs.proxy_address": ece.Endpoint + ":9443",
		"cluster.remote.ece-prod-logs.server_name": ece.Endpoint}}
	if r := es(t, srv, "ech-analytics", "PUT", "/_cluster/settings", put); r.status != 200 {
		t.Fatalf("put settings: %d %s", r.status, r.body)
	}
	return srv
}

// The README's admin: cluster manage and manage_security, nothing else.
var readmeAdmin = map[string]any{"esremote_admin": map[string]any{"cluster": []any{"manage", "manage_security"}}}

func TestUserPrivilegesListsTheRoles(t *testing.T) {
	srv := adminWorld(t, map[string]any{
		"esremote_admin": map[string]any{"cluster": []any{"manage_security", "manage"}},
		"canary": map[string]any{
			"indices": []any{map[string]any{"names": []any{"esremote-canary-*"}, "privileges": []any{"view_index_metadata"}}},
			"remote_indices": []any{
				map[string]any{"clusters": []any{"ece-prod-logs"}, "names": []any{"esremote-canary-*"}, "privileges": []any{"view_index_metadata"}},
				map[string]any{"clusters": []any{"ece-prod-logs"}, "names": []any{"esremote-canary-*"}, "privileges": []any{"read"}},
			},
		},
	}, []string{"esremote_admin", "canary"}, "esremote-canary-x")
	for _, call := range []func(*testing.T, *Server, string, string, string, any) response{es, esBasic} {
		r := call(t, srv, "ech-analytics", "GET", "/_security/user/_privileges", nil)
		if r.status != 200 {
			t.Fatalf("_privileges: %d %s", r.status, r.body)
		}
		var got map[string]any
		_ = json.Unmarshal(r.body, &got)
		want := map[string]any{
			"cluster": []any{"manage", "manage_security"}, "global": []any{}, "applications": []any{}, "run_as": []any{},
			"indices": []any{map[string]any{"names": []any{"esremote-canary-*"}, "privileges": []any{"view_index_metadata"}, "allow_restricted_indices": false}},
			// two entries with the same names and clusters are one group
			// with the union of their privileges (sorted).
			"remote_indices": []any{map[string]any{"names": []any{"esremote-canary-*"}, "privileges": []any{"read", "view_index_metadata"},
				"allow_restricted_indices": false, "clusters": []any{"ece-prod-logs"}}},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("_privileges:\n got %v\nwant %v", got, want)
		}
	}
	// remote_indices is left out when there is none
	// (RestGetUserPrivilegesAction: hasRemoteIndicesPrivileges).
	srv = adminWorld(t, readmeAdmin, []string{"esremote_admin"}, "esremote-canary-x")
	if m := es(t, srv, "ech-analytics", "GET", "/_security/user/_privileges", nil).json(t); m["remote_indices"] != nil || m["remote_cluster"] != nil {
		t.Errorf("remote_indices for a role without any: %v", m)
	}
}

func TestUserPrivilegesOfSuperuser(t *testing.T) {
	srv, _ := startDefault(t)
	m := es(t, srv, "ech-analytics", "GET", "/_security/user/_privileges", nil).json(t)
	ri, _ := m["remote_indices"].([]any)
	if len(ri) != 2 || !reflect.DeepEqual(ri[0], map[string]any{"names": []any{"*"}, "privileges": []any{"all"}, "allow_restricted_indices": false, "clusters": []any{"*"}}) {
		t.Errorf("superuser remote_indices: %v", m["remote_indices"])
	}
	if !reflect.DeepEqual(m["cluster"], []any{"all"}) || m["remote_cluster"] == nil {
		t.Errorf("superuser: %v", m)
	}
}

func TestHasPrivileges(t *testing.T) {
	srv := adminWorld(t, readmeAdmin, []string{"esremote_admin"}, "esremote-canary-x")
	body := `{"cluster":["manage","manage_security","manage_api_key","all"],"index":[{"names":["esremote-canary-*"],"privileges":["view_index_metadata"]}]}`
	for _, method := range []string{"GET", "POST"} {
		r := es(t, srv, "ech-analytics", method, "/_security/user/_has_privileges", body)
		if r.status != 200 {
			t.Fatalf("%s _has_privileges: %d %s", method, r.status, r.body)
		}
		want := map[string]any{"username": "admin", "has_all_requested": false,
			"cluster": map[string]any{"manage": true, "manage_security": true, "manage_api_key": true, "all": false},
			"index":   map[string]any{"esremote-canary-*": map[string]any{"view_index_metadata": false}}, "application": map[string]any{}}
		if got := r.json(t); !reflect.DeepEqual(got, want) {
			t.Errorf("%s _has_privileges:\n got %v\nwant %v", method, got, want)
		}
	}
	// Upstream's privileges check knows cluster, index and application
	// only (RoleDescriptor.parsePrivilegesToCheck): remote_indices cannot
	// be asked.
	r := es(t, srv, "ech-analytics", "POST", "/_security/user/_has_privileges",
		`{"remote_indices":[{"clusters":["ece-prod-logs"],"names":["esremote-canary-*"],"privileges":["read"]}]}`)
	if r.status != 400 || errorType(t, r) != "parse_exception" ||
		errorReason(t, r) != "failed to parse privileges check [admin/has_privileges]. unexpected field [remote_indices]" {
		t.Errorf("remote_indices in _has_privileges: %d %s", r.status, r.body)
	}
	r = es(t, srv, "ech-analytics", "POST", "/_security/user/elastic/_has_privileges", `{"cluster":["manage"]}`)
	if r.status != 400 || errorType(t, r) != "illegal_argument_exception" || errorReason(t, r) != "users may only check the privileges of their own account" {
		t.Errorf("another user's privileges: %d %s", r.status, r.body)
	}
	if r := es(t, srv, "ech-analytics", "POST", "/_security/user/admin/_has_privileges", `{"cluster":["manage"]}`); r.status != 200 || r.json(t)["has_all_requested"] != true {
		t.Errorf("own privileges by name: %d %s", r.status, r.body)
	}
	r = es(t, srv, "ech-analytics", "POST", "/_security/user/_has_privileges", `{}`)
	if r.status != 400 || !strings.Contains(errorReason(t, r), "All privilege fields [cluster,index,applications] are missing") {
		t.Errorf("empty check: %d %s", r.status, r.body)
	}
	// A superuser has everything asked.
	srv2, _ := startDefault(t)
	if m := es(t, srv2, "ech-analytics", "POST", "/_security/user/_has_privileges", body).json(t); m["has_all_requested"] != true {
		t.Errorf("superuser: %v", m)
	}
}

// The canary request of esremote (GET /_resolve/cluster/<alias>:<canary>)
// meets the local user's privileges first: without any index privilege
// granting the action locally the whole request is refused (403); without
// remote_indices for the alias the local cluster refuses that alias;
// with remote_indices that do not cover the name, the remote refuses it
// naming the key; covered, it is authorized (the canary does not exist).
func TestCanaryRequestNeedsTheLocalUsersPrivileges(t *testing.T) {
	const path = "/_resolve/cluster/ece-prod-logs:esremote-canary-x"
	localIdx := map[string]any{"names": []any{"esremote-canary-*"}, "privileges": []any{"view_index_metadata"}}
	remoteIdx := func(names ...any) map[string]any {
		return map[string]any{"clusters": []any{"ece-*"}, "names": names, "privileges": []any{"view_index_metadata"}}
	}
	role := func(kv ...any) map[string]any {
		r := map[string]any{"cluster": []any{"manage", "manage_security"}}
		for i := 0; i < len(kv); i += 2 {
			r[kv[i].(string)] = kv[i+1]
		}
		return map[string]any{"esremote_admin": r}
	}
	entry := func(srv *Server) map[string]any {
		t.Helper()
		r := es(t, srv, "ech-analytics", "GET", path, nil)
		if r.status != 200 {
			t.Fatalf("resolve: %d %s", r.status, r.body)
		}
		e, _ := r.json(t)["ece-prod-logs"].(map[string]any)
		return e
	}

	srv := adminWorld(t, readmeAdmin, []string{"esremote_admin"}, "esremote-canary-x")
	r := es(t, srv, "ech-analytics", "GET", path, nil)
	if r.status != 403 || errorReason(t, r) != "action [indices:admin/resolve/cluster] is unauthorized for API key id ["+
		strings.Split(srv.World.clusters["ech-analytics"].APIKey, ":")[0]+"] of user [admin] on indices [ece-prod-logs:esremote-canary-x], this action is granted by the index privileges [view_index_metadata,manage,read_cross_cluster,all]" {
		t.Errorf("no local index privilege: %d %s", r.status, r.body)
	}
	r = esBasic(t, srv, "ech-analytics", "GET", path, nil)
	if r.status != 403 || !strings.HasPrefix(errorReason(t, r), "action [indices:admin/resolve/cluster] is unauthorized for user [admin] with effective roles [esremote_admin] on indices [") {
		t.Errorf("no local index privilege (basic): %d %s", r.status, r.body)
	}

	srv = adminWorld(t, role("indices", []any{localIdx}), []string{"esremote_admin"}, "esremote-canary-x")
	e := entry(srv)
	want := "action [indices:admin/resolve/cluster] towards remote cluster [ece-prod-logs] is unauthorized for API key id [" +
		strings.Split(srv.World.clusters["ech-analytics"].APIKey, ":")[0] + "] of user [admin] because no remote indices privileges apply for the target cluster"
	if e["connected"] != false || e["error"] != want {
		t.Errorf("no remote_indices:\n got %v\nwant error %s", e, want)
	}
	if st := srv.World.LinkStatus("ech-analytics", "ece-prod-logs"); !st.Connected {
		t.Errorf("the link itself is fine: %+v", st)
	}

	srv = adminWorld(t, role("indices", []any{localIdx}, "remote_indices", []any{remoteIdx("logs-*")}), []string{"esremote_admin"}, "esremote-canary-x")
	r = esBasic(t, srv, "ech-analytics", "GET", path, nil)
	e, _ = r.json(t)["ece-prod-logs"].(map[string]any)
	if msg, _ := e["error"].(string); e["connected"] != false ||
		!strings.HasPrefix(msg, "action [indices:admin/resolve/cluster] towards remote cluster is unauthorized for user [admin] with assigned roles [esremote_admin] authenticated by API key id [") ||
		!strings.HasSuffix(msg, "on indices [esremote-canary-x], this action is granted by the index privileges [view_index_metadata,manage,read_cross_cluster,all]") {
		t.Errorf("remote_indices without the canary: %v", e)
	}

	srv = adminWorld(t, role("indices", []any{localIdx}, "remote_indices", []any{remoteIdx("esremote-canary-*")}), []string{"esremote_admin"}, "esremote-canary-x")
	if e := entry(srv); e["connected"] != true || e["error"] != "no such index [esremote-canary-x]" {
		t.Errorf("granted: %v", e)
	}
	// The user's privileges do not widen the key's access.
	srv = adminWorld(t, role("indices", []any{localIdx}, "remote_indices", []any{remoteIdx("*")}), []string{"esremote_admin"}, "logs-*")
	if e := entry(srv); e["connected"] != false || !strings.Contains(e["error"].(string), "on indices [esremote-canary-x]") {
		t.Errorf("key without the canary: %v", e)
	}
}

func TestWorldAdminRoles(t *testing.T) {
	_, err := NewWorld(WorldSpec{Clusters: []ClusterSpec{{Name: "a", AdminRoles: []string{"nope"}}}})
	if err == nil || err.Error() != `clusters[0]: a: admin_roles: role "nope" is neither superuser nor in roles` {
		t.Errorf("unknown admin role: %v", err)
	}
	_, err = NewWorld(WorldSpec{Clusters: []ClusterSpec{{Name: "a", Roles: map[string]any{"r": map[string]any{"remote_indices": []any{map[string]any{"names": []any{"x"}, "privileges": []any{"read"}}}}}}}})
	if err == nil || !strings.Contains(err.Error(), "missing required [clusters] field") {
		t.Errorf("bad role: %v", err)
	}
}
