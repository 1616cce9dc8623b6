package main

// Testscript commands for the end-to-end scenarios of plan and apply
// (testdata/script/plan_*.txtar, apply_*.txtar): a simulated world served
// from the test process, which the esremote binary (run by exec) reaches
// over loopback, plus out-of-band edits and request-log assertions.
//
//	world-start [-fast] [WORLD-FILE] start sim.DefaultWorld (or the world file) over TLS; write $SPECS/clusters.yaml
//	                                 and $SPECS/sim-ca.pem; export SPECS, STATE_DIRECTORY and the
//	                                 secrets (ES_<CLUSTER>, CLOUD_<PLATFORM>: ES_ECH_ANALYTICS, CLOUD_ECE).
//	                                 The world has the delays `esremote sim` serves with (sim.UserDelays);
//	                                 -fast takes them out, for a script that says why in a comment above
//	world-set CLUSTER KEY VALUE...   set a persistent setting behind esremote's back (several values: a list)
//	world-unset CLUSTER KEY          remove a persistent setting (KEY may end in *)
//	world-settings CLUSTER [ALIAS]   print the persistent cluster.remote.* settings, key=value, sorted
//	world-reset-log                  forget the request log
//	world-writes N [TARGET]          exactly N write requests (not GET/HEAD) since the last reset
//	world-count N ENDPOINT [TARGET]  exactly N requests to ENDPOINT ("PUT /_cluster/settings")
//	world-keystore CLUSTER           print the names in the cluster's keystore (values never)
//	world-keys CLUSTER               print the cross-cluster API keys: name, active or invalidated
//	world-requests                   print the request log's counts, "N target METHOD /route" per line
//	world-fault TARGET STATUS [METHOD [PATH]]  answer STATUS to matching requests until cleared
//	world-clear-faults               remove every fault
//	world-link LOCAL ALIAS           the sim says the link is connected (! world-link: it is not)
//	world-handmade-key REMOTE LOCAL ALIAS ENV
//	                                 an operator's cross-cluster key: created on REMOTE, put in
//	                                 LOCAL's keystore for ALIAS, and exported (encoded) in ENV
//	exitcode N PROGRAM ARGS...       exec PROGRAM and require exit code N exactly (testscript's
//	                                 "! exec" accepts any failure; plan's 2 and apply's 3 matter)

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/esremote/esremote/reconcile/sim"
	"github.com/rogpeppe/go-internal/testscript"
)

// worldKey is the testscript Env.Values key of a script's *scriptWorld.
type worldKey struct{}

// scriptWorld is the simulated world one script runs against.
type scriptWorld struct {
	srv *sim.Server
}

func init() {
	scriptSetups = append(scriptSetups, func(env *testscript.Env) error {
		sw := &scriptWorld{}
		env.Values[worldKey{}] = sw
		env.Defer(func() {
			if sw.srv != nil {
				sw.srv.Close()
			}
		})
		return nil
	})
	scriptCmds["world-start"] = cmdWorldStart
	scriptCmds["world-set"] = cmdWorldSet
	scriptCmds["world-unset"] = cmdWorldUnset
	scriptCmds["world-settings"] = cmdWorldSettings
	scriptCmds["world-reset-log"] = cmdWorldResetLog
	scriptCmds["world-writes"] = cmdWorldWrites
	scriptCmds["world-count"] = cmdWorldCount
	scriptCmds["world-requests"] = cmdWorldRequests
	scriptCmds["world-keystore"] = cmdWorldKeystore
	scriptCmds["world-keys"] = cmdWorldKeys
	scriptCmds["world-fault"] = cmdWorldFault
	scriptCmds["world-clear-faults"] = cmdWorldClearFaults
	scriptCmds["world-link"] = cmdWorldLink
	scriptCmds["world-handmade-key"] = cmdWorldHandmadeKey
	scriptCmds["exitcode"] = cmdExitCode
}

