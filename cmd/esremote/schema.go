package main

import (
	"github.com/spf13/pflag"

	"github.com/esremote/esremote/reconcile/plan"
	"github.com/esremote/esremote/spec"
)

func init() {
	register("schema", &command{
		summary: "print the JSON Schema of the spec files (--plan: of a saved plan)",
		usage:   "schema [--plan]",
		flags:   cmdSchema,
		exits:   "0",
	})
}

func cmdSchema(fs *pflag.FlagSet) runFunc {
	planSchema := fs.Bool("plan", false, "print the schema of a saved plan (esremote plan --out) instead")
	return func(c *cli, pos []string) int {
		if len(pos) != 0 {
			c.errorf("schema takes no arguments")
			return exitError
		}
		out := spec.Schema()
		if *planSchema {
			out = plan.JSONSchema()
		}
		if _, err := c.stdout.Write(out); err != nil {
			c.errorf("write schema: %v", err)
			return exitError
		}
		return exitOK
	}
}
