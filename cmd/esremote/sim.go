package main

func init() {
	register("sim", &command{
		summary: "serve a simulated ECH + ECE world on loopback",
		usage:   "sim [--world FILE] [--addr-file FILE] [--tls]",
		run:     cmdSim,
	})
}

func cmdSim(c *cli, args []string) int { return c.notYet("sim") }