// world returns the script's running world, failing the script when
// world-start has not run.
func world(ts *testscript.TestScript) *sim.Server {
	sw, _ := ts.Value(worldKey{}).(*scriptWorld)
	if sw == nil || sw.srv == nil {
		ts.Fatalf("no simulated world: run world-start first")
	}
	return sw.srv
}

func noNeg(ts *testscript.TestScript, neg bool, name string) {
	if neg {
		ts.Fatalf("%s does not support !", name)
	}
}

func cmdWorldStart(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "world-start")
	fast := len(args) > 0 && args[0] == "-fast"
	if fast {
		args = args[1:]
	}
	if len(args) > 1 {
		ts.Fatalf("usage: world-start [-fast] [WORLD-FILE]")
	}
	sw := ts.Value(worldKey{}).(*scriptWorld)
	if sw.srv != nil {
		ts.Fatalf("world-start: a world is already running")
	}
	w := sim.DefaultWorld()
	if len(args) == 1 {
		var err error
		w, err = sim.LoadWorld(ts.MkAbs(args[0]))
		ts.Check(err)
	}
	sim.UserDelays.Fill(w)
	if fast {
		sim.Delays{}.Set(w)
	}
	srv, err := sim.Start(context.Background(), w, sim.WithTLS())
	ts.Check(err)
	sw.srv = srv

	specs := ts.MkAbs("specs")
	ts.Check(os.MkdirAll(specs, 0o755))
	ts.Check(os.WriteFile(filepath.Join(specs, "sim-ca.pem"), srv.CACertPEM(), 0o644))
	yaml, values := simClustersYAML(srv.Addresses(), "sim-ca.pem", func(name string) string {
		return "{env: " + envName(name) + "}"
	})
	ts.Check(os.WriteFile(filepath.Join(specs, "clusters.yaml"), []byte(yaml), 0o644))
	for name, v := range values {
		ts.Setenv(envName(name), v)
	}
	ts.Setenv("SPECS", specs)
	ts.Setenv("STATE_DIRECTORY", ts.MkAbs("state"))
}

// envName turns a secret name into the environment variable that holds
// it: es-ech-analytics → ES_ECH_ANALYTICS.
func envName(s string) string {
	return strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(s))
}

func cmdWorldSet(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "world-set")
	if len(args) < 3 {
		ts.Fatalf("usage: world-set CLUSTER KEY VALUE...")
	}
	var v any = args[2]
	if len(args) > 3 {
		v = args[2:]
	}
	ts.Check(world(ts).World.SetSetting(args[0], "persistent", args[1], v))
}

func cmdWorldUnset(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "world-unset")
	if len(args) != 2 {
		ts.Fatalf("usage: world-unset CLUSTER KEY")
	}
	ts.Check(world(ts).World.RemoveSetting(args[0], "persistent", args[1]))
}

func cmdWorldSettings(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "world-settings")
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: world-settings CLUSTER [ALIAS]")
	}
	m, err := world(ts).World.Settings(args[0], "persistent")
	ts.Check(err)
	prefix := "cluster.remote."
	if len(args) == 2 {
		prefix += args[1] + "."
	}
	stdout := ts.Stdout() // even when nothing is printed: stdout is then empty
	var lines []string
	for k, v := range m {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if list, ok := v.([]string); ok {
			v = "[" + strings.Join(list, ", ") + "]"
		}
		lines = append(lines, fmt.Sprintf("%s=%v", k, v))
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
}

func cmdWorldResetLog(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "world-reset-log")
	world(ts).World.ResetLog()
}

func cmdWorldWrites(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "world-writes")
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: world-writes N [TARGET]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	var writes []string
	for _, r := range world(ts).World.Requests() {
		if r.Method == "GET" || r.Method == "HEAD" {
			continue
		}
		if len(args) == 2 && r.Target != args[1] {
			continue
		}
		writes = append(writes, fmt.Sprintf("%s %s %s → %d", r.Target, r.Method, r.Path, r.Status))
	}
	if len(writes) != want {
		ts.Fatalf("%d write requests, want %d:\n\t%s", len(writes), want, strings.Join(writes, "\n\t"))
	}
}

