package main

import "github.com/esremote/esremote/drift"

func init() {
	register("plan", &command{
		summary: "observe every target and show the changes apply would make; change nothing",
		usage:   "plan DIR [--format text|json|markdown] [--only NAME] [--state-dir DIR] [--out FILE]",
		run:     cmdPlan,
	})
}

// cmdPlan exits 0 when everything is in sync, 2 when changes are pending
// (like terraform plan -detailed-exitcode) and 1 on any error.
func cmdPlan(c *cli, args []string) int {
	res, report, code := c.runPass("plan", args, "plan")
	if res == nil {
		return code
	}
	if len(report.Errors) > 0 || report.Summary.Failed > 0 {
		return exitError
	}
	// "Changes pending" means apply would write: drift on a report-policy
	// connection is shown but never written, so it alone exits 0.
	for _, conn := range report.Connections {
		if conn.Sync == drift.SyncDrifted && conn.Policy != "report" {
			return exitChanges
		}
	}
	return exitOK
}
