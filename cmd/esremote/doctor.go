package main

func init() {
	register("doctor", &command{
		summary: "diagnose one connection step by step",
		usage:   "doctor DIR NAME [--format text|json]",
		run:     cmdDoctor,
	})
}

func cmdDoctor(c *cli, args []string) int { return c.notYet("doctor") }
