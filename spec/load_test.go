package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// examplesDir is the repository's examples directory.
const examplesDir = "../examples"

// exampleSpecDirs are the spec directories under examples/ (which also
// holds the Prometheus rules and the Grafana dashboard, not specs).
var exampleSpecDirs = []string{"api-key", "certificate", "self-managed"}

func TestLoadExamples(t *testing.T) {
	// All together: a directory linking every example spec directory.
	all := t.TempDir()
	for _, dir := range exampleSpecDirs {
		abs, err := filepath.Abs(filepath.Join(examplesDir, dir))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(abs, filepath.Join(all, dir)); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range append([]string{""}, exampleSpecDirs...) {
		t.Run(dir, func(t *testing.T) {
			root := all
			if dir != "" {
				root = filepath.Join(examplesDir, dir)
			}
			set, problems, err := Load(root)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			for _, p := range problems {
				if !strings.Contains(p.Message, "certificate security is deprecated") {
					t.Errorf("unexpected problem: %s", p)
				}
			}
			if set.Documents == 0 || !strings.HasPrefix(set.Digest, "sha256:") {
				t.Errorf("Documents = %d, Digest = %q", set.Documents, set.Digest)
			}
		})
	}
}

// writeFiles creates files (slash paths → content) under a temp dir.
func writeFiles(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A renewed CA under unchanged YAML changes the digest, so the daemon
// reloads it.
func TestDigestCoversCAFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", "first CA")
	write("c.yaml", "apiVersion: esremote/v1\nkind: Cluster\nname: a\nelasticsearch:\n  url: https://a.example.com:9243\n  auth: {api_key: {env: A}}\n  ca_file: ca.pem\n")
	s1, _, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	write("ca.pem", "renewed CA")
	s2, _, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s1.Digest == s2.Digest {
		t.Fatal("digest did not change with the CA file")
	}
}
