package sim

import (
	"context"
	"testing"
	"time"
)

// Replays of Elasticsearch's own REST tests (and the classes behind them)
// against the simulated world: each test names the upstream file it
// follows. docs/sim.md lists the rules.

// listLen is the length of a JSON array field of an answer.
func listLen(t *testing.T, m map[string]any, field string) int {
	t.Helper()
	l, ok := m[field].([]any)
	if !ok {
		t.Fatalf("%s is not an array in %v", field, m)
	}
	return len(l)
}

// x-pack/plugin/src/yamlRestTest/resources/rest-api-spec/test/api_key/
// 50_cross_cluster.yml "Test invalidate a cross-cluster API Key", then
// the same request again: ApiKeyService.invalidateApiKeys searches only
// keys that are not invalidated yet, so the second answer names no key at
// all (neither invalidated nor previously invalidated).
func TestInvalidateAlreadyInvalidatedKey(t *testing.T) {
	srv, clock := startDefault(t)
	const c = "ece-prod-logs"
	r := esBasic(t, srv, c, "POST", "/_security/cross_cluster/api_key",
		`{"name":"my-cc-api-key","access":{"search":[{"names":["*"],"allow_restricted_indices":true}]}}`)
	if r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	body := `{"ids":["` + id + `"]}`

	first := esBasic(t, srv, c, "DELETE", "/_security/api_key", body).json(t)
	if listLen(t, first, "invalidated_api_keys") != 1 || first["invalidated_api_keys"].([]any)[0] != id ||
		listLen(t, first, "previously_invalidated_api_keys") != 0 || first["error_count"] != float64(0) {
		t.Fatalf("first invalidation: %v", first)
	}
	got := esBasic(t, srv, c, "GET", "/_security/api_key?id="+id, nil).json(t)
	if k := got["api_keys"].([]any)[0].(map[string]any); k["invalidated"] != true {
		t.Fatalf("after invalidation: %v", k)
	}
	inv := k0(t, srv, c, id)["invalidation"]

	clock.Add(60_000_000_000)
	again := esBasic(t, srv, c, "DELETE", "/_security/api_key", body).json(t)
	if listLen(t, again, "invalidated_api_keys") != 0 || listLen(t, again, "previously_invalidated_api_keys") != 0 ||
		again["error_count"] != float64(0) {
		t.Fatalf("second invalidation: want both lists empty, got %v", again)
	}
	if k0(t, srv, c, id)["invalidation"] != inv {
		t.Fatalf("the second request moved the invalidation time")
	}
}

// ApiKeyService.invalidateApiKeys: filterOutExpiredKeys is false, so an
// expired key is invalidated; the name filter takes a trailing "*" as a
// prefix (findApiKeysForUserRealmApiKeyIdAndNameCombination).
func TestInvalidateExpiredAndByNamePrefix(t *testing.T) {
	srv, _ := startDefault(t)
	const c = "ece-prod-logs"
	a, _, _ := srv.World.CreateCrossClusterKey(c, "canary-a", `{"search":[{"names":["x"]}]}`, 0)
	b, _, _ := srv.World.CreateCrossClusterKey(c, "canary-b", `{"search":[{"names":["x"]}]}`, 0)
	other, _, _ := srv.World.CreateCrossClusterKey(c, "other", `{"search":[{"names":["x"]}]}`, 0)
	srv.World.ExpireKey(c, b)
	res := esBasic(t, srv, c, "DELETE", "/_security/api_key", `{"name":"canary-*"}`).json(t)
	ids := res["invalidated_api_keys"].([]any)
	if len(ids) != 2 || ids[0] != a || ids[1] != b {
		t.Fatalf("want %s and the expired %s, got %v", a, b, res)
	}
	if k0(t, srv, c, other)["invalidated"] != false {
		t.Fatal("a key outside the prefix was invalidated")
	}
	r := esBasic(t, srv, c, "DELETE", "/_security/api_key", `{"id":"`+a+`","ids":["`+b+`"]}`)
	if r.status != 400 || errorReason(t, r) != "Must use either [id] or [ids], not both at the same time" {
		t.Fatalf("id and ids: %d %s", r.status, r.body)
	}
}

// k0 is the GET /_security/api_key?id= item of a key.
func k0(t *testing.T, srv *Server, cluster, id string) map[string]any {
	t.Helper()
	r := esBasic(t, srv, cluster, "GET", "/_security/api_key?id="+id, nil)
	return r.json(t)["api_keys"].([]any)[0].(map[string]any)
}

