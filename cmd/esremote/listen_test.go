package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The daemon's HTTP API beyond loopback (issue 18): refused unless asked
// for with --listen-allow-remote and a token, which /status and /-/reload
// then require.

func TestRunRefusesRemoteListenWithoutToken(t *testing.T) {
	specs := t.TempDir()
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	loose := filepath.Join(dir, "loose")
	if err := os.WriteFile(loose, []byte("0123456789abcdef0123456789abcdef\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hint := "esremote: hint: keep the default 127.0.0.1:9477, or add --listen-allow-remote and --reload-token-file FILE (a random token, e.g. from openssl rand -hex 32, in a file only esremote can read)\n"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"all interfaces", []string{"--listen", "0.0.0.0:0"},
			"esremote: error: --listen 0.0.0.0:0 is not a loopback address: /status and /-/reload would be open to the network\n" + hint},
		{"empty host", []string{"--listen", ":0"},
			"esremote: error: --listen :0 is not a loopback address: /status and /-/reload would be open to the network\n" + hint},
		{"allowed but no token", []string{"--listen", "0.0.0.0:0", "--listen-allow-remote"},
			"esremote: error: --listen 0.0.0.0:0 is not a loopback address: /status and /-/reload would be open to the network\n" + hint},
		{"token but not allowed", []string{"--listen", "0.0.0.0:0", "--reload-token-file", token},
			"esremote: error: --listen 0.0.0.0:0 is not a loopback address: /status and /-/reload would be open to the network\n" + hint},
		{"token others can read", []string{"--listen", "0.0.0.0:0", "--listen-allow-remote", "--reload-token-file", loose},
			"esremote: error: --reload-token-file: secret file: " + loose + " is readable by group or others (mode 0644): chmod 600 " + loose + "\n"},
		{"short token", []string{"--listen", "0.0.0.0:0", "--listen-allow-remote", "--reload-token-file", short},
			"esremote: error: --reload-token-file " + short + ": the token is shorter than 16 characters: use a random one, e.g. openssl rand -hex 32\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			c := &cli{ctx: t.Context(), stdout: io.Discard, stderr: &stderr, getenv: os.Getenv}
			code := runCommand("run", c, append([]string{specs, "--state-dir", t.TempDir()}, tc.args...))
			if code != exitError {
				t.Errorf("exit code %d, want 1", code)
			}
			if got := stderr.String(); got != tc.want {
				t.Errorf("stderr:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestRunRemoteListenWithToken(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	const secret = "0123456789abcdef0123456789abcdef"
	if err := os.WriteFile(token, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, nil, t.TempDir(), "--listen", "0.0.0.0:0", "--listen-allow-remote", "--reload-token-file", token, "--state-dir", t.TempDir())
	defer d.stopOK()
	addr, logs, next := d.addr, d.logs, d.next
	next("STATUS=0 in sync")

	do := func(method, path, auth string) int {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+addr+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		method, path, auth string
		want               int
	}{
		{"GET", "/status", "", http.StatusUnauthorized},
		{"POST", "/-/reload", "", http.StatusUnauthorized},
		{"POST", "/-/reload", "Bearer nope", http.StatusUnauthorized},
		{"GET", "/status", "Bearer " + secret, http.StatusOK},
		{"POST", "/-/reload", "Bearer " + secret, http.StatusOK},
		{"GET", "/readyz", "", http.StatusOK},
		{"GET", "/metrics", "", http.StatusOK},
	} {
		if got := do(c.method, c.path, c.auth); got != c.want {
			t.Errorf("%s %s with %q = %d, want %d", c.method, c.path, c.auth, got, c.want)
		}
	}

	// esremote status: refused without the token, works with it.
	var out, errb bytes.Buffer
	sc := &cli{ctx: t.Context(), stdout: &out, stderr: &errb, getenv: os.Getenv}
	if got := runCommand("status", sc, []string{"--listen", addr}); got != exitError || !strings.Contains(errb.String(), "401 Unauthorized") {
		t.Errorf("status without the token = %d: %s", got, errb.String())
	}
	errb.Reset()
	if got := runCommand("status", sc, []string{"--listen", addr, "--reload-token-file", token, "--format", "json"}); got != exitOK {
		t.Errorf("status with the token = %d: %s", got, errb.String())
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("the token is in the log:\n%s", logs)
	}
}

// `esremote run live` where live is a symlink to a release directory (the
// layout docs/operations.md recommends) loads the release, and a swap of
// the link (ln -sfn) reloads the new one. Before, it loaded 0 files and a
// swap read "spec unchanged".
func TestRunReloadsOnSymlinkedRootSwap(t *testing.T) {
	base := t.TempDir()
	for i, name := range []string{"r1", "r2"} {
		d := filepath.Join(base, "releases", name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		c := strings.Replace("apiVersion: esremote/v1\nkind: Cluster\nname: NAME\nelasticsearch:\n  url: https://127.0.0.1:1\n  auth: {api_key: {env: NO_SUCH_KEY}}\n", "NAME", []string{"first", "second"}[i], 1)
		if err := os.WriteFile(filepath.Join(d, "cluster.yaml"), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	live := filepath.Join(base, "live")
	if err := os.Symlink("releases/r1", live); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, nil, live, "--listen", "127.0.0.1:0", "--state-dir", t.TempDir(), "--debounce", "10ms:50ms")
	defer d.stopOK()
	logs, next := d.logs, d.next
	next("STATUS=0 in sync") // the first pass ended
	loaded := regexp.MustCompile(`msg="spec loaded" digest=(\S+) files=(\d+)`)
	first := loaded.FindAllStringSubmatch(logs.String(), -1)
	if len(first) != 1 || first[0][2] != "1" {
		t.Fatalf("first load: %q, want one file loaded; log:\n%s", first, logs)
	}

	tmp := filepath.Join(base, "live.new")
	if err := os.Symlink("releases/r2", tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, live); err != nil {
		t.Fatal(err)
	}
	next("STATUS=0 in sync") // the pass after the reload
	all := loaded.FindAllStringSubmatch(logs.String(), -1)
	if len(all) != 2 || all[1][1] == all[0][1] || all[1][2] != "1" {
		t.Errorf("loads: %q, want a second load of one file with a new digest; log:\n%s", all, logs)
	}
}

// A FIFO in the spec directory of a running daemon: the load is rejected
// at once, naming the file, so the loop keeps running (/healthz 200) and
// /readyz says why it is not ready. Before, the loop froze on the open
// while both kept answering 200.
func TestRunWithFIFOSpecFile(t *testing.T) {
	specs := t.TempDir()
	mkfifo(t, filepath.Join(specs, "fifo.yaml"))
	d := startDaemon(t, nil, specs, "--listen", "127.0.0.1:0", "--state-dir", t.TempDir())
	defer d.stopOK()
	addr, logs, next := d.addr, d.logs, d.next
	next("READY=1")
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "spec reload rejected (1 problem)") {
		t.Errorf("/readyz = %d %q, want 503 naming the rejected load", code, body)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d, want 200: the loop runs", code)
	}
	if !strings.Contains(logs.String(), "file is a named pipe (FIFO), not a regular file") {
		t.Errorf("the log does not name the FIFO:\n%s", logs)
	}
}
