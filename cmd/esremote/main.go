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
)

func main() { os.Exit(Main()) }

// Exit codes shared by every command (DESIGN §2).
const (
	exitOK          = 0
	exitError       = 1 // invalid input, an error, or an unconverged apply
	exitChanges     = 2 // plan: changes pending
	exitUnconnected = 3 // apply: converged but a link is not connected
)

// cli is what a command runs with. Tests build one directly; Main builds
// it from the process.
type cli struct {
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// command is one subcommand. run returns the exit code.
type command struct {
	summary string
	usage   string // one or more lines after "usage: esremote "
	run     func(c *cli, args []string) int
}

// commands is the table of subcommands; each lives in its own file.
var commands = map[string]*command{}

// register adds a subcommand; called from each command file's init.
func register(name string, cmd *command) { commands[name] = cmd }

// Main runs esremote with os.Args and returns the exit code. It is the
// whole program: testscript runs it in-process.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &cli{ctx: ctx, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	return c.main(os.Args[1:])
}

func (c *cli) main(args []string) int {
	if len(args) == 0 {
		c.usage(c.stderr)
		return exitError
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if cmd, ok := commands[args[1]]; ok {
				fmt.Fprintf(c.stdout, "usage: esremote %s\n\n%s\n", cmd.usage, cmd.summary)
				return exitOK
			}
			c.errorf("unknown command %q", args[1])
			return exitError
		}
		c.usage(c.stdout)
		return exitOK
	case "--version", "-version":
		name = "version"
	}
	cmd, ok := commands[name]
	if !ok {
		c.errorf("unknown command %q", name)
		c.hintf("run 'esremote help' for the list of commands")
		return exitError
	}
	return cmd.run(c, args[1:])
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
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nrun 'esremote help <command>' or 'esremote <command> -h' for its flags")
}

// errorf prints "esremote: error: …" to stderr: lowercase, no period.
func (c *cli) errorf(format string, a ...any) {
	fmt.Fprintf(c.stderr, "esremote: error: "+format+"\n", a...)
}

// hintf prints "esremote: hint: …" to stderr.
func (c *cli) hintf(format string, a ...any) {
	fmt.Fprintf(c.stderr, "esremote: hint: "+format+"\n", a...)
}

// warnf prints "esremote: warning: …" to stderr.
func (c *cli) warnf(format string, a ...any) {
	fmt.Fprintf(c.stderr, "esremote: warning: "+format+"\n", a...)
}
