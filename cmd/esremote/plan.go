package main

func init() {
	register("plan", &command{
		summary: "observe every target and show the changes apply would make; change nothing",
		usage:   "plan DIR [--format text|json|markdown] [--only NAME] [--state-dir DIR]",
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
	switch {
	case len(report.Errors) > 0 || report.Summary.Failed > 0:
		return exitError
	case report.Summary.Drifted > 0 || report.Summary.Corrected > 0:
		return exitChanges
	}
	return exitOK
}
