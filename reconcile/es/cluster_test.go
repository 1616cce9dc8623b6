package es

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Bodies below are copied from ../../../shared/reference/es-api.md; the
// section is named at each.

// §8
const infoBody = `{
  "name": "instance-0000000000",
  "cluster_name": "my_test_cluster",
  "cluster_uuid": "zk-HjQtYQGyL3NFSSu7InA",
  "version": {
    "number": "8.19.0",
    "build_flavor": "default",
    "build_type": "docker",
    "build_hash": "00000000",
    "build_date": "2025-07-09T22:10:13.578182715Z",
    "build_snapshot": false,
    "lucene_version": "9.12.1",
    "minimum_wire_compatibility_version": "7.17.0",
    "minimum_index_compatibility_version": "7.0.0"
  },
  "tagline": "You Know, for Search"
}`

func TestInfo(t *testing.T) {
	f := newFake(t, exchange{method: "GET", path: "/", resp: infoBody})
	info, err := f.client(t).Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := Info{Name: "instance-0000000000", ClusterName: "my_test_cluster", ClusterUUID: "zk-HjQtYQGyL3NFSSu7InA",
		Version: Version{Major: 8, Minor: 19, Patch: 0, Raw: "8.19.0"}, BuildFlavor: "default"}
	if info != want {
		t.Errorf("Info = %+v, want %+v", info, want)
	}
	if !info.Version.AtLeast(8, 14, 0) || info.Version.AtLeast(8, 20, 0) || info.Serverless() {
		t.Errorf("version gates wrong for %s", info.Version)
	}
	if f.auth[0] != "Basic ZXNyZW1vdGU6czNjcmV0LXB3" {
		t.Errorf("Authorization = %q, want basic auth", f.auth[0])
	}
}

// §3.4, flat form.
const settingsBody = `{
  "persistent": {
    "cluster.remote.dc2.seeds": ["10.0.0.5:9300","10.0.0.6:9300"],
    "cluster.remote.dc2.transport.compress": "true",
    "cluster.remote.dc2.transport.ping_schedule": "30s",
    "cluster.remote.prod_eu.mode": "proxy",
    "cluster.remote.prod_eu.proxy_address": "prod-eu.example.com:9443",
    "cluster.remote.prod_eu.proxy_socket_connections": "18",
    "cluster.remote.prod_eu.server_name": "prod-eu.example.com",
    "cluster.remote.prod_eu.skip_unavailable": "true",
    "cluster.routing.allocation.enable": "all"
  },
  "transient": {}
}`

func TestSettings(t *testing.T) {
	f := newFake(t, exchange{method: "GET", path: "/_cluster/settings", query: "flat_settings=true", resp: settingsBody})
	s, err := f.client(t).Settings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Persistent["cluster.remote.dc2.seeds"]; !got.Equal(List("10.0.0.5:9300", "10.0.0.6:9300")) {
		t.Errorf("seeds = %v", got)
	}
	if got := s.Persistent["cluster.remote.prod_eu.proxy_socket_connections"]; !got.Equal(Int(18)) {
		t.Errorf("proxy_socket_connections = %v", got)
	}
	if got := s.Persistent["cluster.remote.prod_eu.skip_unavailable"]; !got.Equal(Bool(true)) {
		t.Errorf("skip_unavailable = %v", got)
	}
	if s.Transient == nil || len(s.Transient) != 0 {
		t.Errorf("Transient = %v, want empty non-nil", s.Transient)
	}
	remotes := RemoteSettings(s.Persistent)
	if len(remotes) != 2 || len(remotes["prod_eu"]) != 5 || !remotes["dc2"]["transport.compress"].Equal(String("true")) {
		t.Errorf("RemoteSettings = %v", remotes)
	}
}

