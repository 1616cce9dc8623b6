package observe

import (
	"testing"

	"github.com/esremote/esremote/spec"
)

// What the second wave reads for a managed key follows from the specs and
// the first wave's version alone.
func TestKeyRemote(t *testing.T) {
	remote := &spec.Cluster{Name: "remote"}
	hosted := &spec.Cluster{Name: "hosted", Deployment: &spec.Deployment{ID: "d1"}}
	selfManaged := &spec.Cluster{Name: "self"}
	set := &spec.Set{Clusters: []*spec.Cluster{remote, hosted, selfManaged}}
	link := func(edit func(*spec.Connection)) *spec.Connection {
		c := &spec.Connection{Name: "link", Local: "hosted", Alias: "r", Security: spec.SecurityAPIKey,
			Policy: spec.PolicyEnforce, Remote: spec.Remote{Cluster: "remote"}, APIKey: &spec.APIKey{Managed: true}}
		if edit != nil {
			edit(c)
		}
		return c
	}
	for _, tc := range []struct {
		name    string
		c       *spec.Connection
		local   *spec.Cluster
		version string
		want    string
	}{
		{"managed key on 8.14", link(nil), hosted, "8.14.0", "remote"},
		{"version unknown yet: read", link(nil), hosted, "", "remote"},
		{"local older than 8.14", link(nil), hosted, "8.13.4", ""},
		{"self-managed local", link(nil), selfManaged, "8.19.0", ""},
		{"hand-made key", link(func(c *spec.Connection) { c.APIKey.Managed = false }), hosted, "8.19.0", ""},
		{"certificate link", link(func(c *spec.Connection) { c.Security, c.APIKey = spec.SecurityCertificate, nil }), hosted, "8.19.0", ""},
		{"disabled", link(func(c *spec.Connection) { c.Policy = spec.PolicyDisabled }), hosted, "8.19.0", ""},
		{"remote not declared", link(func(c *spec.Connection) { c.Remote.Cluster = "gone" }), hosted, "8.19.0", ""},
	} {
		got := ""
		if rc := KeyRemote(set, tc.c, tc.local, tc.version); rc != nil {
			got = rc.Name
		}
		if got != tc.want {
			t.Errorf("%s: KeyRemote = %q, want %q", tc.name, got, tc.want)
		}
	}
}
