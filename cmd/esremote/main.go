// Command esremote keeps Elasticsearch cross-cluster connections true to
// YAML specs in git. See README.md for the commands and DESIGN of the
// project; this package is only flags, wiring, exit codes and signals.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/spec"
)

func main() { os.Exit(Main()) }

// Exit codes shared by every command (DESIGN §2).
const (
	exitOK          = drift.ExitOK
	exitError       = drift.ExitError       // invalid input, an error, or an unconverged apply
	exitChanges     = drift.ExitChanges     // plan: changes pending
	exitUnconnected = drift.ExitUnconnected // apply: converged but a link is not connected
)

// cli is what a command runs with. Tests build one directly; Main builds
// it from the process.
type cli struct {
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// command is one subcommand.
type command struct {
	summary string
	usage   string // one or more lines after "usage: esremote "
	exits   string // the exit codes (DESIGN §2), for help and the man page
	// flags declares the command's flags on fs and returns what runs it
	// once they are parsed. It has no other effect: help and the man pages
	// call it too.
	flags func(fs *pflag.FlagSet) runFunc
	// complete completes positional arguments (cobra.ValidArgsFunction);
	// nil leaves it to the shell (file names).
	complete cobra.CompletionFunc
	// values are the values of flags that take one of a few, for completion.
	values map[string][]string
}

// commands is the table of subcommands; each lives in its own file.
var commands = map[string]*command{}

// register adds a subcommand; called from each command file's init.
func register(name string, cmd *command) { commands[name] = cmd }

// Main runs esremote with os.Args and returns the exit code. It is the
// whole program: testscript runs it in-process.
//
// Signals are handled here (and SIGHUP in run): the first SIGINT or
// SIGTERM cancels the command's context, so it stops at the next point
// that looks at it (a request, a pass, the daemon's loop); a second one
// exits at once with code 1, also while the command is blocked where no
// context reaches (a read of a file, a write to a full pipe).
func Main() int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	defer close(done)
	go onSignals(sigs, done, cancel, os.Stderr, os.Exit)
	c := &cli{ctx: ctx, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	return c.main(os.Args[1:])
}

// errSignal is the cause of a context cancelled by a signal.
type errSignal struct{ sig os.Signal }

func (e errSignal) Error() string { return "stop requested by " + e.sig.String() }

// onSignals cancels with the first signal and calls exit(1) on the second.
// It returns when done closes.
func onSignals(sigs <-chan os.Signal, done <-chan struct{}, cancel context.CancelCauseFunc, stderr io.Writer, exit func(int)) {
	first := true
	for {
		select {
		case <-done:
			return
		case s := <-sigs:
			if first {
				first = false
				cancel(errSignal{s})
				continue
			}
			fmt.Fprintf(stderr, "esremote: error: second signal (%s): exiting now\n", s)
			exit(exitError)
			return
		}
	}
}

func (c *cli) main(args []string) int {
	if len(args) == 0 {
		c.usage(c.stderr)
		return exitError
	}
	switch name := args[0]; name {
	case "--version", "-version":
		args = append([]string{"version"}, args[1:]...)
	case "help", "-h", "-help", "--help", "completion", "__man", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
	default:
		if _, ok := commands[name]; !ok {
			c.unknownCommand(name)
			return exitError
		}
	}
	if args[0] == "-help" {
		args[0] = "--help"
	}
	return c.execute(args)
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprintln(w, "esremote keeps Elasticsearch cross-cluster connections true to YAML specs.")
	fmt.Fprintln(w, "\nusage: esremote <command> [flags] [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "  %-10s %s\n", "completion", "print the shell completion script (bash, zsh or fish)")
	fmt.Fprintln(w, "\nrun 'esremote help <command>' or 'esremote <command> -h' for its flags")
}

// errorf prints "esremote: error: …" to stderr: lowercase, no period.
// Like hintf and warnf, it scrubs every credential esremote holds from
// the line (spec.Scrub): errors may quote what a server echoed.
func (c *cli) errorf(format string, a ...any) {
	fmt.Fprint(c.stderr, spec.Scrub(fmt.Sprintf("esremote: error: "+format+"\n", a...)))
}

// hintf prints "esremote: hint: …" to stderr.
func (c *cli) hintf(format string, a ...any) {
	fmt.Fprint(c.stderr, spec.Scrub(fmt.Sprintf("esremote: hint: "+format+"\n", a...)))
}

// warnf prints "esremote: warning: …" to stderr.
func (c *cli) warnf(format string, a ...any) {
	fmt.Fprint(c.stderr, spec.Scrub(fmt.Sprintf("esremote: warning: "+format+"\n", a...)))
}
