package sim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestAPIKeyLinkLifecycle(t *testing.T) {
	srv, clock := startDefault(t)
	ece, _ := srv.World.Cluster("ece-prod-logs")
	ech, _ := srv.World.Cluster("ech-analytics")
	put := map[string]any{"persistent": map[string]any{"cluster": map[string]any{"remote": map[string]any{"ece-prod-logs": map[string]any{
		"mode": "proxy", "proxy_address": ece.Endpoint + ":9443", "server_name": ece.Endpoint, "skip_unavailable": true,
	}}}}}
	if r := es(t, srv, "ech-analytics", "PUT", "/_cluster/settings", put); r.status != 200 {
		t.Fatalf("put settings: %d %s", r.status, r.body)
	}
	info := func() map[string]any {
		t.Helper()
		m := es(t, srv, "ech-analytics", "GET", "/_remote/info", nil).json(t)
		e, _ := m["ece-prod-logs"].(map[string]any)
		if e == nil {
			t.Fatalf("alias missing from _remote/info: %v", m)
		}
		return e
	}
	if e := info(); e["connected"] != false || e["cluster_credentials"] != nil {
		t.Fatalf("connected without credentials: %v", e)
	}
	st := srv.World.LinkStatus("ech-analytics", "ece-prod-logs")
	if st.Cause != CauseNoCredentials || !strings.Contains(st.Reason, "_cross_cluster_access_credentials") {
		t.Errorf("status without credentials: %+v", st)
	}

	// An API key cannot create a cross-cluster key; the admin user can.
	create := `{"name":"esremote-ech-analytics","access":{"search":[{"names":["logs-*"]}]},"expiration":"90d","metadata":{"managed_by":"esremote"}}`
	r := es(t, srv, "ece-prod-logs", "POST", "/_security/cross_cluster/api_key", create)
	if r.status != 400 || errorReason(t, r) != "authentication via API key not supported: An API key cannot be used to create a cross-cluster API key" {
		t.Fatalf("create with API key: %d %s", r.status, r.body)
	}
	r = esBasic(t, srv, "ece-prod-logs", "POST", "/_security/cross_cluster/api_key", create)
	if r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	key := r.json(t)
	encoded := key["encoded"].(string)

	// A key of another cluster does not authenticate.
	_, foreign, err := srv.World.CreateCrossClusterKey("onprem-search", "x", `{"search":[{"names":["*"]}]}`, 0)
	if err != nil {
		t.Fatal(err)
	}
	patch := func(value string) {
		t.Helper()
		body := map[string]any{"secrets": map[string]any{"cluster.remote.ece-prod-logs.credentials": map[string]any{"value": value}}}
		r := cloud(t, srv, "ech", "PATCH", "/api/v1/deployments/"+ech.DeploymentID+"/elasticsearch/main-elasticsearch/keystore", body)
		if r.status != 200 {
			t.Fatalf("patch keystore: %d %s", r.status, r.body)
		}
	}
	patch(foreign)
	if e := info(); e["connected"] != false || e["cluster_credentials"] != "::es_redacted::" {
		t.Errorf("foreign key: %v", e)
	}
	if st := srv.World.LinkStatus("ech-analytics", "ece-prod-logs"); st.Cause != CauseInvalidCredentials {
		t.Errorf("foreign key status: %+v", st)
	}
	// A new value for a credential that is already loaded does not rebuild
	// the connection (RemoteClusterService.updateRemoteClusterCredentials):
	// the failed one stays down until a request tries it again.
	patch(encoded)
	if e := info(); e["connected"] != false {
		t.Errorf("a value change rebuilt the connection: %v", e)
	}
	// On 8.19 _resolve/cluster reconnects a down connection before asking
	// (RECONNECT_IF_DISCONNECTED since the revert of PR #124241; the
	// releases that failed fast are in TestResolveFailFastByVersion).
	res := es(t, srv, "ech-analytics", "GET", "/_resolve/cluster/ece-prod-logs:logs-*", nil).json(t)
	if e := res["ece-prod-logs"].(map[string]any); e["connected"] != true || e["matching_indices"] != true {
		t.Errorf("resolve over a down connection (reconnected first): %v", res)
	}
	if e := info(); e["connected"] != true || e["num_proxy_sockets_connected"] != float64(18) || e["skip_unavailable"] != true {
		t.Errorf("after the request's reconnect: %v", e)
	}

	// Port 9400 (certificate model) with credentials is the wrong port.
	es(t, srv, "ech-analytics", "PUT", "/_cluster/settings", `{"persistent":{"cluster.remote.ece-prod-logs.proxy_address":"`+ece.Endpoint+`:9400"}}`)
	if st := srv.World.LinkStatus("ech-analytics", "ece-prod-logs"); st.Connected || st.Cause != CauseWrongPort {
		t.Errorf("9400 with api key: %+v", st)
	}
	es(t, srv, "ech-analytics", "PUT", "/_cluster/settings", `{"persistent":{"cluster.remote.ece-prod-logs.proxy_address":"`+ece.Endpoint+`:9443"}}`)

	// Expiry, then invalidation, break requests; the sockets stay up, so
	// _remote/info keeps saying connected.
	if e := info(); e["connected"] != true {
		t.Fatalf("not connected on the valid key: %v", e)
	}
	clock.Add(91 * 24 * time.Hour)
	if st := srv.World.LinkStatus("ech-analytics", "ece-prod-logs"); !st.Connected || st.Authorized || st.Cause != CauseInvalidCredentials {
		t.Errorf("expired key: %+v", st)
	}
	clock.Add(-91 * 24 * time.Hour)
	r = es(t, srv, "ece-prod-logs", "DELETE", "/_security/api_key", map[string]any{"ids": []string{key["id"].(string)}})
	if got := r.json(t); r.status != 200 || len(got["invalidated_api_keys"].([]any)) != 1 || got["error_count"] != float64(0) {
		t.Fatalf("invalidate: %d %s", r.status, r.body)
	}
	if e := info(); e["connected"] != true {
		t.Errorf("socket state changed on invalidation: %v", e)
	}
	want := "unable to authenticate user [" + key["id"].(string) + "] for action [indices:admin/resolve/cluster]"
	st = srv.World.LinkStatus("ech-analytics", "ece-prod-logs")
	if st.Authorized || st.Cause != CauseInvalidCredentials || st.Reason != want {
		t.Errorf("after invalidation: %+v", st)
	}
	res = es(t, srv, "ech-analytics", "GET", "/_resolve/cluster/ece-prod-logs:*", nil).json(t)
	if e := res["ece-prod-logs"].(map[string]any); e["connected"] != false || e["error"] != want {
		t.Errorf("resolve after invalidation: %v", res)
	}
}

