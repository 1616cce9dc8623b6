package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
)

func TestRunDaemonLifecycle(t *testing.T) {
	specs, state := t.TempDir(), t.TempDir()
	// The file watch must not race the SIGHUP below: a long quiescence.
	d := startDaemon(t, nil, specs, "--listen", "127.0.0.1:0", "--state-dir", state, "--debounce", "1h:1h")
	next, addr := d.next, d.addr

	// READY, then the first pass's STATUS: sd_notify in order.
	if msg := next("READY=1"); !strings.Contains(msg, "STATUS=") {
		t.Errorf("READY without STATUS: %q", msg)
	}
	if msg := next("STATUS=0 in sync, 0 drifted, 0 failed"); strings.Contains(msg, "READY=1") {
		t.Errorf("pass status came as READY: %q", msg)
	}

	// esremote status reads the last report.
	var out, errb bytes.Buffer
	sc := &cli{ctx: t.Context(), stdout: &out, stderr: &errb, getenv: os.Getenv}
	if got := runCommand("status", sc, []string{"--listen", addr, "--format", "json"}); got != exitOK {
		t.Fatalf("status = %d: %s", got, errb.String())
	}
	r, err := drift.ReadJSON(&out)
	if err != nil || r.Mode != drift.ModeRun || r.Trigger != drift.TriggerStart {
		t.Fatalf("status report = %+v, %v", r, err)
	}
	if _, err := os.Stat(filepath.Join(state, drift.LastReport)); err != nil {
		t.Errorf("report not saved in the state dir: %v", err)
	}

	// SIGHUP reloads: RELOADING with MONOTONIC_USEC, READY, then the pass.
	if err := os.WriteFile(filepath.Join(specs, "empty.yaml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if msg := next("RELOADING=1"); !regexp.MustCompile(`MONOTONIC_USEC=[1-9][0-9]*`).MatchString(msg) {
		t.Errorf("RELOADING without MONOTONIC_USEC: %q", msg)
	}
	next("READY=1")
	next("STATUS=")

	d.cancel()
	next("STOPPING=1")
	if got := d.wait(); got != exitOK {
		t.Errorf("run exited %d, want 0; log:\n%s", got, d.logs)
	}
	for _, want := range []string{"spec loaded", "pass finished", "reload requested", "esremote stopped"} {
		if !strings.Contains(d.logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, d.logs)
		}
	}

	// Stopped: status says so and how to find the daemon.
	errb.Reset()
	if got := runCommand("status", sc, []string{"--listen", addr}); got != exitError || !strings.Contains(errb.String(), "esremote: hint:") {
		t.Errorf("status of a stopped daemon = %d: %s", got, errb.String())
	}
}

func TestRunFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "usage: esremote run"},
		{[]string{"x", "--debounce", "5s:1s"}, "max ≥ min"},
		{[]string{"x", "--debounce", "soon"}, "want min:max"},
		{[]string{t.TempDir(), "--log-format", "xml"}, "unknown --log-format"},
		{[]string{filepath.Join(t.TempDir(), "nope")}, "not a directory"},
		{[]string{t.TempDir(), "--external-url", "esremote.example.com"}, "--external-url \"esremote.example.com\": want an absolute http or https URL"},
	} {
		var errb bytes.Buffer
		c := &cli{ctx: t.Context(), stdout: io.Discard, stderr: &errb, getenv: os.Getenv}
		if got := runCommand("run", c, tc.args); got != exitError || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("run %q = %d, stderr %q, want exit 1 with %q", tc.args, got, errb.String(), tc.want)
		}
	}
}

func TestParseDebounce(t *testing.T) {
	for in, want := range map[string][2]time.Duration{
		"250ms:5s": {250 * time.Millisecond, 5 * time.Second},
		"1s":       {time.Second, 4 * time.Second},
		"2s:2s":    {2 * time.Second, 2 * time.Second},
	} {
		lo, hi, err := parseDebounce(in)
		if err != nil || lo != want[0] || hi != want[1] {
			t.Errorf("parseDebounce(%q) = %s, %s, %v", in, lo, hi, err)
		}
	}
}

func TestStatusUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	var errb bytes.Buffer
	c := &cli{ctx: t.Context(), stdout: io.Discard, stderr: &errb, getenv: os.Getenv}
	if got := runCommand("status", c, []string{"--listen", addr}); got != exitError {
		t.Fatalf("status = %d, want 1", got)
	}
	if !strings.Contains(errb.String(), "esremote: error: cannot reach the daemon at "+addr) ||
		!strings.Contains(errb.String(), "esremote: hint: is it running?") || strings.Contains(errb.String(), `Get "`) {
		t.Errorf("stderr = %q", errb.String())
	}
}
