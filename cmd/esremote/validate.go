package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/esremote/esremote/spec"

	"github.com/spf13/pflag"
)

func init() {
	register("validate", &command{
		exits:    "0 valid (warnings allowed), 1 invalid (with --secrets: also a secret that cannot be read)",
		summary:  "load and check every spec offline; --secrets also reads every secret they name",
		usage:    "validate DIR [--format text|json] [--secrets]",
		flags:    cmdValidate,
		values:   map[string][]string{"format": {"text", "json"}},
		complete: dirArgs(1),
	})
}

func cmdValidate(fs *pflag.FlagSet) runFunc {
	format := fs.String("format", "text", "output `format`: text or json")
	secrets := fs.Bool("secrets", false, "also check that every secret the specs name (credential, file, env) exists and is readable here; never prints one (the unit's ExecStartPre runs this)")
	return func(c *cli, pos []string) int {
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

		set, problems, err := spec.LoadAsGiven(dir)
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
		if err == nil && *secrets {
			// Only a set that loaded names its secrets for sure; an
			// invalid one is reported as it is, secrets unread.
			problems = append(problems, set.CheckSecrets(c.getenv)...)
			problems.Sort()
			if problems.HasErrors() {
				err = problems.Err()
			}
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
