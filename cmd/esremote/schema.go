package main

func init() {
	register("schema", &command{
		summary: "print the JSON Schema of the spec files",
		usage:   "schema",
		run:     cmdSchema,
	})
}

func cmdSchema(c *cli, args []string) int { return c.notYet("schema") }
