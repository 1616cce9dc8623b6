package main

import (
	"github.com/spf13/pflag"

	"github.com/esremote/esremote/drift"
)

func init() {
	register("apply", &command{
		summary:  "one reconcile pass: apply the changes, verify the links, report",
		usage:    "apply DIR [--format text|json|markdown] [--only NAME] [--state-dir DIR] [--verify-timeout 10s] [--lock-timeout 0s] [--plan FILE]",
		flags:    cmdApply,
		exits:    "0 converged and every link connected, 3 converged but a link is not connected, 1 error, conflict, error-level finding, stale plan or unconverged",
		values:   map[string][]string{"format": {"text", "json", "markdown"}},
		complete: dirArgs(1),
	})
}

// cmdApply exits 0 when every target converged and every link is
// connected, 3 when it converged but a link is not connected, and 1 on an
// error, an error-level finding, or when something did not converge.
func cmdApply(fs *pflag.FlagSet) runFunc {
	var pf passFlags
	pf.declare("apply", fs)
	return func(c *cli, args []string) int {
		res, report, code := c.runPass("apply", pf, args, "apply")
		if res == nil {
			return code
		}
		return drift.ApplyExit(report)
	}
}
