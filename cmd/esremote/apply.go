package main

func init() {
	register("apply", &command{
		summary: "one reconcile pass: apply, verify, report",
		usage:   "apply DIR [--format text|json] [--only NAME] [--state-dir DIR]",
		run:     cmdApply,
	})
}

func cmdApply(c *cli, args []string) int { return c.notYet("apply") }
