package main

import (
	"fmt"
	"net"
	"strings"

	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/doctor"
	"github.com/esremote/esremote/reconcile/statedir"
	"github.com/esremote/esremote/spec"

	"github.com/spf13/pflag"
)

func init() {
	register("doctor", &command{
		summary:  "diagnose one connection step by step",
		usage:    "doctor DIR NAME [--format text|json] [--state-dir DIR] [--resolve HOST=ADDR]...",
		flags:    cmdDoctor,
		exits:    "0 healthy, 1 problems found",
		values:   map[string][]string{"format": {"text", "json"}},
		complete: dirThenConnection,
	})
}

// cmdDoctor exits 0 when every step is ok or skipped, 1 when a step found
// a problem or the diagnosis could not start (DESIGN §2). It never writes:
// the ledger is read only, to find the managed key's ID.
func cmdDoctor(fs *pflag.FlagSet) runFunc {
	format := fs.String("format", "text", "output format: text or json")
	stateDir := fs.String("state-dir", "", "where the ownership ledger lives (default $STATE_DIRECTORY, /var/lib/esremote or $XDG_STATE_HOME/esremote)")
	resolve := map[string]string{}
	fs.Func("resolve", "probe HOST at ADDR (an IP) instead of asking DNS, like curl --resolve; repeatable (an SSH tunnel, a port forward)", func(v string) error {
		host, addr, ok := strings.Cut(v, "=")
		if !ok || host == "" || net.ParseIP(addr) == nil {
			return fmt.Errorf("want HOST=IP, e.g. --resolve my-deployment.es.io=127.0.0.1")
		}
		resolve[strings.ToLower(host)] = addr
		return nil
	})
	return func(c *cli, pos []string) int {
		if len(pos) != 2 {
			c.usageOf("doctor")
			return exitError
		}
		if *format != "text" && *format != "json" {
			c.errorf("unknown --format %q: use text or json", *format)
			return exitError
		}
		dir, name := pos[0], pos[1]
		set, problems, err := spec.LoadAsGiven(dir)
		if err != nil {
			for _, p := range problems {
				fmt.Fprintln(c.stderr, p.String())
			}
			rep := &doctor.Report{Connection: name, Steps: []doctor.Step{{Name: doctor.StepSpec, Status: doctor.Problem,
				Cause: doctor.CauseSpecInvalid, Evidence: firstLine(err),
				Fix: "run esremote validate " + dir + " and fix every problem it prints"}}}
			return c.writeDoctor(rep, *format)
		}
		sd, err := statedir.StateDir(c.getenv, *stateDir)
		if err != nil {
			c.errorf("%v", err)
			return exitError
		}
		rec, err := reconcile.New(reconcile.Options{StateDir: sd, ReadOnly: true, Getenv: c.getenv})
		if err != nil {
			c.errorf("%v", err)
			return exitError
		}
		rep, err := doctor.Run(c.ctx, rec, set, name, doctor.Options{Network: doctor.Network{Resolve: resolve}})
		if err != nil {
			c.errorf("%v", err)
			return exitError
		}
		return c.writeDoctor(rep, *format)
	}
}

func (c *cli) writeDoctor(rep *doctor.Report, format string) int {
	write := doctor.WriteText
	if format == "json" {
		write = doctor.WriteJSON
	}
	spec.ScrubAll(rep) // evidence may quote what a server echoed: see scrub.go
	if err := write(c.stdout, rep); err != nil {
		c.errorf("write doctor report: %v", err)
		return exitError
	}
	if !rep.Healthy() {
		return exitError
	}
	return exitOK
}
