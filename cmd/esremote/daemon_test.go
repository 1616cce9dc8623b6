package main

// The daemon tests' harness: `esremote run` started in-process
// (runCommand in a goroutine) against a spec dir, optionally the
// simulated world's, with its log kept, its listen address taken from
// the log and its sd_notify datagrams read. The tests wait on events
// (datagrams, log lines, webhook bodies, the exit code), never on time;
// failsafe only turns a hang into a failure that shows the log.

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"github.com/esremote/esremote/internal/flagship"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/esremote/esremote/reconcile/sim"
)

// failsafe bounds every wait on the daemon, so that a hang fails with the
// log instead of at go test's -timeout; no test asserts a duration with it.
const failsafe = 20 * time.Second

// logWatch is a daemon's log (its stderr, or a process's output): it
// keeps the log and hands over the listen address from the "esremote
// started" line.
type logWatch struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	addr chan string
	sent bool
}

func newLogWatch() *logWatch { return &logWatch{addr: make(chan string, 1)} }

var listenRE = regexp.MustCompile(`listen=(\S+)`)

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := listenRE.FindSubmatch(w.buf.Bytes()); m != nil && !w.sent {
		w.sent = true
		w.addr <- string(m[1])
	}
	return len(p), nil
}

func (w *logWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// notifySocket listens where sd_notify sends (NOTIFY_SOCKET, for the rest
// of the test) and returns a function that waits for the next datagram
// containing want and returns it, passing over the ones before. Every
// datagram is read as it comes, whether a test waits for it or not: the
// kernel queues only a few (net.unix.max_dgram_qlen, 10 by default) and a
// daemon whose notifications nobody reads would block in sd_notify.
func notifySocket(t *testing.T) func(want string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sd") // short: unix socket paths are limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	var (
		mu     sync.Mutex
		queue  []string
		closed error
		more   = make(chan struct{}, 1)
	)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			mu.Lock()
			if err != nil {
				closed = err
			} else {
				queue = append(queue, string(buf[:n]))
			}
			mu.Unlock()
			select {
			case more <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	var seen []string
	return func(want string) string {
		t.Helper()
		timeout := time.After(failsafe)
		for {
			mu.Lock()
			for len(queue) > 0 {
				msg := queue[0]
				queue = queue[1:]
				seen = append(seen, msg)
				if strings.Contains(msg, want) {
					mu.Unlock()
					return msg
				}
			}
			err := closed
			mu.Unlock()
			if err != nil {
				t.Fatalf("waiting for %q after %q: %v", want, seen, err)
			}
			select {
			case <-more:
			case <-timeout:
				t.Fatalf("waiting for %q after %q: none within the failsafe", want, seen)
			}
		}
	}
}

// testDaemon is one `esremote run` started by startDaemon. One per test:
// it owns the test's NOTIFY_SOCKET.
type testDaemon struct {
	t    *testing.T
	addr string    // its HTTP listener
	logs *logWatch // its stderr
	// next waits for the next sd_notify datagram containing want.
	next   func(want string) string
	cancel context.CancelFunc
	code   chan int
	mu     sync.Mutex
	exit   *int
}

// startDaemon runs `esremote run args…` in-process with getenv as its
// environment (os.Getenv when nil; JOURNAL_STREAM is always unset, so the
// log is text) and returns once it listens. The test's end stops it.
func startDaemon(t *testing.T, getenv func(string) string, args ...string) *testDaemon {
	t.Helper()
	if getenv == nil {
		getenv = os.Getenv
	}
	ctx, cancel := context.WithCancel(t.Context())
	d := &testDaemon{t: t, logs: newLogWatch(), next: notifySocket(t), cancel: cancel, code: make(chan int, 1)}
	c := &cli{ctx: ctx, stdout: io.Discard, stderr: d.logs, getenv: func(k string) string {
		if k == "JOURNAL_STREAM" {
			return ""
		}
		return getenv(k)
	}}
	go func() { d.code <- runCommand("run", c, args) }()
	t.Cleanup(func() { d.stop() })
	select {
	case d.addr = <-d.logs.addr:
	case got := <-d.code:
		d.exit = &got
		t.Fatalf("run exited %d before it listened:\n%s", got, d.logs)
	case <-time.After(failsafe):
		t.Fatalf("no listen address in the log:\n%s", d.logs)
	}
	return d
}

// firstPass waits for READY and the first pass's STATUS line, which it
// returns.
func (d *testDaemon) firstPass() string {
	d.t.Helper()
	d.next("READY=1")
	return d.next("STATUS=")
}

// wait returns the daemon's exit code once it has stopped by itself or
// been stopped.
func (d *testDaemon) wait() int {
	d.t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.exit == nil {
		select {
		case got := <-d.code:
			d.exit = &got
		case <-time.After(failsafe):
			d.t.Fatalf("run did not stop:\n%s", d.logs)
		}
	}
	return *d.exit
}

// stop cancels the daemon's context (SIGTERM, as systemd stops it) and
// returns its exit code.
func (d *testDaemon) stop() int {
	d.t.Helper()
	d.cancel()
	return d.wait()
}

// stopOK stops the daemon and fails the test unless it exited 0.
func (d *testDaemon) stopOK() {
	d.t.Helper()
	if got := d.stop(); got != exitOK {
		d.t.Errorf("run exited %d, want 0; log:\n%s", got, d.logs)
	}
}

// url is the daemon's address for path.
func (d *testDaemon) url(path string) string { return "http://" + d.addr + path }

// stateFiles appends every file of the state dir (last.json, the
// history) to out.
func stateFiles(t *testing.T, state string, out *bytes.Buffer) {
	t.Helper()
	err := filepath.WalkDir(state, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		out.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// simWorld is the simulated default world and a spec dir for it: every
// cluster, with its secrets in env, and the connections given.
type simWorld struct {
	srv   *sim.Server
	specs string
	state string // the daemon's --state-dir
	env   map[string]string
}

func newSimWorld(t *testing.T, connections string) *simWorld {
	t.Helper()
	w := sim.DefaultWorld()
	sim.UserDelays.Fill(w) // as `esremote sim` serves it
	srv, err := sim.Start(t.Context(), w)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	specs, env := simSpecs(t, srv, connections)
	return &simWorld{srv: srv, specs: specs, state: t.TempDir(), env: env}
}

// getenv is the environment with the world's secrets.
func (w *simWorld) getenv(k string) string {
	if v, ok := w.env[k]; ok {
		return v
	}
	return os.Getenv(k)
}

// start runs the daemon on the world's specs and state dir, on a loopback
// port of its choosing, with the extra args.
func (w *simWorld) start(t *testing.T, args ...string) *testDaemon {
	t.Helper()
	return startDaemon(t, w.getenv, append([]string{w.specs, "--listen", "127.0.0.1:0", "--state-dir", w.state}, args...)...)
}

// secrets are the secrets of the world: the clusters' passwords and API
// keys, their keystores' values (the cross-cluster keys delivered) and
// the control planes' keys.
func (w *simWorld) secrets() []string {
	var out []string
	addrs := w.srv.Addresses()
	for _, name := range slices.Sorted(maps.Keys(addrs.Clusters)) {
		c := addrs.Clusters[name]
		out = append(out, c.Password, c.APIKey)
		ks, _ := w.srv.World.Keystore(name)
		for _, k := range slices.Sorted(maps.Keys(ks)) {
			out = append(out, ks[k])
		}
	}
	for _, cp := range addrs.ControlPlanes {
		out = append(out, cp.APIKey)
	}
	return out
}

// simSpecs writes a spec dir for the world of srv: every cluster, with its
// secrets in environment variables of env, and the connections given.
func simSpecs(t *testing.T, srv *sim.Server, connections string) (dir string, env map[string]string) {
	t.Helper()
	dir = t.TempDir()
	clusters, env := simClusters(srv.Addresses(), nil)
	writeFile(t, filepath.Join(dir, "clusters.yaml"), clusters, 0o644)
	writeFile(t, filepath.Join(dir, "connections.yaml"), connections, 0o644)
	return dir, env
}

// simClusters declares every cluster of the world at addrs for a spec dir,
// each secret read from an environment variable: env holds their values
// by name (envName of "es-<cluster>" or "cloud-<platform>"). via sends a
// cluster's Elasticsearch (keyed by the cluster's name) or a platform's
// control plane (keyed by "cloud-<platform>") through another URL, a
// proxy of the test's.
func simClusters(addrs sim.Addresses, via map[string]string) (yaml string, env map[string]string) {
	var b strings.Builder
	env = map[string]string{}
	for _, n := range slices.Sorted(maps.Keys(addrs.Clusters)) {
		c := addrs.Clusters[n]
		es := envName("es-" + n)
		env[es] = c.Password
		fmt.Fprintf(&b, "---\napiVersion: esremote/v1\nkind: Cluster\nname: %s\nelasticsearch:\n  url: %s\n  auth: {basic: {username: %s, password: {env: %s}}}\n",
			n, cmp.Or(via[n], c.URL), c.Username, es)
		if c.DeploymentID == "" {
			continue
		}
		cp := addrs.ControlPlanes[c.Platform]
		cloud := envName("cloud-" + c.Platform)
		env[cloud] = cp.APIKey
		fmt.Fprintf(&b, "deployment:\n  platform: %s\n  api: %s\n  auth: {api_key: {env: %s}}\n  id: %s\n",
			c.Platform, cmp.Or(via["cloud-"+c.Platform], cp.URL), cloud, c.DeploymentID)
		if c.RefID != "" {
			fmt.Fprintf(&b, "  ref_id: %s\n", c.RefID)
		}
	}
	return b.String(), env
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// secretFile writes content to a file only its owner may read, as the
// daemon wants its secret files, and returns its path.
func secretFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	writeFile(t, path, content, 0o600)
	return path
}

// managedConnection is a managed cross-cluster API key link of the default
// world, so the engine knows its key's expiry.
const managedConnection = flagship.Link

// webhook records the bodies POSTed to it.
type webhook struct {
	srv    *httptest.Server
	bodies chan string
}

func newWebhook(t *testing.T) *webhook {
	h := &webhook{bodies: make(chan string, 16)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.bodies <- string(b)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// urlFile writes the webhook's URL with path (which may carry a token) to
// a secret file, for the daemon's --*-url-file flags, and returns its path.
func (h *webhook) urlFile(t *testing.T, path string) string {
	t.Helper()
	return secretFile(t, "url", h.srv.URL+path+"\n")
}

// wait returns the first body containing want.
func (h *webhook) wait(t *testing.T, want string) string {
	t.Helper()
	timeout := time.After(failsafe)
	for {
		select {
		case b := <-h.bodies:
			if strings.Contains(b, want) {
				return b
			}
		case <-timeout:
			t.Fatalf("no webhook body with %q", want)
		}
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v\n%s", url, resp.Status, err, b)
	}
	return string(b)
}
