package main

func init() {
	register("demo", &command{
		summary: "the guided tour on the built-in simulated world",
		usage:   "demo",
		run:     cmdDemo,
	})
}

func cmdDemo(c *cli, args []string) int { return c.notYet("demo") }