func cmdWorldCount(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "world-count")
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: world-count N 'METHOD /path' [TARGET]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	target := ""
	if len(args) == 3 {
		target = args[2]
	}
	w := world(ts).World
	if got := w.CountRequests(target, args[1]); got != want {
		ts.Fatalf("%d requests %q to %q, want %d; the log counts:\n%s", got, args[1], target, want, sim.FormatCounts(w.RequestCounts()))
	}
}

func cmdWorldRequests(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "world-requests")
	if len(args) != 0 {
		ts.Fatalf("usage: world-requests")
	}
	fmt.Fprint(ts.Stdout(), sim.FormatCounts(world(ts).World.RequestCounts()))
}

func cmdWorldKeystore(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "world-keystore")
	if len(args) != 1 {
		ts.Fatalf("usage: world-keystore CLUSTER")
	}
	ks, err := world(ts).World.Keystore(args[0])
	ts.Check(err)
	stdout := ts.Stdout()
	for _, k := range slices.Sorted(maps.Keys(ks)) {
		fmt.Fprintln(stdout, k)
	}
}

func cmdWorldKeys(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "world-keys")
	if len(args) != 1 {
		ts.Fatalf("usage: world-keys CLUSTER")
	}
	st, ok := world(ts).World.State()[args[0]]
	if !ok {
		ts.Fatalf("no cluster %s in the world", args[0])
	}
	stdout := ts.Stdout()
	for _, k := range st.APIKeys {
		if k.Type != "cross_cluster" {
			continue
		}
		state := "active"
		switch {
		case k.Invalidated:
			state = "invalidated"
		case !k.Active:
			state = "expired"
		}
		fmt.Fprintf(stdout, "%s %s\n", k.Name, state)
	}
}

func cmdWorldFault(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "world-fault")
	if len(args) < 2 || len(args) > 4 {
		ts.Fatalf("usage: world-fault TARGET STATUS [METHOD [PATH]]")
	}
	status, err := strconv.Atoi(args[1])
	ts.Check(err)
	f := sim.Fault{Target: args[0], Kind: sim.FaultStatus, Status: status}
	if len(args) > 2 {
		f.Method = args[2]
	}
	if len(args) > 3 {
		f.Path = args[3]
	}
	_, err = world(ts).World.AddFault(f)
	ts.Check(err)
}

func cmdWorldClearFaults(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "world-clear-faults")
	world(ts).World.ClearFaults()
}

func cmdWorldLink(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: world-link LOCAL ALIAS")
	}
	st := world(ts).World.LinkStatus(args[0], args[1])
	switch {
	case st.Connected && neg:
		ts.Fatalf("link %s → %s is connected", args[0], args[1])
	case !st.Connected && !neg:
		ts.Fatalf("link %s → %s is not connected: %s (%s)", args[0], args[1], st.Cause, st.Reason)
	}
}

func cmdWorldHandmadeKey(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "world-handmade-key")
	if len(args) != 4 {
		ts.Fatalf("usage: world-handmade-key REMOTE LOCAL ALIAS ENV")
	}
	remote, local, alias, env := args[0], args[1], args[2], args[3]
	w := world(ts).World
	_, encoded, err := w.CreateCrossClusterKey(remote, "made-by-hand-"+alias, `{"search":[{"names":["*"]}]}`, 0)
	ts.Check(err)
	ts.Check(w.SetKeystore(local, "cluster.remote."+alias+".credentials", encoded))
	// The operator did this before esremote came: the platform has loaded
	// the keystore since (its load delay passes on the world's clock).
	w.Advance(sim.UserDelays.KeystoreReloadDelay)
	ts.Setenv(env, encoded)
}

func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "exitcode")
	if len(args) < 2 {
		ts.Fatalf("usage: exitcode N PROGRAM ARGS...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}
