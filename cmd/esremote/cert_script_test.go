package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/esremote/esremote/reconcile/sim"
	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["world-trust"] = cmdWorldTrust
	scriptCmds["world-untrust"] = cmdWorldUntrust
}

// world-trust CLUSTER prints the trust of a cluster's deployment, one
// entry a line: "account ID NAME all|ids", "direct TYPE SCOPE NAME all|ids".
func cmdWorldTrust(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "world-trust")
	if len(args) != 1 {
		ts.Fatalf("usage: world-trust CLUSTER")
	}
	tr, err := world(ts).World.Trust(args[0])
	ts.Check(err)
	ids := func(all bool, list []string) string {
		if all {
			return "all"
		}
		return strings.Join(slices.Sorted(slices.Values(list)), ",")
	}
	for _, a := range tr.Accounts {
		fmt.Fprintf(ts.Stdout(), "account %s %q %s\n", a.AccountID, a.Name, ids(a.TrustAll, a.TrustAllowlist))
	}
	for _, d := range tr.Direct {
		fmt.Fprintf(ts.Stdout(), "direct %s %s %q %s\n", d.Type, d.ScopeID, d.Name, ids(d.TrustAll, d.TrustAllowlist))
	}
}

// world-untrust CLUSTER TYPE removes the direct trust entries of a type
// from a deployment, as an operator on its Security page would.
func cmdWorldUntrust(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "world-untrust")
	if len(args) != 2 {
		ts.Fatalf("usage: world-untrust CLUSTER TYPE")
	}
	w := world(ts).World
	tr, err := w.Trust(args[0])
	ts.Check(err)
	tr.Direct = slices.DeleteFunc(tr.Direct, func(d sim.DirectTrust) bool { return d.Type == args[1] })
	ts.Check(w.SetTrust(args[0], *tr))
}
