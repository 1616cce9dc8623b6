package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/reconcile/sim"
)

// esremote sim --specs DIR puts every credential in DIR/sim.json, which
// only its owner can read, and prints none of them: the terminal used to
// get every password, API key and the admin token as JSON.
func TestSimKeepsCredentialsOffTheTerminal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "try")
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	c := &cli{ctx: ctx, stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	done := make(chan int)
	go func() { done <- c.main([]string{"sim", "--specs", dir}) }()
	file := filepath.Join(dir, "sim.json")
	for {
		if _, err := os.Stat(file); err == nil {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("sim exited %d before writing %s: %s", code, file, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %04o, want 0600", file, info.Mode().Perm())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var a sim.Addresses
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	secrets := []string{a.Admin.Token}
	for _, cl := range a.Clusters {
		secrets = append(secrets, cl.Password, cl.APIKey)
	}
	for _, cp := range a.ControlPlanes {
		secrets = append(secrets, cp.APIKey)
	}
	out := stdout.String() + stderr.String()
	for _, s := range secrets {
		if s == "" {
			t.Fatalf("sim.json lacks a credential: %s", b)
		}
		if strings.Contains(out, s) {
			t.Errorf("a credential reached the terminal:\n%s", out)
		}
	}
	if !strings.Contains(out, "credentials and the admin token: "+file+" (mode 0600") {
		t.Errorf("the summary does not say where the credentials are:\n%s", out)
	}
}

// Without a file for them, the summary says the credentials were
// withheld and how to get them.
func TestSimSummaryWithoutAFile(t *testing.T) {
	var b bytes.Buffer
	simSummary(&b, sim.Addresses{Admin: sim.AdminAddress{URL: "https://127.0.0.1:1", Token: "tok-secret"}}, "")
	if !strings.Contains(b.String(), "credentials and the admin token: not printed; run with --addr-file FILE (mode 0600) or --print-credentials\n") ||
		strings.Contains(b.String(), "tok-secret") {
		t.Errorf("summary:\n%s", b.String())
	}
}
