package statedir

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStateDir(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	all := env("STATE_DIRECTORY", "/var/lib/esremote-sd:/var/lib/other", "XDG_STATE_HOME", "/home/u/.state", "HOME", "/home/u")
	cases := []struct {
		name   string
		getenv func(string) string
		flag   string
		euid   int
		want   string
	}{
		{"flag wins", all, "./state/", 0, "state"},
		{"systemd first entry", all, "", 0, "/var/lib/esremote-sd"},
		{"systemd single", env("STATE_DIRECTORY", "/run/x"), "", 1000, "/run/x"},
		{"root", env("XDG_STATE_HOME", "/x", "HOME", "/root"), "", 0, "/var/lib/esremote"},
		{"xdg", env("XDG_STATE_HOME", "/home/u/.state", "HOME", "/home/u"), "", 1000, "/home/u/.state/esremote"},
		{"relative xdg ignored", env("XDG_STATE_HOME", "rel", "HOME", "/home/u"), "", 1000, "/home/u/.local/state/esremote"},
		{"home", env("HOME", "/home/u"), "", 1000, "/home/u/.local/state/esremote"},
	}
	for _, c := range cases {
		got, err := stateDir(c.getenv, c.flag, c.euid)
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.name, got, err, c.want)
		}
	}
	if got, err := stateDir(env(), "", 1000); err == nil {
		t.Errorf("no environment: got %q, want an error", got)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.json")
	for _, data := range []string{"first", "second, longer"} {
		if err := WriteFileAtomic(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != data {
			t.Fatalf("read back %q, %v; want %q", got, err, data)
		}
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode %v, want 0600", perm)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temporary files left behind: %v", ents)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "f"), nil, 0o600); err == nil {
		t.Error("write into a missing directory: no error")
	}
}
