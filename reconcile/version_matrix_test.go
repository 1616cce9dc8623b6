package reconcile

import (
	"strings"
	"testing"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// The flagship scenario's first apply (a managed cross-cluster key from
// an ECE deployment to an ECH deployment, its keystore entry, the alias
// and a role with remote_indices) against worlds whose clusters run the
// oldest version the sim models (8.14.0), the newest (9.4.2), and the two
// releases whose _resolve/cluster differs most (8.16.2 reports a refusal
// as connected:true; 8.17.2 fails fast on a connection that is down):
// the link comes up, with the writes it needs, and a second plan finds
// nothing to do.
func TestFlagshipFirstApplyAcrossVersions(t *testing.T) {
	for _, v := range []string{"8.14.0", "8.16.2", "8.17.2", "9.4.2"} {
		t.Run(v, func(t *testing.T) {
			w, err := sim.NewWorld(sim.WorldSpec{
				ControlPlanes: map[string]sim.ControlPlaneSpec{sim.PlatformECH: {}, sim.PlatformECE: {}},
				Clusters: []sim.ClusterSpec{
					{Name: "ech-analytics", Version: v, Platform: sim.PlatformECH, Indices: []string{"analytics-2026.11"}},
					{Name: "ece-prod-logs", Version: v, Platform: sim.PlatformECE, Indices: []string{"logs-app-2026.11.25", "archive-2025"}},
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			tw := newTestWorld(t, w)
			tw.write("conn.yaml", apiKeyConn)
			c := findConn(t, tw.pass(ModeApply).Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
			if c.Sync != drift.SyncCorrected || c.Health != drift.HealthConnected {
				t.Fatalf("first apply on %s: sync %s health %s error %q\nchanges %+v\nfindings %+v\nevidence %+v", v, c.Sync, c.Health, c.Error, c.Changes, c.Findings, c.Evidence)
			}
			if st := w.LinkStatus("ech-analytics", "ece-prod-logs"); !st.Connected || !st.Authorized {
				t.Errorf("the sim says the link is not up on %s: %+v", v, st)
			}
			writes := strings.Join(tw.writes(), "\n")
			for _, want := range []string{
				"POST ece-prod-logs /_security/cross_cluster/api_key",
				"PATCH ech ",
				"PUT ech-analytics /_cluster/settings",
				"PUT ech-analytics /_security/role/logs-remote-reader",
			} {
				if !strings.Contains(writes, want) {
					t.Errorf("first apply on %s did not write %q; writes:\n%s", v, want, writes)
				}
			}
			tw.srv.World.ResetLog()
			rep := tw.pass(ModePlan).Report(drift.TriggerPlan, "")
			if n := rep.PendingChanges(); n != 0 {
				t.Errorf("second plan on %s: %d changes: %+v", v, n, findConn(t, rep, "analytics-to-ece-logs").Changes)
			}
			if got := tw.writes(); len(got) != 0 {
				t.Errorf("plan on %s wrote %v", v, got)
			}
		})
	}
}
