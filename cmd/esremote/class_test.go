package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// A daemon whose local cluster refuses its password: the engine classifies
// the sim's 401 as terminal, /status carries the class, systemd's STATUS=
// line says it is not retried, the loop logs it once without scheduling a
// retry, and /metrics counts one terminal error (the wiring of
// esremote_reconcile_errors_total). That no retry follows
// before the resync is TestLoopTerminalNotRetriedBeforeResync's, on a fake
// clock.
func TestRunTerminalErrorCountedOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	srv, err := sim.Start(ctx, sim.DefaultWorld())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	specs, env := simSpecs(t, srv, managedConnection)
	env["ES_PASSWORD_ECH_ANALYTICS"] = "not-the-password"
	next := notifySocket(t)
	logs := &logWatch{addr: make(chan string, 1)}
	c := &cli{ctx: ctx, stdout: io.Discard, stderr: logs, getenv: func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		if k == "JOURNAL_STREAM" {
			return ""
		}
		return os.Getenv(k)
	}}
	code := make(chan int, 1)
	go func() {
		code <- runCommand("run", c, []string{specs, "--listen", "127.0.0.1:0", "--state-dir", t.TempDir(), "--resync", "1h"})
	}()
	next("READY=1")
	if msg := next("STATUS="); !strings.Contains(msg, "0 in sync, 0 drifted, 1 failed, 1 not retried (terminal error)") {
		t.Fatalf("first pass: %q\n%s", msg, logs)
	}
	var addr string
	select {
	case addr = <-logs.addr:
	case <-time.After(failsafe):
		t.Fatalf("no listen address in the log:\n%s", logs)
	}
	metrics := get(t, "http://"+addr+"/metrics")
	for _, want := range []string{
		`esremote_reconcile_errors_total{class="terminal"} 1`,
		`esremote_reconcile_errors_total{class="retryable"} 0`,
		`esremote_reconcile_errors_total{class="throttled"} 0`,
	} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	var rep drift.Report
	body := get(t, "http://"+addr+"/status")
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatalf("/status: %v\n%s", err, body)
	}
	var classes []drift.Class
	for _, e := range rep.Errors {
		if e.Target == "ech-analytics" {
			classes = append(classes, e.Class)
		}
	}
	if len(classes) != 1 || classes[0] != drift.ClassTerminal || !strings.Contains(body, "401") {
		t.Errorf("/status errors of ech-analytics have classes %v, want one terminal naming the 401:\n%s", classes, body)
	}
	log := logs.String()
	if n := strings.Count(log, "not retried until its specs change"); n != 1 || strings.Contains(log, "retrying later") {
		t.Errorf("log has %d terminal lines (want 1) or a retry:\n%s", n, log)
	}
	cancel()
	select {
	case got := <-code:
		if got != exitOK {
			t.Fatalf("run exited %d:\n%s", got, logs)
		}
	case <-time.After(failsafe):
		t.Fatalf("run did not stop:\n%s", logs)
	}
}
