package sim

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	srv, _ := startDefault(t)
	w := srv.World
	hung := make(chan struct{}, 1)
	srv.faultHook = func(k FaultKind) {
		if k == FaultHang {
			hung <- struct{}{}
		}
	}
	if _, err := w.AddFault(Fault{Target: "ech-analytics", Path: "/_remote/info", Kind: FaultStatus, Status: 503, Times: 2}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		r := es(t, srv, "ech-analytics", "GET", "/_remote/info", nil)
		if r.status != 503 || r.header.Get("X-Elastic-Product") != "Elasticsearch" || errorReason(t, r) == "" {
			t.Fatalf("fault %d: %d %s", i, r.status, r.body)
		}
	}
	if r := es(t, srv, "ech-analytics", "GET", "/_remote/info", nil); r.status != 200 {
		t.Errorf("fault did not clear after 2: %d", r.status)
	}
	if n := w.CountRequests("ech-analytics", "GET /_remote/info"); n != 3 {
		t.Errorf("count = %d", n)
	}

	id, _ := w.AddFault(Fault{Target: "ech", Kind: FaultRateLimit})
	r := cloud(t, srv, "ech", "GET", "/api/v1/organizations", nil)
	if r.status != 429 || r.header.Get("x-ratelimit-remaining") != "0" || r.json(t)["errors"] == nil {
		t.Errorf("429 fault: %d %v", r.status, r.header)
	}
	w.RemoveFault(id)

	w.AddFault(Fault{Target: "ech-analytics", Method: "PUT", Path: "/_cluster/settings", Kind: FaultUnacknowledged, Times: 1})
	r = es(t, srv, "ech-analytics", "PUT", "/_cluster/settings", `{"persistent":{"cluster.routing.allocation.enable":"primaries"}}`)
	if r.status != 200 || r.json(t)["acknowledged"] != false {
		t.Errorf("unacknowledged: %s", r.body)
	}
	if s, _ := w.Settings("ech-analytics", ""); s["cluster.routing.allocation.enable"] != "primaries" {
		t.Errorf("unacknowledged put not applied")
	}

	w.AddFault(Fault{Target: "onprem-search", Kind: FaultReset, Times: 1})
	req, _ := http.NewRequest("GET", srv.ClusterURL("onprem-search")+"/", nil)
	if _, err := http.DefaultTransport.RoundTrip(req); err == nil {
		t.Errorf("reset: no error")
	}

	w.AddFault(Fault{Target: "onprem-search", Kind: FaultHang, Times: 1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.ClusterURL("onprem-search")+"/", nil)
		_, err := http.DefaultClient.Do(req)
		done <- err
	}()
	<-hung
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("hang: %v", err)
	}

	w.AddFault(Fault{Target: "onprem-search", Kind: FaultLatency, Latency: time.Millisecond, Times: 1})
	if r := es(t, srv, "onprem-search", "GET", "/", nil); r.status != 200 {
		t.Errorf("latency: %d", r.status)
	}
	if _, err := w.AddFault(Fault{Kind: "boom"}); err == nil {
		t.Errorf("bad kind accepted")
	}
	counts := FormatCounts(w.RequestCounts())
	if !strings.Contains(counts, "3 ech-analytics GET /_remote/info\n") {
		t.Errorf("counts:\n%s", counts)
	}
	w.ResetLog()
	if len(srv.Log()) != 0 {
		t.Errorf("log not reset")
	}
}

func TestAuthentication(t *testing.T) {
	srv, _ := startDefault(t)
	r := do(t, nil, "GET", srv.ClusterURL("ech-analytics")+"/", "", nil)
	if r.status != 401 || errorReason(t, r) != "missing authentication credentials for REST request [/]" ||
		r.header.Get("X-Elastic-Product") != "Elasticsearch" || r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("no credentials: %d %s", r.status, r.body)
	}
	r = do(t, nil, "GET", srv.ClusterURL("ech-analytics")+"/", basicHeader("elastic", "wrong"), nil)
	if r.status != 401 || errorReason(t, r) != "unable to authenticate user [elastic] for REST request [/]" {
		t.Errorf("bad password: %s", r.body)
	}
	_, enc, _ := srv.World.CreateCrossClusterKey("ech-analytics", "cc", `{"search":[{"names":["*"]}]}`, 0)
	r = do(t, nil, "GET", srv.ClusterURL("ech-analytics")+"/", "ApiKey "+enc, nil)
	if r.status != 401 || !strings.Contains(errorReason(t, r), "authentication expected API key type of [rest], but API key [") {
		t.Errorf("cross-cluster key on REST: %s", r.body)
	}
}

