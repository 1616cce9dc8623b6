package reconcile

import (
	"strings"
	"testing"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// The API-key model needs 8.14 on both sides, remote_cluster privileges
// 8.15 on the local cluster: older clusters get an error naming the
// version found, and nothing is written for them.
func TestVersionGates(t *testing.T) {
	w, err := sim.NewWorld(sim.WorldSpec{
		ControlPlanes: map[string]sim.ControlPlaneSpec{sim.PlatformECH: {}, sim.PlatformECE: {}},
		Clusters: []sim.ClusterSpec{
			{Name: "old-local", Version: "8.13.4", Platform: sim.PlatformECH},
			{Name: "mid-local", Version: "8.14.3", Platform: sim.PlatformECH},
			{Name: "logs", Version: "8.19.3", Platform: sim.PlatformECE, Indices: []string{"logs-1"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tw := newTestWorld(t, w)
	conn := func(name, local string) string {
		return "---\napiVersion: esremote/v1\nkind: Connection\nname: " + name + "\nlocal: " + local + "\nalias: logs\nremote: {cluster: logs}\nsecurity: api_key\napi_key:\n  access: {search: [{names: [\"logs-*\"]}]}\nroles:\n  - name: reader\n    remote_indices: [{names: [\"logs-*\"], privileges: [read]}]\n    remote_cluster: [{privileges: [monitor_enrich]}]\n"
	}
	tw.write("conns.yaml", conn("old", "old-local")+conn("mid", "mid-local"))
	tw.srv.World.ResetLog()
	rep := tw.pass(ModeApply).Report(drift.TriggerApply, "")

	old := findConn(t, rep, "old")
	if old.Sync != drift.SyncFailed || !strings.Contains(old.Error, "8.14") || !strings.Contains(old.Error, "8.13.4") {
		t.Errorf("8.13 local: sync %s, error %q; want failed naming 8.14 and the version found", old.Sync, old.Error)
	}
	if n := len(tw.writesTo("old-local")); n != 0 {
		t.Errorf("%d writes to the 8.13 cluster", n)
	}
	mid := findConn(t, rep, "mid")
	var gate bool
	for _, f := range mid.Findings {
		gate = gate || (f.Code == CodeVersionTooOld && strings.Contains(f.Message, "8.15"))
	}
	if !gate {
		t.Errorf("8.14 local with remote_cluster privileges: no version_too_old finding: %+v", mid.Findings)
	}
	for _, ch := range mid.Changes {
		if ch.Resource == drift.ResourceRole {
			t.Errorf("the role needing 8.15 was planned on 8.14: %+v", ch)
		}
	}
}

// writesTo lists the write requests one target received since the last reset.
func (tw *testWorld) writesTo(target string) []string {
	var out []string
	for _, r := range tw.srv.Log() {
		if r.Target == target && r.Method != "GET" && r.Method != "HEAD" {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}
