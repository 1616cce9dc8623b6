package main

import (
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
		return drift.PlanExit(report)
	}
}