func TestAPIKeyValidation(t *testing.T) {
	srv, clock := startDefault(t)
	const c = "ece-prod-logs"
	for body, reason := range map[string]string{
		`{"name":"k"}`: "Required [access]",
		`{"access":{"search":[{"names":["a"]}]}}`: "Required [name]",
		`{"name":"k","access":{}}`:                "must specify non-empty access for either [search] or [replication]",
		`{"name":"k","access":{"replication":[{"names":["a"],"query":{"match_all":{}}}]}}`:                            "replication does not support document or field level security",
		`{"name":"k","access":{"search":[{"names":["a"],"query":{"match_all":{}}}],"replication":[{"names":["b"]}]}}`: "search does not support document or field level security if replication is assigned",
	} {
		if r := esBasic(t, srv, c, "POST", "/_security/cross_cluster/api_key", body); r.status != 400 || errorReason(t, r) != reason {
			t.Errorf("%s: %d %s", body, r.status, r.body)
		}
	}
	r := esBasic(t, srv, c, "POST", "/_security/cross_cluster/api_key", `{"name":"k","expiration":"1d","access":{"search":[{"names":["logs-*"]}]}}`)
	key := r.json(t)
	if key["expiration"] != float64(clock.Now().Add(24*time.Hour).UnixMilli()) {
		t.Errorf("expiration: %v", key)
	}
	id := key["id"].(string)
	if r := esBasic(t, srv, c, "PUT", "/_security/cross_cluster/api_key/"+id, `{"expiration":"2d"}`); r.status != 400 ||
		errorReason(t, r) != "Validation Failed: 1: must update either [access] or [metadata] for cross-cluster API keys;" {
		t.Errorf("expiration-only update: %s", r.body)
	}
	same := `{"access":{"search":[{"names":["logs-*"]}]}}`
	if r := esBasic(t, srv, c, "PUT", "/_security/cross_cluster/api_key/"+id, same); r.json(t)["updated"] != false {
		t.Errorf("no-op update: %s", r.body)
	}
	got := es(t, srv, c, "GET", "/_security/api_key?id="+id, nil).json(t)["api_keys"].([]any)[0].(map[string]any)
	rd := got["role_descriptors"].(map[string]any)["cross_cluster"].(map[string]any)
	if got["type"] != "cross_cluster" || !sameJSON(rd["cluster"], []any{"cross_cluster_search", "monitor_enrich"}) ||
		!sameJSON(got["access"], map[string]any{"search": []any{map[string]any{"names": []any{"logs-*"}, "allow_restricted_indices": false}}}) {
		t.Errorf("get key: %v", got)
	}
	clock.Add(48 * time.Hour)
	if r := es(t, srv, c, "GET", "/_security/api_key?name=k&active_only=true", nil).json(t); len(r["api_keys"].([]any)) != 0 {
		t.Errorf("expired key listed with active_only: %v", r)
	}
	if r := es(t, srv, c, "GET", "/_security/api_key?name=k", nil).json(t); len(r["api_keys"].([]any)) != 1 {
		t.Errorf("expired key hidden without active_only: %v", r)
	}
	if r := es(t, srv, c, "DELETE", "/_security/api_key", `{}`); r.status != 400 {
		t.Errorf("invalidate without selector: %d", r.status)
	}
	if r := es(t, srv, c, "PUT", "/_security/role/bad", `{"remote_indices":[{"names":["a"],"privileges":["read"]}]}`); r.status != 400 ||
		errorReason(t, r) != "failed to parse remote indices privileges for role [bad]. missing required [clusters] field" {
		t.Errorf("role without clusters: %s", r.body)
	}
	// The texts of RoleDescriptorTests.testParseInvalidRemoteCluster.
	if r := es(t, srv, c, "PUT", "/_security/role/bad", `{"remote_cluster":[{"clusters":["a"],"privileges":["monitor_stats","all"]}]}`); r.status != 400 ||
		errorType(t, r) != "parse_exception" ||
		errorReason(t, r) != "failed to parse remote_cluster for role [bad]. [monitor_enrich, monitor_stats] are the only values allowed for [privileges] within [remote_cluster]. Found [monitor_stats, all]" {
		t.Errorf("bad remote_cluster: %s", r.body)
	}
	if r := es(t, srv, c, "PUT", "/_security/role/bad", `{"remote_cluster":[{"clusters":["a"]}]}`); r.status != 400 ||
		errorReason(t, r) != "failed to parse remote_cluster for role [bad]. [privileges] must be defined when [clusters] are defined" {
		t.Errorf("remote_cluster without privileges: %s", r.body)
	}
	if r := es(t, srv, c, "PUT", "/_security/role/bad", `{"remote_cluster":[{"privileges":["monitor_enrich"]}]}`); r.status != 400 ||
		errorReason(t, r) != "failed to parse remote_cluster for role [bad]. [clusters] must be defined when [privileges] are defined" {
		t.Errorf("remote_cluster without clusters: %s", r.body)
	}
	if r := es(t, srv, c, "GET", "/_security/role/missing", nil); r.status != 404 {
		t.Errorf("missing role: %d", r.status)
	}
}

