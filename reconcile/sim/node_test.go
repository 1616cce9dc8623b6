package sim

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// threeNodes serves an ECH deployment "local" whose nodes load keystore
// changes 1 s, 40 s and 4 min after a PATCH (from a world file), and an
// ECE deployment "remote" holding logs-1; local has the alias "remote"
// configured, without a credential yet.
func threeNodes(t *testing.T) (*Server, *testClock) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "world.yaml")
	if err := os.WriteFile(file, []byte(`control_planes: {ech: {}, ece: {}}
clusters:
  - name: local
    platform: ech
    keystore_load_delays: [1s, 40s, 4m]
  - name: remote
    platform: ece
    indices: [logs-1]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := LoadWorld(file)
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
	remote, _ := w.Cluster("remote")
	r := es(t, srv, "local", "PUT", "/_cluster/settings", `{"persistent":{"cluster.remote.remote.mode":"proxy","cluster.remote.remote.proxy_address":"`+
		remote.Endpoint+`:9443","cluster.remote.remote.server_name":"`+remote.Endpoint+`"}}`)
	if r.status != 200 {
		t.Fatalf("put settings: %d %s", r.status, r.body)
	}
	return srv, clock
}

// esOn sends a request to cluster coordinated by node i (NodeHeader).
func esOn(t *testing.T, srv *Server, cluster string, i int, method, path string) response {
	t.Helper()
	req, err := http.NewRequest(method, srv.ClusterURL(cluster)+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "ApiKey "+srv.AdminAPIKey(cluster))
	req.Header.Set(NodeHeader, strconv.Itoa(i))
	resp, err := srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// patchCredential writes the alias's credential through the ECH keystore API.
func patchCredential(t *testing.T, srv *Server, value string) {
	t.Helper()
	local, _ := srv.World.Cluster("local")
	body := map[string]any{"secrets": map[string]any{"cluster.remote.remote.credentials": map[string]any{"value": value}}}
	if r := cloud(t, srv, "ech", "PATCH", "/api/v1/deployments/"+local.DeploymentID+"/elasticsearch/main-elasticsearch/keystore", body); r.status != 200 {
		t.Fatalf("patch keystore: %d %s", r.status, r.body)
	}
}

// Each node of a deployment loads a keystore change in its own time
// (keystore_load_delays 1s, 40s, 4m): _remote/info and _resolve/cluster
// answer from the node that coordinates the request, so through each node
// the credential appears, and later switches to a new key, at that node's
// own time; a node that has not loaded the new key yet still sends the
// old one (here invalidated: the refusal names it).
func TestPerNodeKeystoreLoad(t *testing.T) {
	srv, clock := threeNodes(t)
	delays := []time.Duration{time.Second, 40 * time.Second, 4 * time.Minute}
	if st := srv.World.State()["local"]; len(st.Nodes) != 3 {
		t.Fatalf("nodes: %+v", st.Nodes)
	}
	oldID, oldKey, err := srv.World.CreateCrossClusterKey("remote", "old", `{"search":[{"names":["logs-*"]}]}`, 0)
	if err != nil {
		t.Fatal(err)
	}
	info := func(i int) map[string]any {
		t.Helper()
		r := esOn(t, srv, "local", i, "GET", "/_remote/info")
		e, _ := r.json(t)["remote"].(map[string]any)
		if r.status != 200 || e == nil {
			t.Fatalf("remote info via node %d: %d %s", i, r.status, r.body)
		}
		return e
	}
	resolve := func(i int) map[string]any {
		t.Helper()
		r := esOn(t, srv, "local", i, "GET", "/_resolve/cluster/remote:logs-1")
		e, _ := r.json(t)["remote"].(map[string]any)
		if r.status != 200 || e == nil {
			t.Fatalf("resolve via node %d: %d %s", i, r.status, r.body)
		}
		return e
	}

	// A credential added: each node rebuilds its connection when it loads
	// it, and only then reports it in _remote/info.
	start := clock.Now()
	patchCredential(t, srv, oldKey)
	// check probes every node at 0.5 s, 1 s, 40 s and 4 min after start;
	// loaded says whether node i's delay has passed.
	check := func(probe func(i int, loaded bool)) {
		t.Helper()
		for _, at := range append([]time.Duration{delays[0] / 2}, delays...) {
			clock.Add(start.Add(at).Sub(clock.Now()))
			for i := range delays {
				probe(i, at >= delays[i])
			}
		}
	}
	check(func(i int, loaded bool) {
		e := info(i)
		if loaded != (e["cluster_credentials"] == "::es_redacted::") || loaded != (e["connected"] == true) {
			t.Errorf("%s after the PATCH, node %d (loads at %s): %v", clock.Now().Sub(start), i, delays[i], e)
		}
	})

	// A new key, and the old one invalidated at once: a node that has not
	// loaded the new value sends the old key and is refused naming it; a
	// node that has is authorized. The connection is not rebuilt (a value
	// change), so _remote/info says connected throughout.
	_, newKey, err := srv.World.CreateCrossClusterKey("remote", "new", `{"search":[{"names":["logs-*"]}]}`, 0)
	if err != nil {
		t.Fatal(err)
	}
	start = clock.Now()
	patchCredential(t, srv, newKey)
	if err := srv.World.InvalidateKey("remote", oldID); err != nil {
		t.Fatal(err)
	}
	refusal := "unable to authenticate user [" + oldID + "] for action [indices:admin/resolve/cluster]"
	check(func(i int, loaded bool) {
		e := resolve(i)
		if loaded && (e["connected"] != true || e["matching_indices"] != true) {
			t.Errorf("%s after the PATCH, node %d (loads at %s) has loaded: %v", clock.Now().Sub(start), i, delays[i], e)
		}
		if !loaded && e["error"] != refusal {
			t.Errorf("%s after the PATCH, node %d (loads at %s) has not loaded: %v; want the old key refused", clock.Now().Sub(start), i, delays[i], e)
		}
		if e := info(i); e["connected"] != true {
			t.Errorf("a value change rebuilt node %d's connection: %v", i, e)
		}
		if st := srv.World.LinkStatusOn("local", "remote", i); st.Authorized != loaded {
			t.Errorf("LinkStatusOn node %d: %+v", i, st)
		}
	})

	// The log names the node that coordinated each request.
	var nodes []string
	for _, r := range srv.Log() {
		if r.Target == "local" && r.Endpoint == "GET /_resolve/cluster/{expr}" {
			nodes = append(nodes, r.Node)
		}
	}
	if len(nodes) < 3 || nodes[0] != "instance-0000000000" || nodes[1] != "instance-0000000001" || nodes[2] != "instance-0000000002" {
		t.Errorf("coordinating nodes in the log: %v", nodes)
	}
}

// Without NodeHeader a node is drawn per request from the world's seeded
// source: every node serves some, the same seed draws the same sequence,
// and SetCoordinatingNode pins one (the header still wins).
func TestCoordinatingNodeDraw(t *testing.T) {
	draw := func(seed uint64) []string {
		w, err := NewWorld(WorldSpec{Seed: seed, Clusters: []ClusterSpec{{Name: "a", Nodes: 3}}})
		if err != nil {
			t.Fatal(err)
		}
		srv, err := Start(context.Background(), w)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		var names []string
		for range 30 {
			names = append(names, es(t, srv, "a", "GET", "/", nil).json(t)["name"].(string))
		}
		if err := w.SetCoordinatingNode("a", 1); err != nil {
			t.Fatal(err)
		}
		if n := es(t, srv, "a", "GET", "/", nil).json(t)["name"]; n != "a-node-2" {
			t.Errorf("pinned to node 1: served by %v", n)
		}
		if n := esOn(t, srv, "a", 2, "GET", "/").json(t)["name"]; n != "a-node-3" {
			t.Errorf("header naming node 2: served by %v", n)
		}
		if err := w.SetCoordinatingNode("a", 3); err == nil {
			t.Error("pinned a node the cluster does not have")
		}
		return names
	}
	first, again, other := draw(7), draw(7), draw(8)
	seen := map[string]int{}
	for _, n := range first {
		seen[n]++
	}
	if len(seen) != 3 {
		t.Errorf("30 draws over 3 nodes served by %v", seen)
	}
	if strings.Join(first, ",") != strings.Join(again, ",") {
		t.Errorf("the same seed drew %v then %v", first, again)
	}
	if strings.Join(first, ",") == strings.Join(other, ",") {
		t.Errorf("seeds 7 and 8 drew the same 30 nodes: %v", first)
	}
}

// A self-managed node whose keystore is broken fails the reload and
// keeps the old credential: requests it coordinates still send the old
// key, the others send the new one.
func TestBrokenNodeKeepsOldCredential(t *testing.T) {
	w, err := NewWorld(WorldSpec{Clusters: []ClusterSpec{
		{Name: "a", Nodes: 3},
		{Name: "b", Indices: []string{"logs-1"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Start(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	oldID, oldKey, _ := w.CreateCrossClusterKey("b", "old", `{"search":[{"names":["logs-*"]}]}`, 0)
	newID, newKey, _ := w.CreateCrossClusterKey("b", "new", `{"search":[{"names":["logs-*"]}]}`, 0)
	w.SetKeystore("a", "cluster.remote.b.credentials", oldKey)
	es(t, srv, "a", "POST", "/_nodes/reload_secure_settings", nil)
	es(t, srv, "a", "PUT", "/_cluster/settings", `{"persistent":{"cluster.remote.b.mode":"proxy","cluster.remote.b.proxy_address":"b.sim:9443"}}`)
	w.BreakNodeKeystore("a", 2)
	w.SetKeystore("a", "cluster.remote.b.credentials", newKey)
	es(t, srv, "a", "POST", "/_nodes/reload_secure_settings", nil)
	w.InvalidateKey("b", oldID)
	w.InvalidateKey("b", newID) // both refused: the refusal names the key each node sends
	for i, want := range []string{newID, newID, oldID} {
		e, _ := esOn(t, srv, "a", i, "GET", "/_resolve/cluster/b:logs-1").json(t)["b"].(map[string]any)
		if reason, _ := e["error"].(string); !strings.Contains(reason, "["+want+"]") {
			t.Errorf("node %d sends %v; want key %s", i, e, want)
		}
	}
	if st := w.State()["a"].Nodes[2]; st.Broken == "" {
		t.Errorf("state of the broken node: %+v", st)
	}
}

// keystore_load_delays is checked: one delay per node, not with
// keystore_reload_delay, deployments only.
func TestKeystoreLoadDelaysChecked(t *testing.T) {
	cps := map[string]ControlPlaneSpec{PlatformECH: {}}
	for _, tc := range []struct {
		spec ClusterSpec
		want string
	}{
		{ClusterSpec{Name: "a", Platform: PlatformECH, Nodes: 2, KeystoreLoadDelays: []string{"1s", "2s", "3s"}}, "one delay per node"},
		{ClusterSpec{Name: "a", Platform: PlatformECH, KeystoreReloadDelay: "1s", KeystoreLoadDelays: []string{"1s"}}, "not both"},
		{ClusterSpec{Name: "a", Platform: PlatformECH, KeystoreLoadDelays: []string{"soon"}}, "keystore_load_delays[0]"},
		{ClusterSpec{Name: "a", KeystoreLoadDelays: []string{"1s"}}, "for deployments"},
	} {
		if _, err := NewWorld(WorldSpec{ControlPlanes: cps, Clusters: []ClusterSpec{tc.spec}}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v; want an error with %q", tc.spec, err, tc.want)
		}
	}
	w, err := NewWorld(WorldSpec{ControlPlanes: cps, Clusters: []ClusterSpec{{Name: "a", Platform: PlatformECH, KeystoreLoadDelays: []string{"1s", "2s"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetKeystoreLoadDelays("a", []time.Duration{time.Second}); err == nil {
		t.Error("one delay for two nodes accepted")
	}
	if st := w.State()["a"]; len(st.Nodes) != 2 {
		t.Errorf("two delays made %d nodes", len(st.Nodes))
	}
}
