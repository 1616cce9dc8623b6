// Package worldtest is the test harness of the packages built on the
// engine (reconcile/importer, reconcile/doctor, reconcile/recovery): a simulated world
// (reconcile/sim) plus a spec directory declaring every one of its
// clusters, secrets passed through a private environment, and a
// Reconciler over a state directory of the test's own.
//
// It is for tests only; package reconcile keeps its own copy in its
// internal tests, since it cannot import a package that imports it.
package worldtest

import (
	"context"
	"fmt"
	"github.com/esremote/esremote/internal/flagship"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/sim"
	"github.com/esremote/esremote/spec"
)

// APIKeyConn is the flagship link of the default world: a managed
// cross-cluster key from the ECH deployment ech-analytics to the ECE one,
// ece-prod-logs, with a role that reads through it.
const APIKeyConn = flagship.Connection

// World is a started simulated world and its spec and state directories.
type World struct {
	T     *testing.T
	Srv   *sim.Server
	Dir   string            // the spec directory
	State string            // the state directory
	Env   map[string]string // what the Reconciler's Getenv sees
}

// New starts w and declares every one of its clusters in clusters.yaml.
// The world gets the delays users get (sim.UserDelays) where it sets none
// of its own; a test that needs a faster world says so with Fast.
func New(t *testing.T, w *sim.World) *World {
	t.Helper()
	sim.UserDelays.Fill(w)
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := sim.Start(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); srv.Close() })
	tw := &World{T: t, Srv: srv, Dir: t.TempDir(), State: t.TempDir(), Env: map[string]string{}}
	tw.writeClusters()
	return tw
}

// Fast takes the delays of sim.UserDelays out of the world (connect_wait
// and every deployment's keystore_reload_delay to 0), for a test whose
// subject is not the wait; why says what it asserts instead.
func (tw *World) Fast(why string) {
	tw.T.Helper()
	tw.T.Logf("sim without user delays: %s", why)
	sim.Delays{}.Set(tw.Srv.World)
}

func envName(s string) string {
	return strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(s))
}

func (tw *World) writeClusters() {
	addrs := tw.Srv.Addresses()
	names := make([]string, 0, len(addrs.Clusters))
	for n := range addrs.Clusters {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		c := addrs.Clusters[n]
		pw := "ES_PASSWORD_" + envName(n)
		tw.Env[pw] = c.Password
		fmt.Fprintf(&b, "---\napiVersion: esremote/v1\nkind: Cluster\nname: %s\nelasticsearch:\n  url: %s\n  auth: {basic: {username: %s, password: {env: %s}}}\n", n, c.URL, c.Username, pw)
		if c.DeploymentID != "" {
			cp := addrs.ControlPlanes[c.Platform]
			key := "CLOUD_KEY_" + envName(c.Platform)
			tw.Env[key] = cp.APIKey
			fmt.Fprintf(&b, "deployment:\n  platform: %s\n  api: %s\n  auth: {api_key: {env: %s}}\n  id: %s\n", c.Platform, cp.URL, key, c.DeploymentID)
			if c.RefID != "" {
				fmt.Fprintf(&b, "  ref_id: %s\n", c.RefID)
			}
		}
	}
	tw.Write("clusters.yaml", b.String())
}

// Write writes a file of the spec directory.
func (tw *World) Write(name, content string) {
	tw.T.Helper()
	p := filepath.Join(tw.Dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tw.T.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		tw.T.Fatal(err)
	}
}

// Remove removes a file of the spec directory.
func (tw *World) Remove(name string) {
	tw.T.Helper()
	if err := os.Remove(filepath.Join(tw.Dir, name)); err != nil {
		tw.T.Fatal(err)
	}
}

// Load loads the spec directory, failing the test on any problem.
func (tw *World) Load() *spec.Set {
	tw.T.Helper()
	set, problems, err := spec.Load(tw.Dir)
	if err != nil {
		tw.T.Fatalf("load specs: %v\n%v", err, problems)
	}
	return set
}

// Reconciler returns a fresh Reconciler over the state directory, with
// short verify timeouts.
func (tw *World) Reconciler(readOnly bool) *reconcile.Reconciler {
	tw.T.Helper()
	r, err := reconcile.New(reconcile.Options{StateDir: tw.State, ReadOnly: readOnly, Getenv: func(k string) string { return tw.Env[k] },
		VerifyTimeout: 500 * time.Millisecond, VerifyInterval: 10 * time.Millisecond})
	if err != nil {
		tw.T.Fatal(err)
	}
	return r
}

// Pass runs one pass with a fresh Reconciler, as the CLI does.
func (tw *World) Pass(mode reconcile.Mode) *reconcile.Result {
	tw.T.Helper()
	res, err := tw.Reconciler(mode == reconcile.ModePlan).Pass(context.Background(), tw.Load(), mode, "")
	if err != nil {
		tw.T.Fatal(err)
	}
	return res
}

// Apply runs one apply pass (Pass) and returns its report, as esremote
// apply shows it.
func (tw *World) Apply() *drift.Report {
	tw.T.Helper()
	return tw.Pass(reconcile.ModeApply).Report(drift.TriggerApply, "")
}

// FindConn returns the connection called name in r, failing the test when
// r has none.
func FindConn(t *testing.T, r *drift.Report, name string) drift.Connection {
	t.Helper()
	for _, c := range r.Connections {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no connection %s in the report: %+v", name, r.Connections)
	return drift.Connection{}
}

// Writes lists the write requests the sim received since its log was
// last reset ("METHOD target path").
func (tw *World) Writes() []string {
	var out []string
	for _, r := range tw.Srv.Log() {
		if r.Method != "GET" && r.Method != "HEAD" {
			out = append(out, r.Method+" "+r.Target+" "+r.Path)
		}
	}
	return out
}
