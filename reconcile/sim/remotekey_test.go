package sim

import (
	"regexp"
	"testing"
)

// remoteKey is written by hand for speed; it must split exactly as the
// AffixKey pattern it follows, kept here as a regexp for reference.
func TestRemoteKeyMatchesTheAffixPattern(t *testing.T) {
	re := regexp.MustCompile(`^cluster\.remote\.([-\w]+)\.(.+)$`)
	want := func(key string) (string, string, bool) {
		m := re.FindStringSubmatch(key)
		if m == nil {
			return "", "", false
		}
		for _, s := range remoteSuffixes {
			if m[2] == s || len(m[2]) > len(s) && m[2][:len(s)+1] == s+"." {
				return m[1], s, true
			}
		}
		return "", "", false
	}
	keys := []string{
		"cluster.remote.a.mode", "cluster.remote.hub-01.proxy_address", "cluster.remote.A_b-9.seeds",
		"cluster.remote.a.transport.compress", "cluster.remote.a.transport.ping_schedule",
		"cluster.remote.a.transport", "cluster.remote.a.proxy", "cluster.remote.a.proxyx",
		"cluster.remote.a.proxy.x", "cluster.remote.a.credentials", "cluster.remote.a.mode.",
		"cluster.remote.a.", "cluster.remote..mode", "cluster.remote.mode", "cluster.remote.",
		"cluster.remote.a b.mode", "cluster.remote.é.mode", "cluster.remote.a.mode\n",
		"cluster.remote.a.skip_unavailable", "cluster.remote.a.node_connections", "cluster.remotes.a.mode",
		"xcluster.remote.a.mode", "cluster.remote.a.b.mode", "cluster.remote.a.server_name",
		"cluster.remote.a.proxy_socket_connections", "cluster.remote.a.transport.compression_scheme",
		"cluster.routing.allocation.enable", "",
	}
	for _, k := range keys {
		a, s, ok := remoteKey(k)
		wa, ws, wok := want(k)
		if a != wa || s != ws || ok != wok {
			t.Errorf("remoteKey(%q) = %q %q %t; the pattern says %q %q %t", k, a, s, ok, wa, ws, wok)
		}
	}
}
