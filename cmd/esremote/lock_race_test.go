package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/reconcile/statedir"
)

// rm STATE_DIR/lock under a running daemon (the stale-lock reflex): the
// apply racing it is refused, since the daemon still holds the state dir
// itself, and the daemon notices at once, says so and exits 1 instead of
// writing on beside a writer that might have locked a new file.
func TestRemovedLockUnderDaemon(t *testing.T) {
	specs, state := t.TempDir(), t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := &logWatch{addr: make(chan string, 1)}
	c := &cli{ctx: ctx, stdout: io.Discard, stderr: logs, getenv: os.Getenv}
	code := make(chan int, 1)
	go func() {
		code <- runCommand("run", c, []string{specs, "--listen", "127.0.0.1:0", "--state-dir", state, "--debounce", "1h:1h"})
	}()
	select {
	case <-logs.addr:
	case <-time.After(failsafe):
		t.Fatalf("daemon did not start:\n%s", logs)
	}

	if err := os.Remove(filepath.Join(state, statedir.LockFile)); err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	ac := &cli{ctx: t.Context(), stdout: io.Discard, stderr: &errb, getenv: os.Getenv}
	if got := runCommand("apply", ac, []string{specs, "--state-dir", state}); got != exitError || !strings.Contains(errb.String(), "is held by another process whose record "+filepath.Join(state, statedir.LockFile)+" was deleted") {
		t.Fatalf("apply after rm lock = %d, stderr:\n%s\nwant exit 1 naming the daemon", got, errb.String())
	}

	select {
	case got := <-code:
		if got != exitError {
			t.Errorf("daemon exited %d after losing its lock, want 1", got)
		}
	case <-time.After(failsafe):
		t.Fatalf("daemon did not stop after its lock file was removed:\n%s", logs)
	}
	for _, want := range []string{"state dir lock lost", "was removed or replaced while this process held it"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("daemon log lacks %q:\n%s", want, logs)
		}
	}
}
