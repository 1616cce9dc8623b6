package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/esremote/esremote/spec"
)

func init() {
	register("validate", &command{
		summary: "load and check every spec offline",
		usage:   "validate DIR [--format text|json]",
		run:     cmdValidate,
	})
}

// newFlags returns a FlagSet for a command that prints its usage, then its
// flags, to stderr on -h or a bad flag.
func (c *cli) newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		cmd := commands[name]
		fmt.Fprintf(c.stderr, "usage: esremote %s\n\n%s\n", cmd.usage, cmd.summary)
		var n int
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(c.stderr, "\nflags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args, allowing flags after positional arguments
// ("validate DIR --format json"). It returns the positional arguments and,
// when parsing stopped (-h or a bad flag), the exit code to return.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, int, bool) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK, false
			}
			return nil, exitError, false
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, 0, true
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func cmdValidate(c *cli, args []string) int {
	fs := c.newFlags("validate")
	format := fs.String("format", "text", "output `format`: text or json")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if *format != "text" && *format != "json" {
		c.errorf("unknown format %q: use text or json", *format)
		return exitError
	}
	if len(pos) != 1 {
		c.errorf("validate takes one spec directory")
		c.hintf("usage: esremote %s", commands["validate"].usage)
		return exitError
	}
	dir := pos[0]

	set, problems, err := spec.Load(dir)
	files, docs := 0, 0
	switch invalid, isInvalid := spec.AsInvalid(err); {
	case set != nil:
		files, docs = set.Files, set.Documents
	case isInvalid:
		files, docs = invalid.Files, invalid.Documents
	default:
		c.errorf("%v", err)
		return exitError
	}
	valid := err == nil
	if *format == "json" {
		writeProblemsJSON(c.stdout, valid, problems)
	} else {
		for _, p := range problems {
			fmt.Fprintln(c.stdout, p)
		}
		fmt.Fprintln(c.stdout, summary(files, docs, problems))
	}
	if !valid {
		return exitError
	}
	return exitOK
}

// summary is the last line of text output, e.g.
// "3 files, 7 documents: valid, 1 warning" or "2 files, 4 documents: 2 errors, 1 warning".
func summary(files, docs int, ps spec.Problems) string {
	errs, warns := len(ps.Errors()), len(ps.Warnings())
	verdict := "valid"
	if errs > 0 {
		verdict = plural(errs, "error")
	}
	return fmt.Sprintf("%s, %s: %s, %s", plural(files, "file"), plural(docs, "document"), verdict, plural(warns, "warning"))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// problemJSON is one problem in --format json output.
type problemJSON struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

func writeProblemsJSON(w io.Writer, valid bool, ps spec.Problems) {
	out := struct {
		Valid    bool          `json:"valid"`
		Problems []problemJSON `json:"problems"`
	}{Valid: valid, Problems: []problemJSON{}}
	for _, p := range ps {
		out.Problems = append(out.Problems, problemJSON{p.Pos.File, p.Pos.Line, p.Pos.Column, string(p.Severity), p.Message})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}
