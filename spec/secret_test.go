package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const secretValue = "c2VjcmV0LWtleS12YWx1ZQ=="

func TestSecretRedacts(t *testing.T) {
	s := NewSecret(secretValue)
	holder := struct {
		Key Secret `json:"key" yaml:"key"`
	}{s}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s"} {
		outs = append(outs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, holder), fmt.Sprintf(verb, &holder))
	}
	outs = append(outs, fmt.Sprint(s), fmt.Sprintln(s), s.String(), s.GoString())
	j, _ := json.Marshal(holder)
	y, _ := yaml.Marshal(holder)
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&logs, nil), slog.NewTextHandler(&logs, nil)} {
		slog.New(h).Info("x", "key", s, "holder", holder)
	}
	outs = append(outs, string(j), string(y), logs.String())
	for _, out := range outs {
		if strings.Contains(out, secretValue) || strings.Contains(out, fmt.Sprintf("%x", secretValue)) {
			t.Errorf("secret leaked: %s", out)
		}
	}
	var back map[string]string
	if err := json.Unmarshal(j, &back); err != nil || back["key"] != "<redacted>" {
		t.Errorf("json = %s", j)
	}
	if s.Reveal() != secretValue {
		t.Error("Reveal does not return the value")
	}
	if fp := s.Fingerprint(); !strings.HasPrefix(fp, "sha256:") || len(fp) != len("sha256:")+8 || fp != NewSecret(secretValue).Fingerprint() {
		t.Errorf("Fingerprint = %q", fp)
	}
	if NewSecret("other").Fingerprint() == s.Fingerprint() || (Secret{}).Fingerprint() != "" || !(Secret{}).IsZero() {
		t.Error("fingerprints do not tell values apart")
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("cred", secretValue+"\n", 0o600)
	write("crlf", secretValue+"\r\n", 0o400)
	write("two", secretValue+"\n\n", 0o600)
	write("open", secretValue, 0o644)
	write("empty", "\n", 0o600)
	env := map[string]string{"CREDENTIALS_DIRECTORY": dir, "KEY": secretValue}
	getenv := func(k string) string { return env[k] }

	tests := []struct {
		ref     SecretRef
		want    string
		wantErr string
	}{
		{SecretRef{Credential: "cred"}, secretValue, ""},
		{SecretRef{File: "crlf", Base: dir}, secretValue, ""},
		{SecretRef{File: filepath.Join(dir, "cred"), Base: "/elsewhere"}, secretValue, ""},
		{SecretRef{File: "two", Base: dir}, secretValue + "\n", ""},
		{SecretRef{Env: "KEY"}, secretValue, ""},
		{SecretRef{File: "open", Base: dir}, "", "chmod 600 " + filepath.Join(dir, "open")},
		{SecretRef{File: "empty", Base: dir}, "", "the secret is empty"},
		{SecretRef{File: "missing", Base: dir}, "", "does not exist"},
		{SecretRef{Env: "UNSET"}, "", "environment variable UNSET is empty or not set"},
		{SecretRef{Credential: "../cred"}, "", "plain file name"},
		{SecretRef{}, "", "exactly one of"},
		{SecretRef{Env: "KEY", File: "cred"}, "", "exactly one of"},
	}
	for _, tt := range tests {
		t.Run(tt.ref.String(), func(t *testing.T) {
			s, err := tt.ref.Resolve(getenv)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), secretValue) {
					t.Errorf("error contains the value: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if s.Reveal() != tt.want {
				t.Errorf("value = %q, want %q", s.Reveal(), tt.want)
			}
		})
	}
	if _, err := (SecretRef{Credential: "cred"}).Resolve(func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "CREDENTIALS_DIRECTORY") {
		t.Errorf("without $CREDENTIALS_DIRECTORY: %v", err)
	}
}

func TestDuration(t *testing.T) {
	for in, want := range map[string]string{"30s": "30s", "14d": "14d", "90d": "90d", "48h": "2d", "1h30m": "1h30m0s", "0s": "0s"} {
		d, err := ParseDuration(in)
		if err != nil || d.String() != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %s", in, d, err, want)
		}
	}
	for _, in := range []string{"", "d", "-1d", "-5s", "1.5d", "3 weeks", "1w"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q): no error", in)
		}
	}
	var d Duration
	if err := json.Unmarshal([]byte(`"14d"`), &d); err != nil || d.String() != "14d" {
		t.Errorf("json: %v %v", d, err)
	}
	if b, _ := json.Marshal(d); string(b) != `"14d"` {
		t.Errorf("json marshal %s", b)
	}
}

func TestTrustYAMLAndJSON(t *testing.T) {
	for in, want := range map[string]Trust{
		"all":                               {All: true},
		"[" + strings.Repeat("a", 32) + "]": {ClusterIDs: []string{strings.Repeat("a", 32)}},
	} {
		var tr Trust
		if err := yaml.Unmarshal([]byte(in), &tr); err != nil || tr.All != want.All || len(tr.ClusterIDs) != len(want.ClusterIDs) {
			t.Errorf("yaml %q = %+v, %v", in, tr, err)
		}
		b, _ := json.Marshal(tr)
		var back Trust
		if err := json.Unmarshal(b, &back); err != nil || back.All != tr.All || len(back.ClusterIDs) != len(tr.ClusterIDs) {
			t.Errorf("json round trip of %s: %+v, %v", b, back, err)
		}
	}
	var tr Trust
	if err := yaml.Unmarshal([]byte("some"), &tr); err == nil {
		t.Error(`trust "some": no error`)
	}
}
