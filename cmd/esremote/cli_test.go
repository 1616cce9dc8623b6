package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// runCommand runs one command through the whole command line, as Main
// would: `esremote NAME ARGS...`.
func runCommand(name string, c *cli, args []string) int {
	return c.main(append([]string{name}, args...))
}

// testCLI is a cli writing to buffers, with no environment.
func testCLI() (*cli, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &cli{ctx: context.Background(), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}, &out, &errb
}

// writeSpecDir makes a spec directory holding one valid Cluster.
func writeSpecDir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	const cluster = "apiVersion: esremote/v1\nkind: Cluster\nname: a\nelasticsearch:\n  url: https://a.example.com:9243\n  auth: {api_key: {env: A_KEY}}\n"
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(cluster), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Flags go anywhere on the line; "--" ends them, so a directory may start
// with a dash; a Go-style single-dash long flag still works.
func TestFlagsAnywhere(t *testing.T) {
	tmp := t.TempDir()
	t.Chdir(tmp)
	writeSpecDir(t, "specs")
	writeSpecDir(t, "--format")
	writeSpecDir(t, "-v")
	for _, tc := range []struct {
		args     []string
		code     int
		stdout   string // substring
		stderr   string // substring
		noStderr bool
	}{
		{args: []string{"validate", "--format", "json", "specs"}, stdout: `"valid": true`},
		{args: []string{"validate", "specs", "--format", "json"}, stdout: `"valid": true`},
		{args: []string{"validate", "specs", "--format=json"}, stdout: `"valid": true`},
		{args: []string{"validate", "-format", "json", "specs"}, stdout: `"valid": true`},
		{args: []string{"validate", "specs", "-format=json"}, stdout: `"valid": true`},
		// After "--", "--format" is the directory of that name, not a flag.
		{args: []string{"validate", "--", "--format"}, stdout: "1 file, 1 document: valid"},
		{args: []string{"validate", "--format", "json", "--", "-v"}, stdout: `"valid": true`},
		// Without "--", the same word is a flag missing its value.
		{args: []string{"validate", "--format"}, code: exitError, stderr: "esremote: error: flag needs an argument: --format"},
		// A flag after "--" is an argument: two directories here.
		{args: []string{"validate", "specs", "--", "--format", "json"}, code: exitError, stderr: "validate takes one spec directory"},
		{args: []string{"validate", "specs", "--nope"}, code: exitError, stderr: "esremote: error: unknown flag: --nope"},
		{args: []string{"validate", "-nope", "specs"}, code: exitError, stderr: "esremote: error: unknown shorthand flag: 'n' in -nope"},
		{args: []string{"plan", "specs", "--format", "yaml"}, code: exitError, stderr: `unknown --format "yaml"`},
		{args: []string{"nope"}, code: exitError, stderr: `esremote: error: unknown command "nope"`},
	} {
		c, out, errb := testCLI()
		code := c.main(tc.args)
		if code != tc.code || !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errb.String(), tc.stderr) {
			t.Errorf("esremote %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(tc.args, " "), code, tc.code, out, errb)
		}
	}
}

// `help CMD` lists every flag the command declares, and -h the same on
// stderr.
func TestHelpListsEveryFlag(t *testing.T) {
	for _, name := range commandNames() {
		fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
		commands[name].flags(fs)
		c, out, _ := testCLI()
		if code := c.main([]string{"help", name}); code != exitOK {
			t.Errorf("help %s: exit %d", name, code)
		}
		if !strings.HasPrefix(out.String(), "usage: esremote "+name) {
			t.Errorf("help %s starts %q", name, firstLine(errors.New(out.String())))
		}
		fs.VisitAll(func(f *pflag.Flag) {
			if !strings.Contains(out.String(), "--"+f.Name+" ") && !strings.Contains(out.String(), "--"+f.Name+"\n") {
				t.Errorf("help %s does not list --%s:\n%s", name, f.Name, out)
			}
		})
		c, out, errb := testCLI()
		if code := c.main([]string{name, "-h"}); code != exitOK || out.Len() != 0 || !strings.Contains(errb.String(), "usage: esremote "+name) {
			t.Errorf("%s -h: exit %d, stdout %q, stderr %q", name, code, out, errb)
		}
	}
}

