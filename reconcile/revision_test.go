package reconcile

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// git runs git in dir for building fixtures; the code under test never
// runs it.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// SpecRevision reads the revision from the repository's files, as git
// rev-parse would name it, in every layout a checkout can have.
func TestSpecRevision(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is needed to build the fixtures")
	}
	repo := t.TempDir()
	git(t, repo, "init", "-q", "-b", "main")
	specs := filepath.Join(repo, "connections")
	writeFile(t, filepath.Join(specs, "a.yaml"), "a: 1\n")
	writeFile(t, filepath.Join(specs, "team", "b.yml"), "b: 1\n")
	writeFile(t, filepath.Join(repo, "README"), "outside the spec dir\n")
	git(t, repo, "add", ".")
	git(t, repo, "commit", "-q", "-m", "one")
	want := func() string { return "git:" + git(t, repo, "rev-parse", "--short=7", "HEAD") }

	check := func(name, dir, want string) {
		t.Helper()
		if got := SpecRevision(dir); got != want {
			t.Errorf("%s: SpecRevision = %q, want %q", name, got, want)
		}
	}
	check("loose ref", specs, want())
	check("subdirectory", filepath.Join(specs, "team"), want())

	git(t, repo, "pack-refs", "--all")
	check("packed ref", specs, want())

	writeFile(t, filepath.Join(specs, "a.yaml"), "a: 2\n")
	check("modified spec", specs, want()+"+dirty")
	writeFile(t, filepath.Join(specs, "a.yaml"), "a: 1\n") // same content, new mtime
	check("rewritten with the same content", specs, want())

	writeFile(t, filepath.Join(specs, "new.yaml"), "n: 1\n")
	check("untracked spec file", specs, want()+"+dirty")
	os.Remove(filepath.Join(specs, "new.yaml"))
	writeFile(t, filepath.Join(specs, "notes.txt"), "not a spec\n")
	check("untracked other file", specs, want())
	writeFile(t, filepath.Join(repo, "README"), "changed outside the spec dir\n")
	check("change outside the spec dir", specs, want())

	os.Remove(filepath.Join(specs, "team", "b.yml"))
	check("deleted spec", specs, want()+"+dirty")
	git(t, repo, "checkout", "-q", "--", ".")

	git(t, repo, "checkout", "-q", "--detach", "HEAD")
	check("detached HEAD", specs, want())
	git(t, repo, "checkout", "-q", "main")

	// A linked worktree: .git is a file naming the worktree's git dir,
	// whose commondir leads to the refs.
	wt := filepath.Join(t.TempDir(), "wt")
	git(t, repo, "worktree", "add", "-q", "-b", "release", wt)
	writeFile(t, filepath.Join(wt, "connections", "c.yaml"), "c: 1\n")
	git(t, wt, "add", ".")
	git(t, wt, "commit", "-q", "-m", "two")
	check("worktree", filepath.Join(wt, "connections"), "git:"+git(t, wt, "rev-parse", "--short=7", "HEAD"))

	// The symlinked layout of docs/operations.md.
	live := filepath.Join(t.TempDir(), "live")
	if err := os.Symlink(specs, live); err != nil {
		t.Fatal(err)
	}
	check("symlinked spec dir", live, want())

	check("not a repository", t.TempDir(), "")
}

// Reading the revision runs nothing from the checkout: a core.fsmonitor
// hook (which `git status` runs) is never executed. Before, plan and the
// daemon ran git in the spec checkout.
func TestSpecRevisionRunsNoHook(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is needed to build the fixtures")
	}
	repo := t.TempDir()
	git(t, repo, "init", "-q", "-b", "main")
	writeFile(t, filepath.Join(repo, "a.yaml"), "a: 1\n")
	git(t, repo, "add", ".")
	git(t, repo, "commit", "-q", "-m", "one")
	ran := filepath.Join(t.TempDir(), "hook-ran")
	hook := filepath.Join(t.TempDir(), "hook.sh")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\ntouch "+ran+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	git(t, repo, "config", "core.fsmonitor", hook)
	for _, h := range []string{"post-checkout", "post-index-change", "reference-transaction"} {
		if err := os.WriteFile(filepath.Join(repo, ".git", "hooks", h), []byte("#!/bin/sh\ntouch "+ran+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(repo, "a.yaml"), "a: 2\n")
	if got := SpecRevision(repo); !strings.HasSuffix(got, "+dirty") {
		t.Errorf("SpecRevision = %q, want a dirty revision", got)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("SpecRevision ran a hook of the checkout")
	}
}

// The unit needs no exception to git's ownership check any more: nothing
// runs git. safe.directory=* would let any git run by the service trust
// any checkout's configuration.
func TestUnitHasNoSafeDirectoryException(t *testing.T) {
	unit, err := os.ReadFile("../systemd/esremote.service")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(unit)) {
		if !strings.HasPrefix(line, "#") && (strings.Contains(line, "safe.directory") || strings.Contains(line, "GIT_CONFIG")) {
			t.Errorf("systemd/esremote.service still configures git: %s", line)
		}
	}
}
