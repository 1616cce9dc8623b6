package main

func init() {
	register("validate", &command{
		summary: "load and check every spec offline",
		usage:   "validate DIR [--format text|json]",
		run:     cmdValidate,
	})
}

func cmdValidate(c *cli, args []string) int { return c.notYet("validate") }
