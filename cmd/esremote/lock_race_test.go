package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/esremote/esremote/reconcile/statedir"
)

// rm STATE_DIR/lock under a running daemon (the stale-lock reflex): the
// apply racing it is refused, since the daemon still holds the state dir
// itself, and the daemon notices at once, says so and exits 1 instead of
// writing on beside a writer that might have locked a new file.
func TestRemovedLockUnderDaemon(t *testing.T) {
	specs, state := t.TempDir(), t.TempDir()
	d := startDaemon(t, nil, specs, "--listen", "127.0.0.1:0", "--state-dir", state, "--debounce", "1h:1h")
	logs := d.logs

	if err := os.Remove(filepath.Join(state, statedir.LockFile)); err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	ac := &cli{ctx: t.Context(), stdout: io.Discard, stderr: &errb, getenv: os.Getenv}
	if got := runCommand("apply", ac, []string{specs, "--state-dir", state}); got != exitError || !strings.Contains(errb.String(), "is held by another process whose record "+filepath.Join(state, statedir.LockFile)+" was deleted") {
		t.Fatalf("apply after rm lock = %d, stderr:\n%s\nwant exit 1 naming the daemon", got, errb.String())
	}

	if got := d.wait(); got != exitError {
		t.Errorf("daemon exited %d after losing its lock, want 1", got)
	}
	for _, want := range []string{"state dir lock lost", "was removed or replaced while this process held it"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("daemon log lacks %q:\n%s", want, logs)
		}
	}
}
