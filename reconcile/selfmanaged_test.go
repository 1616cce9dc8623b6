package reconcile

import (
	"fmt"
	"strings"
	"testing"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// A self-managed local with a hand-made key: esremote cannot write its
// keystore, so apply reports action_required with the exact command; once
// the operator has added the key, apply reloads the secure settings and
// the link connects.
func TestSelfManagedHandMadeKey(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	ece, _ := tw.srv.World.Cluster("ece-prod-logs")
	_, encoded, err := tw.srv.World.CreateCrossClusterKey("ece-prod-logs", "onprem-by-hand", `{"search":[{"names":["logs-*"]}]}`, 0)
	if err != nil {
		t.Fatal(err)
	}
	tw.env["ONPREM_CCS_KEY"] = encoded
	tw.write("conn.yaml", fmt.Sprintf(`apiVersion: esremote/v1
kind: Connection
name: onprem-to-ece-logs
local: onprem-search
alias: ece-logs
remote:
  proxy_address: %[1]s:9443
  server_name: %[1]s
security: api_key
api_key:
  managed: false
  credentials: {env: ONPREM_CCS_KEY}
settings:
  skip_unavailable: true
`, ece.Endpoint))

	c := findConn(t, tw.pass(ModeApply).Report(drift.TriggerApply, ""), "onprem-to-ece-logs")
	var fix string
	for _, f := range c.Findings {
		if f.Code == CodeActionRequired {
			fix = f.Fix
		}
	}
	if c.Health != drift.HealthDisconnected || fix == "" {
		t.Fatalf("want disconnected with action_required: %s %+v", c.Health, c.Findings)
	}
	if want := "bin/elasticsearch-keystore add cluster.remote.ece-logs.credentials"; !strings.Contains(fix, want) {
		t.Fatalf("fix %q does not give the command %q", fix, want)
	}

	// The report of a later pass names the cause from its own reads.
	c = findConn(t, tw.pass(ModePlan).Report(drift.TriggerPlan, ""), "onprem-to-ece-logs")
	var cause string
	for _, f := range c.Findings {
		if f.Code == CodeDisconnected {
			cause = f.Message
		}
	}
	if !strings.Contains(cause, "no_credentials") {
		t.Fatalf("no link_disconnected finding naming the missing credentials: %+v", c.Findings)
	}

	// The operator adds the key on the nodes; the next apply reloads.
	if err := tw.srv.World.SetKeystore("onprem-search", "cluster.remote.ece-logs.credentials", encoded); err != nil {
		t.Fatal(err)
	}
	c = findConn(t, tw.pass(ModeApply).Report(drift.TriggerApply, ""), "onprem-to-ece-logs")
	if c.Health != drift.HealthConnected || len(c.Findings) != 0 {
		t.Fatalf("after the operator's keystore add: %s %+v", c.Health, c.Findings)
	}
	if n := tw.srv.World.CountRequests("onprem-search", "POST /_nodes/reload_secure_settings"); n != 2 {
		t.Fatalf("%d reloads, want one per apply that found the credentials missing (2)", n)
	}
}

// A reload that fails is an error finding that names the cause, and the
// action_required finding stays.
func TestSelfManagedReloadFailure(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	ece, _ := tw.srv.World.Cluster("ece-prod-logs")
	_, encoded, err := tw.srv.World.CreateCrossClusterKey("ece-prod-logs", "onprem-by-hand", `{"search":[{"names":["logs-*"]}]}`, 0)
	if err != nil {
		t.Fatal(err)
	}
	tw.env["ONPREM_CCS_KEY"] = encoded
	tw.write("conn.yaml", fmt.Sprintf("apiVersion: esremote/v1\nkind: Connection\nname: onprem-to-ece-logs\nlocal: onprem-search\nalias: ece-logs\nremote:\n  proxy_address: %[1]s:9443\n  server_name: %[1]s\nsecurity: api_key\napi_key:\n  managed: false\n  credentials: {env: ONPREM_CCS_KEY}\n", ece.Endpoint))
	if _, err := tw.srv.Fault(sim.Fault{Target: "onprem-search", Method: "POST", Path: "/_nodes/reload_secure_settings", Kind: sim.FaultStatus, Status: 500}); err != nil {
		t.Fatal(err)
	}
	c := findConn(t, tw.pass(ModeApply).Report(drift.TriggerApply, ""), "onprem-to-ece-logs")
	codes := map[string]string{}
	for _, f := range c.Findings {
		codes[f.Code] = f.Message
	}
	if !strings.Contains(codes[CodeReloadFailed], "500") || codes[CodeActionRequired] == "" {
		t.Fatalf("want reload_failed naming the 500 and action_required: %+v", c.Findings)
	}
}
