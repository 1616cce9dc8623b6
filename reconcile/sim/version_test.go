package sim

import (
	"context"
	"strings"
	"testing"
	"time"
)

// versionLink serves a self-managed local cluster "a" of version v with
// the API-key link "b" to the self-managed cluster "b" (9.4.2, the index
// logs-1), its credential loaded, and returns the server, the clock and
// the key's id.
func versionLink(t *testing.T, v string) (*Server, *testClock, string) {
	t.Helper()
	w, err := NewWorld(WorldSpec{Clusters: []ClusterSpec{
		{Name: "a", Version: v},
		{Name: "b", Version: "9.4.2", Indices: []string{"logs-1"}},
	}})
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
	id, enc, err := w.CreateCrossClusterKey("b", "k", `{"search":[{"names":["logs-*"]}]}`, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetKeystore("a", "cluster.remote.b.credentials", enc); err != nil {
		t.Fatal(err)
	}
	es(t, srv, "a", "POST", "/_nodes/reload_secure_settings", nil)
	if r := es(t, srv, "a", "PUT", "/_cluster/settings", `{"persistent":{"cluster.remote.b.mode":"proxy","cluster.remote.b.proxy_address":"b.sim:9443"}}`); r.status != 200 {
		t.Fatalf("put settings: %d %s", r.status, r.body)
	}
	if st := w.LinkStatus("a", "b"); !st.Authorized {
		t.Fatalf("setup on %s: %+v", v, st)
	}
	return srv, clock, id
}

// resolveEntry is one alias's entry of GET /_resolve/cluster/<path>.
func resolveEntry(t *testing.T, srv *Server, local, path, alias string) map[string]any {
	t.Helper()
	r := es(t, srv, local, "GET", "/_resolve/cluster/"+path, nil)
	if r.status != 200 {
		t.Fatalf("resolve %s: %d %s", path, r.status, r.body)
	}
	e, ok := r.json(t)[alias].(map[string]any)
	if !ok {
		t.Fatalf("resolve %s: no entry %s: %s", path, alias, r.body)
	}
	return e
}

// A remote that refuses the request (here: the key was invalidated, the
// sockets stay up) is connected:true with the error up to 8.16.2 and on
// 8.17.0, connected:false from 8.16.3, 8.17.1 and 8.18.0 (PR #119793).
func TestResolveRefusalConnectedByVersion(t *testing.T) {
	for v, connected := range map[string]bool{
		"8.14.0": true, "8.15.5": true, "8.16.2": true, "8.16.3": false, "8.16.6": false,
		"8.17.0": true, "8.17.1": false, "8.17.10": false, "8.18.0": false, "8.19.3": false, "9.4.2": false,
	} {
		t.Run(v, func(t *testing.T) {
			srv, _, id := versionLink(t, v)
			if err := srv.World.InvalidateKey("b", id); err != nil {
				t.Fatal(err)
			}
			e := resolveEntry(t, srv, "a", "b:logs-1", "b")
			want := "unable to authenticate user [" + id + "] for action [indices:admin/resolve/cluster]"
			if e["connected"] != connected || e["error"] != want {
				t.Errorf("refused on %s: %v; want connected %v with error %q", v, e, connected, want)
			}
		})
	}
}

// A connection that is down (a credential value change over a failed
// connection does not rebuild it) is reported unavailable and retried
// behind the request on 8.16.3–8.16.5 and 8.17.1–8.17.3 (PR #119516 and
// its revert #124241); every other release reconnects before asking.
func TestResolveFailFastByVersion(t *testing.T) {
	for v, failFast := range map[string]bool{
		"8.14.0": false, "8.16.2": false, "8.16.3": true, "8.16.5": true, "8.16.6": false,
		"8.17.0": false, "8.17.1": true, "8.17.3": true, "8.17.4": false, "8.18.0": false, "9.4.2": false,
	} {
		t.Run(v, func(t *testing.T) {
			srv, _, _ := versionLink(t, v)
			good, _ := srv.World.Keystore("a")
			_, foreign, err := srv.World.CreateCrossClusterKey("a", "x", `{"search":[{"names":["*"]}]}`, 0)
			if err != nil {
				t.Fatal(err)
			}
			// Remove and add the credential: the connection is rebuilt on
			// the foreign key and stays down; the good value then changes
			// only the value (no rebuild).
			srv.World.RemoveKeystore("a", "cluster.remote.b.credentials")
			es(t, srv, "a", "POST", "/_nodes/reload_secure_settings", nil)
			srv.World.SetKeystore("a", "cluster.remote.b.credentials", foreign)
			es(t, srv, "a", "POST", "/_nodes/reload_secure_settings", nil)
			if st := srv.World.LinkStatus("a", "b"); st.Connected {
				t.Fatalf("foreign key connected: %+v", st)
			}
			srv.World.SetKeystore("a", "cluster.remote.b.credentials", good["cluster.remote.b.credentials"])
			es(t, srv, "a", "POST", "/_nodes/reload_secure_settings", nil)
			e := resolveEntry(t, srv, "a", "b:logs-*", "b")
			if failFast {
				if e["connected"] != false || e["error"] != nil {
					t.Errorf("fail fast on %s: %v; want connected:false without error", v, e)
				}
				// The background attempt has reconnected for the next one.
				e = resolveEntry(t, srv, "a", "b:logs-*", "b")
			}
			if e["connected"] != true || e["matching_indices"] != true {
				t.Errorf("after the reconnect on %s: %v", v, e)
			}
		})
	}
}

// ?timeout= is a parameter from 8.18.0 (PR #120542); before, the REST
// layer refuses it as unrecognized. A remote that has not answered by the
// timeout is connected:false with the timeout error.
func TestResolveTimeoutByVersion(t *testing.T) {
	for v, has := range map[string]bool{"8.14.0": false, "8.17.4": false, "8.18.0": true, "9.4.2": true} {
		t.Run(v, func(t *testing.T) {
			srv, _, _ := versionLink(t, v)
			r := es(t, srv, "a", "GET", "/_resolve/cluster/b:logs-*?timeout=5s", nil)
			if !has {
				if r.status != 400 || errorType(t, r) != "illegal_argument_exception" ||
					errorReason(t, r) != "request [/_resolve/cluster/b:logs-*] contains unrecognized parameter: [timeout]" {
					t.Errorf("timeout on %s: %d %s", v, r.status, r.body)
				}
				return
			}
			if e, _ := r.json(t)["b"].(map[string]any); r.status != 200 || e["connected"] != true {
				t.Fatalf("timeout on %s: %d %s", v, r.status, r.body)
			}
			// An alias toward an address that answers nothing: the
			// reconnect runs for connect_wait, the timeout cuts it.
			es(t, srv, "a", "PUT", "/_cluster/settings", `{"persistent":{"cluster.remote.gone.mode":"proxy","cluster.remote.gone.proxy_address":"gone.example:9443"}}`)
			srv.World.SetConnectWait(time.Hour)
			r = es(t, srv, "a", "GET", "/_resolve/cluster/gone:x,b:logs-*?timeout=20ms", nil)
			m := r.json(t)
			gone, _ := m["gone"].(map[string]any)
			b, _ := m["b"].(map[string]any)
			if gone["connected"] != false || gone["error"] != resolveTimedOut || b["connected"] != true {
				t.Errorf("timed out on %s: %s", v, r.body)
			}
		})
	}
}

// GET /_resolve/cluster without an index expression is served from 8.18.0
// (PR #119898): every remote, no matching_indices. Before, no handler.
func TestResolveWithoutExpressionByVersion(t *testing.T) {
	for v, has := range map[string]bool{"8.14.0": false, "8.17.4": false, "8.18.0": true, "9.4.2": true} {
		t.Run(v, func(t *testing.T) {
			srv, _, _ := versionLink(t, v)
			r := es(t, srv, "a", "GET", "/_resolve/cluster", nil)
			if !has {
				if r.status != 400 || r.json(t)["error"] != "no handler found for uri [/_resolve/cluster] and method [GET]" {
					t.Errorf("no expression on %s: %d %s", v, r.status, r.body)
				}
				return
			}
			e, _ := r.json(t)["b"].(map[string]any)
			if r.status != 200 || e["connected"] != true || e["version"] == nil {
				t.Fatalf("no expression on %s: %d %s", v, r.status, r.body)
			}
			if _, has := e["matching_indices"]; has {
				t.Errorf("cluster info only carries matching_indices: %s", r.body)
			}
		})
	}
}

// Role fields and remote_cluster privileges by version: remote_indices
// from 8.10 (PR #98307), remote_cluster from 8.15, monitor_stats from 8.17
// (RemoteClusterPermissions); otherwise the 400 of RoleDescriptor.parse.
func TestRoleVersionRules(t *testing.T) {
	const remoteIndices = `{"remote_indices":[{"clusters":["b"],"names":["logs-*"],"privileges":["read"]}]}`
	const enrich = `{"remote_cluster":[{"clusters":["b"],"privileges":["monitor_enrich"]}]}`
	const stats = `{"remote_cluster":[{"clusters":["b"],"privileges":["monitor_stats"]}]}`
	cases := []struct {
		version, body, reason string // reason "" = accepted
	}{
		{"8.9.2", remoteIndices, "failed to parse role [r]. unexpected field [remote_indices]"},
		{"8.10.0", remoteIndices, ""},
		{"8.14.0", remoteIndices, ""},
		{"8.14.3", enrich, "failed to parse role [r]. unexpected field [remote_cluster]"},
		{"8.15.0", enrich, ""},
		{"8.16.6", stats, "failed to parse remote_cluster for role [r]. [monitor_enrich] are the only values allowed for [privileges] within [remote_cluster]. Found [monitor_stats]"},
		{"8.17.0", stats, ""},
		{"9.4.2", stats, ""},
	}
	for _, tc := range cases {
		w, err := NewWorld(WorldSpec{Clusters: []ClusterSpec{{Name: "a", Version: tc.version}}})
		if err != nil {
			t.Fatal(err)
		}
		srv, err := Start(context.Background(), w)
		if err != nil {
			t.Fatal(err)
		}
		r := es(t, srv, "a", "PUT", "/_security/role/r", tc.body)
		switch {
		case tc.reason == "" && r.status != 200:
			t.Errorf("%s %s: %d %s; want accepted", tc.version, tc.body, r.status, r.body)
		case tc.reason != "" && (r.status != 400 || errorType(t, r) != "parse_exception" || errorReason(t, r) != tc.reason):
			t.Errorf("%s %s: %d %s; want 400 %q", tc.version, tc.body, r.status, r.body, tc.reason)
		}
		srv.Close()
	}
}

// The cross-cluster API key model needs 8.14 on both sides (the sim
// refuses the 8.10–8.13 beta); skip_unavailable defaults to true from 8.15.
func TestLinkVersionRules(t *testing.T) {
	for v, want := range map[string]struct{ apiKey, skip bool }{
		"8.13.4": {false, false}, "8.14.0": {true, false}, "8.15.0": {true, true}, "9.4.2": {true, true},
	} {
		w, err := NewWorld(WorldSpec{Clusters: []ClusterSpec{{Name: "a", Version: v}, {Name: "b", Version: "9.4.2"}}})
		if err != nil {
			t.Fatal(err)
		}
		_, enc, _ := w.CreateCrossClusterKey("b", "k", `{"search":[{"names":["*"]}]}`, 0)
		w.SetKeystore("a", "cluster.remote.b.credentials", enc)
		w.mu.Lock()
		w.load(w.clusters["a"], w.clusters["a"].nodes[0], w.clusters["a"].keystore)
		w.mu.Unlock()
		w.SetSetting("a", "persistent", "cluster.remote.b.mode", "proxy")
		w.SetSetting("a", "persistent", "cluster.remote.b.proxy_address", "b.sim:9443")
		st := w.LinkStatus("a", "b")
		if st.Authorized != want.apiKey || (!want.apiKey && (st.Cause != CauseVersion || !strings.Contains(st.Reason, "8.14"))) {
			t.Errorf("api key model on %s: %+v", v, st)
		}
		w.mu.Lock()
		info := w.remoteInfo(w.clusters["a"], w.clusters["a"].nodes[0])
		w.mu.Unlock()
		if got := info["b"].(remoteInfoEntry).skipUnavailable; got != want.skip {
			t.Errorf("skip_unavailable default on %s: %v", v, got)
		}
	}
}

// From 9.3 each reloaded node reports its keystore: the setting names
// (keystore.seed included), path, SHA-256 digest and modification time;
// a node that failed reports only the exception; before 9.3 only the name.
func TestReloadKeystoreDetailsByVersion(t *testing.T) {
	for v, has := range map[string]bool{"8.19.3": false, "9.2.4": false, "9.3.0": true, "9.4.2": true} {
		w, err := NewWorld(WorldSpec{Clusters: []ClusterSpec{{Name: "a", Version: v, Nodes: 2}}})
		if err != nil {
			t.Fatal(err)
		}
		clock := &testClock{now: time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)}
		w.Now = clock.Now
		srv, err := Start(context.Background(), w)
		if err != nil {
			t.Fatal(err)
		}
		w.SetKeystore("a", "cluster.remote.b.credentials", "c2VjcmV0OnZhbHVl")
		w.BreakNodeKeystore("a", 1)
		clock.Add(time.Hour)
		r := es(t, srv, "a", "POST", "/_nodes/reload_secure_settings", nil)
		for _, n := range r.json(t)["nodes"].(map[string]any) {
			n := n.(map[string]any)
			_, failed := n["reload_exception"]
			names, _ := n["secure_setting_names"].([]any)
			switch {
			case failed || !has:
				if len(n) != map[bool]int{true: 2, false: 1}[failed] {
					t.Errorf("%s: node %v; want name (and reload_exception) only", v, n)
				}
			case len(names) != 2 || names[0] != "cluster.remote.b.credentials" || names[1] != "keystore.seed" ||
				n["keystore_last_modified_time"] != "2026-11-26T20:00:00.000Z" || len(n["keystore_digest"].(string)) != 64 ||
				n["keystore_path"] != "/usr/share/elasticsearch/config/elasticsearch.keystore":
				t.Errorf("%s: node %v", v, n)
			}
		}
		if strings.Contains(string(r.body), "c2VjcmV0OnZhbHVl") {
			t.Errorf("%s: the reload answer shows a keystore value: %s", v, r.body)
		}
		srv.Close()
	}
}

