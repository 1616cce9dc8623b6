package main

import (
	"testing"

	"github.com/esremote/esremote/drift"
)

// plan exits 2 whenever apply would write. A contested connection whose
// changes apply still writes (plan of a second installation: "2 to add,
// 1 connection contested") exited 0, so a CI gate on plan's exit code
// let those writes through unseen; its held changes (error set) are not
// pending.
func TestPlanExit(t *testing.T) {
	pending := drift.Change{Resource: "keystore", Key: "cluster.remote.a.credentials", Action: "create"}
	contestedByOther := drift.Finding{Severity: drift.SeverityError, Code: "contested_by_other_installation"}
	held := drift.Change{Resource: "cluster_setting", Key: "cluster.remote.a.mode", Action: "update",
		Error: "contested: not rewritten until the spec or the live value changes"}
	failed := drift.Change{Resource: "cluster_setting", Key: "cluster.remote.a.skip_unavailable", Action: "create",
		Error: "conflict: the live object was not created by esremote; not written"}
	for _, tc := range []struct {
		name string
		conn drift.Connection
		want int
	}{
		{"in sync", drift.Connection{Sync: drift.SyncInSync, Policy: "enforce"}, exitOK},
		{"drifted", drift.Connection{Sync: drift.SyncDrifted, Policy: "enforce", Changes: []drift.Change{pending}}, exitChanges},
		{"drifted, report policy", drift.Connection{Sync: drift.SyncDrifted, Policy: "report", Changes: []drift.Change{pending}}, exitOK},
		{"contested with a change apply writes", drift.Connection{Sync: drift.SyncContested, Policy: "enforce", Changes: []drift.Change{pending}}, exitChanges},
		{"contested, every change held", drift.Connection{Sync: drift.SyncContested, Policy: "enforce", Changes: []drift.Change{held}}, exitOK},
		{"contested, report policy", drift.Connection{Sync: drift.SyncContested, Policy: "report", Changes: []drift.Change{pending}}, exitOK},
		{"failed", drift.Connection{Sync: drift.SyncFailed, Policy: "enforce"}, exitError},
		// A conflict fails its changes in a drifted connection: "0 to add,
		// 0 to change, 0 to delete. 2 failed" exited 2, which CI reads as
		// changes pending, though apply cannot write them.
		{"drifted, every change failed", drift.Connection{Sync: drift.SyncDrifted, Policy: "enforce", Changes: []drift.Change{failed}}, exitError},
		{"drifted, a change failed, another pending", drift.Connection{Sync: drift.SyncDrifted, Policy: "enforce", Changes: []drift.Change{pending, failed}}, exitError},
		// Issue 22 point 5: an error-level finding exits 1 (a second
		// installation's plan exited 0 with contested_by_other_installation).
		{"contested by another installation", drift.Connection{Sync: drift.SyncContested, Policy: "enforce", Findings: []drift.Finding{contestedByOther}}, exitError},
		{"in sync with an error-level finding", drift.Connection{Sync: drift.SyncInSync, Policy: "enforce", Findings: []drift.Finding{contestedByOther}}, exitError},
		{"error-level finding, report policy", drift.Connection{Sync: drift.SyncInSync, Policy: "report", Findings: []drift.Finding{contestedByOther}}, exitError},
		{"warning finding", drift.Connection{Sync: drift.SyncInSync, Policy: "enforce", Findings: []drift.Finding{{Severity: drift.SeverityWarning, Code: "insecure_skip_verify"}}}, exitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := &drift.Report{Connections: []drift.Connection{tc.conn}}
			if tc.conn.Sync == drift.SyncFailed {
				rep.Summary.Failed = 1
			}
			if got := planExit(rep); got != tc.want {
				t.Fatalf("exit %d, want %d", got, tc.want)
			}
		})
	}
}

// apply exits 1 on an error-level finding too, whatever the sync and
// health of the connection (issue 22 point 5).
func TestApplyExit(t *testing.T) {
	for _, tc := range []struct {
		name string
		conn drift.Connection
		want int
	}{
		{"in sync, connected", drift.Connection{Sync: drift.SyncInSync, Policy: "enforce", Health: drift.HealthConnected}, exitOK},
		{"corrected, disconnected", drift.Connection{Sync: drift.SyncCorrected, Policy: "enforce", Health: drift.HealthDisconnected}, exitUnconnected},
		{"drifted", drift.Connection{Sync: drift.SyncDrifted, Policy: "enforce"}, exitError},
		{"contested by another installation", drift.Connection{Sync: drift.SyncContested, Policy: "enforce", Health: drift.HealthConnected,
			Findings: []drift.Finding{{Severity: drift.SeverityError, Code: "contested_by_other_installation"}}}, exitError},
		{"error finding on a disabled connection", drift.Connection{Sync: drift.SyncInSync, Policy: "disabled",
			Findings: []drift.Finding{{Severity: drift.SeverityError, Code: "x"}}}, exitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := &drift.Report{Connections: []drift.Connection{tc.conn}}
			rep.Tally()
			if got := applyExit(rep); got != tc.want {
				t.Fatalf("exit %d, want %d", got, tc.want)
			}
		})
	}
}
