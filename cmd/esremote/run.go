package main

func init() {
	register("run", &command{
		summary: "the daemon: watch, reconcile, report, alert",
		usage:   "run DIR [--listen ADDR] [--state-dir DIR]",
		run:     cmdRun,
	})
}

func cmdRun(c *cli, args []string) int { return c.notYet("run") }
