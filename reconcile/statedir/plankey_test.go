package statedir

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The plan key is made on first use, 0600, in a state dir made 0700, and
// every later use reads the same key.
func TestPlanKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if _, err := ReadPlanKey(dir); !os.IsNotExist(err) {
		t.Fatalf("ReadPlanKey before first use: %v, want not exist", err)
	}
	k, err := PlanKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(k) != planKeySize {
		t.Fatalf("key of %d bytes", len(k))
	}
	fi, err := os.Stat(filepath.Join(dir, PlanKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("plan key mode %v, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Fatalf("state dir mode %v, want 0700", di.Mode().Perm())
	}
	again, err := PlanKey(dir)
	if err != nil || !bytes.Equal(again, k) {
		t.Fatalf("second use: %v, same key %v", err, bytes.Equal(again, k))
	}
	read, err := ReadPlanKey(dir)
	if err != nil || !bytes.Equal(read, k) {
		t.Fatalf("ReadPlanKey: %v, same key %v", err, bytes.Equal(read, k))
	}
	other, err := PlanKey(t.TempDir())
	if err != nil || bytes.Equal(other, k) {
		t.Fatalf("another state dir: %v, same key %v", err, bytes.Equal(other, k))
	}
	if err := os.WriteFile(filepath.Join(dir, PlanKeyFile), []byte("not hex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPlanKey(dir); err == nil {
		t.Fatal("a damaged plan key was read")
	}
}