// startWorld serves a world built from spec with a fixed clock.
func startWorld(t *testing.T, spec WorldSpec) *Server {
	t.Helper()
	w, err := NewWorld(spec)
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{now: time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)}
	w.Now = clock.Now
	srv, err := Start(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// Sniff-mode _remote/info, as qa/multi-cluster-search/…/multi_cluster/
// 20_info.yml and x-pack/qa/multi-cluster-search-security/…/
// querying_cluster/20_info.yml read it (seeds, num_nodes_connected,
// max_connections_per_cluster, initial_connect_timeout, skip_unavailable;
// those suites set connections_per_cluster to 1 in elasticsearch.yml, so
// the node_connections setting stands in for it here), with the counts of
// SniffConnectionStrategy.getModeInfo: max_connections_per_cluster is
// node_connections (default 3) and num_nodes_connected one per remote
// node up to it. collectRemoteNodes moves on to the next seed when one
// does not answer.
func TestRemoteInfoSniffMode(t *testing.T) {
	srv := startWorld(t, WorldSpec{Clusters: []ClusterSpec{
		{Name: "local", Version: "8.19.3"},
		{Name: "remote", Version: "8.19.3", Nodes: 2},
	}})
	_, enc, err := srv.World.CreateCrossClusterKey("remote", "k", `{"search":[{"names":["*"]}]}`, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv.World.SetKeystore("local", "cluster.remote.r.credentials", enc)
	es(t, srv, "local", "POST", "/_nodes/reload_secure_settings", nil)
	r := es(t, srv, "local", "PUT", "/_cluster/settings?flat_settings=true",
		`{"persistent":{"cluster.remote.r.seeds":["nowhere.sim:9443","remote.sim:9443"]}}`)
	if r.status != 200 {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	info := func() map[string]any {
		e, ok := es(t, srv, "local", "GET", "/_remote/info", nil).json(t)["r"].(map[string]any)
		if !ok {
			t.Fatal("alias r missing from _remote/info")
		}
		return e
	}
	e := info()
	want := map[string]any{"connected": true, "mode": "sniff", "num_nodes_connected": float64(2),
		"max_connections_per_cluster": float64(3), "initial_connect_timeout": "30s", "skip_unavailable": true,
		"cluster_credentials": "::es_redacted::"}
	for k, v := range want {
		if e[k] != v {
			t.Errorf("%s = %v, want %v (%v)", k, e[k], v, e)
		}
	}
	if s, _ := e["seeds"].([]any); len(s) != 2 || s[0] != "nowhere.sim:9443" || s[1] != "remote.sim:9443" {
		t.Errorf("seeds = %v", e["seeds"])
	}
	for _, k := range []string{"proxy_address", "server_name", "num_proxy_sockets_connected", "max_proxy_socket_connections"} {
		if _, ok := e[k]; ok {
			t.Errorf("sniff mode reports the proxy field %s", k)
		}
	}

	es(t, srv, "local", "PUT", "/_cluster/settings", `{"persistent":{"cluster.remote.r.node_connections":1}}`)
	if e := info(); e["num_nodes_connected"] != float64(1) || e["max_connections_per_cluster"] != float64(1) {
		t.Errorf("node_connections 1: %v", e)
	}

	es(t, srv, "local", "PUT", "/_cluster/settings", `{"persistent":{"cluster.remote.r.seeds":["nowhere.sim:9443"]}}`)
	if e := info(); e["connected"] != false || e["num_nodes_connected"] != float64(0) || e["max_connections_per_cluster"] != float64(1) {
		t.Errorf("no seed answers: %v", e)
	}
}

// nodeResults returns the nodes object of a reload answer.
func nodeResults(t *testing.T, r response) map[string]any {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("reload: %d %s", r.status, r.body)
	}
	m := r.json(t)
	if m["cluster_name"] == nil {
		t.Fatalf("no cluster_name: %v", m)
	}
	n, _ := m["nodes"].(map[string]any)
	return n
}

// rest-api-spec/…/nodes.reload_secure_settings/10_basic.yml: on an
// unprotected keystore, "_local" with a wrong password reports a
// security_exception for the node; no password reloads. And
// ReloadSecureSettingsWithPasswordProtectedKeystoreRestIT: on a protected
// keystore the right password reloads on every node, a wrong one or none
// fails on every node. A failed node keeps what it had loaded.
func TestReloadSecureSettingsPassword(t *testing.T) {
	const c = "onprem"
	srv := startWorld(t, WorldSpec{Clusters: []ClusterSpec{{Name: c, Version: "8.19.3", Nodes: 2}}})
	srv.World.SetKeystore(c, "cluster.remote.x.credentials", "eDp5") // base64("x:y")
	loaded := func() (nodes int) {                                   // how many nodes have loaded it
		srv.World.mu.Lock()
		defer srv.World.mu.Unlock()
		for _, n := range srv.World.clusters[c].nodes {
			if _, ok := n.loaded["cluster.remote.x.credentials"]; ok {
				nodes++
			}
		}
		return nodes
	}

	local := nodeResults(t, es(t, srv, c, "POST", "/_nodes/_local/reload_secure_settings", `{"secure_settings_password":"awrongpasswordhere"}`))
	if len(local) != 1 {
		t.Fatalf("_local selects one node, got %v", local)
	}
	for _, v := range local {
		ex, _ := v.(map[string]any)["reload_exception"].(map[string]any)
		if ex["type"] != "security_exception" || ex["reason"] != "Provided keystore password was incorrect" {
			t.Fatalf("wrong password on an unprotected keystore: %v", v)
		}
	}
	if loaded() != 0 {
		t.Fatal("a failed reload loaded the keystore")
	}
	for _, v := range nodeResults(t, es(t, srv, c, "POST", "/_nodes/reload_secure_settings", nil)) {
		if _, failed := v.(map[string]any)["reload_exception"]; failed {
			t.Fatalf("no password on an unprotected keystore: %v", v)
		}
	}
	if loaded() != 2 {
		t.Fatal("a successful reload did not load the keystore on both nodes")
	}

	srv.World.SetKeystorePassword(c, "keystore-password")
	for body, wantFail := range map[string]bool{
		`{"secure_settings_password":"keystore-password"}`:        false,
		`{"secure_settings_password":"keystore-passwordabcdefg"}`: true,
		``: true,
	} {
		nodes := nodeResults(t, es(t, srv, c, "POST", "/_nodes/reload_secure_settings", body))
		if len(nodes) != 2 {
			t.Fatalf("want the 2 nodes, got %v", nodes)
		}
		for _, v := range nodes {
			ex, failed := v.(map[string]any)["reload_exception"].(map[string]any)
			if failed != wantFail || (failed && ex["reason"] != "Provided keystore password was incorrect") {
				t.Fatalf("protected keystore, body %q: %v", body, v)
			}
		}
	}
	r := es(t, srv, c, "POST", "/_nodes/reload_secure_settings", `{"password":"x"}`)
	if r.status != 400 || errorReason(t, r) != "[reload_secure_settings] unknown field [password]" {
		t.Fatalf("unknown field: %d %s", r.status, r.body)
	}
}

// linkedPair serves two self-managed clusters, local and remote, with
// alias "r" on local reaching remote over the API key model (proxy mode)
// with a key whose access is the given JSON.
func linkedPair(t *testing.T, version, access string) *Server {
	t.Helper()
	srv := startWorld(t, WorldSpec{Clusters: []ClusterSpec{
		{Name: "local", Version: version, Indices: []string{"index1", "products"}},
		{Name: "remote", Version: version, Indices: []string{"logs-1", "logs-2", "secret"}},
	}})
	_, enc, err := srv.World.CreateCrossClusterKey("remote", "k", access, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv.World.SetKeystore("local", "cluster.remote.r.credentials", enc)
	es(t, srv, "local", "POST", "/_nodes/reload_secure_settings", nil)
	r := es(t, srv, "local", "PUT", "/_cluster/settings",
		`{"persistent":{"cluster.remote.r.mode":"proxy","cluster.remote.r.proxy_address":"remote.sim:9443","cluster.remote.r.skip_unavailable":false}}`)
	if r.status != 200 {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	return srv
}

func entry(t *testing.T, m map[string]any, key string) map[string]any {
	t.Helper()
	e, ok := m[key].(map[string]any)
	if !ok {
		t.Fatalf("no %q entry in %v", key, m)
	}
	return e
}

// rest-api-spec/…/indices.resolve_cluster/10_basic_resolve_cluster.yml
// (the parts without aliases and closed indices, which the sim does not
// hold), and the grouping of RemoteClusterService.groupIndices: each
// cluster is asked once with all of its expressions, so a missing
// concrete index is an error wherever it stands in the list.
func TestResolveClusterLocalForms(t *testing.T) {
	srv := linkedPair(t, "9.1.0", `{"search":[{"names":["logs-*"]}]}`)
	get := func(expr string) map[string]any {
		r := es(t, srv, "local", "GET", "/_resolve/cluster/"+expr, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", expr, r.status, r.body)
		}
		return r.json(t)
	}
	l := entry(t, get("*"), "(local)")
	if l["connected"] != true || l["skip_unavailable"] != false || l["matching_indices"] != true || entry(t, l, "version")["number"] != "9.1.0" {
		t.Fatalf("'*': %v", l)
	}
	for _, expr := range []string{"index1,doesnotexist", "doesnotexist,index1"} {
		l := entry(t, get(expr), "(local)")
		if l["error"] != "no such index [doesnotexist]" || l["matching_indices"] != nil || l["version"] != nil || l["connected"] != true {
			t.Fatalf("%s: %v", expr, l)
		}
	}
	if l := entry(t, get("index1,doesnotexist*"), "(local)"); l["matching_indices"] != true {
		t.Fatalf("wildcard that matches nothing next to an index: %v", l)
	}
	if l := entry(t, get("doesnotexist*"), "(local)"); l["matching_indices"] != false || l["error"] != nil {
		t.Fatalf("wildcard that matches nothing: %v", l)
	}

	m := get("r:logs-*,r:logs-nope")
	if _, ok := m["(local)"]; ok || len(m) != 1 {
		t.Fatalf("remote-only expression: %v", m)
	}
	if e := entry(t, m, "r"); e["connected"] != true || e["error"] != "no such index [logs-nope]" || e["skip_unavailable"] != false {
		t.Fatalf("r:logs-*,r:logs-nope: %v", e)
	}
	all := get("*:*")
	if e := entry(t, all, "r"); e["connected"] != true || e["matching_indices"] != true || len(all) != 1 {
		t.Fatalf("*:*: %v", all)
	}
	if m := get("x*:logs-1"); len(m) != 0 {
		t.Fatalf("a cluster pattern that matches no alias: %v", m)
	}
	r := es(t, srv, "local", "GET", "/_resolve/cluster/index1,nosuch:logs-1", nil)
	if r.status != 404 || errorType(t, r) != "no_such_remote_cluster_exception" || errorReason(t, r) != "no such remote cluster: [nosuch]" {
		t.Fatalf("unknown alias: %d %s", r.status, r.body)
	}
}

// The form without an index expression (RestResolveClusterAction, 8.18+):
// every configured remote with connected, skip_unavailable and version but
// no matching_indices and no local entry; {} without remotes
// (10_basic_resolve_cluster.yml "Resolve cluster with no index
// expression"); index options refused; no such route before 8.18.
func TestResolveClusterWithoutExpression(t *testing.T) {
	srv := linkedPair(t, "8.19.3", `{"search":[{"names":["logs-*"]}]}`)
	r := es(t, srv, "local", "GET", "/_resolve/cluster", nil)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	m := r.json(t)
	e := entry(t, m, "r")
	if len(m) != 1 || e["connected"] != true || e["skip_unavailable"] != false || entry(t, e, "version")["number"] != "8.19.3" {
		t.Fatalf("bare form: %v", m)
	}
	if _, ok := e["matching_indices"]; ok {
		t.Fatalf("bare form reports matching_indices: %v", e)
	}
	if r := es(t, srv, "remote", "GET", "/_resolve/cluster", nil); r.status != 200 || len(r.json(t)) != 0 {
		t.Fatalf("no remotes configured: %d %s", r.status, r.body)
	}
	r = es(t, srv, "local", "GET", "/_resolve/cluster?expand_wildcards=open", nil)
	if r.status != 400 || errorReason(t, r) != "No index options are allowed on _resolve/cluster when no index expression is specified, but received: [expand_wildcards]" {
		t.Fatalf("index option: %d %s", r.status, r.body)
	}

	srv.World.SetKeystore("local", "cluster.remote.r.credentials", "bm9wZTpub3Bl") // base64("nope:nope")
	es(t, srv, "local", "POST", "/_nodes/reload_secure_settings", nil)
	e = entry(t, es(t, srv, "local", "GET", "/_resolve/cluster", nil).json(t), "r")
	if e["connected"] != false || e["error"] != "unable to authenticate user [nope] for action [indices:admin/resolve/cluster]" {
		t.Fatalf("refused key, bare form: %v", e)
	}

	old := linkedPair(t, "8.17.4", `{"search":[{"names":["logs-*"]}]}`)
	if r := es(t, old, "local", "GET", "/_resolve/cluster", nil); r.status != 400 {
		t.Fatalf("8.17.4 has no bare form: %d %s", r.status, r.body)
	}
}

// x-pack/plugin/src/yamlRestTest/…/roles/10_basic.yml "Test put role
// api" and 11_idx_arrays.yml, 50_remote_only.yml: names given as one
// string come back as an array, "index" is the older name of "indices",
// the description is kept, an empty remote_cluster is not shown.
func TestPutRoleUpstreamForms(t *testing.T) {
	srv, _ := startDefault(t)
	const c = "ech-analytics"
	put := func(name, body string) response {
		t.Helper()
		return es(t, srv, c, "PUT", "/_security/role/"+name, body)
	}
	get := func(name string) map[string]any {
		t.Helper()
		return entry(t, es(t, srv, c, "GET", "/_security/role/"+name, nil).json(t), name)
	}
	if r := put("admin_role", `{"cluster":["all"],"metadata":{"key1":"val1","key2":"val2"},"indices":[{"names":"*","privileges":["all"]}]}`); r.status != 200 || entry(t, r.json(t), "role")["created"] != true {
		t.Fatalf("put admin_role: %d %s", r.status, r.body)
	}
	g := get("admin_role")
	idx := g["indices"].([]any)[0].(map[string]any)
	if g["cluster"].([]any)[0] != "all" || entry(t, g, "metadata")["key1"] != "val1" || idx["names"].([]any)[0] != "*" ||
		idx["privileges"].([]any)[0] != "all" || idx["allow_restricted_indices"] != false {
		t.Fatalf("get admin_role: %v", g)
	}
	for _, k := range []string{"remote_indices", "remote_cluster", "description", "global"} {
		if _, ok := g[k]; ok {
			t.Errorf("admin_role shows %s", k)
		}
	}
	if tm := entry(t, g, "transient_metadata"); tm["enabled"] != true {
		t.Errorf("transient_metadata: %v", tm)
	}

	put("backwards_role", `{"cluster":["all"],"index":[{"privileges":["all"],"names":["foo","bar"],"query":{"term":{"a":"b"}}}]}`)
	idx = get("backwards_role")["indices"].([]any)[0].(map[string]any)
	if n := idx["names"].([]any); len(n) != 2 || n[1] != "bar" || idx["query"] != `{"term":{"a":"b"}}` {
		t.Fatalf("backwards_role: %v", idx)
	}

	put("role_with_description", `{"description":"Allows all security-related operations.","cluster":["manage_security"]}`)
	if d := get("role_with_description")["description"]; d != "Allows all security-related operations." {
		t.Fatalf("description: %v", d)
	}

	put("remote_role", `{"remote_indices":[{"names":["logs*"],"privileges":["read"],"allow_restricted_indices":false,"clusters":["*"]}],`+
		`"remote_cluster":[{"privileges":["monitor_enrich"],"clusters":["my_remote*","my_remote2*"]}]}`)
	g = get("remote_role")
	ri := g["remote_indices"].([]any)[0].(map[string]any)
	rc := g["remote_cluster"].([]any)[0].(map[string]any)
	if ri["names"].([]any)[0] != "logs*" || ri["clusters"].([]any)[0] != "*" || rc["clusters"].([]any)[1] != "my_remote2*" {
		t.Fatalf("remote_role: %v", g)
	}
	put("empty_remote", `{"remote_cluster":[],"indices":[{"names":["a"],"privileges":["read"],"query":""}]}`)
	g = get("empty_remote")
	if _, ok := g["remote_cluster"]; ok {
		t.Errorf("an empty remote_cluster is shown: %v", g)
	}
	if _, ok := g["indices"].([]any)[0].(map[string]any)["query"]; ok {
		t.Errorf("an empty query is kept: %v", g)
	}
}

// RoleDescriptor.parse / parseIndexWithOptionalRemoteClusters /
// parseRemoteCluster (RoleDescriptorTests, read) and
// RoleDescriptorRequestValidator: the 400 answers of PUT /_security/role.
func TestPutRoleRefusals(t *testing.T) {
	srv, _ := startDefault(t)
	cases := []struct {
		name, cluster, body, typ, reason, causedBy string
	}{
		{"unknown field", "ech-analytics", `{"cluster":[],"foo":1}`, "parse_exception", "failed to parse role [test]. unexpected field [foo]", ""},
		{"restriction is for API keys", "ech-analytics", `{"restriction":{"workflows":["search_application_query"]}}`, "parse_exception", "failed to parse role [test]. unexpected field [restriction]", ""},
		{"description before 8.15", "onprem-old", `{"description":"x"}`, "parse_exception", "failed to parse role [test]. unexpected field [description]", ""},
		{"privileges missing", "ech-analytics", `{"indices":[{"names":["idx1"]}]}`, "parse_exception", "failed to parse indices privileges for role [test]. missing required [privileges] field", ""},
		{"names missing", "ech-analytics", `{"indices":[{"privileges":["read"]}]}`, "parse_exception", "failed to parse indices privileges for role [test]. missing required [names] field", ""},
		{"names empty", "ech-analytics", `{"indices":[{"names":[],"privileges":["read"]}]}`, "parse_exception", "failed to parse indices privileges for role [test]. [names] cannot be an empty array", ""},
		{"unknown entry field", "ech-analytics", `{"indices":[{"names":["a"],"privileges":["read"],"foo":true}]}`, "parse_exception", "failed to parse indices privileges for role [test]. unexpected field [foo]", ""},
		{"clusters in indices", "ech-analytics", `{"indices":[{"names":["idx1","idx2"],"privileges":["all"],"clusters":["remote"]}]}`, "parse_exception", "failed to parse indices privileges for role [test]. unexpected field [clusters]", ""},
		{"remote_indices without clusters", "ech-analytics", `{"remote_indices":[{"names":["idx1","idx2"],"privileges":["all"]}]}`, "parse_exception", "failed to parse remote indices privileges for role [test]. missing required [clusters] field", ""},
		{"field_security empty", "ech-analytics", `{"indices":[{"names":["a"],"privileges":["read"],"field_security":{}}]}`, "parse_exception", `failed to parse indices privileges for role [test]. "field_security" must not be empty.`, ""},
		{"except without grant", "ech-analytics", `{"indices":[{"names":["a"],"privileges":["read"],"field_security":{"except":["f"]}}]}`, "parse_exception", "failed to parse indices privileges for role [test]. field_security requires grant if except is given", ""},
		{"except outside grant", "ech-analytics", `{"indices":[{"names":["idx1","idx2"],"privileges":["p1","p2"],"field_security":{"grant":["f1","f2"],"except":["f3"]}}]}`, "parse_exception",
			"failed to parse indices privileges for role [test] - Exceptions for field permissions must be a subset of the granted fields but f3 is not a subset of f1,f2",
			"Exceptions for field permissions must be a subset of the granted fields but f3 is not a subset of f1,f2"},
		{"2.x fields", "ech-analytics", `{"indices":[{"names":["a"],"privileges":["read"],"fields":["f"]}]}`, "parse_exception", `["fields": [...]] format has changed for field permissions in role [test], use ["field_security": {"grant":[...],"except":[...]}] instead`, ""},
		{"cluster as a string", "ech-analytics", `{"cluster":"all"}`, "parse_exception", "failed to parse role [test]", "could not parse [cluster] field. expected a string array but found [VALUE_STRING] value instead"},
		{"metadata not an object", "ech-analytics", `{"metadata":[1]}`, "parse_exception", "expected field [metadata] to be of type object, but found [START_ARRAY] instead", ""},
		{"reserved metadata", "ech-analytics", `{"metadata":{"_reserved":true}}`, "action_request_validation_exception", "Validation Failed: 1: role descriptor metadata keys may not start with [_];", ""},
		{"remote_cluster empty privileges", "ech-analytics", `{"remote_cluster":[{"clusters":["a"],"privileges":[]}]}`, "illegal_argument_exception", "remote cluster groups must not be null or empty", ""},
		{"remote_cluster placeholder", "ech-analytics", `{"remote_cluster":[{}]}`, "illegal_argument_exception", "remote cluster groups must not be null or empty", ""},
		{"remote_cluster unknown privilege", "ech-analytics", `{"remote_cluster":[{"privileges":["monitor_stats","read_pipeline"],"clusters":["*"]}]}`, "parse_exception",
			"failed to parse remote_cluster for role [test]. [monitor_enrich, monitor_stats] are the only values allowed for [privileges] within [remote_cluster]. Found [monitor_stats, read_pipeline]", ""},
	}
	old := startWorld(t, WorldSpec{Clusters: []ClusterSpec{{Name: "onprem-old", Version: "8.14.3"}}})
	for _, tc := range cases {
		s := srv
		if tc.cluster == "onprem-old" {
			s = old
		}
		r := es(t, s, tc.cluster, "PUT", "/_security/role/test", tc.body)
		if r.status != 400 || errorType(t, r) != tc.typ || errorReason(t, r) != tc.reason {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
			continue
		}
		cb, _ := r.json(t)["error"].(map[string]any)["caused_by"].(map[string]any)
		if got, _ := cb["reason"].(string); got != tc.causedBy {
			t.Errorf("%s: caused_by %v, want %q", tc.name, cb, tc.causedBy)
		}
	}
	if r := es(t, srv, "ech-analytics", "GET", "/_security/role/test", nil); r.status != 404 {
		t.Errorf("a refused role was stored: %d %s", r.status, r.body)
	}
}

// TransportInvalidateApiKeyAction.checkHasManageSecurityPrivilege: a
// caller with manage_api_key but not manage_security cannot invalidate a
// cross-cluster key; the key is skipped and named in error_details
// (ApiKeyService.indexInvalidation), the answer still 200.
func TestInvalidateCrossClusterKeyNeedsManageSecurity(t *testing.T) {
	srv := startWorld(t, WorldSpec{Clusters: []ClusterSpec{{Name: "c", Version: "9.1.0",
		AdminRoles: []string{"keys"}, Roles: map[string]any{"keys": map[string]any{"cluster": []any{"manage_api_key"}}}}}})
	id, _, err := srv.World.CreateCrossClusterKey("c", "cc", `{"search":[{"names":["x"]}]}`, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := esBasic(t, srv, "c", "DELETE", "/_security/api_key", `{"ids":["`+id+`"]}`)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	m := r.json(t)
	d, _ := m["error_details"].([]any)
	if listLen(t, m, "invalidated_api_keys") != 0 || m["error_count"] != float64(1) || len(d) != 1 ||
		d[0].(map[string]any)["type"] != "security_exception" ||
		d[0].(map[string]any)["reason"] != "Cannot invalidate cross-cluster API key ["+id+"]. This requires [manage_security] cluster privilege or higher" {
		t.Fatalf("want the key skipped with an error detail, got %s", r.body)
	}
	if k0(t, srv, "c", id)["invalidated"] != false {
		t.Fatal("the key was invalidated")
	}
}

// The {node} filter of POST /_nodes/{node}/reload_secure_settings
// (DiscoveryNodes.resolveNodes): _local is the coordinating node, a node
// id or a name (with * wildcards) selects that node, and _nodes counts
// only the selected nodes.
func TestReloadNodeFilter(t *testing.T) {
	srv := startWorld(t, WorldSpec{Clusters: []ClusterSpec{{Name: "c", Version: "9.1.0", Nodes: 3}}})
	srv.World.mu.Lock()
	c := srv.World.clusters["c"]
	id1, name2 := c.nodeID(1), c.nodeNameN(2)
	srv.World.mu.Unlock()
	srv.World.SetCoordinatingNode("c", 1)
	for filter, want := range map[string][]string{
		"_local":          {id1},
		name2:             {c.nodeID(2)},
		id1 + "," + name2: {id1, c.nodeID(2)},
		"c-node-*":        {c.nodeID(0), id1, c.nodeID(2)},
		"_all":            {c.nodeID(0), id1, c.nodeID(2)},
		"no-such-node":    {},
	} {
		r := es(t, srv, "c", "POST", "/_nodes/"+filter+"/reload_secure_settings", nil)
		nodes := nodeResults(t, r)
		if len(nodes) != len(want) || r.json(t)["_nodes"].(map[string]any)["total"] != float64(len(want)) {
			t.Errorf("%s: %s", filter, r.body)
			continue
		}
		for _, id := range want {
			if _, ok := nodes[id]; !ok {
				t.Errorf("%s: node %s missing from %v", filter, id, nodes)
			}
		}
	}
}
