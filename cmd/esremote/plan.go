package main

func init() {
	register("plan", &command{
		summary: "show the changes apply would make",
		usage:   "plan DIR [--format text|json] [--only NAME] [--state-dir DIR]",
		run:     cmdPlan,
	})
}

func cmdPlan(c *cli, args []string) int { return c.notYet("plan") }