func TestWorldFileAndTLS(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "world.yaml")
	os.WriteFile(path, []byte(`control_planes:
  ece: {api_key: ece-key, environment_id: "42", domain: 10.0.0.1.ip.es.io}
clusters:
  - name: logs
    platform: ece
    version: 9.1.2
    api_key: "adminid:adminsecret"
    settings: {cluster.routing.allocation.enable: all}
  - name: edge
    version: 8.17.0
`), 0o600)
	w, err := LoadWorld(path)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Start(t.Context(), w, WithTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.HasPrefix(srv.ClusterURL("logs"), "https://127.0.0.1:") || srv.ControlPlaneAPIKey("ece") != "ece-key" {
		t.Errorf("addresses: %+v", srv.Addresses())
	}
	info, _ := w.Cluster("logs")
	if !strings.HasSuffix(info.Endpoint, ".10.0.0.1.ip.es.io") || info.Platform != "ece" {
		t.Errorf("cluster info: %+v", info)
	}
	r := es(t, srv, "logs", "GET", "/", nil).json(t)
	if r["version"].(map[string]any)["number"] != "9.1.2" {
		t.Errorf("info: %v", r)
	}
	if _, err := (&http.Client{}).Get(srv.ClusterURL("edge")); err == nil {
		t.Errorf("TLS server accepted by a client without the CA")
	}
	os.WriteFile(path, []byte("clusters:\n  - name: x\n    colour: red\n"), 0o600)
	if _, err := LoadWorld(path); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("unknown field: %v", err)
	}
	os.WriteFile(path, []byte("clusters:\n  - name: x\n    platform: ech\n"), 0o600)
	if _, err := LoadWorld(path); err == nil {
		t.Errorf("ech cluster without control plane accepted")
	}
}

func TestAdminAPI(t *testing.T) {
	srv, _ := startDefault(t)
	admin := func(method, path string, body any) response {
		return do(t, nil, method, srv.AdminURL()+path, "Bearer "+srv.AdminToken(), body)
	}
	if r := do(t, nil, "GET", srv.AdminURL()+"/state", "", nil); r.status != 401 {
		t.Errorf("admin without token: %d", r.status)
	}
	if r := admin("POST", "/edit", Edit{Op: "set_setting", Cluster: "onprem-search", Key: "cluster.routing.allocation.enable", Value: []byte(`"none"`)}); r.status != 200 {
		t.Fatalf("edit: %s", r.body)
	}
	if r := admin("POST", "/faults", `{"target":"onprem-search","kind":"status","status":500,"times":1}`); r.status != 200 {
		t.Fatalf("fault: %s", r.body)
	}
	if r := es(t, srv, "onprem-search", "GET", "/", nil); r.status != 500 {
		t.Errorf("fault via admin: %d", r.status)
	}
	st := admin("GET", "/state", nil).json(t)
	if st["onprem-search"].(map[string]any)["persistent"].(map[string]any)["cluster.routing.allocation.enable"] != "none" {
		t.Errorf("state: %v", st["onprem-search"])
	}
	if strings.Contains(mustJSON(st), srv.AdminAPIKey("onprem-search")) {
		t.Errorf("state leaks the admin key")
	}
	lg := admin("GET", "/log", nil).json(t)
	if lg["counts"].(map[string]any)["onprem-search GET /"] != float64(1) {
		t.Errorf("log: %v", lg["counts"])
	}
	if r := admin("POST", "/edit", `{"op":"nope"}`); r.status != 400 {
		t.Errorf("bad op: %d", r.status)
	}
}
