package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/esremote/esremote/drift"
)

// A daemon whose local cluster refuses its password: the engine classifies
// the sim's 401 as terminal, /status carries the class, systemd's STATUS=
// line says it is not retried, the loop logs it once without scheduling a
// retry, and /metrics counts one terminal error (the wiring of
// esremote_reconcile_errors_total). That no retry follows
// before the resync is TestLoopTerminalNotRetriedBeforeResync's, on a fake
// clock.
func TestRunTerminalErrorCountedOnce(t *testing.T) {
	w := newSimWorld(t, managedConnection)
	w.env[envName("es-ech-analytics")] = "not-the-password"
	d := w.start(t, "--resync", "1h")
	logs := d.logs
	if msg := d.firstPass(); !strings.Contains(msg, "0 in sync, 0 drifted, 1 failed, 1 not retried (terminal error)") {
		t.Fatalf("first pass: %q\n%s", msg, logs)
	}
	metrics := get(t, d.url("/metrics"))
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
	body := get(t, d.url("/status"))
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
	d.stopOK()
}
