package main

import (
	"slices"

	"github.com/spf13/pflag"

	"github.com/esremote/esremote/drift"
)

func init() {
	register("plan", &command{
		summary:  "observe every target and show the changes apply would make; change nothing",
		usage:    "plan DIR [--format text|json|markdown] [--only NAME] [--state-dir DIR] [--request-timeout 30s] [--out FILE]",
		flags:    cmdPlan,
		exits:    "0 in sync, 2 changes pending, 1 error or an error-level finding",
		values:   map[string][]string{"format": {"text", "json", "markdown"}},
		complete: dirArgs(1),
	})
}

// cmdPlan exits 0 when everything is in sync, 2 when changes are pending
// (like terraform plan -detailed-exitcode) and 1 on any error or
// error-level finding.
func cmdPlan(fs *pflag.FlagSet) runFunc {
	var pf passFlags
	pf.declare("plan", fs)
	return func(c *cli, args []string) int {
		res, report, code := c.runPass("plan", pf, args, "plan")
		if res == nil {
			return code
		}
		return planExit(report)
	}
}

// planExit is plan's exit code for its report. "Changes pending" means
// apply would write: drift on a report-policy connection is shown but
// never written, so it alone exits 0. A contested connection still has
// changes apply writes (a contested setting is rewritten until it is held,
// a key of another installation is replaced): those are pending too; the
// held ones carry their reason as an error and are not.
//
// A failure is never "changes pending": a change plan already knows apply
// cannot write (a conflict: "0 to add, 0 to change, 0 to delete. 2
// failed") exits 1, whatever else is pending, as any error does; CI reads
// 2 as "review and apply", which cannot fix it.
func planExit(report *drift.Report) int {
	if len(report.Errors) > 0 || report.Summary.Failed > 0 || report.ErrorFindings() > 0 {
		return exitError
	}
	for _, conn := range report.Connections {
		if conn.Policy != "report" && conn.Sync == drift.SyncDrifted && slices.ContainsFunc(conn.Changes, changeFailed) {
			return exitError
		}
	}
	for _, conn := range report.Connections {
		if conn.Policy == "report" {
			continue
		}
		switch conn.Sync {
		case drift.SyncDrifted:
			if slices.ContainsFunc(conn.Changes, drift.Change.Pending) || len(conn.Changes) == 0 {
				return exitChanges
			}
		case drift.SyncContested:
			for _, ch := range conn.Changes {
				if ch.Pending() {
					return exitChanges
				}
			}
		}
	}
	return exitOK
}

// changeFailed is a change of a drifted connection that plan already
// knows apply will not write (its Error says why: a conflict, a refused
// credential). A contested connection's held changes carry an error too,
// but they are held by design, not failed.
func changeFailed(ch drift.Change) bool { return !ch.Applied && ch.Error != "" }
