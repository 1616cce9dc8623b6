package main

func init() {
	register("version", &command{
		summary: "print version and build info",
		usage:   "version",
		run:     cmdVersion,
	})
}

func cmdVersion(c *cli, args []string) int { return c.notYet("version") }
