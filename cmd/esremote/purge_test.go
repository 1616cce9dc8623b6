package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// runPostremove runs the package's postremove script as dpkg does (with
// DPKG_ROOT pointing at a scratch root, so nothing of this host is
// touched) and fails the test if it fails.
func runPostremove(t *testing.T, root, action string) {
	t.Helper()
	script, err := filepath.Abs("../../packaging/scripts/postremove.sh")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", script, action)
	cmd.Env = append(os.Environ(), "DPKG_ROOT="+root)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("postremove %s: %v\n%s", action, err, out)
	}
}

// stateRoot makes the state dir the service leaves under DynamicUser= and
// StateDirectory=: /var/lib/private/esremote, /var/lib/esremote a link to
// it, holding the ledger (and a copy recover kept) next to reports, the
// history and the lock. ledger false leaves the ledger out.
func stateRoot(t *testing.T, ledger bool) (root, priv string) {
	t.Helper()
	root = t.TempDir()
	priv = filepath.Join(root, "var/lib/private/esremote")
	files := map[string]string{"lock": "", "reports/last.json": "{}", "history/2026-12-07.jsonl": "{}\n", "applied.json": "{}"}
	if ledger {
		files["ledger.json"] = `{"version":1,"installation":"8249537d89d169d2"}`
		files["ledger.json.before-recover"] = "null"
	}
	for name, content := range files {
		p := filepath.Join(priv, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("private/esremote", filepath.Join(root, "var/lib/esremote")); err != nil {
		t.Fatal(err)
	}
	return root, priv
}

// TestPurgeKeepsLedger: purging the package removes the state dir's
// reports, history and lock but keeps ledger.json and its copies (and the
// link to them), because a reinstall without its ledger is a new
// installation that refuses its own keys (issue 24). Without a ledger the
// whole state dir and the link go, as before; a plain remove keeps all.
func TestPurgeKeepsLedger(t *testing.T) {
	root, priv := stateRoot(t, true)
	runPostremove(t, root, "purge")
	for _, kept := range []string{"ledger.json", "ledger.json.before-recover"} {
		b, err := os.ReadFile(filepath.Join(root, "var/lib/esremote", kept))
		if err != nil || len(b) == 0 {
			t.Errorf("purge removed %s (through the link): %v", kept, err)
		}
	}
	for _, gone := range []string{"lock", "reports", "history", "applied.json"} {
		if _, err := os.Lstat(filepath.Join(priv, gone)); !os.IsNotExist(err) {
			t.Errorf("purge left %s (err %v)", gone, err)
		}
	}

	root, priv = stateRoot(t, false)
	runPostremove(t, root, "purge")
	for _, gone := range []string{priv, filepath.Join(root, "var/lib/esremote")} {
		if _, err := os.Lstat(gone); !os.IsNotExist(err) {
			t.Errorf("purge without a ledger left %s (err %v)", gone, err)
		}
	}

	root, priv = stateRoot(t, true)
	runPostremove(t, root, "remove")
	for _, kept := range []string{"ledger.json", "lock", "reports/last.json"} {
		if _, err := os.Stat(filepath.Join(priv, kept)); err != nil {
			t.Errorf("remove (not purge) removed %s: %v", kept, err)
		}
	}
}