// A remote that goes down drops the connections to it; once it is back,
// nothing reconnects by itself: the next _resolve/cluster reconnects
// first, except on 8.16.3–8.16.5 and 8.17.1–8.17.3, which fail fast on
// the dropped connection and reconnect behind the answer (PR #119516 and
// its revert #124241).
func TestDroppedConnectionByVersion(t *testing.T) {
	for v, failFast := range map[string]bool{"8.14.0": false, "8.16.4": true, "8.17.0": false, "8.17.3": true, "8.17.4": false, "9.4.2": false} {
		t.Run(v, func(t *testing.T) {
			srv, _, _ := versionLink(t, v)
			info := func() map[string]any {
				return es(t, srv, "a", "GET", "/_remote/info", nil).json(t)["b"].(map[string]any)
			}
			if err := srv.World.SetClusterDown("b", true); err != nil {
				t.Fatal(err)
			}
			if e := info(); e["connected"] != false {
				t.Errorf("remote down on %s: %v", v, e)
			}
			if st := srv.World.LinkStatus("a", "b"); st.Cause != CauseRemoteDown || !strings.Contains(st.Reason, "Connection refused: b.sim:9443") {
				t.Errorf("remote down on %s: %+v", v, st)
			}
			if e := resolveEntry(t, srv, "a", "b:logs-1", "b"); e["connected"] != false || e["error"] != nil {
				t.Errorf("resolve while down on %s: %v", v, e)
			}
			if err := srv.World.SetClusterDown("b", false); err != nil {
				t.Fatal(err)
			}
			if e := info(); e["connected"] != false {
				t.Errorf("reconnected by itself on %s: %v", v, e)
			}
			e := resolveEntry(t, srv, "a", "b:logs-1", "b")
			if failFast {
				if e["connected"] != false || e["error"] != nil {
					t.Errorf("first resolve after the outage on %s: %v; want it to fail fast", v, e)
				}
				e = resolveEntry(t, srv, "a", "b:logs-1", "b")
			}
			if e["connected"] != true || e["matching_indices"] != true {
				t.Errorf("resolve after the outage on %s: %v", v, e)
			}
		})
	}
}

