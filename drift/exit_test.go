package drift

import "testing"

// plan exits 2 whenever apply would write. A contested connection whose
// changes apply still writes (plan of a second installation: "2 to add,
// 1 connection contested") exited 0, so a CI gate on plan's exit code
// let those writes through unseen; its held changes (error set) are not
// pending.
func TestPlanExit(t *testing.T) {
	pending := Change{Resource: "keystore", Key: "cluster.remote.a.credentials", Action: "create"}
	contestedByOther := Finding{Severity: SeverityError, Code: CodeContestedByOther}
	held := Change{Resource: "cluster_setting", Key: "cluster.remote.a.mode", Action: "update",
		Error: "contested: not rewritten until the spec or the live value changes"}
	failed := Change{Resource: "cluster_setting", Key: "cluster.remote.a.skip_unavailable", Action: "create",
		Error: "conflict: the live object was not created by esremote; not written"}
	for _, tc := range []struct {
		name string
		conn Connection
		want int
	}{
		{"in sync", Connection{Sync: SyncInSync, Policy: "enforce"}, ExitOK},
		{"drifted", Connection{Sync: SyncDrifted, Policy: "enforce", Changes: []Change{pending}}, ExitChanges},
		{"drifted, report policy", Connection{Sync: SyncDrifted, Policy: "report", Changes: []Change{pending}}, ExitOK},
		{"contested with a change apply writes", Connection{Sync: SyncContested, Policy: "enforce", Changes: []Change{pending}}, ExitChanges},
		{"contested, every change held", Connection{Sync: SyncContested, Policy: "enforce", Changes: []Change{held}}, ExitOK},
		{"contested, report policy", Connection{Sync: SyncContested, Policy: "report", Changes: []Change{pending}}, ExitOK},
		{"failed", Connection{Sync: SyncFailed, Policy: "enforce"}, ExitError},
		// A conflict fails its changes in a drifted connection: "0 to add,
		// 0 to change, 0 to delete. 2 failed" exited 2, which CI reads as
		// changes pending, though apply cannot write them.
		{"drifted, every change failed", Connection{Sync: SyncDrifted, Policy: "enforce", Changes: []Change{failed}}, ExitError},
		{"drifted, a change failed, another pending", Connection{Sync: SyncDrifted, Policy: "enforce", Changes: []Change{pending, failed}}, ExitError},
		// Issue 22 point 5: an error-level finding exits 1 (a second
		// installation's plan exited 0 with contested_by_other_installation).
		{"contested by another installation", Connection{Sync: SyncContested, Policy: "enforce", Findings: []Finding{contestedByOther}}, ExitError},
		{"in sync with an error-level finding", Connection{Sync: SyncInSync, Policy: "enforce", Findings: []Finding{contestedByOther}}, ExitError},
		{"error-level finding, report policy", Connection{Sync: SyncInSync, Policy: "report", Findings: []Finding{contestedByOther}}, ExitError},
		{"warning finding", Connection{Sync: SyncInSync, Policy: "enforce", Findings: []Finding{{Severity: SeverityWarning, Code: CodeInsecureSkipVerify}}}, ExitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := &Report{Connections: []Connection{tc.conn}}
			if tc.conn.Sync == SyncFailed {
				rep.Summary.Failed = 1
			}
			if got := PlanExit(rep); got != tc.want {
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
		conn Connection
		want int
	}{
		{"in sync, connected", Connection{Sync: SyncInSync, Policy: "enforce", Health: HealthConnected}, ExitOK},
		{"corrected, disconnected", Connection{Sync: SyncCorrected, Policy: "enforce", Health: HealthDisconnected}, ExitUnconnected},
		{"drifted", Connection{Sync: SyncDrifted, Policy: "enforce"}, ExitError},
		{"contested by another installation", Connection{Sync: SyncContested, Policy: "enforce", Health: HealthConnected,
			Findings: []Finding{{Severity: SeverityError, Code: CodeContestedByOther}}}, ExitError},
		{"error finding on a disabled connection", Connection{Sync: SyncInSync, Policy: "disabled",
			Findings: []Finding{{Severity: SeverityError, Code: "x"}}}, ExitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := &Report{Connections: []Connection{tc.conn}}
			rep.Tally()
			if got := ApplyExit(rep); got != tc.want {
				t.Fatalf("exit %d, want %d", got, tc.want)
			}
		})
	}
}
