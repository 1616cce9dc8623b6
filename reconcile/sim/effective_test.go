package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// effectiveAliases parses the settings once per change of them: asked
// again it hands out the same configurations without allocating; after
// each kind of change (SetSetting, RemoveSetting, a settings PUT) it
// shows the change.
func TestEffectiveAliasesParsedOncePerChange(t *testing.T) {
	w, err := NewWorld(WorldSpec{Clusters: []ClusterSpec{{Name: "a", Settings: map[string]any{
		"cluster.remote.x.mode": "proxy", "cluster.remote.x.proxy_address": "b.sim:9400"}}}})
	if err != nil {
		t.Fatal(err)
	}
	c := w.clusters["a"]
	al := effectiveAliases(c)
	if al["x"] == nil || al["x"].proxyAddress != "b.sim:9400" {
		t.Fatalf("effective aliases %v: want x with its proxy address", al)
	}
	if allocs := testing.AllocsPerRun(10, func() { effectiveAliases(c) }); allocs != 0 {
		t.Errorf("effectiveAliases asked again: %.0f allocations, want 0", allocs)
	}
	if again := effectiveAliases(c); again["x"] != al["x"] || again["x"].connKey() != al["x"].connKey() {
		t.Error("effectiveAliases asked again parsed the settings again")
	}

	if err := w.SetSetting("a", "transient", "cluster.remote.x.proxy_address", "c.sim:9400"); err != nil {
		t.Fatal(err)
	}
	if got := effectiveAliases(c)["x"]; got == nil || got.proxyAddress != "c.sim:9400" || got.connKey() == al["x"].connKey() {
		t.Errorf("after SetSetting: %+v, want the transient proxy address and a new connection key", got)
	}
	if err := w.RemoveSetting("a", "transient", "cluster.remote.x.*"); err != nil {
		t.Fatal(err)
	}
	if got := effectiveAliases(c)["x"]; got == nil || got.proxyAddress != "b.sim:9400" {
		t.Errorf("after RemoveSetting: %+v, want the persistent proxy address", got)
	}
	w.mu.Lock()
	_, _, e := c.updateSettings(map[string]any{"cluster.remote.x.mode": nil, "cluster.remote.x.proxy_address": nil}, nil)
	w.mu.Unlock()
	if e != nil {
		t.Fatal(e)
	}
	if got := effectiveAliases(c); len(got) != 0 {
		t.Errorf("after a PUT removing x: %v, want no alias", got)
	}
}

// The answer to GET /_cluster/settings?flat_settings=true is kept,
// encoded, until the settings change: asked twice it is the same bytes,
// the bytes encoding/json makes of the settings; after each kind of change
// (a PUT, SetSetting, RemoveSetting) it is the new settings'.
func TestFlatSettingsAnswerKeptUntilAChange(t *testing.T) {
	srv, _ := startDefault(t)
	const c = "onprem-search"
	get := func() []byte {
		t.Helper()
		r := es(t, srv, c, "GET", "/_cluster/settings?flat_settings=true", nil)
		if r.status != 200 || r.header.Get("Content-Type") != "application/json" || r.header.Get("Content-Length") != fmt.Sprint(len(r.body)) {
			t.Fatalf("GET settings: %d %v %s", r.status, r.header, r.body)
		}
		return r.body
	}
	want := func() []byte {
		t.Helper()
		p, _ := srv.World.Settings(c, "persistent")
		tr, _ := srv.World.Settings(c, "transient")
		var b bytes.Buffer
		if err := json.NewEncoder(&b).Encode(map[string]any{"persistent": p, "transient": tr}); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	check := func(when string) {
		t.Helper()
		first, second := get(), get()
		if !bytes.Equal(first, second) || !bytes.Equal(first, want()) {
			t.Errorf("%s: answers\n%s\n%s\nwant\n%s", when, first, second, want())
		}
	}
	check("at start")
	kept := func() []byte {
		srv.World.mu.Lock()
		defer srv.World.mu.Unlock()
		return srv.World.clusters[c].flatSettings
	}
	if k := kept(); k == nil || get() == nil || &kept()[0] != &k[0] {
		t.Error("the answer was encoded again while the settings did not change")
	}
	if r := es(t, srv, c, "PUT", "/_cluster/settings", `{"persistent":{"cluster.remote.x.mode":"proxy","cluster.remote.x.proxy_address":"h:9443"}}`); r.status != 200 {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	check("after a PUT")
	if !bytes.Contains(get(), []byte(`"cluster.remote.x.proxy_address":"h:9443"`)) {
		t.Errorf("after a PUT: %s", get())
	}
	if err := srv.World.SetSetting(c, "transient", "cluster.remote.x.skip_unavailable", "true"); err != nil {
		t.Fatal(err)
	}
	check("after SetSetting")
	if !bytes.Contains(get(), []byte(`"transient":{"cluster.remote.x.skip_unavailable":"true"}`)) {
		t.Errorf("after SetSetting: %s", get())
	}
	if err := srv.World.RemoveSetting(c, "persistent", "cluster.remote.x.*"); err != nil {
		t.Fatal(err)
	}
	check("after RemoveSetting")
	if bytes.Contains(get(), []byte(`proxy_address`)) {
		t.Errorf("after RemoveSetting: %s", get())
	}
}
