package sim

import "testing"

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
