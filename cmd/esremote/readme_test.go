package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// readmeMarker precedes the README's try-it block.
const readmeMarker = "<!-- try-it: the block below is run by TestReadmeTryIt -->"

// TestReadmeTryIt runs README.md's try-it block, every command in order,
// against the simulated world (issue 25: a newcomer's run of the README
// works as written). The block is read from README.md at test time and
// translated line by line into a testscript, so an edit of the README is
// tested as it is; a line the translation does not know fails the test,
// which then needs to learn it.
//
// What the translation changes, and why:
//   - `go build -o bin/esremote ./cmd/esremote` is checked, not run: the
//     test binary is esremote (testscript runs it as the command esremote),
//     built from the same tree; `bin/esremote` is that command.
//   - /tmp/ becomes the script's own $WORK/tmp/, so that runs never meet.
//   - a command ending in & runs in the background, as the shell does;
//     the next line waits until `sim --specs DIR` has written DIR/sim.json
//     (a person typing the next line takes longer than that).
//   - `kill %1` stops that background command with SIGINT and waits.
//   - every esremote command must exit with a code its comment calls a
//     success ("# exit 0 in sync, 2 changes pending, 1 error": 0 or 2);
//     without such a comment, 0. "error" and "not connected" are failures.
func TestReadmeTryIt(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines, err := readmeTryIt(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	script, err := readmeScript(lines)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "readme_try_it.txtar"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("the README's try-it block as a script:\n%s", script)
	cmds := map[string]func(*testscript.TestScript, bool, []string){"readme-run": cmdReadmeRun, "readme-wait": cmdReadmeWait}
	for k, v := range scriptCmds {
		cmds[k] = v
	}
	testscript.Run(t, testscript.Params{
		Dir:                 dir,
		Cmds:                cmds,
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("REPO", repo)
			for _, s := range scriptSetups {
				if err := s(env); err != nil {
					return err
				}
			}
			return nil
		},
	})
}

// readmeTryIt returns the lines of the ```sh block after the marker.
func readmeTryIt(readme string) ([]string, error) {
	_, after, ok := strings.Cut(readme, readmeMarker)
	if !ok {
		return nil, fmt.Errorf("README.md has no %q", readmeMarker)
	}
	after = strings.TrimLeft(after, "\n")
	body, ok := strings.CutPrefix(after, "```sh\n")
	if !ok {
		return nil, errors.New("the try-it marker is not followed by a ```sh block")
	}
	body, _, ok = strings.Cut(body, "\n```")
	if !ok {
		return nil, errors.New("the try-it block does not end")
	}
	return strings.Split(body, "\n"), nil
}

var exitComment = regexp.MustCompile(`\bexit (\d.*)$`)

// readmeScript translates the block's lines into a testscript (see
// TestReadmeTryIt).
func readmeScript(lines []string) (string, error) {
	var b strings.Builder
	b.WriteString("# generated from README.md's try-it block by TestReadmeTryIt\nmkdir $WORK/tmp\ncd $REPO\n")
	bg := ""
	for i, line := range lines {
		cmdline, comment, _ := strings.Cut(line, "#")
		cmdline = strings.TrimSpace(cmdline)
		if cmdline == "" {
			continue
		}
		fmt.Fprintf(&b, "\n# README: %s\n", strings.TrimSpace(line))
		cmdline = strings.ReplaceAll(cmdline, "/tmp/", "$WORK/tmp/")
		words := strings.Fields(cmdline)
		background := words[len(words)-1] == "&"
		if background {
			words = words[:len(words)-1]
		}
		switch {
		case strings.Join(words, " ") == "go build -o bin/esremote ./cmd/esremote":
			b.WriteString("# (the test binary is esremote, built from this tree)\n")
		case words[0] == "bin/esremote" && background:
			if bg != "" {
				return "", fmt.Errorf("line %d: a second background command", i+1)
			}
			bg = fmt.Sprintf("bg%d", i+1)
			fmt.Fprintf(&b, "exec esremote %s &%s&\n", strings.Join(words[1:], " "), bg)
			if j := slices.Index(words, "--specs"); j >= 0 && j+1 < len(words) {
				fmt.Fprintf(&b, "readme-wait %s\n", filepath.Join(words[j+1], "sim.json"))
			}
		case words[0] == "bin/esremote":
			codes, err := successCodes(comment)
			if err != nil {
				return "", fmt.Errorf("line %d: %v", i+1, err)
			}
			fmt.Fprintf(&b, "readme-run %s esremote %s\n", codes, strings.Join(words[1:], " "))
		case words[0] == "cp" && len(words) == 3:
			fmt.Fprintf(&b, "cp %s %s\n", words[1], words[2])
		case cmdline == "kill %1" && bg != "":
			fmt.Fprintf(&b, "kill -INT %s\nwait %s\n", bg, bg)
			bg = ""
		default:
			return "", fmt.Errorf("line %d: TestReadmeTryIt does not know how to run %q: teach readmeScript", i+1, cmdline)
		}
	}
	return b.String(), nil
}

