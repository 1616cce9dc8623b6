package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// waitReporter shows requests that take long, as Terraform's "Still
// creating... [10s elapsed]" does: a settings PUT waits up to 10 s per
// changed alias for its connection, and a cluster that never finishes a
// TLS handshake holds a request until the timeout, both silently before.
//
//   - On a terminal (plan, apply), a line every `every` while a request is
//     under way, saying what it is, what it waits for and when it gives
//     up, and one when it ends.
//   - In a daemon's journal, one line when a request has taken `first`.
//
// Only the target's name and "METHOD /path" are shown: never a query, a
// header or a body.
type waitReporter struct {
	out     io.Writer    // a terminal, or nil
	log     *slog.Logger // the journal, or nil
	first   time.Duration
	every   time.Duration // 0: once
	timeout time.Duration // the request timeout, shown as "gives up after"

	mu sync.Mutex // serialises writes to out
}

// terminalWaits reports to w when w is a terminal; otherwise it returns
// nil (a pipe or a file gets no progress lines: CI logs stay as they were).
func terminalWaits(w io.Writer, timeout time.Duration) func(target, op string) func() {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err != nil {
		return nil
	}
	r := &waitReporter{out: w, first: 10 * time.Second, every: 10 * time.Second, timeout: timeout}
	return r.begin
}

// journalWaits logs one line per request that takes 5 s or more.
func journalWaits(log *slog.Logger, timeout time.Duration) func(target, op string) func() {
	r := &waitReporter{log: log, first: 5 * time.Second, timeout: timeout}
	return r.begin
}

// begin is es.Config.Wait: it arms a timer, and the returned function
// disarms it (and says how long the request took, if it said anything).
func (r *waitReporter) begin(target, op string) func() {
	start := time.Now()
	var (
		mu      sync.Mutex
		t       *time.Timer
		stopped bool
		said    bool
	)
	var tick func()
	tick = func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		said = true
		r.say(target, op, time.Since(start))
		if r.every > 0 {
			t = time.AfterFunc(r.every, tick)
		}
	}
	mu.Lock()
	t = time.AfterFunc(r.first, tick)
	mu.Unlock()
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		t.Stop()
		if said && r.out != nil {
			r.mu.Lock()
			fmt.Fprintf(r.out, "esremote: %s: %s answered after %s\n", target, op, time.Since(start).Round(time.Second))
			r.mu.Unlock()
		}
	}
}

func (r *waitReporter) say(target, op string, elapsed time.Duration) {
	why := waitReason(op)
	if r.log != nil {
		r.log.Info("waiting for a slow request", "target", target, "action", op, "elapsed", elapsed.Round(time.Second), "waiting_for", why, "timeout", r.timeout)
		return
	}
	line := fmt.Sprintf("esremote: still waiting for %s: %s [%s elapsed", target, op, elapsed.Round(time.Second))
	if r.timeout > 0 {
		line += fmt.Sprintf(", gives up at %s", r.timeout)
	}
	line += "]"
	if why != "" {
		line += ": " + why
	}
	r.mu.Lock()
	fmt.Fprintln(r.out, line)
	r.mu.Unlock()
}

// waitReason says what a request that takes long is waiting for.
func waitReason(op string) string {
	method, path, _ := strings.Cut(op, " ")
	switch {
	case method == "PUT" && path == "/_cluster/settings":
		return "Elasticsearch waits up to 10 s for each changed alias to connect to its remote; a proxy address that reaches nothing costs the whole wait"
	case path == "/":
		return "the cluster has not answered: check the URL, the network and the TLS handshake (esremote doctor)"
	case strings.Contains(path, "/_resolve/cluster"):
		return "proving the links through their remotes: a remote that does not answer holds the proof"
	case strings.Contains(path, "reload_secure_settings"):
		return "every node reloads its keystore"
	case strings.HasPrefix(path, "/api/v1"):
		return "the control plane is slow, or rate-limits esremote (it waits for Retry-After)"
	}
	return ""
}
