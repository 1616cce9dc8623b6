package state

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A ledger.json that is not a regular file (a FIFO left in the state dir)
// is refused at once: os.ReadFile blocked every plan, apply and run on it
// forever.
func TestLedgerFIFORefused(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, LedgerFile), 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	s := &File{Dir: dir}
	if _, err := s.Load(); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Load of a FIFO ledger: %v, want refused as not a regular file", err)
	}
	if err := s.Save([]byte(`{"version":1}`)); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Save over a FIFO ledger: %v, want refused as not a regular file", err)
	}
}
