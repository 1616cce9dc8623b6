package main

func init() {
	register("status", &command{
		summary: "ask a running daemon for its last report",
		usage:   "status [--listen ADDR]",
		run:     cmdStatus,
	})
}

func cmdStatus(c *cli, args []string) int { return c.notYet("status") }
