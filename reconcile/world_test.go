package reconcile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/reconcile/sim"
	"github.com/esremote/esremote/spec"
)

// testWorld is a simulated world plus a spec dir that declares every one
// of its clusters, with secrets passed through environment variables.
type testWorld struct {
	t     *testing.T
	srv   *sim.Server
	dir   string
	state string
	env   map[string]string
}

// newTestWorld starts w with a spec dir declaring its clusters. The world
// gets the delays users get (sim.UserDelays) where it sets none
// of its own; a test that needs a faster world says so with fast.
func newTestWorld(t *testing.T, w *sim.World) *testWorld {
	t.Helper()
	sim.UserDelays.Fill(w)
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := sim.Start(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); srv.Close() })
	tw := &testWorld{t: t, srv: srv, dir: t.TempDir(), state: t.TempDir(), env: map[string]string{}}
	tw.writeClusters()
	return tw
}

// fast takes the delays of sim.UserDelays out of the world (connect_wait
// and every deployment's keystore_reload_delay to 0), for a test whose
// subject is not the wait; why says what it asserts instead and which
// test covers the delay.
func (tw *testWorld) fast(why string) {
	tw.t.Helper()
	tw.t.Logf("sim without user delays: %s", why)
	sim.Delays{}.Set(tw.srv.World)
}

func envName(s string) string {
	return strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(s))
}

// writeClusters declares every cluster of the world in clusters.yaml.
func (tw *testWorld) writeClusters() {
	addrs := tw.srv.Addresses()
	names := make([]string, 0, len(addrs.Clusters))
	for n := range addrs.Clusters {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		c := addrs.Clusters[n]
		pw := "ES_PASSWORD_" + envName(n)
		tw.env[pw] = c.Password
		fmt.Fprintf(&b, "---\napiVersion: esremote/v1\nkind: Cluster\nname: %s\nelasticsearch:\n  url: %s\n  auth: {basic: {username: %s, password: {env: %s}}}\n", n, c.URL, c.Username, pw)
		if c.DeploymentID != "" {
			cp := addrs.ControlPlanes[c.Platform]
			key := "CLOUD_KEY_" + envName(c.Platform)
			tw.env[key] = cp.APIKey
			fmt.Fprintf(&b, "deployment:\n  platform: %s\n  api: %s\n  auth: {api_key: {env: %s}}\n  id: %s\n", c.Platform, cp.URL, key, c.DeploymentID)
			if c.RefID != "" {
				fmt.Fprintf(&b, "  ref_id: %s\n", c.RefID)
			}
		}
	}
	tw.write("clusters.yaml", b.String())
}

func (tw *testWorld) write(name, content string) {
	tw.t.Helper()
	p := filepath.Join(tw.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tw.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		tw.t.Fatal(err)
	}
}

func (tw *testWorld) remove(name string) {
	tw.t.Helper()
	if err := os.Remove(filepath.Join(tw.dir, name)); err != nil {
		tw.t.Fatal(err)
	}
}

func (tw *testWorld) load() *spec.Set {
	tw.t.Helper()
	set, problems, err := spec.Load(tw.dir)
	if err != nil {
		tw.t.Fatalf("load specs: %v\n%v", err, problems)
	}
	return set
}

func (tw *testWorld) reconciler(readOnly bool) *Reconciler {
	tw.t.Helper()
	r, err := New(Options{StateDir: tw.state, ReadOnly: readOnly, Getenv: func(k string) string { return tw.env[k] },
		VerifyTimeout: 500 * time.Millisecond, VerifyInterval: 10 * time.Millisecond, FailFastRetry: 20 * time.Millisecond})
	if err != nil {
		tw.t.Fatal(err)
	}
	return r
}

// pass runs one pass with a fresh reconciler, as the CLI does.
func (tw *testWorld) pass(mode Mode) *Result {
	tw.t.Helper()
	res, err := tw.reconciler(mode == ModePlan).Pass(context.Background(), tw.load(), mode, "")
	if err != nil {
		tw.t.Fatal(err)
	}
	return res
}

// writes counts the write requests the sim received since the last reset.
func (tw *testWorld) writes() []string {
	var out []string
	for _, r := range tw.srv.Log() {
		if r.Method != "GET" && r.Method != "HEAD" {
			out = append(out, r.Method+" "+r.Target+" "+r.Path)
		}
	}
	return out
}

// frontEndpoints puts a server of the test's own in front of every
// cluster and control plane of the world, and points clusters.yaml at it:
// front gets the upstream URL and returns the front's URL.
func (tw *testWorld) frontEndpoints(front func(upstream string) string) {
	tw.t.Helper()
	yaml := mustRead(tw.t, filepath.Join(tw.dir, "clusters.yaml"))
	addrs := tw.srv.Addresses()
	var ups []string
	for _, c := range addrs.Clusters {
		ups = append(ups, c.URL)
	}
	for _, c := range addrs.ControlPlanes {
		ups = append(ups, c.URL)
	}
	for _, up := range ups {
		yaml = strings.ReplaceAll(yaml, up+"\n", front(up)+"\n")
	}
	tw.write("clusters.yaml", yaml)
}
