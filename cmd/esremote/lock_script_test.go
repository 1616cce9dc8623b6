package main

// Testscript commands of the one-writer scripts (testdata/script/*_lock.txtar):
//
//	world-latency TARGET DURATION METHOD PATH  delay the next matching request by DURATION
//	state-held DIR COMMAND                     wait until DIR's writer lock is held by COMMAND
//	                                           ("esremote apply"); fail after 30s
//	world-doc-wait CLUSTER INDEX ID            wait until the cluster holds that document; fail after 30s

import (
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/esremote/esremote/reconcile/sim"
	"github.com/esremote/esremote/reconcile/statedir"
)

func init() {
	scriptCmds["world-latency"] = cmdWorldLatency
	scriptCmds["state-held"] = cmdStateHeld
	scriptCmds["world-doc-wait"] = cmdWorldDocWait
}

func cmdWorldDocWait(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "world-doc-wait")
	if len(args) != 3 {
		ts.Fatalf("usage: world-doc-wait CLUSTER INDEX ID")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, _, _, ok := world(ts).World.Document(args[0], args[1], args[2]); ok {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("no document %s/%s on %s after 30s", args[1], args[2], args[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func cmdWorldLatency(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "world-latency")
	if len(args) != 4 {
		ts.Fatalf("usage: world-latency TARGET DURATION METHOD PATH")
	}
	d, err := time.ParseDuration(args[1])
	ts.Check(err)
	_, err = world(ts).World.AddFault(sim.Fault{Target: args[0], Kind: sim.FaultLatency, Latency: d, Method: args[2], Path: args[3], Times: 1})
	ts.Check(err)
}

// cmdStateHeld polls the lock's holder record: the background process
// takes the lock at a moment the script cannot know otherwise.
func cmdStateHeld(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "state-held")
	if len(args) != 2 {
		ts.Fatalf("usage: state-held DIR COMMAND")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		h := statedir.ReadHolder(ts.MkAbs(args[0]))
		if h.Command == args[1] {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s is not held by %s after 30s (holder %+v)", args[0], args[1], h)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
