package revision

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

func TestAgree(t *testing.T) {
	const c1, c2, c3 = "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222", "3333333333333333333333333333333333333333"
	// c1 ← c2 (c2 descends from c1); c3 on another branch.
	anc := func(a, b string) (bool, error) {
		return a == b || (a == c1 && b == c2), nil
	}
	broken := func(a, b string) (bool, error) { return false, errors.New("object file is corrupt") }
	d1, d2, d3 := "sha256:aaaa", "sha256:bbbb", "sha256:cccc"
	for _, tc := range []struct {
		name          string
		applied, mine Rev
		ancestor      AncestorFunc
		want          string // "" agree; else part of the reason
	}{
		{"nothing applied yet", Rev{}, Rev{Commit: c3, Digest: d3}, anc, ""},
		{"same commit and set", Rev{c1, d1}, Rev{c1, d1}, anc, ""},
		{"same set, not in git", Rev{Digest: d1}, Rev{Digest: d1}, anc, ""},
		{"same set, one dirty", Rev{c1, d1}, Rev{Digest: d1}, anc, ""},
		{"fast-forward", Rev{c1, d1}, Rev{c2, d2}, anc, ""},
		{"behind", Rev{c2, d2}, Rev{c1, d1}, anc, "not a descendant"},
		{"other branch", Rev{c1, d1}, Rev{c3, d3}, anc, "not a descendant"},
		{"differ, no git", Rev{Digest: d1}, Rev{Digest: d2}, anc, "neither is a git commit"},
		{"mine dirty", Rev{c1, d1}, Rev{Digest: d2}, anc, "not a clean git checkout"},
		{"applied dirty", Rev{Digest: d1}, Rev{c2, d2}, anc, "applied specs were not a clean git commit"},
		{"same commit, other set", Rev{c1, d1}, Rev{c1, d2}, anc, "same commit, different spec sets"},
		{"unreadable history", Rev{c1, d1}, Rev{c2, d2}, broken, "cannot read the git history"},
	} {
		err := Agree(tc.applied, tc.mine, tc.ancestor)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v; want agreement", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v; want a DivergedError with %q", tc.name, err, tc.want)
		case tc.want != "":
			var de *DivergedError
			if !errors.As(err, &de) || !strings.HasPrefix(err.Error(), "spec_diverged: these specs are ") {
				t.Errorf("%s: %v is not a DivergedError naming both revisions", tc.name, err)
			}
		}
	}
}

func TestRevString(t *testing.T) {
	for r, want := range map[Rev]string{
		{Commit: "9f2c1e0b7a6d5c4e3f2a1b0c9d8e7f6a5b4c3d2e", Digest: "sha256:x"}: "git:9f2c1e0",
		{Digest: "sha256:4be1c0de55f8e0a1b2c3d4e5f6"}:                            "sha256:4be1c0de55f8…",
		{}: "(none)",
	} {
		if got := r.String(); got != want {
			t.Errorf("%+v.String() = %q, want %q", r, got, want)
		}
	}
}

// commit writes files into a work tree and commits them.
func commit(t *testing.T, wt *git.Worktree, dir string, files map[string]string) string {
	t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := wt.Add(name); err != nil {
			t.Fatal(err)
		}
	}
	h, err := wt.Commit("specs", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Unix(1, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// Ancestry over a real repository: a host whose checkout is a copy made
// before the newer commit (its pull stuck) lacks that commit and sees it
// as no ancestor; the newer checkout sees the older commit as one.
func TestAncestryAndHead(t *testing.T) {
	newer := t.TempDir()
	repo, err := git.PlainInit(newer, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	c1 := commit(t, wt, newer, map[string]string{"a.yaml": "a: 1\n"})
	older := filepath.Join(t.TempDir(), "older")
	if err := os.CopyFS(older, os.DirFS(newer)); err != nil {
		t.Fatal(err)
	}
	c2 := commit(t, wt, newer, map[string]string{"b.yaml": "b: 2\n"})
	if err := os.MkdirAll(filepath.Join(newer, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := Head(filepath.Join(newer, "sub")); got != c2 {
		t.Fatalf("Head of a subdirectory = %q, want %s", got, c2)
	}
	if got := Head(older); got != c1 {
		t.Fatalf("Head(older) = %q, want %s", got, c1)
	}
	if got := Head(t.TempDir()); got != "" {
		t.Fatalf("Head outside git = %q", got)
	}
	for _, tc := range []struct {
		dir, a, b string
		want      bool
	}{
		{newer, c1, c2, true}, {newer, c2, c1, false}, {newer, c2, c2, true},
		{older, c2, c1, false}, // c2 was never fetched here
	} {
		got, err := Ancestry(tc.dir)(tc.a, tc.b)
		if err != nil || got != tc.want {
			t.Errorf("Ancestry(%s)(%s, %s) = %v, %v; want %v", filepath.Base(tc.dir), tc.a[:7], tc.b[:7], got, err, tc.want)
		}
	}
}