// A cross-cluster key with search access gets monitor_enrich from 8.15;
// GET / names a Lucene 9 before 9.0 and a Lucene 10 from it.
func TestKeyAndInfoByVersion(t *testing.T) {
	for v, want := range map[string]struct {
		cluster []any
		lucene  string
	}{
		"8.14.3": {[]any{"cross_cluster_search"}, "9."},
		"8.15.0": {[]any{"cross_cluster_search", "monitor_enrich"}, "9."},
		"9.0.0":  {[]any{"cross_cluster_search", "monitor_enrich"}, "10."},
	} {
		w, err := NewWorld(WorldSpec{Clusters: []ClusterSpec{{Name: "a", Version: v}}})
		if err != nil {
			t.Fatal(err)
		}
		srv, err := Start(context.Background(), w)
		if err != nil {
			t.Fatal(err)
		}
		id := esBasic(t, srv, "a", "POST", "/_security/cross_cluster/api_key", `{"name":"k","access":{"search":[{"names":["logs-*"]}]}}`).json(t)["id"].(string)
		got := es(t, srv, "a", "GET", "/_security/api_key?id="+id, nil).json(t)["api_keys"].([]any)[0].(map[string]any)
		rd := got["role_descriptors"].(map[string]any)["cross_cluster"].(map[string]any)
		if !sameJSON(rd["cluster"], want.cluster) {
			t.Errorf("%s: key cluster privileges %v, want %v", v, rd["cluster"], want.cluster)
		}
		info := es(t, srv, "a", "GET", "/", nil).json(t)["version"].(map[string]any)
		if info["number"] != v || !strings.HasPrefix(info["lucene_version"].(string), want.lucene) {
			t.Errorf("%s: GET / version %v", v, info)
		}
		srv.Close()
	}
}

