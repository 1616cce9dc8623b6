package daemon

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/esremote/esremote/spec"
)

func loadSpecs(t *testing.T, files map[string]string) *spec.Set {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	set, problems, err := spec.Load(dir)
	if err != nil {
		t.Fatalf("%v %v", err, problems)
	}
	return set
}

func TestAffectedLocals(t *testing.T) {
	cluster := func(name, url string) string {
		return "---\napiVersion: esremote/v1\nkind: Cluster\nname: " + name + "\nelasticsearch:\n  url: " + url + "\n  auth: {api_key: {env: K}}\n"
	}
	conn := func(name, local, remote, skip string) string {
		return "---\napiVersion: esremote/v1\nkind: Connection\nname: " + name + "\nlocal: " + local + "\nalias: " + remote + "\nremote: {cluster: " + remote + ", proxy_address: \"" + remote + ".example.com:9400\", server_name: " + remote + ".example.com}\nsecurity: certificate\nsettings: {skip_unavailable: " + skip + "}\n"
	}
	clusters := cluster("a", "https://a.example.com") + cluster("b", "https://b.example.com") + cluster("c", "https://c.example.com") + cluster("hub", "https://hub.example.com")
	base := loadSpecs(t, map[string]string{"c.yaml": clusters, "l.yaml": conn("a1", "a", "hub", "true") + conn("b1", "b", "hub", "true") + conn("c1", "c", "b", "true")})

	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"one setting of one connection", map[string]string{"c.yaml": clusters, "l.yaml": conn("a1", "a", "hub", "false") + conn("b1", "b", "hub", "true") + conn("c1", "c", "b", "true")}, []string{"a"}},
		{"a connection removed", map[string]string{"c.yaml": clusters, "l.yaml": conn("a1", "a", "hub", "true") + conn("c1", "c", "b", "true")}, []string{"b"}},
		{"a cluster's definition changed: its connections as local and as remote", map[string]string{"c.yaml": cluster("a", "https://a.example.com") + cluster("b", "https://b2.example.com") + cluster("c", "https://c.example.com") + cluster("hub", "https://hub.example.com"), "l.yaml": conn("a1", "a", "hub", "true") + conn("b1", "b", "hub", "true") + conn("c1", "c", "b", "true")}, []string{"b", "c"}},
		{"the remote hub changed: everyone", map[string]string{"c.yaml": cluster("a", "https://a.example.com") + cluster("b", "https://b.example.com") + cluster("c", "https://c.example.com") + cluster("hub", "https://hub2.example.com"), "l.yaml": conn("a1", "a", "hub", "true") + conn("b1", "b", "hub", "true") + conn("c1", "c", "b", "true")}, []string{"a", "b"}},
		{"nothing in the documents: everything", map[string]string{"c.yaml": clusters + "# a comment\n", "l.yaml": conn("a1", "a", "hub", "true") + conn("b1", "b", "hub", "true") + conn("c1", "c", "b", "true")}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := AffectedLocals(base, loadSpecs(t, tc.files)); !slices.Equal(got, tc.want) {
				t.Errorf("AffectedLocals = %v, want %v", got, tc.want)
			}
		})
	}
	if got := AffectedLocals(nil, base); got != nil {
		t.Errorf("no old set: %v, want nil (everything)", got)
	}
}
