package main

import (
	"path/filepath"

	"github.com/rogpeppe/go-internal/testscript"
)

// The validate and schema scripts reach the repository's examples through
// $EXAMPLES, so that they check the real files rather than copies.
func init() {
	scriptSetups = append(scriptSetups, func(env *testscript.Env) error {
		dir, err := filepath.Abs("../../examples")
		if err != nil {
			return err
		}
		env.Setenv("EXAMPLES", dir)
		return nil
	})
}
