package main

import (
	"bytes"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/daemon"
	"github.com/esremote/esremote/spec"
)

func init() {
	daemonSetups = append(daemonSetups, statusPageSetup)
}

// statusPageRefresh is how often the status page reloads itself in the
// browser: about twice per default resync, cheap for the daemon (one
// render of the last report and a read of the history).
const statusPageRefresh = 30 * time.Second

// maxDriftScan bounds how many saved reports the page reads, newest first,
// to find the last one that found drift.
const maxDriftScan = 50

// statusPageSetup serves GET / on the daemon's listener: the status page
// (drift.WriteStatusPage) of the same report GET /status serves, the
// estate's graph from the spec set the daemon runs, when each connection
// last changed and the last drift, from the history. Like /status it needs
// the token when the daemon has one (daemon.RequireToken).
func statusPageSetup(l *daemon.Loop, x *daemonExtras, log *slog.Logger) error {
	var (
		mu  sync.Mutex
		set *spec.Set
	)
	x.OnSet = append(x.OnSet, func(s *spec.Set) {
		mu.Lock()
		set = s
		mu.Unlock()
	})
	hist := drift.NewHistory(x.StateDir, 0, nil)
	x.Handlers["GET /{$}"] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := l.Status()
		if st.Report == nil {
			http.Error(w, "no pass has finished yet", http.StatusServiceUnavailable)
			return
		}
		page := drift.StatusPage{Report: st.Report, Refresh: statusPageRefresh}
		mu.Lock()
		if set != nil {
			page.Graph = graphOf(set)
		}
		mu.Unlock()
		if changes, n, err := lastChanges(hist); err == nil || n > 0 {
			page.LastChange = changes
		}
		page.LastDrift = lastDrift(hist, st.Report)
		var buf bytes.Buffer
		if err := drift.WriteStatusPage(&buf, page); err != nil {
			log.Warn("status page", "err", err)
			http.Error(w, "render status page: "+err.Error(), http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		// The page is self-contained: no script, no request of its own.
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		w.Write(buf.Bytes())
	})
	return nil
}

// lastDrift is the newest report that found differences: latest when it
// did, else the newest such report in the history (nil when none is kept).
func lastDrift(h *drift.History, latest *drift.Report) *drift.Report {
	if latest.HasChanges() {
		return latest
	}
	entries, _ := h.List()
	for i, e := range entries {
		if i == maxDriftScan {
			break
		}
		r, err := readReportFile(e.Path)
		if err == nil && r.HasChanges() {
			return r
		}
	}
	return nil
}