// successCodes reads "exit 0 in sync, 2 changes pending, 1 error" as
// "0,2": the codes whose description is not an error or a broken link.
func successCodes(comment string) (string, error) {
	m := exitComment.FindStringSubmatch(comment)
	if m == nil {
		return "0", nil
	}
	var ok []string
	for part := range strings.SplitSeq(m[1], ",") {
		part = strings.TrimSpace(part)
		n := strings.IndexFunc(part, func(r rune) bool { return r < '0' || r > '9' })
		if n == 0 {
			return "", fmt.Errorf("cannot read the exit codes in %q", comment)
		}
		if n < 0 {
			n = len(part)
		}
		desc := part[n:]
		if strings.Contains(desc, "error") || strings.Contains(desc, "not connected") {
			continue
		}
		ok = append(ok, part[:n])
	}
	if len(ok) == 0 {
		return "", fmt.Errorf("no success code in %q", comment)
	}
	return strings.Join(ok, ","), nil
}

// cmdReadmeRun is `readme-run CODES PROGRAM ARGS...`: run PROGRAM and
// require one of the comma-separated exit CODES, and no error line.
func cmdReadmeRun(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: readme-run CODES PROGRAM ARGS...")
	}
	err := ts.Exec(args[1], args[2:]...)
	got := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if !slices.Contains(strings.Split(args[0], ","), strconv.Itoa(got)) {
		ts.Fatalf("%s exited %d; the README says %s", args[1], got, args[0])
	}
	if strings.Contains(ts.ReadFile("stderr"), "esremote: error:") {
		ts.Fatalf("%s printed an error", args[1])
	}
}

// cmdReadmeWait is `readme-wait FILE`: wait until FILE exists (its
// directory may not exist yet; sim-wait needs it). The test's own timeout
// bounds the wait.
func cmdReadmeWait(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: readme-wait FILE")
	}
	for {
		if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDocsNameExistingTests: every test README.md and docs/*.md name as
// the proof of a claim (`TestX`) exists in the tree, so that a renamed or
// removed test cannot leave a claim resting on nothing.
func TestDocsNameExistingTests(t *testing.T) {
	defined := map[string]bool{}
	decl := regexp.MustCompile(`(?m)^func (Test[A-Za-z0-9_]*)\(`)
	err := filepath.WalkDir("../..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != "../.." {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, "_test.go") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range decl.FindAllStringSubmatch(string(b), -1) {
				defined[m[1]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	docs, _ := filepath.Glob("../../docs/*.md")
	docs = append(docs, "../../README.md")
	cited := regexp.MustCompile(`\bTest[A-Z][A-Za-z0-9_]*`)
	for _, doc := range docs {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range cited.FindAllString(string(b), -1) {
			if !defined[name] {
				t.Errorf("%s names %s, which no test file defines", filepath.Base(doc), name)
			}
		}
	}
}
