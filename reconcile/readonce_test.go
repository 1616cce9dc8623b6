package reconcile

import (
	"slices"
	"testing"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// bothWays is a topology where two deployments hold managed keys for each
// other (each is the local of one link and the remote of the other) plus
// a certificate link between them.
const bothWays = `apiVersion: esremote/v1
kind: Connection
name: analytics-to-logs
local: ech-analytics
alias: logs
remote: {cluster: ece-prod-logs}
security: api_key
api_key:
  managed: true
  access: {search: [{names: ["logs-*"]}]}
---
apiVersion: esremote/v1
kind: Connection
name: logs-to-analytics
local: ece-prod-logs
alias: analytics
remote: {cluster: ech-analytics}
security: api_key
api_key:
  managed: true
  access: {search: [{names: ["metrics-*"]}]}
---
apiVersion: esremote/v1
kind: Connection
name: analytics-to-logs-cert
local: ech-analytics
alias: logs-cert
remote: {cluster: ece-prod-logs}
security: certificate
`

// A pass reads each cluster's GET / once, whatever its roles (issue 22
// point 3: a cluster that is both a local and a remote was asked twice),
// and once it has written, it reads only the preconditions of its next
// writes (right before each: package execute) and to verify what it
// wrote.
func TestPassReadsEachClusterOnce(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("links.yaml", bothWays)
	for i, mode := range []Mode{ModeApply, ModeApply, ModePlan} {
		tw.srv.World.ResetLog()
		rep := tw.pass(mode).Report(drift.TriggerApply, "")
		if len(rep.Errors) > 0 {
			t.Fatalf("%s: %+v", mode, rep.Errors)
		}
		for _, c := range []string{"ech-analytics", "ece-prod-logs"} {
			if n := tw.srv.World.CountRequests(c, "GET /"); n != 1 {
				t.Errorf("%s: GET / sent %d times to %s, want once", mode, n, c)
			}
		}
		log := tw.srv.Log()
		first := slices.IndexFunc(log, func(r sim.Request) bool { return r.Method != "GET" && r.Method != "HEAD" })
		if first < 0 {
			if i == 0 {
				t.Fatal("the first apply wrote nothing: the test proves nothing")
			}
			continue
		}
		for _, c := range []string{"ech-analytics", "ece-prod-logs"} {
			if n := tw.srv.World.CountRequests(c, "GET /_cluster/settings"); n > 2 {
				t.Errorf("%s: GET /_cluster/settings sent %d times to %s: once to observe, once as the PUT's precondition", mode, n, c)
			}
		}
		for _, r := range log[first:] {
			if r.Method == "GET" && !verification(r) && !precondition(r) {
				t.Errorf("%s: an observation read after the first write (%s %s): %s %s",
					mode, log[first].Method, log[first].Path, r.Target, r.Endpoint)
			}
		}
	}
}

// precondition reports whether a read is a step's precondition, read
// right before its write (package execute).
func precondition(r sim.Request) bool {
	for _, e := range []string{"GET /_cluster/settings", "GET /_security/role/{name}", "GET /_security/api_key", "GET /api/v1/deployments/{id}"} {
		if r.Endpoint == e {
			return true
		}
	}
	return false
}

// verification reports whether a read checks what the pass wrote: the
// link's socket state, a request carrying its credential, a settings
// read-back after a write that may have committed.
func verification(r sim.Request) bool {
	for _, e := range []string{"GET /_remote/info", "GET /_resolve/cluster/{expr}"} {
		if r.Endpoint == e {
			return true
		}
	}
	return false
}
