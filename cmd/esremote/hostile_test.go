package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Hostile environments for the commands (issue 18): FIFOs where files are
// expected, and signals while a command is blocked.

// promptly bounds how long a command may take on these inputs; each
// returns in milliseconds when it works, and hung forever before.
const promptly = 10 * time.Second

// esremoteBin is the test binary linked as "esremote" by testscript.Main.
func esremoteBin(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("esremote")
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// runPromptly runs esremote with args and fails the test when it has not
// exited within promptly (it is killed then).
func runPromptly(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), promptly)
	defer cancel()
	cmd := exec.CommandContext(ctx, esremoteBin(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("esremote %s did not exit within %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), promptly, o.String(), e.String())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
}

// A FIFO as a spec file: validate, plan and apply say what it is and exit
// 1 at once, changing nothing.
func TestFIFOSpecFileIsRefusedPromptly(t *testing.T) {
	dir := t.TempDir()
	mkfifo(t, filepath.Join(dir, "specs.yaml"))
	for _, cmd := range []string{"validate", "plan", "apply"} {
		t.Run(cmd, func(t *testing.T) {
			stdout, stderr, code := runPromptly(t, []string{"STATE_DIRECTORY=" + t.TempDir()}, cmd, dir)
			if code != exitError {
				t.Errorf("exit code %d, want 1", code)
			}
			want := "specs.yaml:1:1: error: file is a named pipe (FIFO), not a regular file: spec files are regular files; remove it or rename it so it does not end in .yaml/.yml"
			if !strings.Contains(stdout+stderr, want) {
				t.Errorf("output lacks %q:\nstdout:\n%s\nstderr:\n%s", want, stdout, stderr)
			}
		})
	}
}

// A FIFO as a {file:} secret: validate does not read secrets (exit 0);
// plan and apply report the cluster as failed, naming the file and what it
// is, and exit 1 at once.
func TestFIFOSecretIsRefusedPromptly(t *testing.T) {
	dir := t.TempDir()
	mkfifo(t, filepath.Join(dir, "es-key"))
	spec := "apiVersion: esremote/v1\nkind: Cluster\nname: a\nelasticsearch:\n  url: https://127.0.0.1:1\n  auth: {api_key: {file: es-key}}\n" +
		"---\napiVersion: esremote/v1\nkind: Connection\nname: a-to-b\nlocal: a\nalias: b\nremote: {proxy_address: \"b.example.com:9443\", server_name: b.example.com}\n" +
		"security: api_key\napi_key: {managed: false, credentials: {env: B_KEY}}\n"
	if err := os.WriteFile(filepath.Join(dir, "specs.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, code := runPromptly(t, nil, "validate", dir); code != exitOK {
		t.Errorf("validate: exit code %d, want 0 (it never reads secrets)", code)
	}
	for _, cmd := range []string{"plan", "apply"} {
		t.Run(cmd, func(t *testing.T) {
			stdout, stderr, code := runPromptly(t, []string{"STATE_DIRECTORY=" + t.TempDir(), "B_KEY=x"}, cmd, dir)
			if code != exitError {
				t.Errorf("exit code %d, want 1", code)
			}
			want := filepath.Join(dir, "es-key") + " is a named pipe (FIFO), not a regular file"
			if !strings.Contains(stdout+stderr, want) {
				t.Errorf("output lacks %q:\nstdout:\n%s\nstderr:\n%s", want, stdout, stderr)
			}
		})
	}
}

// The first signal cancels the command's context; the second exits at
// once with code 1.
func TestOnSignals(t *testing.T) {
	sigs := make(chan os.Signal)
	done := make(chan struct{})
	defer close(done)
	ctx, cancel := context.WithCancelCause(context.Background())
	exited := make(chan int, 1)
	var stderr bytes.Buffer
	go onSignals(sigs, done, cancel, &stderr, func(code int) { exited <- code })

	sigs <- syscall.SIGTERM
	<-ctx.Done()
	if got := context.Cause(ctx).Error(); got != "stop requested by terminated" {
		t.Errorf("cause = %q", got)
	}
	select {
	case code := <-exited:
		t.Fatalf("exited with %d after one signal", code)
	default:
	}
	sigs <- syscall.SIGINT
	if code := <-exited; code != exitError {
		t.Errorf("exit code %d, want 1", code)
	}
	if got, want := stderr.String(), "esremote: error: second signal (interrupt): exiting now\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
}

// A command blocked in I/O that no context reaches — here validate
// writing to a pipe nobody reads — ignores the first SIGTERM (it cannot
// see it) and exits at once on the second. Before, both were ignored.
func TestSecondSignalExitsWhileBlockedInIO(t *testing.T) {
	dir := t.TempDir()
	// Enough problems that validate's output overflows a 64 KiB pipe.
	var b strings.Builder
	b.WriteString("apiVersion: esremote/v1\nkind: Cluster\nname: a\n")
	for i := range 3000 {
		fmt.Fprintf(&b, "unknown_field_%d: x\n", i)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(esremoteBin(t), "validate", dir)
	cmd.Stdout = w
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()

	// Wait until the 64 KiB pipe is nearly full: validate is then blocked in
	// write(2), or about to be.
	deadline := time.Now().Add(promptly)
	for {
		n, err := unix.IoctlGetInt(int(r.Fd()), unix.TIOCINQ)
		if err != nil {
			t.Fatal(err)
		}
		if n >= 60<<10 { // the rest (about 200 KiB) cannot fit: it blocks
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("validate wrote only %d bytes", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		t.Fatalf("validate exited on the first signal while blocked (%v): the second is what must end it", err)
	case <-time.After(100 * time.Millisecond):
	}
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(promptly):
		t.Fatalf("validate did not exit within %s of the second signal", promptly)
	}
	if code := cmd.ProcessState.ExitCode(); code != exitError {
		t.Errorf("exit code %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "esremote: error: second signal (terminated): exiting now") {
		t.Errorf("stderr = %q", stderr.String())
	}
	t.Logf("exited %s after the second signal", time.Since(sent).Round(time.Millisecond))
}

// A key pasted as a credential name passes validate with a warning, and
// plan's error names where it was written, never the name itself (before:
// echoed in the report, /status and every alert).
func TestSecretLookingCredentialNameIsNeverEchoed(t *testing.T) {
	dir := t.TempDir()
	const pasted = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="
	spec := "apiVersion: esremote/v1\nkind: Cluster\nname: a\nelasticsearch:\n  url: https://127.0.0.1:1\n  auth: {api_key: {credential: \"" + pasted + "\"}}\n" +
		"---\napiVersion: esremote/v1\nkind: Connection\nname: a-to-b\nlocal: a\nalias: b\nremote: {proxy_address: \"b.example.com:9443\", server_name: b.example.com}\n" +
		"security: api_key\napi_key: {managed: false, credentials: {env: B_KEY}}\n"
	if err := os.WriteFile(filepath.Join(dir, "specs.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runPromptly(t, nil, "validate", dir)
	if code != exitOK || !strings.Contains(stdout, "specs.yaml:6:32: warning: elasticsearch.auth.api_key.credential looks like a secret value") {
		t.Errorf("validate: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, format := range []string{"text", "json"} {
		stdout, stderr, code := runPromptly(t, []string{"STATE_DIRECTORY=" + t.TempDir(), "B_KEY=x", "CREDENTIALS_DIRECTORY=" + t.TempDir()}, "plan", "--format", format, dir)
		out := stdout + stderr
		// The position names the file by the spec dir as given (here
		// absolute), as validate does.
		if code != exitError || !strings.Contains(out, "credential named at "+filepath.Join(dir, "specs.yaml")+":6:10 (withheld: it looks like a secret value)") {
			t.Errorf("plan --format %s: exit %d, want 1 and the error naming the position:\n%s", format, code, out)
		}
		if strings.Contains(out, pasted) || strings.Contains(out, pasted[:20]) {
			t.Errorf("plan --format %s repeats the pasted key:\n%s", format, out)
		}
	}
}
