package world

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

// Normalize decides whether a live value and a desired one are the same
// setting value; a wrong answer is a write on every pass or a missed drift.
func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		suffix, a, b string
		same         bool
	}{
		// Time values: units, the unit-less 0 and -1.
		{"transport.ping_schedule", "0", "0s", true},
		{"transport.ping_schedule", "0", "0ms", true},
		{"transport.ping_schedule", "-1", "-1", true},
		{"transport.ping_schedule", "-1", "0", false},
		{"transport.ping_schedule", "60s", "1m", true},
		{"transport.ping_schedule", "1d", "24h", true},
		{"transport.ping_schedule", "30S", "30s", true},
		{"transport.ping_schedule", "30s", "31s", false},
		// Booleans: case and spaces, never truthiness.
		{"skip_unavailable", "TRUE", "true", true},
		{"skip_unavailable", " true", "true", true},
		{"skip_unavailable", "true", "false", false},
		{"transport.compress", "INDEXING_DATA", "indexing_data", true},
		// Integers: leading zeros, spaces.
		{"proxy_socket_connections", "018", "18", true},
		{"node_connections", " 3", "3", true},
		{"node_connections", "3", "4", false},
		// Lists: brackets, order, spaces, quotes.
		{"seeds", "[a:9300, b:9300]", "b:9300,a:9300", true},
		{"seeds", `["a:9300"]`, "a:9300", true},
		{"seeds", "a:9300", "a:9300,b:9300", false},
		// No per-alias remote setting is a byte size, so byte-size values
		// of other keys are compared as written, never guessed at.
		{"some.future.byte_setting", "1kb", "1024b", false},
		{"proxy_address", "a:9443", "A:9443", false},
	} {
		got := Normalize(tc.suffix, tc.a) == Normalize(tc.suffix, tc.b)
		if got != tc.same {
			t.Errorf("%s: %q vs %q: same=%v, want %v (%q, %q)", tc.suffix, tc.a, tc.b, got, tc.same, Normalize(tc.suffix, tc.a), Normalize(tc.suffix, tc.b))
		}
	}
}

func TestTimeValueRoundTrip(t *testing.T) {
	for _, s := range []string{"-1", "0s", "500ms", "30s", "5m", "2h", "1d"} {
		d, ok := ParseTimeValue(s)
		if !ok || FormatTimeValue(d) != s {
			t.Errorf("%s → %v %v → %s", s, d, ok, FormatTimeValue(d))
		}
	}
}
