package ledger

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A ledger.json that is not a regular file is refused at once, not read
// forever (FileStore is the ledger of the engine's own tests and tools).
func TestFileStoreFIFORefused(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, File), 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	if _, err := (FileStore{Dir: dir}).Load(); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Load of a FIFO ledger: %v, want refused as not a regular file", err)
	}
}
