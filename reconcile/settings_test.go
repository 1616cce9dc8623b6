package reconcile

import (
	"testing"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

const proxyConn = `apiVersion: esremote/v1
kind: Connection
name: analytics-to-onprem
local: ech-analytics
alias: onprem
remote:
  proxy_address: onprem-search.sim:9300
  server_name: onprem-search.sim
security: certificate
settings:
  skip_unavailable: true
  proxy_socket_connections: 6
`

func TestSettingsPlanApplyPlan(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("conn.yaml", proxyConn)

	res := tw.pass(ModePlan)
	rep := res.Report(drift.TriggerPlan, "")
	if got := rep.PendingChanges(); got != 5 {
		t.Fatalf("first plan: %d pending changes, want 5 (mode, proxy_address, server_name, sockets, skip_unavailable)\n%+v", got, rep.Connections)
	}
	if w := tw.writes(); len(w) != 0 {
		t.Fatalf("plan wrote: %v", w)
	}

	res = tw.pass(ModeApply)
	rep = res.Report(drift.TriggerApply, "")
	if rep.Summary.Corrected != 1 {
		t.Fatalf("apply: %+v", rep.Summary)
	}
	got, _ := tw.srv.World.Settings("ech-analytics", "persistent")
	if got["cluster.remote.onprem.proxy_address"] != "onprem-search.sim:9300" {
		t.Fatalf("settings after apply: %v", got)
	}

	tw.srv.World.ResetLog()
	rep = tw.pass(ModePlan).Report(drift.TriggerPlan, "")
	if rep.PendingChanges() != 0 || rep.Summary.InSync != 1 {
		t.Fatalf("second plan not in sync: %+v %+v", rep.Summary, rep.Connections)
	}
	if w := tw.writes(); len(w) != 0 {
		t.Fatalf("second plan wrote: %v", w)
	}
}

// A transient value of a managed alias overrides the persistent one
// esremote writes: it is reported as external drift and removed in the
// same single PUT.
func TestTransientOverrideRemoved(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("conn.yaml", proxyConn)
	tw.pass(ModeApply)
	if err := tw.srv.World.SetSetting("ech-analytics", "transient", "cluster.remote.onprem.skip_unavailable", "false"); err != nil {
		t.Fatal(err)
	}
	rep := tw.pass(ModePlan).Report(drift.TriggerPlan, "")
	c := findConn(t, rep, "analytics-to-onprem")
	if len(c.Changes) != 1 || c.Changes[0].Origin != drift.OriginExternal || c.Changes[0].Action != drift.ActionDelete {
		t.Fatalf("transient override not reported as external drift: %+v", c.Changes)
	}
	tw.srv.World.ResetLog()
	c = findConn(t, tw.pass(ModeApply).Report(drift.TriggerApply, ""), "analytics-to-onprem")
	if c.Sync != drift.SyncCorrected {
		t.Fatalf("not corrected: %+v", c)
	}
	if n := tw.srv.World.CountRequests("ech-analytics", "PUT /_cluster/settings"); n != 1 {
		t.Fatalf("%d PUTs, want 1", n)
	}
	if got, _ := tw.srv.World.Settings("ech-analytics", "transient"); len(got) != 0 {
		t.Fatalf("transient settings left: %v", got)
	}
}
