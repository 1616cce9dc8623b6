package sim

import (
	"reflect"
	"testing"
)

func TestPutSettingsValidation(t *testing.T) {
	srv, _ := startDefault(t)
	const c = "ech-analytics"
	proxy := map[string]any{"persistent": map[string]any{
		"cluster.remote.a.mode": "proxy", "cluster.remote.a.proxy_address": "h.example:9443",
		"cluster.remote.a.server_name": "h.example", "cluster.remote.a.proxy_socket_connections": 18,
		"cluster.remote.a.skip_unavailable": true,
	}}
	if r := es(t, srv, c, "PUT", "/_cluster/settings?flat_settings=true", proxy); r.status != 200 {
		t.Fatalf("valid proxy put: %d %s", r.status, r.body)
	} else {
		want := map[string]any{"acknowledged": true, "transient": map[string]any{}, "persistent": map[string]any{
			"cluster.remote.a.mode": "proxy", "cluster.remote.a.proxy_address": "h.example:9443",
			"cluster.remote.a.server_name": "h.example", "cluster.remote.a.proxy_socket_connections": "18",
			"cluster.remote.a.skip_unavailable": "true",
		}}
		if got := r.json(t); !reflect.DeepEqual(got, want) {
			t.Errorf("echo = %v\nwant %v", got, want)
		}
	}
	tests := []struct {
		name   string
		body   string
		status int
		reason string
	}{
		{"proxy_address with sniff", `{"persistent":{"cluster.remote.x.proxy_address":"h:9443"}}`, 400,
			`Setting "cluster.remote.x.proxy_address" cannot be used with the configured "cluster.remote.x.mode" [required=PROXY, configured=SNIFF]`},
		{"seeds with proxy", `{"persistent":{"cluster.remote.x.mode":"proxy","cluster.remote.x.proxy_address":"h:1","cluster.remote.x.seeds":["h:9300"]}}`, 400,
			`Setting "cluster.remote.x.seeds" cannot be used with the configured "cluster.remote.x.mode" [required=SNIFF, configured=PROXY]`},
		{"node_connections with proxy (nested)", `{"persistent":{"cluster":{"remote":{"x":{"mode":"proxy","proxy_address":"h:1","node_connections":3}}}}}`, 400,
			`Setting "cluster.remote.x.node_connections" cannot be used with the configured "cluster.remote.x.mode" [required=SNIFF, configured=PROXY]`},
		{"unknown suffix", `{"persistent":{"cluster.remote.x.foo":"1"}}`, 400, `persistent setting [cluster.remote.x.foo], not recognized`},
		{"transient unknown", `{"transient":{"cluster.remote.x.foo":"1"}}`, 400, `transient setting [cluster.remote.x.foo], not recognized`},
		{"alias with a dot", `{"persistent":{"cluster.remote.my.alias.seeds":["h:1"]}}`, 400, `persistent setting [cluster.remote.my.alias.seeds], not recognized`},
		{"empty alias", `{"persistent":{"cluster.remote..mode":"proxy"}}`, 400, `persistent setting [cluster.remote..mode], not recognized`},
		{"not enabled", `{"persistent":{"cluster.remote.x.skip_unavailable":true}}`, 400, `Cannot configure setting [cluster.remote.x.skip_unavailable] if remote cluster is not enabled.`},
		{"no colon", `{"persistent":{"cluster.remote.x.seeds":["foo"]}}`, 400, `remote hosts need to be configured as [host:port], found [foo] instead`},
		{"bad port", `{"persistent":{"cluster.remote.x.mode":"proxy","cluster.remote.x.proxy_address":"h:abc"}}`, 400, `failed to parse port`},
		{"zero port", `{"persistent":{"cluster.remote.x.mode":"proxy","cluster.remote.x.proxy_address":"h:0"}}`, 400, `port number must be > 0 but was: [0]`},
		{"sockets 0", `{"persistent":{"cluster.remote.x.mode":"proxy","cluster.remote.x.proxy_address":"h:1","cluster.remote.x.proxy_socket_connections":0}}`, 400,
			`Failed to parse value [0] for setting [cluster.remote.x.proxy_socket_connections] must be >= 1`},
		{"skip yes", `{"persistent":{"cluster.remote.x.mode":"proxy","cluster.remote.x.proxy_address":"h:1","cluster.remote.x.skip_unavailable":"yes"}}`, 400,
			`Failed to parse value [yes] as only [true] or [false] are allowed.`},
		{"proxy needs seeds", `{"persistent":{"cluster.remote.x.proxy":"h:1"}}`, 400, `missing required setting [cluster.remote.x.seeds] for setting [cluster.remote.x.proxy]`},
		{"credentials", `{"persistent":{"cluster.remote.x.credentials":"abc"}}`, 400, `persistent setting [cluster.remote.x.credentials], not dynamically updateable`},
		{"static", `{"persistent":{"cluster.remote.connections_per_cluster":5}}`, 400, `persistent setting [cluster.remote.connections_per_cluster], not dynamically updateable`},
		{"no settings", `{"persistant":{"a":"b"}}`, 400, `Validation Failed: 1: no settings to update;`},
		{"partial removal: mode only", `{"persistent":{"cluster.remote.a.mode":null}}`, 400,
			`Setting "cluster.remote.a.proxy_address" cannot be used with the configured "cluster.remote.a.mode" [required=PROXY, configured=SNIFF]`},
		{"partial removal: proxy_address only", `{"persistent":{"cluster.remote.a.proxy_address":null}}`, 400,
			`Cannot configure setting [cluster.remote.a.skip_unavailable] if remote cluster is not enabled.`},
		{"null for absent keys", `{"persistent":{"cluster.remote.zz.mode":null}}`, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := es(t, srv, c, "PUT", "/_cluster/settings", tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status != 200 {
				m := r.json(t)
				if got := errorReason(t, r); got != tc.reason {
					t.Errorf("reason\n got %s\nwant %s", got, tc.reason)
				}
				root := m["error"].(map[string]any)["root_cause"].([]any)[0].(map[string]any)
				if root["reason"] != tc.reason || m["status"] != float64(tc.status) {
					t.Errorf("body shape: %s", r.body)
				}
			}
		})
	}
	// The alias is intact after the rejected requests.
	got := es(t, srv, c, "GET", "/_cluster/settings?flat_settings=true", nil).json(t)
	if p := got["persistent"].(map[string]any); p["cluster.remote.a.proxy_address"] != "h.example:9443" || len(p) != 5 {
		t.Errorf("settings after rejected puts: %v", p)
	}
}

