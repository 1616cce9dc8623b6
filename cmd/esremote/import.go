package main

func init() {
	register("import", &command{
		summary: "bring existing remote clusters under management",
		usage:   "import DIR --cluster NAME [--alias A]...",
		run:     cmdImport,
	})
}

func cmdImport(c *cli, args []string) int { return c.notYet("import") }
