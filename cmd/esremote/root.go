package main

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The command line is cobra's (the convention of kubectl, helm and gh):
// one cobra.Command per registered command, flags parsed by pflag, so
// flags go anywhere on the line, "--" ends them, and completion and man
// pages come from the same declarations as the parsing. What a user sees
// is esremote's own: usage lines, the "esremote: error:" voice, help on
// stderr for -h and on stdout for `esremote help CMD`, and the exit codes
// of DESIGN §2.

// runFunc runs a command with its positional arguments, once its flags are
// parsed, and returns the exit code.
type runFunc func(c *cli, args []string) int

// flagError is a command line cobra or pflag refused.
type flagError struct{ err error }

func (e flagError) Error() string { return e.err.Error() }

// newRoot builds the command tree for one run of c; *code receives the
// exit code of the command that ran.
func (c *cli) newRoot(code *int) *cobra.Command {
	root := &cobra.Command{
		Use:               "esremote",
		Short:             "esremote keeps Elasticsearch cross-cluster connections true to YAML specs.",
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		// Flags are per command; the root has only -h.
		Args: cobra.NoArgs,
		Run:  func(*cobra.Command, []string) { c.usage(c.stdout) },
	}
	root.SetOut(c.stdout)
	// What cobra itself might print goes through the same scrubbing as
	// esremote's own error lines (see scrub.go).
	root.SetErr(scrubWriter{c.stderr})
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return flagError{err} })
	// -h and --help print the command's usage and every flag to stderr,
	// like a usage error would; `esremote help CMD` prints it to stdout.
	root.SetHelpFunc(func(cmd *cobra.Command, _ []string) {
		if cmd == root {
			c.usage(c.stdout)
			return
		}
		c.commandHelp(c.stderr, cmd)
	})
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "show the usage and every flag of a command",
		Args:  cobra.MaximumNArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return commandNames(), cobra.ShellCompDirectiveNoFileComp
		},
		Run: func(cmd *cobra.Command, args []string) {
			if len(args) == 0 {
				c.usage(c.stdout)
				return
			}
			sub, _, err := root.Find(args)
			if err != nil || sub == root {
				c.unknownCommand(args[0])
				*code = exitError
				return
			}
			c.commandHelp(c.stdout, sub)
		},
	})
	for _, name := range commandNames() {
		def := commands[name]
		cmd := &cobra.Command{
			Use:   name,
			Short: def.summary,
			// Commands check their own positional arguments, with their
			// own messages.
			Args:                  cobra.ArbitraryArgs,
			DisableFlagsInUseLine: true,
			ValidArgsFunction:     def.complete,
		}
		cmd.Long = "usage: esremote " + def.usage + "\n\n" + def.summary + "\n\nexit codes: " + def.exits
		var run runFunc
		if def.flags != nil {
			run = def.flags(cmd.Flags())
		}
		for flag, values := range def.values {
			_ = cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
		}
		if cmd.Flags().Lookup("only") != nil {
			_ = cmd.RegisterFlagCompletionFunc("only", completeOnly)
		}
		cmd.RunE = func(cmd *cobra.Command, args []string) error {
			*code = run(c, args)
			return nil
		}
		root.AddCommand(cmd)
	}
	root.AddCommand(c.completionCommand(root), c.manCommand(root))
	return root
}

// commandHelp prints a command's usage line, summary, every flag and its
// examples.
func (c *cli) commandHelp(w io.Writer, cmd *cobra.Command) {
	fmt.Fprintln(w, cmd.Long)
	if cmd.HasAvailableFlags() {
		fmt.Fprintf(w, "\nflags:\n%s", cmd.Flags().FlagUsages())
	}
	ex := commandExamples[cmd.Name()]
	if cmd.Name() == "completion" {
		ex = completionExamples
	}
	writeExamples(w, ex)
}

// writeExamples prints a command's examples, indented, after "examples:".
func writeExamples(w io.Writer, ex string) {
	if ex == "" {
		return
	}
	fmt.Fprintln(w, "\nexamples:")
	for l := range strings.SplitSeq(ex, "\n") {
		fmt.Fprintln(w, "  "+l)
	}
}

// usageOf prints the help of the named command to stderr, after a usage
// error the command found itself.
func (c *cli) usageOf(name string) {
	def := commands[name]
	fmt.Fprintf(c.stderr, "usage: esremote %s\n\n%s\n\nexit codes: %s\n", def.usage, def.summary, def.exits)
	if def.flags != nil {
		fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
		def.flags(fs)
		if fs.HasAvailableFlags() {
			fmt.Fprintf(c.stderr, "\nflags:\n%s", fs.FlagUsages())
		}
	}
	writeExamples(c.stderr, commandExamples[name])
}

func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// execute runs the command line args (without the program name).
func (c *cli) execute(args []string) int {
	code := exitOK
	root := c.newRoot(&code)
	root.SetArgs(longFlags(root, args))
	cmd, err := root.ExecuteC()
	var fe flagError
	switch {
	case err == nil:
		return code
	case errors.As(err, &fe):
		c.errorf("%s", fe.err)
		if def, ok := commands[cmd.Name()]; ok {
			c.hintf("usage: esremote %s", def.usage)
		} else {
			c.hintf("run 'esremote help %s' for its flags", cmd.Name())
		}
	default:
		c.errorf("%s", err)
	}
	return exitError
}

// singleDash is a flag written Go-style, with one dash: -format.
var singleDash = regexp.MustCompile(`^-([a-zA-Z][a-zA-Z0-9-]+)(=.*)?$`)

// longFlags keeps the command lines of esremote before cobra working:
// Go's flag package took -format as well as --format, pflag reads -format
// as -f -o -r… So a single-dash word that names a long flag of the command
// gets its second dash. Nothing after "--" is touched.
func longFlags(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == root {
		return args
	}
	out := slices.Clone(args)
	for i, a := range out {
		if a == "--" {
			break
		}
		if m := singleDash.FindStringSubmatch(a); m != nil && cmd.Flags().Lookup(m[1]) != nil {
			out[i] = "-" + a
		}
	}
	return out
}

// completionCommand is `esremote completion bash|zsh|fish`.
func (c *cli) completionCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "print the shell completion script",
		Long: "usage: esremote completion bash|zsh|fish\n\nprint the shell completion script:\n" +
			"  bash: source <(esremote completion bash), or save it as /usr/share/bash-completion/completions/esremote\n" +
			"  zsh:  esremote completion zsh > \"${fpath[1]}/_esremote\"\n" +
			"  fish: esremote completion fish > ~/.config/fish/completions/esremote.fish",
		ValidArgs: []cobra.Completion{"bash", "zsh", "fish"},
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 || !slices.Contains([]string{"bash", "zsh", "fish"}, args[0]) {
				return errors.New("completion takes one shell: bash, zsh or fish")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(c.stdout, true)
			case "zsh":
				return root.GenZshCompletion(c.stdout)
			default:
				return root.GenFishCompletion(c.stdout, true)
			}
		},
	}
}

// manCommand is the hidden `esremote __man DIR`: one man page per command
// into DIR, made at build time by `make package` (manual.go).
func (c *cli) manCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:    "__man DIR",
		Short:  "write the man pages into DIR",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return writeManPages(root, args[0])
		},
	}
}

// dirArgs completes the first n positional arguments with directories.
func dirArgs(n int) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) >= n {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return nil, cobra.ShellCompDirectiveFilterDirs
	}
}
