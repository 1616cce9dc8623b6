package drift

import "slices"

// Exit codes shared by every command (DESIGN §2), and the rules that pick
// plan's and apply's from a report: part of the vocabulary, so that the
// command, the examples' tests and the docs use one rule.
const (
	ExitOK          = 0
	ExitError       = 1 // invalid input, an error, or an unconverged apply
	ExitChanges     = 2 // plan: changes pending
	ExitUnconnected = 3 // apply: converged but a link is not connected
)

// PlanExit is esremote plan's exit code for its report. "Changes pending" means
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
func PlanExit(report *Report) int {
	if len(report.Errors) > 0 || report.Summary.Failed > 0 || report.ErrorFindings() > 0 {
		return ExitError
	}
	for _, conn := range report.Connections {
		if conn.Policy != "report" && conn.Sync == SyncDrifted && slices.ContainsFunc(conn.Changes, changeFailed) {
			return ExitError
		}
	}
	for _, conn := range report.Connections {
		if conn.Policy == "report" {
			continue
		}
		switch conn.Sync {
		case SyncDrifted:
			if slices.ContainsFunc(conn.Changes, Change.Pending) || len(conn.Changes) == 0 {
				return ExitChanges
			}
		case SyncContested:
			for _, ch := range conn.Changes {
				if ch.Pending() {
					return ExitChanges
				}
			}
		}
	}
	return ExitOK
}

// changeFailed is a change of a drifted connection that plan already
// knows apply will not write (its Error says why: a conflict, a refused
// credential). A contested connection's held changes carry an error too,
// but they are held by design, not failed.
func changeFailed(ch Change) bool { return !ch.Applied && ch.Error != "" }

// ApplyExit is esremote apply's exit code for its report: 1 on an error, a
// failed connection, an error-level finding or enforced drift left
// uncorrected; 3 when it converged but a link is not connected; else 0.
func ApplyExit(report *Report) int {
	if len(report.Errors) > 0 || report.Summary.Failed > 0 || report.ErrorFindings() > 0 {
		return ExitError
	}
	for _, conn := range report.Connections {
		if conn.Sync == SyncDrifted && conn.Policy == "enforce" {
			return ExitError
		}
	}
	if report.Summary.Unhealthy > 0 {
		return ExitUnconnected
	}
	return ExitOK
}
