package statedir

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A second writer is refused at once, and the refusal names the holder
// as Terraform's does: command, pid, host, since.
func TestStateLockRefusesSecondWriter(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	since := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	held, err := LockStateDir(t.Context(), dir, Holder{Command: "esremote run", PID: 4242, Host: "admin-1", Since: since}, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockStateDir(t.Context(), dir, CurrentHolder("esremote apply", time.Now()), 0)
	var he *HeldError
	if !errors.As(err, &he) {
		t.Fatalf("second lock: %v; want a HeldError", err)
	}
	want := "state dir " + dir + " is held by esremote run (pid 4242 on admin-1 since 2026-11-29T12:00:00Z)"
	if err.Error() != want {
		t.Fatalf("refusal:\n got %s\nwant %s", err, want)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("state dir mode: %v %v", fi.Mode(), err)
	}
	// Released: the next writer gets it, and the record names it.
	held.Release()
	held.Release() // idempotent
	if h := ReadHolder(dir); h.PID != 0 {
		t.Fatalf("record after release: %+v; want none", h)
	}
	next, err := LockStateDir(t.Context(), dir, CurrentHolder("esremote apply", time.Now()), 0)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	defer next.Release()
	if h := ReadHolder(dir); h.Command != "esremote apply" || h.PID != os.Getpid() || h.Host == "" {
		t.Fatalf("record: %+v", h)
	}
}

// With a timeout the second writer waits for the first instead of
// failing, and gets the lock once it is released.
func TestStateLockWaits(t *testing.T) {
	dir := t.TempDir()
	first, err := LockStateDir(t.Context(), dir, CurrentHolder("esremote apply", time.Now()), 0)
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan struct{}, 100)
	lockWaiting = func() { waiting <- struct{}{} }
	defer func() { lockWaiting = nil }()
	got := make(chan error, 1)
	go func() {
		l, err := LockStateDir(context.Background(), dir, CurrentHolder("esremote apply", time.Now()), time.Minute)
		if err == nil {
			l.Release()
		}
		got <- err
	}()
	<-waiting // the second writer found it held and is waiting
	first.Release()
	if err := <-got; err != nil {
		t.Fatalf("waiting writer: %v; want the lock once released", err)
	}
}

// A timeout that runs out is a refusal naming the holder and the wait.
func TestStateLockTimeout(t *testing.T) {
	dir := t.TempDir()
	first, err := LockStateDir(t.Context(), dir, Holder{Command: "esremote run", PID: 7, Host: "h", Since: time.Unix(0, 0)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Release()
	_, err = LockStateDir(t.Context(), dir, CurrentHolder("esremote apply", time.Now()), 150*time.Millisecond)
	var he *HeldError
	if !errors.As(err, &he) || he.Waited < 150*time.Millisecond || !strings.Contains(err.Error(), "esremote run (pid 7 on h") ||
		!strings.Contains(err.Error(), "still held after waiting") {
		t.Fatalf("timeout: %v", err)
	}
}

// Deleting the lock file (the stale-lock reflex) does not let a second
// writer in: the directory itself is locked. The holder's Check notices
// the file is gone and says so, and the refused writer leaves no new
// file behind for the holder to trip over.
func TestStateLockSurvivesRemovedLockFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	held, err := LockStateDir(t.Context(), dir, CurrentHolder("esremote run", time.Now()), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	if err := held.Check(); err != nil {
		t.Fatalf("check while held: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, LockFile)); err != nil {
		t.Fatal(err)
	}
	_, err = LockStateDir(t.Context(), dir, CurrentHolder("esremote apply", time.Now()), 0)
	var he *HeldError
	if !errors.As(err, &he) {
		t.Fatalf("second writer after rm lock: %v; want a HeldError", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, LockFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the refused writer created a lock file: %v", err)
	}
	err = held.Check()
	if !errors.Is(err, ErrLockLost) || !strings.Contains(err.Error(), "removed or replaced") {
		t.Fatalf("check after rm: %v; want ErrLockLost", err)
	}
}

// A lock file replaced by another (mv over it) is noticed too.
func TestStateLockNoticesReplacedLockFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	held, err := LockStateDir(t.Context(), dir, CurrentHolder("esremote run", time.Now()), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other, filepath.Join(dir, LockFile)); err != nil {
		t.Fatal(err)
	}
	if err := held.Check(); !errors.Is(err, ErrLockLost) {
		t.Fatalf("check after replace: %v; want ErrLockLost", err)
	}
	held.Release()
	if b, _ := os.ReadFile(filepath.Join(dir, LockFile)); string(b) != "{}" {
		t.Fatalf("release emptied a lock file that was not its own: %q", b)
	}
}

// A lock file that is a symbolic link is refused and its target is left
// as it was (the lock used to be opened through the link and the target
// truncated).
func TestStateLockRefusesSymlinkedLockFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "precious")
	if err := os.WriteFile(target, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, LockFile)); err != nil {
		t.Fatal(err)
	}
	_, err := LockStateDir(t.Context(), dir, CurrentHolder("esremote apply", time.Now()), 0)
	if err == nil || !strings.Contains(err.Error(), "is a symbolic link") {
		t.Fatalf("lock through a symlink: %v; want a refusal", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep me" {
		t.Fatalf("symlink target changed: %q", b)
	}
	if ReadHolder(dir) != (Holder{}) {
		t.Fatal("ReadHolder followed the link")
	}
}

// A state dir that is a symlink to another user's directory is refused;
// one to the user's own directory is fine.
func TestStateLockRefusesSymlinkToOthersDir(t *testing.T) {
	base := t.TempDir()
	own := filepath.Join(base, "own")
	if err := os.MkdirAll(own, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(own, link); err != nil {
		t.Fatal(err)
	}
	l, err := LockStateDir(t.Context(), link, CurrentHolder("esremote apply", time.Now()), 0)
	if err != nil {
		t.Fatalf("symlink to own dir: %v", err)
	}
	l.Release()
	if os.Geteuid() != 0 {
		t.Skip("changing a directory's owner needs root")
	}
	others := filepath.Join(base, "others")
	if err := os.MkdirAll(others, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(others, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	link2 := filepath.Join(base, "link2")
	if err := os.Symlink(others, link2); err != nil {
		t.Fatal(err)
	}
	_, err = LockStateDir(t.Context(), link2, CurrentHolder("esremote apply", time.Now()), 0)
	if err == nil || !strings.Contains(err.Error(), "belongs to uid 4242") {
		t.Fatalf("symlink to another user's dir: %v; want a refusal", err)
	}
	if _, err := os.Lstat(filepath.Join(others, LockFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a lock file was created in the other user's dir: %v", err)
	}
}

// An older esremote locks only the file: a new writer is refused while it
// holds it.
func TestStateLockRespectsFileOnlyHolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	_, err = LockStateDir(t.Context(), dir, CurrentHolder("esremote apply", time.Now()), 0)
	var he *HeldError
	if !errors.As(err, &he) {
		t.Fatalf("with an old-style holder: %v; want a HeldError", err)
	}
	// And its directory lock was given back: once the old holder is gone,
	// the next writer gets in.
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	l, err := LockStateDir(t.Context(), dir, CurrentHolder("esremote apply", time.Now()), 0)
	if err != nil {
		t.Fatalf("after the old holder left: %v", err)
	}
	l.Release()
}