// SetVersion (and the edit op set_version) moves a cluster to another
// release: the rules follow from the next request.
func TestSetVersion(t *testing.T) {
	srv, _, _ := versionLink(t, "8.17.4")
	if r := es(t, srv, "a", "GET", "/_resolve/cluster/b:logs-*?timeout=5s", nil); r.status != 400 {
		t.Fatalf("timeout on 8.17.4: %d %s", r.status, r.body)
	}
	if err := srv.World.Apply(Edit{Op: "set_version", Cluster: "a", Value: []byte(`"8.18.0"`)}); err != nil {
		t.Fatal(err)
	}
	if r := es(t, srv, "a", "GET", "/_resolve/cluster/b:logs-*?timeout=5s", nil); r.status != 200 {
		t.Errorf("timeout after the upgrade to 8.18.0: %d %s", r.status, r.body)
	}
	if info, _ := srv.World.Cluster("a"); info.Version != "8.18.0" {
		t.Errorf("Cluster says %s", info.Version)
	}
	if err := srv.World.SetVersion("a", "next"); err == nil {
		t.Error("version next accepted")
	}
}

// parseVersion remembers what it made of a version string: asked again it
// gives the same answer without parsing (no allocation).
func TestParseVersionRemembered(t *testing.T) {
	for _, v := range []string{"8.19.3", "9.3.0-SNAPSHOT", "garbage", ""} {
		want := parseVersionText(v)
		if got := parseVersion(v); got != want {
			t.Errorf("parseVersion(%q) = %v, want %v", v, got, want)
		}
		if got := parseVersion(v); got != want {
			t.Errorf("parseVersion(%q) asked again = %v, want %v", v, got, want)
		}
		if n := testing.AllocsPerRun(10, func() { _ = parseVersion(v) }); n != 0 {
			t.Errorf("parseVersion(%q) asked again: %.0f allocations, want 0", v, n)
		}
	}
	if got := parseVersionText("8.19.3"); got != (esVersion{8, 19, 3}) {
		t.Errorf("parseVersionText(8.19.3) = %v", got)
	}
}
