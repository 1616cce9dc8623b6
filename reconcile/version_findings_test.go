package reconcile

import (
	"strings"
	"testing"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// Features a cluster's version lacks are findings naming the version
// needed, decided before any write: a role with remote_indices on 8.13, a
// role with monitor_stats on 8.16.2, an api_key link whose remote runs
// 8.13. None of them is written, so no write fails with Elasticsearch's
// 400.
func TestVersionFindingsBeforeAnyWrite(t *testing.T) {
	w, err := sim.NewWorld(sim.WorldSpec{
		ControlPlanes: map[string]sim.ControlPlaneSpec{sim.PlatformECH: {}, sim.PlatformECE: {}},
		Clusters: []sim.ClusterSpec{
			{Name: "old-local", Version: "8.13.4", Platform: sim.PlatformSelfManaged},
			{Name: "stats-local", Version: "8.16.2", Platform: sim.PlatformECH},
			{Name: "new-local", Version: "9.4.2", Platform: sim.PlatformECH},
			{Name: "old-remote", Version: "8.13.4", Platform: sim.PlatformECE, Indices: []string{"logs-1"}},
			{Name: "logs", Version: "9.4.2", Platform: sim.PlatformECE, Indices: []string{"logs-1"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tw := newTestWorld(t, w)
	tw.fast("its subject is not the platform's delays: the keystore load delay is TestRotationByProofWithKeystoreReloadDelay's subject, the 10 s connect wait per settings PUT toward an address that answers nothing TestSettingsPutConnectWaitNeitherMisreportsNorWritesTwice's")
	tw.write("conns.yaml", `apiVersion: esremote/v1
kind: Connection
name: ri-on-813
local: old-local
alias: logs
remote: {proxy_address: "logs.example.com:9300", server_name: logs.example.com}
security: certificate
roles:
  - name: reader
    remote_indices: [{names: ["logs-*"], privileges: [read]}]
---
apiVersion: esremote/v1
kind: Connection
name: stats-on-8162
local: stats-local
alias: logs
remote: {cluster: logs}
security: api_key
api_key:
  access: {search: [{names: ["logs-*"]}]}
roles:
  - name: stats
    remote_cluster: [{privileges: [monitor_stats]}]
---
apiVersion: esremote/v1
kind: Connection
name: key-to-813
local: new-local
alias: old
remote: {cluster: old-remote}
security: api_key
api_key:
  access: {search: [{names: ["logs-*"]}]}
`)
	tw.srv.World.ResetLog()
	rep := tw.pass(ModeApply).Report(drift.TriggerApply, "")
	for _, tc := range []struct{ conn, need, cluster string }{
		{"ri-on-813", "8.14", "old-local"},
		{"stats-on-8162", "8.17", "stats-local"},
		{"key-to-813", "8.14", "old-remote"},
	} {
		c := findConn(t, rep, tc.conn)
		var found bool
		for _, f := range c.Findings {
			found = found || f.Code == CodeVersionTooOld && strings.Contains(f.Message, tc.need) && strings.Contains(f.Message, tc.cluster)
		}
		if !found {
			t.Errorf("%s: no version_too_old finding naming %s and %s: %+v", tc.conn, tc.need, tc.cluster, c.Findings)
		}
		for _, ch := range c.Changes {
			if ch.Resource == drift.ResourceRole || ch.Resource == drift.ResourceAPIKey && tc.conn == "key-to-813" {
				t.Errorf("%s: %s %s planned although the version lacks it", tc.conn, ch.Resource, ch.Key)
			}
		}
	}
	for _, r := range tw.srv.Log() {
		if r.Method != "GET" && r.Method != "HEAD" && r.Status >= 400 {
			t.Errorf("a write failed: %s %s %s → %d", r.Target, r.Method, r.Path, r.Status)
		}
		if r.Method != "GET" && (strings.Contains(r.Path, "/_security/role/") || r.Target == "old-remote") {
			t.Errorf("written although the version lacks it: %s %s %s", r.Target, r.Method, r.Path)
		}
	}
}
