package main

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// On a terminal, a request that takes 25 s gets a line at 10 s and 20 s
// saying what it waits for and when it gives up, and one when it ends; a
// quick one gets nothing.
func TestWaitReporterTerminal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out lockedBuffer
		r := &waitReporter{out: &out, first: 10 * time.Second, every: 10 * time.Second, timeout: 30 * time.Second}
		done := r.begin("ech-analytics", "GET /_cluster/settings")
		time.Sleep(2 * time.Second)
		done()
		if out.String() != "" {
			t.Fatalf("a 2 s request printed: %q", out.String())
		}
		done = r.begin("ech-analytics", "PUT /_cluster/settings")
		time.Sleep(25 * time.Second)
		done()
		want := "esremote: still waiting for ech-analytics: PUT /_cluster/settings [10s elapsed, gives up at 30s]: Elasticsearch waits up to 10 s for each changed alias to connect to its remote; a proxy address that reaches nothing costs the whole wait\n" +
			"esremote: still waiting for ech-analytics: PUT /_cluster/settings [20s elapsed, gives up at 30s]: Elasticsearch waits up to 10 s for each changed alias to connect to its remote; a proxy address that reaches nothing costs the whole wait\n" +
			"esremote: ech-analytics: PUT /_cluster/settings answered after 25s\n"
		if got := out.String(); got != want {
			t.Fatalf("got:\n%s\nwant:\n%s", got, want)
		}
		time.Sleep(time.Minute)
		if got := out.String(); got != want {
			t.Fatalf("printed after the request ended:\n%s", got)
		}
	})
}

// In the journal, one line when a request has taken 5 s.
func TestWaitReporterJournal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out lockedBuffer
		log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
		done := journalWaits(log, 30*time.Second)("ece-prod-logs", "GET /")
		time.Sleep(20 * time.Second)
		done()
		got := out.String()
		if strings.Count(got, "\n") != 1 || !strings.Contains(got, `msg="waiting for a slow request" target=ece-prod-logs action="GET /" elapsed=5s waiting_for="the cluster has not answered`) {
			t.Fatalf("journal:\n%s", got)
		}
	})
}

// A pipe or a file is not a terminal: no progress lines in CI logs.
func TestTerminalWaitsOnlyOnATerminal(t *testing.T) {
	if terminalWaits(&bytes.Buffer{}, 0) != nil {
		t.Fatal("a buffer got progress lines")
	}
	f, err := openDevNull()
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	if terminalWaits(f, 0) != nil {
		t.Fatal("/dev/null got progress lines")
	}
}

func openDevNull() (*os.File, error) { return os.Open(os.DevNull) }
