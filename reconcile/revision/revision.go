// Package revision tells whether two spec revisions agree: the same spec
// set, or a fast-forward of the same git history. Daemons sharing a state
// store use it so that a host whose checkout is behind (its `git pull`
// stuck) never leads: a leader with older specs deletes what newer specs
// created (DESIGN §9, "specs that agree").
//
// It reads git repositories with go-git, never by running git: git would
// execute the checkout's hooks and configured commands as the daemon's
// user and refuse a checkout another user owns.
package revision

import (
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// Rev is the revision of a spec set: the full git commit checked out when
// the spec dir is a clean git work tree ("" otherwise: not in git, or a
// spec file differs from the commit), and always the spec set's digest.
type Rev struct {
	Commit string `json:"commit,omitempty"`
	Digest string `json:"digest"`
}

// IsZero reports whether r names nothing (no pass recorded yet).
func (r Rev) IsZero() bool { return r.Commit == "" && r.Digest == "" }

// String is "git:9f2c1e0" for a commit, else the digest shortened
// ("sha256:4be1c0de…").
func (r Rev) String() string {
	switch {
	case len(r.Commit) >= 7:
		return "git:" + r.Commit[:7]
	case len(r.Digest) > 19:
		return r.Digest[:19] + "…"
	case r.Digest != "":
		return r.Digest
	}
	return "(none)"
}

// DivergedError says that specs may not lead after what was applied.
type DivergedError struct {
	Applied, Mine Rev
	// Reason is why the two do not agree.
	Reason string
}

func (e *DivergedError) Error() string {
	return fmt.Sprintf("spec_diverged: these specs are %s, the last pass applied %s: %s", e.Mine, e.Applied, e.Reason)
}

// AncestorFunc reports whether commit a is an ancestor of commit b (a
// commit is its own ancestor).
type AncestorFunc func(a, b string) (bool, error)

// Agree is nil when a host running mine may lead after applied was the
// last applied revision: nothing was applied yet, the spec sets are the
// same (equal digests), or mine is a fast-forward of applied (both clean
// commits, applied an ancestor of mine). Anything else is a
// *DivergedError, including an ancestry that cannot be read: leading on
// older or unrelated specs deletes what the newer ones created, while not
// leading only delays corrections until the specs agree.
func Agree(applied, mine Rev, ancestor AncestorFunc) error {
	if applied.IsZero() || (applied.Digest != "" && applied.Digest == mine.Digest) {
		return nil
	}
	diverged := func(reason string) error { return &DivergedError{Applied: applied, Mine: mine, Reason: reason} }
	switch {
	case mine.Commit == "" && applied.Commit == "":
		return diverged("the spec sets differ and neither is a git commit to compare by history; make the spec checkouts the same on every host")
	case mine.Commit == "":
		return diverged("these specs are not a clean git checkout (a spec file differs from the commit, or there is no git), so they cannot be shown to be ahead; commit or check out the applied commit's descendant")
	case applied.Commit == "":
		return diverged("the applied specs were not a clean git commit, so these cannot be shown to be ahead of them")
	case applied.Commit == mine.Commit:
		return diverged("same commit, different spec sets (a different spec directory?)")
	}
	ok, err := ancestor(applied.Commit, mine.Commit)
	switch {
	case err != nil:
		return diverged("cannot read the git history to compare them: " + err.Error())
	case !ok:
		return diverged("these specs are not a descendant of the applied commit (behind it, or on another branch); update this host's checkout (git pull)")
	}
	return nil
}

// Head is the full hash of the commit checked out in the git work tree
// holding dir, or "" when dir is not in one.
func Head(dir string) string {
	repo, err := open(dir)
	if err != nil {
		return ""
	}
	ref, err := repo.Head()
	if err != nil {
		return ""
	}
	return ref.Hash().String()
}

// Ancestry returns the AncestorFunc of the repository holding dir. A
// commit this repository does not have (the applied one came from a newer
// history not fetched here) is not an ancestor of anything here.
func Ancestry(dir string) AncestorFunc {
	return func(a, b string) (bool, error) {
		repo, err := open(dir)
		if err != nil {
			return false, err
		}
		cb, err := repo.CommitObject(plumbing.NewHash(b))
		if err != nil {
			return false, fmt.Errorf("commit %s: %w", short(b), err)
		}
		ca, err := repo.CommitObject(plumbing.NewHash(a))
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("commit %s: %w", short(a), err)
		}
		if ca.Hash == cb.Hash {
			return true, nil
		}
		return ca.IsAncestor(cb)
	}
}

func open(dir string) (*git.Repository, error) {
	return git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
}

func short(h string) string { return h[:min(len(h), 7)] }
