package sim

import (
	"testing"
	"time"
)

// Fill gives a world the user delays only where its world file set none;
// Set overrides every one.
func TestDelaysFillKeepsWhatTheWorldSet(t *testing.T) {
	w, err := NewWorld(WorldSpec{
		ControlPlanes: map[string]ControlPlaneSpec{PlatformECH: {}, PlatformECE: {}},
		Clusters: []ClusterSpec{
			{Name: "plain", Platform: PlatformECH},
			{Name: "own-delay", Platform: PlatformECE, KeystoreReloadDelay: "40s"},
			{Name: "per-node", Platform: PlatformECH, KeystoreLoadDelays: []string{"0s", "0s"}},
			{Name: "self", Platform: PlatformSelfManaged},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	UserDelays.Fill(w)
	if d, set := w.ConnectWait(); !set || d != UserDelays.ConnectWait {
		t.Errorf("connect_wait %s (set %v), want %s", d, set, UserDelays.ConnectWait)
	}
	want := map[string]time.Duration{"plain": UserDelays.KeystoreReloadDelay, "own-delay": 40 * time.Second, "per-node": 0, "self": 0}
	for name, d := range want {
		for i, n := range w.clusters[name].nodes {
			if n.delay != d {
				t.Errorf("%s node %d: keystore delay %s, want %s", name, i, n.delay, d)
			}
		}
	}

	w2, err := NewWorld(WorldSpec{ConnectWait: "1s", Clusters: []ClusterSpec{{Name: "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	UserDelays.Fill(w2)
	if d, _ := w2.ConnectWait(); d != time.Second {
		t.Errorf("Fill replaced the world file's connect_wait 1s with %s", d)
	}

	Delays{}.Set(w)
	if d, _ := w.ConnectWait(); d != 0 {
		t.Errorf("Set: connect_wait %s", d)
	}
	for name := range want {
		for i, n := range w.clusters[name].nodes {
			if n.delay != 0 {
				t.Errorf("Set: %s node %d keeps a keystore delay %s", name, i, n.delay)
			}
		}
	}
}
