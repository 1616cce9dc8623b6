package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/esremote/esremote/spec"
)

// unknownCommand says that name is no command, and which one was meant
// when one is close (cobra's suggestions: a prefix, or at most two edits:
// "esremote paln" → "plan"), as git, kubectl and gh do.
func (c *cli) unknownCommand(name string) {
	c.errorf("unknown command %q", name)
	root := c.newRoot(new(int))
	root.SuggestionsMinimumDistance = 2
	if s := root.SuggestionsFor(name); name != "" && len(s) > 0 {
		quoted := make([]string, len(s))
		for i, n := range s {
			quoted[i] = "'esremote " + n + "'"
		}
		c.hintf("did you mean %s?", strings.Join(quoted, " or "))
	}
	c.hintf("run 'esremote help' for the list of commands")
}

// defaultSpecDir is the packaged service's spec dir: completion offers
// its connections when the command line names no directory yet.
const defaultSpecDir = "/etc/esremote/connections"

// connectionNames lists the Connection names declared in dir, for shell
// completion: it loads the specs (never a secret) and says nothing when
// they do not load.
func connectionNames(dir string) []cobra.Completion {
	set, _, err := spec.Load(dir)
	if err != nil || set == nil {
		return nil
	}
	var names []cobra.Completion
	for _, conn := range set.Connections {
		names = append(names, cobra.CompletionWithDesc(conn.Name, conn.Local+" → "+conn.Alias))
	}
	return names
}

// completeOnly completes --only with the connections of the command's
// spec dir (its first argument; the packaged one when none is given yet).
// The shell scripts call the binary for it (esremote __complete plan DIR
// --only …), in bash, zsh and fish alike.
func completeOnly(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	dir := defaultSpecDir
	if len(args) > 0 {
		dir = args[0]
	}
	return connectionNames(dir), cobra.ShellCompDirectiveNoFileComp
}

// dirThenConnection completes a spec dir, then a connection of it:
// doctor DIR NAME.
func dirThenConnection(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	switch len(args) {
	case 0:
		return nil, cobra.ShellCompDirectiveFilterDirs
	case 1:
		return connectionNames(args[0]), cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}