func TestSelfManagedKeystoreNeedsReload(t *testing.T) {
	srv, _ := startDefault(t)
	ece, _ := srv.World.Cluster("ece-prod-logs")
	es(t, srv, "onprem-search", "PUT", "/_cluster/settings", `{"persistent":{"cluster.remote.logs.mode":"proxy","cluster.remote.logs.proxy_address":"`+ece.Endpoint+`:9443","cluster.remote.logs.server_name":"`+ece.Endpoint+`"}}`)
	_, enc, err := srv.World.CreateCrossClusterKey("ece-prod-logs", "onprem", `{"search":[{"names":["logs-*"]}]}`, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.World.SetKeystore("onprem-search", "cluster.remote.logs.credentials", enc); err != nil {
		t.Fatal(err)
	}
	if srv.World.LinkStatus("onprem-search", "logs").Connected {
		t.Fatal("connected before reload_secure_settings")
	}
	r := es(t, srv, "onprem-search", "POST", "/_nodes/reload_secure_settings", nil)
	if r.status != 200 || r.json(t)["_nodes"].(map[string]any)["failed"] != float64(0) {
		t.Fatalf("reload: %d %s", r.status, r.body)
	}
	if st := srv.World.LinkStatus("onprem-search", "logs"); !st.Connected {
		t.Errorf("not connected after reload: %+v", st)
	}
}

func TestCertificateLinkNeedsMutualTrust(t *testing.T) {
	srv, _ := startDefault(t)
	ece, _ := srv.World.Cluster("ece-prod-logs")
	ech, _ := srv.World.Cluster("ech-analytics")
	es(t, srv, "ech-analytics", "PUT", "/_cluster/settings", `{"persistent":{"cluster.remote.logs.mode":"proxy","cluster.remote.logs.proxy_address":"`+ece.Endpoint+`:9400","cluster.remote.logs.server_name":"`+ece.Endpoint+`"}}`)
	if st := srv.World.LinkStatus("ech-analytics", "logs"); st.Connected || st.Cause != CauseNotTrusted {
		t.Fatalf("before trust: %+v", st)
	}
	// The ECE environment's CA and id, as the daemon reads them.
	tr := cloud(t, srv, "ece", "GET", "/api/v1/regions/ece-region/platform/configuration/trust-relationships?filter=local&include_certificate=true", nil).json(t)
	local := tr["trust_relationships"].([]any)[0].(map[string]any)
	// The ECH CA and org id.
	ca := cloud(t, srv, "ech", "GET", "/api/v1/deployments/"+ech.DeploymentID+"/certificate-authority", nil).json(t)
	echPEM := ca["public_certificates"].([]any)[0].(map[string]any)["pem"].(string)
	orgs := cloud(t, srv, "ech", "GET", "/api/v1/organizations", nil).json(t)
	org := orgs["organizations"].([]any)[0].(map[string]any)["id"].(string)

	addTrust := func(platform string, c ClusterInfo, direct map[string]any) {
		t.Helper()
		r := cloud(t, srv, platform, "GET", "/api/v1/deployments/"+c.DeploymentID+"?show_settings=true&show_plans=true", nil)
		d := r.json(t)
		res := d["resources"].(map[string]any)["elasticsearch"].([]any)[0].(map[string]any)
		info := res["info"].(map[string]any)
		trust := info["settings"].(map[string]any)["trust"].(map[string]any)
		trust["direct"] = []any{direct}
		body := map[string]any{"prune_orphans": false, "resources": map[string]any{"elasticsearch": []any{map[string]any{
			"ref_id": res["ref_id"], "region": res["region"],
			"plan":     info["plan_info"].(map[string]any)["current"].(map[string]any)["plan"],
			"settings": map[string]any{"trust": trust},
		}}}}
		put := cloud(t, srv, platform, "PUT", "/api/v1/deployments/"+c.DeploymentID+"?version="+r.header.Get("x-cloud-resource-version"), body)
		if put.status != 200 {
			t.Fatalf("put trust on %s: %d %s", c.Name, put.status, put.body)
		}
	}
	addTrust("ech", ech, map[string]any{"type": "ECE", "name": "ece-prod", "scope_id": local["installation_id"],
		"certificates": []any{map[string]any{"pem": local["public_ca_cert"]}}, "trust_all": false, "trust_allowlist": []any{ece.ClusterID}})
	// The failed connection is tried again by the next request, not by the trust change.
	es(t, srv, "ech-analytics", "GET", "/_resolve/cluster/logs:*", nil)
	st := srv.World.LinkStatus("ech-analytics", "logs")
	if st.Connected || !strings.Contains(st.Reason, "client did not trust this server's certificate") {
		t.Fatalf("one-sided trust: %+v", st)
	}
	addTrust("ece", ece, map[string]any{"type": "ESS", "name": "ech-org", "scope_id": org,
		"certificates": []any{map[string]any{"pem": echPEM}}, "trust_all": false, "trust_allowlist": []any{ech.ClusterID}})
	es(t, srv, "ech-analytics", "GET", "/_resolve/cluster/logs:*", nil)
	if st := srv.World.LinkStatus("ech-analytics", "logs"); !st.Connected {
		t.Fatalf("mutual trust: %+v", st)
	}
	e := es(t, srv, "ech-analytics", "GET", "/_remote/info", nil).json(t)["logs"].(map[string]any)
	if e["connected"] != true || e["cluster_credentials"] != nil {
		t.Errorf("remote info: %v", e)
	}
	// An operator removes the trust back: disconnected again.
	tr2, _ := srv.World.Trust("ece-prod-logs")
	tr2.Direct = nil
	if err := srv.World.SetTrust("ece-prod-logs", *tr2); err != nil {
		t.Fatal(err)
	}
	if st := srv.World.LinkStatus("ech-analytics", "logs"); st.Connected {
		t.Errorf("connected after trust removal")
	}
	// 9300 is the transport port: wrong for a deployment.
	es(t, srv, "ech-analytics", "PUT", "/_cluster/settings", `{"persistent":{"cluster.remote.logs.proxy_address":"`+ece.Endpoint+`:9300"}}`)
	if st := srv.World.LinkStatus("ech-analytics", "logs"); st.Cause != CauseWrongPort {
		t.Errorf("9300: %+v", st)
	}
	b, _ := json.Marshal(srv.World.State()["ech-analytics"].Links)
	if !strings.Contains(string(b), `"cause":"wrong_port"`) {
		t.Errorf("state links: %s", b)
	}
}

func TestUnreachableAndServerName(t *testing.T) {
	srv, _ := startDefault(t)
	ece, _ := srv.World.Cluster("ece-prod-logs")
	es(t, srv, "ech-analytics", "PUT", "/_cluster/settings", `{"persistent":{"cluster.remote.a.mode":"proxy","cluster.remote.a.proxy_address":"nowhere.example:9443"}}`)
	if st := srv.World.LinkStatus("ech-analytics", "a"); st.Cause != CauseUnreachable || !strings.Contains(st.Reason, "failed to open any proxy connections to cluster [a]") {
		t.Errorf("unreachable: %+v", st)
	}
	es(t, srv, "ech-analytics", "PUT", "/_cluster/settings", `{"persistent":{"cluster.remote.a.proxy_address":"`+ece.Endpoint+`:9443"}}`)
	if st := srv.World.LinkStatus("ech-analytics", "a"); st.Cause != CauseServerName {
		t.Errorf("no server name: %+v", st)
	}
	if st := srv.World.LinkStatus("ech-analytics", "zz"); st.Configured || st.Cause != CauseNotConfigured {
		t.Errorf("unknown alias: %+v", st)
	}
	r := es(t, srv, "ech-analytics", "GET", "/_resolve/cluster/zz:*", nil)
	if r.status != 404 || errorReason(t, r) != "no such remote cluster: [zz]" {
		t.Errorf("resolve unknown alias: %d %s", r.status, r.body)
	}
}

// The canary search: a connected remote answers with its matching indices
// as shards; a remote that is not connected is skipped when
// skip_unavailable, and an unknown alias is a 404.
func TestSearchAcrossClusters(t *testing.T) {
	srv, _ := startDefault(t)
	es(t, srv, "onprem-search", "PUT", "/_cluster/settings", `{"persistent":{"cluster.remote.gone.mode":"proxy","cluster.remote.gone.proxy_address":"nowhere.sim:9443","cluster.remote.gone.skip_unavailable":true}}`)
	r := es(t, srv, "onprem-search", "POST", "/products,gone:logs-*/_search?size=0", `{}`)
	if r.status != 200 {
		t.Fatalf("search: %d %s", r.status, r.body)
	}
	m := r.json(t)
	if got := m["_shards"].(map[string]any)["total"]; got != float64(1) {
		t.Errorf("shards %v, want 1 (the local products index)", got)
	}
	if got := m["_clusters"].(map[string]any)["skipped"]; got != float64(1) {
		t.Errorf("skipped %v, want the unreachable remote skipped", got)
	}
	if r := es(t, srv, "onprem-search", "POST", "/nope:logs-*/_search", `{}`); r.status != 404 {
		t.Errorf("unknown alias: %d %s", r.status, r.body)
	}
}
