package reconcile

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/reconcile/internal/simdir"
	"github.com/esremote/esremote/reconcile/sim"
	"github.com/esremote/esremote/spec"
)

// testWorld is a simulated world plus a spec dir that declares every one
// of its clusters, with secrets passed through environment variables: the
// harness every test of the engine shares (simdir; worldtest adds the same
// engine on top of it for the packages built on this one), under the
// names this package's tests use.
type testWorld struct {
	t     *testing.T
	srv   *sim.Server
	dir   string
	state string
	env   map[string]string
	h     *simdir.World
}

// newTestWorld starts w with a spec dir declaring its clusters. The world
// gets the delays users get (sim.UserDelays) where it sets none of its
// own; a test that needs a faster world says so with fast.
func newTestWorld(t *testing.T, w *sim.World) *testWorld {
	t.Helper()
	h := simdir.New(t, w)
	return &testWorld{t: t, srv: h.Srv, dir: h.Dir, state: h.State, env: h.Env, h: h}
}

// fast takes the delays of sim.UserDelays out of the world (simdir's
// Fast): why says what the test asserts instead and which test covers
// the delay.
func (tw *testWorld) fast(why string) {
	tw.t.Helper()
	tw.h.Fast(why)
}

func envName(s string) string { return simdir.EnvName(s) }

func (tw *testWorld) write(name, content string) {
	tw.t.Helper()
	tw.h.Write(name, content)
}

func (tw *testWorld) remove(name string) {
	tw.t.Helper()
	tw.h.Remove(name)
}

func (tw *testWorld) load() *spec.Set {
	tw.t.Helper()
	return tw.h.Load()
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

// writes lists the write requests the sim received since the last reset.
func (tw *testWorld) writes() []string { return tw.h.Writes() }

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
