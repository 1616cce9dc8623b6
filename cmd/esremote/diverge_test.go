package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/state"
)

// newerConn is a connection only the newer spec checkout declares.
const newerConn = `apiVersion: esremote/v1
kind: Connection
name: analytics-to-ece-archive
local: ech-analytics
alias: ece-archive
remote:
  cluster: ece-prod-logs
security: api_key
api_key:
  managed: true
  access:
    search: [{names: ["archive-*"]}]
`

const archiveKey = "cluster.remote.ece-archive.mode"

func gitCommitAll(t *testing.T, dir string) {
	t.Helper()
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Commit("specs", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Now()}}); err != nil {
		t.Fatal(err)
	}
}

// Two daemons on one store whose spec checkouts diverged (one host's git
// pull stuck): across two failovers, no connection created from the newer
// specs is deleted. The newer host takes over from the older one (a
// fast-forward may lead) and creates its connection; the older host,
// back, reports spec_diverged naming both revisions, and when the newer
// leader stops it does not take the lease (it would delete the alias,
// key, keystore entry and role its specs lack).
func TestSharedStoreDivergedSpecs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three daemons")
	}
	w := newSharedWorld(t)
	newer := w.dir
	if _, err := git.PlainInit(newer, false); err != nil {
		t.Fatal(err)
	}
	gitCommitAll(t, newer)
	older := filepath.Join(t.TempDir(), "older")
	if out, err := exec.Command("cp", "-a", newer, older).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	if err := os.WriteFile(filepath.Join(newer, "archive.yaml"), []byte(newerConn), 0o644); err != nil {
		t.Fatal(err)
	}
	gitCommitAll(t, newer)

	const ttl, resync = 1500 * time.Millisecond, time.Second
	a := w.startIn(older, ttl, resync)
	waitFor(t, "a (older specs) leads and has applied", func() bool {
		return role(a.status()) == drift.RoleLeader && w.setting(skipKey) == "true"
	})
	b := w.startIn(newer, ttl, resync)
	waitFor(t, "b (newer specs) stands by behind a", func() bool {
		r := b.status()
		return role(r) == drift.RoleStandby && r.Leadership.Holder == a.holder()
	})
	if d := b.status().Leadership.SpecDiverged; d != "" {
		t.Fatalf("b, a fast-forward of the applied specs, reports %q", d)
	}

	// Failover 1: a dies; b leads and creates the newer connection.
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b leads and creates ece-archive", func() bool {
		return role(b.status()) == drift.RoleLeader && w.setting(archiveKey) == "proxy"
	})

	// a comes back on its stuck checkout: it stands by and says why.
	a2 := w.startIn(older, ttl, resync)
	waitFor(t, "a reports spec_diverged", func() bool {
		r := a2.status()
		return role(r) == drift.RoleStandby && r.Leadership.SpecDiverged != ""
	})
	d := a2.status().Leadership.SpecDiverged
	for _, want := range []string{"spec_diverged: these specs are git:", "the last pass applied git:", "not a descendant of the applied commit"} {
		if !strings.Contains(d, want) {
			t.Errorf("a's spec_diverged %q lacks %q", d, want)
		}
	}

	// Failover 2: b stops; a does not take the lease, and ece-archive stays.
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3*ttl + 2*resync)
	for time.Now().Before(deadline) {
		if role(a2.status()) == drift.RoleLeader {
			t.Fatal("a, on specs behind the applied ones, took the lease")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := w.setting(archiveKey); got != "proxy" {
		t.Fatalf("%s is %q after the failovers; the newer specs' connection was deleted", archiveKey, got)
	}
	if got := w.writesBy(a2.holder(), time.Time{}); len(got) > 0 {
		t.Fatalf("a wrote: %+v", got)
	}
	if m := a2.get("/metrics"); !strings.Contains(m, "\nesremote_spec_diverged 1\n") {
		t.Errorf("a's metrics lack esremote_spec_diverged 1")
	}
	if !strings.Contains(a2.out.String(), "spec_diverged: not taking the lease") {
		t.Errorf("a's log does not say it diverged:\n%s", a2.out)
	}
}

// A standalone apply or run warns when the state dir's record says the
// last pass applied specs these are not a fast-forward of (a checkout
// rolled back, or another branch), and stays quiet for a fast-forward.
func TestWarnDivergedStandalone(t *testing.T) {
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("# one\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitCommitAll(t, dir)
	h1, _ := repo.Head()
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("# two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitCommitAll(t, dir)
	h2, _ := repo.Head()
	stateDir := t.TempDir()

	warn := func(digest string) string {
		var errb strings.Builder
		c := &cli{ctx: t.Context(), stdout: &strings.Builder{}, stderr: &errb, getenv: os.Getenv}
		c.warnDiverged(stateDir, dir, digest)
		return errb.String()
	}
	// Applied at the first commit, checked out at the second: ahead, quiet.
	recordAppliedAt(t, stateDir, h1.Hash().String(), "sha256:one")
	if got := warn("sha256:two"); got != "" {
		t.Errorf("a fast-forward warned: %s", got)
	}
	// Applied at the second, checked out back at the first: a warning
	// naming both, and what it means.
	recordAppliedAt(t, stateDir, h2.Hash().String(), "sha256:two")
	wt, _ := repo.Worktree()
	if err := wt.Checkout(&git.CheckoutOptions{Hash: h1.Hash()}); err != nil {
		t.Fatal(err)
	}
	got := warn("sha256:one")
	for _, want := range []string{"esremote: warning: spec_diverged: these specs are git:" + h1.Hash().String()[:7],
		"the last pass applied git:" + h2.Hash().String()[:7], "esremote: hint: these specs are not the ones last applied"} {
		if !strings.Contains(got, want) {
			t.Errorf("warning lacks %q:\n%s", want, got)
		}
	}
}

func recordAppliedAt(t *testing.T, stateDir, commit, digest string) {
	t.Helper()
	if err := state.WriteAppliedFile(stateDir, state.Applied{Commit: commit, Digest: digest, Host: "admin-1", At: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
}
