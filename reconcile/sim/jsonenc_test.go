package sim

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// encodeJSON writes what json.NewEncoder(w).Encode writes, for the kinds
// it writes itself and for those it hands to encoding/json, nested in
// each other; and fails where encoding/json fails.
func TestEncodeJSONMatchesEncodingJSON(t *testing.T) {
	type typed struct {
		A string `json:"a"`
		B []int  `json:"b,omitempty"`
	}
	for _, v := range []any{
		nil, "", "plain", `quote " and \ backslash`, "<html> & more", "tab\tnew\nline\x01", "café ☕",
		"\u2028\u2029", "bad \xff utf-8", true, false, 0, -12, int64(math.MaxInt64), 1.5, 1e21, float32(0.1),
		[]string(nil), []string{}, []string{"a", "<b>"}, []any(nil), []any{}, []any{1, "x", nil, []any{true}},
		map[string]any(nil), map[string]any{}, map[string]string{"b": "1", "a": "2"},
		map[string]any{"z": 1, "a": map[string]any{"y": []string{"s"}, "b": nil}, "<k>": "v", "é": 2.25},
		map[string]any{"typed": typed{A: "x", B: []int{1}}, "raw": json.RawMessage(`{ "a" : 1 }`), "n": json.Number("12")},
		map[string]any{"version": map[string]any{"number": "8.19.3", "build_snapshot": false}, "tagline": "You Know, for Search"},
	} {
		var want, got bytes.Buffer
		if err := json.NewEncoder(&want).Encode(v); err != nil {
			t.Fatalf("%#v: %v", v, err)
		}
		got.WriteString("prefix ")
		if err := encodeJSON(&got, v); err != nil || got.String() != "prefix "+want.String() {
			t.Errorf("encodeJSON(%#v) = %q, %v; want %q", v, got.String(), err, want.String())
		}
	}
	for _, v := range []any{math.NaN(), map[string]any{"a": []any{math.Inf(1)}}, map[string]any{"c": make(chan int)}} {
		var want, got bytes.Buffer
		errWant, errGot := json.NewEncoder(&want).Encode(v), encodeJSON(&got, v)
		if errGot == nil || errWant == nil || got.Len() != 0 {
			t.Errorf("encodeJSON(%#v) = %q, %v; encoding/json: %v", v, got.String(), errGot, errWant)
		}
	}
}

// The answers of a steady pass are written without encoding/json's
// reflection: a remote-info answer of 25 aliases allocates a few times
// (the sorted keys of each map), not once per value.
func TestEncodeJSONAllocations(t *testing.T) {
	answer := map[string]any{}
	for i := range 25 {
		answer[string(rune('a'+i))] = map[string]any{"connected": false, "mode": "proxy", "proxy_address": "hub.sim:9400",
			"server_name": "hub.sim", "num_proxy_sockets_connected": 0, "max_proxy_socket_connections": 18,
			"initial_connect_timeout": "30s", "skip_unavailable": true}
	}
	var buf bytes.Buffer
	buf.Grow(1 << 14)
	fast := testing.AllocsPerRun(20, func() { buf.Reset(); _ = encodeJSON(&buf, answer) })
	slow := testing.AllocsPerRun(20, func() { buf.Reset(); _ = json.NewEncoder(&buf).Encode(answer) })
	// One allocation per map (26): exact without the race detector. Under
	// it, sync.Pool drops some of the scratch buffers put back, so a run
	// may allocate one more: only the ratio to encoding/json holds there.
	perMap := 26.0
	if raceEnabled {
		perMap = math.Inf(1)
	}
	if fast > perMap || fast*4 > slow {
		t.Errorf("encodeJSON: %.0f allocations (encoding/json %.0f); want one per map at most, and under a quarter", fast, slow)
	}
	t.Logf("encodeJSON: %.0f allocations, encoding/json %.0f", fast, slow)
}

// A _remote/info entry is written as the map of its mode's fields would
// be by encoding/json: the fields of its mode only, cluster_credentials
// only with a credential, keys sorted.
func TestRemoteInfoEntryJSON(t *testing.T) {
	asMap := func(e remoteInfoEntry) map[string]any {
		m := map[string]any{"connected": e.connected, "mode": e.mode, "initial_connect_timeout": "30s", "skip_unavailable": e.skipUnavailable}
		if e.mode == "proxy" {
			m["proxy_address"], m["server_name"] = e.proxyAddress, e.serverName
			m["num_proxy_sockets_connected"], m["max_proxy_socket_connections"] = e.numConnected, e.maxConnections
		} else {
			m["seeds"], m["num_nodes_connected"], m["max_connections_per_cluster"] = e.seeds, e.numConnected, e.maxConnections
		}
		if e.credentials {
			m["cluster_credentials"] = "::es_redacted::"
		}
		return m
	}
	for _, e := range []remoteInfoEntry{
		{connected: true, mode: "proxy", proxyAddress: "hub.sim:9400", serverName: "hub.sim", numConnected: 18, maxConnections: 18, skipUnavailable: true},
		{mode: "proxy", proxyAddress: "h:9443", maxConnections: 18, credentials: true},
		{mode: "proxy", proxyAddress: "<h>&", serverName: "\u2028é"},
		{connected: true, mode: "sniff", seeds: []string{"a:9300", "b:9300"}, numConnected: 2, maxConnections: 3, credentials: true},
		{mode: "sniff", seeds: nil, maxConnections: 3, skipUnavailable: true},
		{mode: "SNIFF-ish", seeds: []string{}},
	} {
		answer := map[string]any{"x": e, "y": e}
		var got, want bytes.Buffer
		if err := encodeJSON(&got, answer); err != nil {
			t.Fatal(err)
		}
		if err := json.NewEncoder(&want).Encode(map[string]any{"x": asMap(e), "y": asMap(e)}); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("entry %+v:\n%s\nwant\n%s", e, got.String(), want.String())
		}
		if j, err := json.Marshal(answer); err != nil || string(j)+"\n" != want.String() {
			t.Errorf("entry %+v through encoding/json:\n%s, %v\nwant\n%s", e, j, err, want.String())
		}
	}
}
