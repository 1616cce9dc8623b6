package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A secret pasted where a field name goes is refused without printing it
// (validate's output lands in CI logs); a misspelt field is still named,
// with its did-you-mean.
func TestUnknownFieldThatLooksLikeASecret(t *testing.T) {
	const key = "VnVhQ2ZHY0JDZGJrUWxUbjdVVm1YYlZJU2hSZ21fZmw6ZHVtbXk="
	const token = "AAEAAWVsYXN0aWMva2liYW5hL3Rva2VuMTpxRmZ3"
	dir := t.TempDir()
	doc := `apiVersion: esremote/v1
kind: Cluster
name: a
elasticsearch:
  url: https://a.example:9200
  ` + key + `: x
  auth: {basic: {username: u, password: {env: P}}}
  ` + token + `: y
  ca_fil: x.pem
`
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	_, problems, err := Load(dir)
	if err == nil {
		t.Fatal("loaded")
	}
	var all strings.Builder
	for _, p := range problems {
		all.WriteString(p.String() + "\n")
	}
	out := all.String() + err.Error()
	for _, secret := range []string{key, token, key[:16], token[:16]} {
		if strings.Contains(out, secret) {
			t.Fatalf("the error shows the secret-looking name:\n%s", out)
		}
	}
	for _, want := range []string{"a.yaml:6:3: error: unknown field in elasticsearch: its name (52 characters, not shown) looks like a secret value",
		"a.yaml:8:3: error: unknown field in elasticsearch: its name (40 characters, not shown)", `unknown field "ca_fil"`} {
		if !strings.Contains(out, want) {
			t.Errorf("errors lack %q:\n%s", want, out)
		}
	}
}

func TestSecretLike(t *testing.T) {
	for name, want := range map[string]bool{
		"proxy_socket_connections": false, "transport.ping_schedule": false, "skip_unavailable": false,
		"remote_cluster_client_x": false, "VnVhQ2ZHY0JDZGJr": true, "abc/def+ghi=jklmnop": true,
		"-----BEGIN PRIVATE KEY-----": true, "essu_dGVzdDp0ZXN0dG9rZW4": true, "short1A": false,
	} {
		if got := secretLike(name); got != want {
			t.Errorf("secretLike(%q) = %v, want %v", name, got, want)
		}
	}
}
