// Package worldtest is the test harness of the packages built on the
// engine (reconcile/importer, reconcile/doctor, reconcile/recovery): a simulated world
// (reconcile/sim) plus a spec directory declaring every one of its
// clusters, secrets passed through a private environment, and a
// Reconciler over a state directory of the test's own.
//
// The world and its spec directory are package simdir's, the part of the
// harness package reconcile's own tests share (they cannot import a
// package that imports reconcile); this package adds the engine. It is
// for tests only.
package worldtest

import (
	"context"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/internal/flagship"
	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/internal/simdir"
	"github.com/esremote/esremote/reconcile/sim"
)

// APIKeyConn is the flagship link of the default world: a managed
// cross-cluster key from the ECH deployment ech-analytics to the ECE one,
// ece-prod-logs, with a role that reads through it.
const APIKeyConn = flagship.Connection

// World is a started simulated world and its spec and state directories
// (simdir.World: Write, Remove, Load, Writes, Fast), with the engine.
type World struct{ *simdir.World }

// New starts w, with the delays users get, and declares every one of its
// clusters in clusters.yaml (simdir.New).
func New(t *testing.T, w *sim.World) *World {
	t.Helper()
	return &World{simdir.New(t, w)}
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