func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{
		"bash": "complete -o default -F __start_esremote esremote",
		"zsh":  "#compdef esremote",
		"fish": "complete -c esremote",
	} {
		c, out, errb := testCLI()
		if code := c.main([]string{"completion", shell}); code != exitOK || !strings.Contains(out.String(), want) {
			t.Errorf("completion %s: exit %d, stderr %s, no %q in stdout", shell, code, errb, want)
		}
	}
	c, _, errb := testCLI()
	if code := c.main([]string{"completion", "powershell"}); code != exitError || !strings.Contains(errb.String(), "esremote: error:") {
		t.Errorf("completion powershell: exit %d, stderr %s", code, errb)
	}
	// What the scripts ask the binary: flag values and directories.
	c, out, _ := testCLI()
	c.main([]string{cobra.ShellCompNoDescRequestCmd, "plan", "specs", "--format", ""})
	if got := out.String(); !strings.HasPrefix(got, "text\njson\nmarkdown\n:4") {
		t.Errorf("completing plan --format: %q", got)
	}
	c, out, _ = testCLI()
	c.main([]string{cobra.ShellCompNoDescRequestCmd, "validate", "--f"})
	if got := out.String(); !strings.HasPrefix(got, "--format\n") {
		t.Errorf("completing validate --f: %q", got)
	}
}

// Every page is headed with its own name (ESREMOTE-PLAN(1), not
// ESREMOTE(1) for all of them, as cobra/doc made them) and has the
// sections a man page has: EXIT STATUS, ENVIRONMENT, FILES and EXAMPLES
// (issue 25: the pages were thin).
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	c, _, errb := testCLI()
	if code := c.main([]string{"__man", dir}); code != exitOK {
		t.Fatalf("__man: exit %d: %s", code, errb)
	}
	for _, name := range append(commandNames(), "completion", "") {
		file, title := "esremote.1", "ESREMOTE"
		if name != "" {
			file, title = "esremote-"+name+".1", "ESREMOTE-"+strings.ToUpper(name)
		}
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Error(err)
			continue
		}
		if !strings.Contains(string(b), ".TH \""+title+"\" \"1\"") {
			t.Errorf("%s is not headed %s(1):\n%s", file, title, b)
		}
		for _, section := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"} {
			if !strings.Contains(string(b), "\n.SH "+section+"\n") {
				t.Errorf("%s has no %s section", file, section)
			}
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "esremote-plan.1"))
	for _, want := range []string{`\fB--format\fP`, `\fB--only\fP`, "0 in sync, 2 changes pending, 1 error", `\fBSTATE_DIRECTORY\fP`, "/var/lib/esremote/ledger.json",
		"esremote plan connections/ --only analytics-to-ece-logs --format markdown"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("esremote-plan.1 lacks %q:\n%s", want, b)
		}
	}
	// Rendered by man, when it is installed: no warning from groff.
	if _, err := exec.LookPath("man"); err == nil {
		cmd := exec.Command("man", "--warnings", "-l", filepath.Join(dir, "esremote-run.1"))
		cmd.Env = append(os.Environ(), "MANPAGER=cat", "MANWIDTH=80")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "EXIT STATUS") || strings.Contains(string(out), "warning") {
			t.Errorf("man -l esremote-run.1: %v\n%s", err, out)
		}
	}
}

// Every command's help ends with examples, and every command has some.
func TestHelpHasExamples(t *testing.T) {
	for _, name := range append(commandNames(), "completion") {
		c, out, errb := testCLI()
		if code := c.main([]string{"help", name}); code != exitOK {
			t.Fatalf("help %s: exit %d: %s", name, code, errb)
		}
		_, ex, ok := strings.Cut(out.String(), "\nexamples:\n")
		if !ok || !strings.Contains(ex, "esremote "+name) {
			t.Errorf("help %s has no examples of esremote %s:\n%s", name, name, out)
		}
	}
}
