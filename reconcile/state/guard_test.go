package state

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A File whose Guard refuses (the writer's lock was removed or replaced)
// saves nothing: the ledger on disk stays as it was.
func TestFileGuardStopsSaves(t *testing.T) {
	dir := t.TempDir()
	lost := errors.New("state dir lock lost")
	var guard error
	f := &File{Dir: dir, Guard: func() error { return guard }}
	if err := f.Save([]byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	guard = lost
	if err := f.Save([]byte(`{"a":2}`)); !errors.Is(err, lost) {
		t.Fatalf("save with the guard refusing: %v; want its error", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, LedgerFile)); string(b) != `{"a":1}` {
		t.Fatalf("ledger after a refused save: %s", b)
	}
}
