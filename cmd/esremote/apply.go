package main

import "github.com/esremote/esremote/drift"

func init() {
	register("apply", &command{
		summary: "one reconcile pass: apply the changes, verify the links, report",
		usage:   "apply DIR [--format text|json|markdown] [--only NAME] [--state-dir DIR] [--verify-timeout 10s] [--lock-timeout 0s] [--plan FILE]",
		run:     cmdApply,
	})
}

// cmdApply exits 0 when every target converged and every link is
// connected, 3 when it converged but a link is not connected, and 1 on an
// error or when something did not converge.
func cmdApply(c *cli, args []string) int {
	res, report, code := c.runPass("apply", args, "apply")
	if res == nil {
		return code
	}
	if len(report.Errors) > 0 || report.Summary.Failed > 0 {
		return exitError
	}
	for _, conn := range report.Connections {
		if conn.Sync == drift.SyncDrifted && conn.Policy == "enforce" {
			return exitError
		}
	}
	if report.Summary.Unhealthy > 0 {
		return exitUnconnected
	}
	return exitOK
}
