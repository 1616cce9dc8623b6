package main

import "github.com/esremote/esremote/spec"

func init() {
	register("schema", &command{
		summary: "print the JSON Schema of the spec files",
		usage:   "schema",
		run:     cmdSchema,
	})
}

func cmdSchema(c *cli, args []string) int {
	fs := c.newFlags("schema")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		c.errorf("schema takes no arguments")
		return exitError
	}
	if _, err := c.stdout.Write(spec.Schema()); err != nil {
		c.errorf("write schema: %v", err)
		return exitError
	}
	return exitOK
}
