package spec

import (
	"os"
	"path/filepath"
	"testing"
)

// LoadAsGiven names files by the directory as given; what the paths are
// resolved against (a {file:} secret, a ca_file) does not change: a
// secret in a subdirectory is still read next to its spec file.
func TestLoadAsGivenKeepsSecretBase(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	sub := filepath.Join("specs", "team")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(path, data string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(path, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(sub, "c.yaml"), `apiVersion: esremote/v1
kind: Cluster
name: onprem
elasticsearch:
  url: https://onprem.example.com:9200
  auth: {api_key: {file: key}}
`, 0o644)
	write(filepath.Join(sub, "key"), "value\n", 0o600)

	for dir, want := range map[string]string{"specs": "specs/team/c.yaml", "./specs/": "./specs/team/c.yaml", "specs/team/..": "specs/team/../team/c.yaml"} {
		set, _, err := LoadAsGiven(dir)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		ref := set.Clusters[0].Elasticsearch.Auth.APIKey
		if ref.Pos.File != want {
			t.Errorf("LoadAsGiven(%q): position in %q, want %q", dir, ref.Pos.File, want)
		}
		if ps := set.CheckSecrets(os.Getenv); len(ps) != 0 {
			t.Errorf("LoadAsGiven(%q): %v", dir, ps)
		}
	}
	set, _, err := Load("specs")
	if err != nil {
		t.Fatal(err)
	}
	if f := set.Clusters[0].Elasticsearch.Auth.APIKey.Pos.File; f != "team/c.yaml" {
		t.Errorf("Load: position in %q, want team/c.yaml", f)
	}
	// A missing secret is a problem at its reference, without its value.
	if err := os.Remove(filepath.Join(sub, "key")); err != nil {
		t.Fatal(err)
	}
	set, _, _ = LoadAsGiven("specs")
	ps := set.CheckSecrets(os.Getenv)
	if len(ps) != 1 || ps[0].Pos.String() != "specs/team/c.yaml:6:10" || ps[0].Severity != SeverityError {
		t.Fatalf("CheckSecrets after removing the key: %v", ps)
	}
}
