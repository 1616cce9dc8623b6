package reconcile

import (
	"context"
	"os/exec"
	"strings"
	"time"
)

// SpecRevision names the commit checked out in dir ("git:9f2c1e0", with
// "+dirty" when the work tree has uncommitted changes), or "" when dir is
// not in a git work tree or git is not installed. It answers the
// operator's question "which commit is live?".
func SpecRevision(dir string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--short=7", "HEAD").Output()
	if err != nil {
		return ""
	}
	rev := "git:" + strings.TrimSpace(string(out))
	st, err := exec.CommandContext(ctx, "git", "-C", dir, "status", "--porcelain", "--", ".").Output()
	if err == nil && len(strings.TrimSpace(string(st))) > 0 {
		rev += "+dirty"
	}
	return rev
}
