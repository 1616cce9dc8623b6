package statedir

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