func TestSettingsNestedFlatNullWildcard(t *testing.T) {
	srv, _ := startDefault(t)
	const c = "onprem-search"
	r := es(t, srv, c, "PUT", "/_cluster/settings", `{"persistent":{"cluster":{"remote":{"dc2":{"seeds":["10.0.0.5:9300","10.0.0.6:9300"],"transport.compress":true}}}},"transient":{"cluster.routing.allocation.enable":"none"}}`)
	if r.status != 200 {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	nested := r.json(t)["persistent"].(map[string]any)
	dc2 := nested["cluster"].(map[string]any)["remote"].(map[string]any)["dc2"].(map[string]any)
	if dc2["transport"].(map[string]any)["compress"] != "true" {
		t.Errorf("nested echo: %v", nested)
	}
	flat := es(t, srv, c, "GET", "/_cluster/settings?flat_settings=true&include_defaults=true", nil).json(t)
	if !reflect.DeepEqual(flat["persistent"].(map[string]any)["cluster.remote.dc2.seeds"], []any{"10.0.0.5:9300", "10.0.0.6:9300"}) {
		t.Errorf("seeds as list: %v", flat)
	}
	if flat["transient"].(map[string]any)["cluster.routing.allocation.enable"] != "none" || flat["defaults"] == nil {
		t.Errorf("transient/defaults: %v", flat)
	}
	if r := es(t, srv, c, "PUT", "/_cluster/settings?flat_settings=true", `{"persistent":{"cluster.remote.dc2.*":null},"transient":{"cluster.routing.allocation.enable":null}}`); r.status != 200 {
		t.Fatalf("wildcard delete: %d %s", r.status, r.body)
	} else if got := r.json(t); len(got["persistent"].(map[string]any)) != 0 {
		t.Errorf("deleted keys echoed: %s", r.body)
	}
	after := es(t, srv, c, "GET", "/_cluster/settings", nil).json(t)
	if len(after["persistent"].(map[string]any)) != 0 || len(after["transient"].(map[string]any)) != 0 {
		t.Errorf("after delete: %v", after)
	}
	// Switching mode needs the other mode's keys nulled in the same request.
	es(t, srv, c, "PUT", "/_cluster/settings", `{"persistent":{"cluster.remote.s.seeds":["h:9300"]}}`)
	if r := es(t, srv, c, "PUT", "/_cluster/settings", `{"persistent":{"cluster.remote.s.mode":"proxy","cluster.remote.s.proxy_address":"h:9443"}}`); r.status != 400 {
		t.Errorf("switch without seeds:null: %d", r.status)
	}
	if r := es(t, srv, c, "PUT", "/_cluster/settings", `{"persistent":{"cluster.remote.s.mode":"proxy","cluster.remote.s.proxy_address":"h:9443","cluster.remote.s.seeds":null}}`); r.status != 200 {
		t.Errorf("switch with seeds:null: %d %s", r.status, r.body)
	}
}
