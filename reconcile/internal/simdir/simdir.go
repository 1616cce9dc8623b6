// Package simdir is the engine-free part of every test harness: a
// simulated world (reconcile/sim) started with the delays users get, and a
// spec directory declaring every one of its clusters, their secrets passed
// through a private environment. Package reconcile's own tests build
// their harness on it (they cannot import worldtest, which imports
// reconcile), and worldtest adds the engine on top of it: one harness.
//
// It is for tests only.
package simdir

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/esremote/esremote/reconcile/sim"
	"github.com/esremote/esremote/spec"
)

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
// subject is not the wait; why says what it asserts instead and which
// test covers the delay.
func (tw *World) Fast(why string) {
	tw.T.Helper()
	tw.T.Logf("sim without user delays: %s", why)
	sim.Delays{}.Set(tw.Srv.World)
}

// EnvName is the environment variable part for a cluster or platform
// name: ech-analytics → ECH_ANALYTICS.
func EnvName(s string) string {
	return strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(s))
}

// writeClusters declares every cluster of the world in clusters.yaml.
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
		pw := "ES_PASSWORD_" + EnvName(n)
		tw.Env[pw] = c.Password
		fmt.Fprintf(&b, "---\napiVersion: esremote/v1\nkind: Cluster\nname: %s\nelasticsearch:\n  url: %s\n  auth: {basic: {username: %s, password: {env: %s}}}\n", n, c.URL, c.Username, pw)
		if c.DeploymentID != "" {
			cp := addrs.ControlPlanes[c.Platform]
			key := "CLOUD_KEY_" + EnvName(c.Platform)
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
