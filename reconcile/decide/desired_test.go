package decide

import (
	"testing"

	"github.com/esremote/esremote/spec"
)

// Desire keeps the endpoint's server_name when proxy_address names the
// endpoint, and leaves it to the spec when it names another host.
func TestDesireServerName(t *testing.T) {
	ep := Endpoint{Host: "abc.ece.sim", ServerName: "abc.ece.sim"}
	for _, tc := range []struct{ addr, name, want string }{
		{"", "", "abc.ece.sim"},
		{"abc.ece.sim:9443", "", "abc.ece.sim"},
		{"ABC.ece.sim:9443", "", "abc.ece.sim"},
		{"lb.example.com:9443", "", ""},
		{"lb.example.com:9443", "abc.ece.sim", "abc.ece.sim"},
	} {
		c := &spec.Connection{Name: "c", Alias: "a", Security: spec.SecurityAPIKey, Remote: spec.Remote{Cluster: "r", ProxyAddress: tc.addr, ServerName: tc.name}}
		d, err := Desire(c, ep)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Settings["cluster.remote.a.server_name"]; got != tc.want {
			t.Errorf("proxy_address %q server_name %q: got %q, want %q", tc.addr, tc.name, got, tc.want)
		}
	}
}
