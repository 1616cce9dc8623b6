package es

import "testing"

func TestSplitRemoteKey(t *testing.T) {
	for key, want := range map[string][3]string{
		"cluster.remote.a.mode":                        {"a", "mode", "ok"},
		"cluster.remote.my-alias_1.transport.compress": {"my-alias_1", "transport.compress", "ok"},
		"cluster.remote.a.seeds.0":                     {"a", "seeds.0", "ok"},
		"cluster.remote.connections_per_cluster":       {"", "", ""},
		"cluster.remote.node.attr":                     {"", "", ""},
		"cluster.remote..mode":                         {"", "", ""},
		"cluster.remote.a.":                            {"", "", ""},
		"cluster.remote.a b.mode":                      {"", "", ""},
		"cluster.remote.é.mode":                        {"", "", ""},
		"indices.recovery.max_bytes_per_sec":           {"", "", ""},
	} {
		alias, suffix, ok := SplitRemoteKey(key)
		got := [3]string{alias, suffix, ""}
		if ok {
			got[2] = "ok"
		}
		if got != want {
			t.Errorf("SplitRemoteKey(%q) = %v, want %v", key, got, want)
		}
	}
}