func TestSettingsMissingScopes(t *testing.T) {
	f := newFake(t, exchange{method: "GET", path: "/_cluster/settings", query: "flat_settings=true", resp: `{}`})
	s, err := f.client(t).Settings(context.Background())
	if err != nil || s.Persistent == nil || s.Transient == nil {
		t.Fatalf("Settings = %+v, %v; want empty non-nil maps", s, err)
	}
}

// §3.5 request (values as ES stores them) and §3.3 response.
func TestPutSettings(t *testing.T) {
	f := newFake(t, exchange{method: "PUT", path: "/_cluster/settings", query: "flat_settings=true&master_timeout=30000ms&timeout=30000ms",
		body: `{"persistent": {
			"cluster.remote.prod_eu.mode": "proxy",
			"cluster.remote.prod_eu.proxy_address": "prod-eu.example.com:9443",
			"cluster.remote.prod_eu.server_name": "prod-eu.example.com",
			"cluster.remote.prod_eu.proxy_socket_connections": "18",
			"cluster.remote.prod_eu.skip_unavailable": "true",
			"cluster.remote.prod_eu.seeds": null,
			"cluster.remote.prod_eu.node_connections": null}}`,
		resp: `{
  "acknowledged": true,
  "persistent": {
    "cluster.remote.prod_eu.mode": "proxy",
    "cluster.remote.prod_eu.proxy_address": "prod-eu.example.com:9443",
    "cluster.remote.prod_eu.proxy_socket_connections": "18",
    "cluster.remote.prod_eu.server_name": "prod-eu.example.com",
    "cluster.remote.prod_eu.skip_unavailable": "true"
  },
  "transient": {}
}`})
	err := f.client(t).PutSettings(context.Background(), map[string]Value{
		RemoteKey("prod_eu", "mode"):                     String("proxy"),
		RemoteKey("prod_eu", "proxy_address"):            String("prod-eu.example.com:9443"),
		RemoteKey("prod_eu", "server_name"):              String("prod-eu.example.com"),
		RemoteKey("prod_eu", "proxy_socket_connections"): Int(18),
		RemoteKey("prod_eu", "skip_unavailable"):         Bool(true),
		RemoteKey("prod_eu", "seeds"):                    Null,
		RemoteKey("prod_eu", "node_connections"):         Null,
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPutSettingsNothingOrInvalid(t *testing.T) {
	c := newFake(t).client(t) // no request expected
	if err := c.PutSettings(context.Background(), nil); err != nil {
		t.Errorf("empty PutSettings: %v", err)
	}
	err := c.PutSettings(context.Background(), map[string]Value{"cluster.remote.a.mode": {}})
	if err == nil || !strings.Contains(err.Error(), "cluster.remote.a.mode has no value") {
		t.Errorf("zero Value: err = %v", err)
	}
}

// §2.1 / §2.2: the exact validation error body.
const modeMismatchBody = `{
  "error": {
    "root_cause": [ { "type": "illegal_argument_exception", "reason": "Setting \"cluster.remote.test_remote_cluster.node_connections\" cannot be used with the configured \"cluster.remote.test_remote_cluster.mode\" [required=SNIFF, configured=PROXY]" } ],
    "type": "illegal_argument_exception",
    "reason": "Setting \"cluster.remote.test_remote_cluster.node_connections\" cannot be used with the configured \"cluster.remote.test_remote_cluster.mode\" [required=SNIFF, configured=PROXY]"
  },
  "status": 400
}`

func TestPutSettingsValidationError(t *testing.T) {
	f := newFake(t, exchange{method: "PUT", path: "/_cluster/settings", query: "flat_settings=true&master_timeout=30000ms&timeout=30000ms",
		body:   `{"persistent":{"cluster.remote.test_remote_cluster.node_connections":"3"}}`,
		status: 400, resp: modeMismatchBody})
	err := f.client(t).PutSettings(context.Background(),
		map[string]Value{"cluster.remote.test_remote_cluster.node_connections": Int(3)})
	e := asError(t, err)
	reason := `Setting "cluster.remote.test_remote_cluster.node_connections" cannot be used with the configured "cluster.remote.test_remote_cluster.mode" [required=SNIFF, configured=PROXY]`
	if e.Op != "put cluster settings" || e.Target != "local-a" || e.Status != 400 || e.Kind != ErrInvalid ||
		e.Type != "illegal_argument_exception" || e.Reason != reason ||
		len(e.RootCause) != 1 || e.RootCause[0].Reason != reason {
		t.Errorf("error = %#v", e)
	}
	if IsRetryable(err) || !errors.Is(err, ErrInvalid) || errors.Is(err, ErrRetryable) {
		t.Errorf("400 classified wrong: retryable=%v", IsRetryable(err))
	}
	want := "put cluster settings on local-a: 400 bad request: illegal_argument_exception: " + reason
	if err.Error() != want {
		t.Errorf("message\n%s\nwant\n%s", err, want)
	}
	wrapped := errors.Join(errors.New("ctx"), err)
	if !errors.Is(wrapped, ErrInvalid) || IsRetryable(wrapped) {
		t.Errorf("classification lost through wrapping")
	}
}

func TestPutSettingsNotAcknowledged(t *testing.T) {
	f := newFake(t, exchange{method: "PUT", path: "/_cluster/settings", query: "flat_settings=true&master_timeout=30000ms&timeout=30000ms",
		body: `{"persistent":{"cluster.remote.a.skip_unavailable":"false"}}`,
		resp: `{"acknowledged":false,"persistent":{"cluster.remote.a.skip_unavailable":"false"},"transient":{}}`})
	err := f.client(t).PutSettings(context.Background(), map[string]Value{"cluster.remote.a.skip_unavailable": Bool(false)})
	if !errors.Is(err, ErrNotAcknowledged) || !IsRetryable(err) {
		t.Fatalf("err = %v, want retryable ErrNotAcknowledged", err)
	}
	if !strings.Contains(err.Error(), "put cluster settings on local-a: not acknowledged") {
		t.Errorf("message = %q", err)
	}
}

// §4: the proxy example and the sniff example (which carries
// cluster_credentials the typed client would drop).
func TestRemoteInfo(t *testing.T) {
	f := newFake(t, exchange{method: "GET", path: "/_remote/info", resp: `{
  "my_remote_cluster": {
    "connected": true,
    "mode": "proxy",
    "proxy_address": "es-fulfill:9443",
    "server_name": "",
    "num_proxy_sockets_connected": 18,
    "max_proxy_socket_connections": 18,
    "initial_connect_timeout": "30s",
    "skip_unavailable": false,
    "cluster_credentials": "::es_redacted::"
  },
  "cluster_one" : {
    "seeds" : [ "remote.example.com:9443" ],
    "connected" : true,
    "num_nodes_connected" : 1,
    "max_connections_per_cluster" : 3,
    "initial_connect_timeout" : "30s",
    "skip_unavailable" : true,
    "cluster_credentials": "::es_redacted::",
    "mode" : "sniff"
  },
  "cert_model": {"connected": false, "mode": "proxy", "proxy_address": "x:9400", "server_name": "x",
    "num_proxy_sockets_connected": 0, "max_proxy_socket_connections": 18, "initial_connect_timeout": "30s",
    "skip_unavailable": true}
}`})
	got, err := f.client(t).RemoteInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]RemoteInfo{
		"my_remote_cluster": {Connected: true, Mode: "proxy", ProxyAddress: "es-fulfill:9443",
			NumProxySocketsConnected: 18, MaxProxySocketConnections: 18, InitialConnectTimeout: "30s",
			ClusterCredentials: "::es_redacted::"},
		"cluster_one": {Connected: true, Mode: "sniff", Seeds: []string{"remote.example.com:9443"},
			NumNodesConnected: 1, MaxConnectionsPerCluster: 3, InitialConnectTimeout: "30s",
			SkipUnavailable: true, ClusterCredentials: "::es_redacted::"},
		"cert_model": {Mode: "proxy", ProxyAddress: "x:9400", ServerName: "x", MaxProxySocketConnections: 18,
			InitialConnectTimeout: "30s", SkipUnavailable: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RemoteInfo =\n%+v\nwant\n%+v", got, want)
	}
	if !got["cluster_one"].HasCredentials() || got["cert_model"].HasCredentials() {
		t.Errorf("HasCredentials wrong")
	}
}

func TestRemoteInfoEmpty(t *testing.T) {
	f := newFake(t, exchange{method: "GET", path: "/_remote/info", resp: `{}`})
	got, err := f.client(t).RemoteInfo(context.Background())
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("RemoteInfo = %v, %v; want empty non-nil map", got, err)
	}
}

func TestResolveCluster(t *testing.T) {
	f := newFake(t, exchange{method: "GET", path: "/_resolve/cluster/prod_eu:*", resp: `{
  "(local)": {"connected": true, "skip_unavailable": false, "matching_indices": true,
    "version": {"number": "8.13.0", "build_flavor": "default", "minimum_wire_compatibility_version": "7.17.0", "minimum_index_compatibility_version": "7.0.0"}},
  "prod_eu": {"connected": false, "skip_unavailable": true,
    "error": "unable to connect to remote cluster prod_eu"}
}`})
	got, err := f.client(t).ResolveCluster(context.Background(), "prod_eu:*")
	if err != nil {
		t.Fatal(err)
	}
	local, remote := got["(local)"], got["prod_eu"]
	if !local.Connected || local.MatchingIndices == nil || !*local.MatchingIndices || local.Version == nil || local.Version.Number != "8.13.0" {
		t.Errorf("(local) = %+v", local)
	}
	if remote.Connected || !remote.SkipUnavailable || remote.Error == "" || remote.MatchingIndices != nil {
		t.Errorf("prod_eu = %+v", remote)
	}
}

func TestResolveClusterUnsupported(t *testing.T) {
	f := newFake(t, exchange{method: "GET", path: "/_resolve/cluster/a:*", status: 400,
		resp: `{"error":"no handler found for uri [/_resolve/cluster/a:*] and method [GET]","status":400}`})
	_, err := f.client(t).ResolveCluster(context.Background(), "a:*")
	if !errors.Is(err, ErrUnsupported) || IsRetryable(err) {
		t.Fatalf("err = %v, want ErrUnsupported", err)
	}
	if !strings.Contains(err.Error(), "needs 8.13+") {
		t.Errorf("message = %q", err)
	}
}

func TestSearchCanary(t *testing.T) {
	f := newFake(t, exchange{method: "POST", path: "/prod_eu:logs*/_search", query: "size=0",
		body: `{"query":{"match_all":{}}}`,
		resp: `{"took":12,"timed_out":false,"_shards":{"total":2,"successful":2,"skipped":0,"failed":0},
		  "_clusters":{"total":1,"successful":1,"skipped":0,"running":0,"partial":0,"failed":0},
		  "hits":{"total":{"value":42,"relation":"eq"},"max_score":null,"hits":[]}}`})
	res, err := f.client(t).Search(context.Background(), "prod_eu:logs*", json.RawMessage(`{"match_all":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.TookMillis != 12 || res.Shards.Successful != 2 || res.Hits.Total.Value != 42 ||
		res.Clusters == nil || res.Clusters.Successful != 1 {
		t.Errorf("Search = %+v", res)
	}
}

// A 401 with ES's real body is terminal, and neither the password nor the
// Authorization header appears in the error.
func TestUnauthorized(t *testing.T) {
	f := newFake(t, exchange{method: "GET", path: "/_remote/info", status: 401, resp: `{"error":{"root_cause":[{"type":"security_exception","reason":"unable to authenticate user [esremote] for REST request [/_remote/info]","header":{"WWW-Authenticate":["Basic realm=\"security\" charset=\"UTF-8\"","ApiKey"]}}],"type":"security_exception","reason":"unable to authenticate user [esremote] for REST request [/_remote/info]","header":{"WWW-Authenticate":["Basic realm=\"security\" charset=\"UTF-8\"","ApiKey"]}},"status":401}`})
	_, err := f.client(t).RemoteInfo(context.Background())
	if !errors.Is(err, ErrAuth) || IsRetryable(err) {
		t.Fatalf("err = %v, want terminal ErrAuth", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "get remote info on local-a: 401 unauthorized: security_exception: unable to authenticate user [esremote]") {
		t.Errorf("message = %q", msg)
	}
	for _, secret := range []string{"s3cret-pw", "ZXNyZW1vdGU6czNjcmV0LXB3"} {
		if strings.Contains(msg, secret) || strings.Contains(sprintAll(err), secret) {
			t.Errorf("error leaks %q: %s", secret, msg)
		}
	}
}

func TestRetryableStatuses(t *testing.T) {
	f := newFake(t,
		exchange{method: "GET", path: "/", status: 429, header: map[string]string{"Retry-After": "7"},
			resp: `{"error":{"root_cause":[{"type":"circuit_breaking_exception","reason":"[parent] Data too large"}],"type":"circuit_breaking_exception","reason":"[parent] Data too large"},"status":429}`},
		exchange{method: "GET", path: "/", status: 503,
			resp: `{"error":{"root_cause":[{"type":"master_not_discovered_exception","reason":null}],"type":"master_not_discovered_exception","reason":null},"status":503}`},
	)
	c := f.client(t)
	_, err := c.Info(context.Background())
	e := asError(t, err)
	if e.Kind != ErrThrottled || !IsRetryable(err) || e.RetryAfter != 7*time.Second || e.Type != "circuit_breaking_exception" {
		t.Errorf("429: %#v", e)
	}
	// Exactly one request per call: go-elasticsearch's own retries on 503
	// are off, or the fake would see a third request.
	_, err = c.Info(context.Background())
	e = asError(t, err)
	if e.Kind != ErrServer || !errors.Is(err, ErrRetryable) || e.Type != "master_not_discovered_exception" {
		t.Errorf("503: %#v", e)
	}
}

func TestNotJSON(t *testing.T) {
	f := newFake(t,
		exchange{method: "GET", path: "/", contentType: "text/html", resp: `<html>hello</html>`},
		exchange{method: "GET", path: "/", status: 502, contentType: "text/html", resp: `<html><body>502 Bad Gateway</body></html>`},
	)
	c := f.client(t)
	_, err := c.Info(context.Background())
	if !errors.Is(err, ErrBadResponse) || IsRetryable(err) ||
		!strings.Contains(err.Error(), "get cluster info on local-a: response is not JSON (text/html, 18 bytes)") {
		t.Errorf("200 html: %v", err)
	}
	_, err = c.Info(context.Background())
	if !errors.Is(err, ErrServer) || !IsRetryable(err) ||
		err.Error() != "get cluster info on local-a: 502 bad gateway: response is not JSON (text/html, 41 bytes)" {
		t.Errorf("502 html: %v", err)
	}
}

func sprintAll(err error) string {
	e, _ := err.(*Error)
	b, _ := json.Marshal(e)
	return err.Error() + string(b)
}

func TestResolveClusterUnsupportedWithoutExpression(t *testing.T) {
	f := newFake(t, exchange{method: "GET", path: "/_resolve/cluster", status: 405,
		resp: `{"error":"Incorrect HTTP method for uri [/_resolve/cluster] and method [GET], allowed: [POST]","status":405}`})
	_, err := f.client(t).ResolveCluster(context.Background(), "")
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "needs 8.18+ without an expression") {
		t.Fatalf("err = %v, want ErrUnsupported", err)
	}
}
