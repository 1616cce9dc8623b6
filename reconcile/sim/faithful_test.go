package sim

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// onpremLink configures alias "logs" on onprem-search toward ece-prod-logs
// (API key model) with a fresh key loaded; it returns the key's id.
func onpremLink(t *testing.T, srv *Server, access string) (id string) {
	t.Helper()
	ece, _ := srv.World.Cluster("ece-prod-logs")
	id, enc, err := srv.World.CreateCrossClusterKey("ece-prod-logs", "k", access, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.World.SetKeystore("onprem-search", "cluster.remote.logs.credentials", enc); err != nil {
		t.Fatal(err)
	}
	es(t, srv, "onprem-search", "POST", "/_nodes/reload_secure_settings", nil)
	r := es(t, srv, "onprem-search", "PUT", "/_cluster/settings", `{"persistent":{"cluster.remote.logs.mode":"proxy","cluster.remote.logs.proxy_address":"`+ece.Endpoint+`:9443","cluster.remote.logs.server_name":"`+ece.Endpoint+`","cluster.remote.logs.skip_unavailable":false}}`)
	if r.status != 200 {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	if st := srv.World.LinkStatus("onprem-search", "logs"); !st.Connected || !st.Authorized {
		t.Fatalf("setup: %+v", st)
	}
	return id
}

func remoteConnected(t *testing.T, srv *Server, cluster, alias string) any {
	t.Helper()
	e, _ := es(t, srv, cluster, "GET", "/_remote/info", nil).json(t)[alias].(map[string]any)
	return e["connected"]
}

// RemoteClusterService.updateRemoteClusterCredentials: a new value for an
// alias that has a credential keeps the connection (connected stays true
// whatever the value is worth) and the next request carries it; removing
// the credential, or adding one, rebuilds the connection.
func TestCredentialRules(t *testing.T) {
	srv, _ := startDefault(t)
	oldID := onpremLink(t, srv, `{"search":[{"names":["logs-*"]}]}`)
	_, newEnc, _ := srv.World.CreateCrossClusterKey("ece-prod-logs", "k2", `{"search":[{"names":["logs-*"]}]}`, 0)

	// Value change to another valid key: up, and requests use the new key.
	srv.World.SetKeystore("onprem-search", "cluster.remote.logs.credentials", newEnc)
	es(t, srv, "onprem-search", "POST", "/_nodes/reload_secure_settings", nil)
	srv.World.InvalidateKey("ece-prod-logs", oldID)
	if st := srv.World.LinkStatus("onprem-search", "logs"); !st.Connected || !st.Authorized {
		t.Fatalf("on the new key after the old one is invalidated: %+v", st)
	}

	// Value change to a wrong key: still connected; requests refused.
	srv.World.SetKeystore("onprem-search", "cluster.remote.logs.credentials", "bm9wZTpub3Bl") // base64("nope:nope")
	es(t, srv, "onprem-search", "POST", "/_nodes/reload_secure_settings", nil)
	if got := remoteConnected(t, srv, "onprem-search", "logs"); got != true {
		t.Fatalf("a value change closed the connection: connected %v", got)
	}
	res := es(t, srv, "onprem-search", "GET", "/_resolve/cluster/logs:logs-*", nil).json(t)["logs"].(map[string]any)
	if res["connected"] != false || res["error"] != "unable to authenticate user [nope] for action [indices:admin/resolve/cluster]" {
		t.Errorf("resolve on a wrong key: %v", res)
	}
	r := es(t, srv, "onprem-search", "POST", "/logs:logs-*/_search?size=0", `{}`)
	if r.status != 401 || errorType(t, r) != "security_exception" || errorReason(t, r) != "unable to authenticate user [nope] for action [indices:data/read/search]" {
		t.Errorf("search on a wrong key (skip_unavailable false): %d %s", r.status, r.body)
	}

	// Removal rebuilds: the remote cluster server port without credentials.
	srv.World.RemoveKeystore("onprem-search", "cluster.remote.logs.credentials")
	es(t, srv, "onprem-search", "POST", "/_nodes/reload_secure_settings", nil)
	if st := srv.World.LinkStatus("onprem-search", "logs"); st.Connected || st.Cause != CauseNoCredentials {
		t.Fatalf("after removal: %+v", st)
	}
	// Adding rebuilds too: up again on the valid key.
	_, enc3, _ := srv.World.CreateCrossClusterKey("ece-prod-logs", "k3", `{"search":[{"names":["logs-*"]}]}`, 0)
	srv.World.SetKeystore("onprem-search", "cluster.remote.logs.credentials", enc3)
	es(t, srv, "onprem-search", "POST", "/_nodes/reload_secure_settings", nil)
	if st := srv.World.LinkStatus("onprem-search", "logs"); !st.Connected || !st.Authorized {
		t.Fatalf("after adding: %+v", st)
	}
}

// TransportResolveClusterAction: no error for an unreachable remote; the
// security exception's message for a refused one; connected with the
// IndexNotFoundException's message for a concrete index that does not
// exist; and a concrete name outside the key's access is refused with
// AuthorizationDenialMessages' text. A per-key canary name therefore
// proves which key a link uses.
func TestResolveClusterOutcomes(t *testing.T) {
	srv, _ := startDefault(t)
	id := onpremLink(t, srv, `{"search":[{"names":["logs-*","esremote-canary-k1"]}]}`)
	es(t, srv, "onprem-search", "PUT", "/_cluster/settings", `{"persistent":{"cluster.remote.gone.mode":"proxy","cluster.remote.gone.proxy_address":"nowhere.example:9443"}}`)
	// As the admin user: a request made with an API key names the key and
	// its owner instead of the user and roles (rolesDescription prints no
	// roles for an API key subject).
	m := esBasic(t, srv, "onprem-search", "GET", "/_resolve/cluster/gone:*,logs:esremote-canary-k1,logs:secret", nil).json(t)
	if e := m["gone"].(map[string]any); e["connected"] != false || e["error"] != nil {
		t.Errorf("unreachable: %v", e)
	}
	want := "action [indices:admin/resolve/cluster] towards remote cluster is unauthorized for user [elastic] with assigned roles [superuser] " +
		"authenticated by API key id [" + id + "] of user [elastic] on indices [secret], this action is granted by the index privileges [view_index_metadata,manage,read_cross_cluster,all]"
	if e := m["logs"].(map[string]any); e["connected"] != false || e["error"] != want {
		t.Errorf("outside the key's access: %v", e)
	}
	m = es(t, srv, "onprem-search", "GET", "/_resolve/cluster/logs:esremote-canary-k1", nil).json(t)
	if e := m["logs"].(map[string]any); e["connected"] != true || e["error"] != "no such index [esremote-canary-k1]" {
		t.Errorf("canary under its key: %v", e)
	}
	m = es(t, srv, "onprem-search", "GET", "/_resolve/cluster/logs:logs-*", nil).json(t)
	if e := m["logs"].(map[string]any); e["connected"] != true || e["matching_indices"] != true || e["error"] != nil {
		t.Errorf("wildcard: %v", e)
	}
}

// TransportBaseUpdateApiKeyAction: an API key cannot update a key either.
func TestUpdateCrossClusterKeyRefusedOverAPIKey(t *testing.T) {
	srv, _ := startDefault(t)
	id, _, _ := srv.World.CreateCrossClusterKey("ece-prod-logs", "k", `{"search":[{"names":["a"]}]}`, 0)
	body := `{"access":{"search":[{"names":["b"]}]}}`
	r := es(t, srv, "ece-prod-logs", "PUT", "/_security/cross_cluster/api_key/"+id, body)
	if r.status != 400 || errorType(t, r) != "illegal_argument_exception" ||
		errorReason(t, r) != "authentication via API key not supported: only the owner user can update an API key" {
		t.Errorf("update over an API key: %d %s", r.status, r.body)
	}
	if r := esBasic(t, srv, "ece-prod-logs", "PUT", "/_security/cross_cluster/api_key/"+id, body); r.status != 200 || r.json(t)["updated"] != true {
		t.Errorf("update as the owner: %d %s", r.status, r.body)
	}
	// ApiKeyService: an unknown id, then an invalidated key.
	if r := esBasic(t, srv, "ece-prod-logs", "PUT", "/_security/cross_cluster/api_key/nope", body); r.status != 404 ||
		errorType(t, r) != "resource_not_found_exception" || errorReason(t, r) != "no API key owned by requesting user found for ID [nope]" {
		t.Errorf("unknown id: %d %s", r.status, r.body)
	}
	srv.World.InvalidateKey("ece-prod-logs", id)
	if r := esBasic(t, srv, "ece-prod-logs", "PUT", "/_security/cross_cluster/api_key/"+id, body); r.status != 400 ||
		errorReason(t, r) != "cannot update invalidated API key ["+id+"]" {
		t.Errorf("invalidated: %d %s", r.status, r.body)
	}
}

// The platform loads a keystore PATCH keystore_reload_delay after the
// answer, on the world's clock.
func TestKeystoreReloadDelay(t *testing.T) {
	srv, clock := startDefault(t)
	ece, _ := srv.World.Cluster("ece-prod-logs")
	ech, _ := srv.World.Cluster("ech-analytics")
	if err := srv.World.SetKeystoreReloadDelay("ech-analytics", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := srv.World.SetKeystoreReloadDelay("onprem-search", time.Second); err == nil {
		t.Error("a self-managed cluster took a reload delay")
	}
	es(t, srv, "ech-analytics", "PUT", "/_cluster/settings", `{"persistent":{"cluster.remote.logs.mode":"proxy","cluster.remote.logs.proxy_address":"`+ece.Endpoint+`:9443","cluster.remote.logs.server_name":"`+ece.Endpoint+`"}}`)
	_, enc, _ := srv.World.CreateCrossClusterKey("ece-prod-logs", "k", `{"search":[{"names":["*"]}]}`, 0)
	body := map[string]any{"secrets": map[string]any{"cluster.remote.logs.credentials": map[string]any{"value": enc}}}
	if r := cloud(t, srv, "ech", "PATCH", "/api/v1/deployments/"+ech.DeploymentID+"/elasticsearch/main-elasticsearch/keystore", body); r.status != 200 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	info := func() map[string]any {
		return es(t, srv, "ech-analytics", "GET", "/_remote/info", nil).json(t)["logs"].(map[string]any)
	}
	clock.Add(4 * time.Second)
	if e := info(); e["cluster_credentials"] != nil || e["connected"] != false {
		t.Fatalf("loaded before the delay: %v", e)
	}
	clock.Add(time.Second)
	if e := info(); e["cluster_credentials"] != "::es_redacted::" || e["connected"] != true {
		t.Fatalf("not loaded after the delay: %v", e)
	}
}

// Each node answers the reload; a node whose keystore is missing reports
// reload_exception and the call still answers 200.
func TestReloadPerNode(t *testing.T) {
	w, err := NewWorld(WorldSpec{Clusters: []ClusterSpec{{Name: "a", Nodes: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Start(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if err := w.Apply(Edit{Op: "break_node_keystore", Cluster: "a", Key: "2"}); err != nil {
		t.Fatal(err)
	}
	r := es(t, srv, "a", "POST", "/_nodes/reload_secure_settings", nil)
	m := r.json(t)
	nodes := m["nodes"].(map[string]any)
	if r.status != 200 || len(nodes) != 3 || m["_nodes"].(map[string]any)["total"] != float64(3) {
		t.Fatalf("reload: %d %s", r.status, r.body)
	}
	failed := 0
	for _, n := range nodes {
		if ex, ok := n.(map[string]any)["reload_exception"].(map[string]any); ok {
			failed++
			if ex["type"] != "illegal_state_exception" || ex["reason"] != "Keystore is missing" || n.(map[string]any)["name"] != "a-node-3" {
				t.Errorf("node exception: %v", n)
			}
		}
	}
	if failed != 1 {
		t.Errorf("%d nodes failed, want 1: %s", failed, r.body)
	}
	if _, err := NewWorld(WorldSpec{Clusters: []ClusterSpec{{Name: "a", Nodes: -1}}}); err == nil {
		t.Error("nodes -1 accepted")
	}
}

// RemoteClusterService.updateRemoteCluster waits for each changed alias's
// connection: a PUT of ten aliases toward unreachable addresses answers
// after ten connect waits, acknowledged:false past the ack timeout with
// the settings stored, and other requests are served meanwhile. How long
// each answer was held is the sim's own account (Request.Held), so that
// nothing here bounds a wall-clock time: the waits are asserted exactly,
// and that the world stays unlocked is asserted by order (a GET sent
// during the PUT's wait is answered before the PUT).
func TestSettingsPutConnectWait(t *testing.T) {
	srv, _ := startDefault(t)
	const wait = 30 * time.Millisecond
	srv.World.SetConnectWait(wait)
	put := func(prefix, query string) (map[string]any, time.Duration, time.Time) {
		var b strings.Builder
		b.WriteString(`{"persistent":{`)
		for i := range 10 {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"cluster.remote.%s%d.mode":"proxy","cluster.remote.%s%d.proxy_address":"gone%d.example:9443"`, prefix, i, prefix, i, i)
		}
		b.WriteString(`}}`)
		srv.World.ResetLog()
		r := es(t, srv, "onprem-search", "PUT", "/_cluster/settings"+query, b.String())
		answered := time.Now()
		if r.status != 200 {
			t.Fatalf("put: %d %s", r.status, r.body)
		}
		var held time.Duration = -1
		for _, q := range srv.Log() {
			if q.Endpoint == "PUT /_cluster/settings" {
				held = q.Held
			}
		}
		return r.json(t), held, answered
	}
	got := make(chan time.Time, 1)
	go func() {
		<-time.After(wait)
		es(t, srv, "onprem-search", "GET", "/_remote/info", nil)
		got <- time.Now()
	}()
	m, held, putAnswered := put("a", "")
	if m["acknowledged"] != true || held != 10*wait {
		t.Errorf("ten unreachable aliases: acknowledged %v, answer held %s; want true after %s", m["acknowledged"], held, 10*wait)
	}
	if getAnswered := <-got; !getAnswered.Before(putAnswered) {
		t.Error("a GET sent during the PUT's wait was answered after the PUT: the world stayed locked")
	}
	// Re-sending the same settings changes no connection: no wait.
	if _, held, _ := put("a", ""); held != 0 {
		t.Errorf("unchanged aliases: answer held %s, want at once", held)
	}
	m, held, _ = put("b", "?timeout=100ms")
	if m["acknowledged"] != false || held != 100*time.Millisecond {
		t.Errorf("past the ack timeout: acknowledged %v, answer held %s; want false after the 100ms ack timeout", m["acknowledged"], held)
	}
	s, _ := srv.World.Settings("onprem-search", "persistent")
	if s["cluster.remote.b9.proxy_address"] != "gone9.example:9443" {
		t.Errorf("acknowledged:false lost the settings: %v", s)
	}
}
