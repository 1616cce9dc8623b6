package main

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/daemon"
	"github.com/esremote/esremote/spec"
)

func init() {
	daemonSetups = append(daemonSetups, statusPageSetup)
}

// statusPageRefresh is how often the status pages reload themselves in
// the browser: about twice per default resync, cheap for the daemon (one
// render of the last report and a read of the history).
const statusPageRefresh = 30 * time.Second

// maxDriftScan bounds how many saved reports the pages read, newest first,
// to find the last one that found drift and a connection's history.
const maxDriftScan = 50

// pageCSP is the pages' Content-Security-Policy: they are self-contained,
// no script, no request of their own.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; frame-ancestors 'none'"

// pageNow is the clock of the pages' relative times.
var pageNow = time.Now

// statusPageSetup serves the status pages on the daemon's listener:
//
//	GET /                   the estate (drift.WriteStatusPage)
//	GET /connections/{name} one connection (drift.WriteConnectionPage),
//	                        the page alerts link to
//
// both of the same report GET /status serves, with the estate's graph from
// the spec set the daemon runs and the history from the state dir. They
// are open without the daemon's token so that a wall screen (a kiosk
// browser cannot send a header) and an alert's link can open them; a
// request without the token gets the read-only view (drift.KioskView:
// names, states, counts and times, what /metrics shows), one with it, or
// any request to a daemon without a token, the whole page. The token still
// guards /status and /-/reload (daemon.RequireToken).
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
	graph := func() drift.Graph {
		mu.Lock()
		defer mu.Unlock()
		if set == nil {
			return drift.Graph{}
		}
		return graphOf(set)
	}
	host, _ := os.Hostname()
	hist := drift.NewHistory(x.StateDir, 0, nil)
	kiosk := func(r *http.Request) bool {
		if x.Token == "" {
			return false
		}
		return subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+x.Token)) != 1
	}
	x.Handlers["GET /{$}"] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := l.Status()
		if st.Report == nil {
			http.Error(w, "no pass has finished yet", http.StatusServiceUnavailable)
			return
		}
		now := pageNow()
		page := drift.StatusPage{Report: st.Report, Refresh: statusPageRefresh, Graph: graph(), Now: now, Host: host, Kiosk: kiosk(r),
			Stale: pageStale(st, now, x.Resync)}
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
		writePage(w, http.StatusOK, buf.Bytes())
	})
	x.Handlers["GET /connections/{name}"] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := l.Status()
		if st.Report == nil {
			http.Error(w, "no pass has finished yet", http.StatusServiceUnavailable)
			return
		}
		name := r.PathValue("name")
		now := pageNow()
		page := drift.ConnectionPage{Report: st.Report, Name: name, Refresh: statusPageRefresh, Graph: graph(), Now: now, Host: host, Kiosk: kiosk(r),
			Stale: pageStale(st, now, x.Resync)}
		page.History = drift.ConnectionHistory(name, recentReports(hist))
		var buf bytes.Buffer
		err := drift.WriteConnectionPage(&buf, page)
		switch {
		case errors.Is(err, drift.ErrNoConnection):
			http.Error(w, "no connection of that name in the last report; the estate is at ../", http.StatusNotFound)
			return
		case err != nil:
			log.Warn("connection page", "err", err)
			http.Error(w, "render connection page: "+err.Error(), http.StatusInternalServerError)
			return
		}
		writePage(w, http.StatusOK, buf.Bytes())
	})
	return nil
}

// pageStale says why the loop's last report may no longer be the truth:
// the loop is stuck, or no pass finished for three resync intervals (and
// at least one interval and the 10 minutes a pass may take): the resync is
// jittered and a pass takes time, one late pass is not news. "" when the
// report is fresh.
func pageStale(st daemon.LoopStatus, now time.Time, resync time.Duration) string {
	if st.Stuck != "" {
		return "the daemon is stuck: " + st.Stuck
	}
	if st.Report == nil || resync <= 0 {
		return ""
	}
	limit := max(3*resync, resync+10*time.Minute)
	if age := now.Sub(st.Report.GeneratedAt); age > limit {
		return fmt.Sprintf("no pass for %s (resync every %s)", age.Truncate(time.Minute), resync)
	}
	return ""
}

// writePage answers with a page and the headers that keep it
// self-contained.
func writePage(w http.ResponseWriter, code int, page []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(page)
}

// recentReports are the newest saved reports, at most maxDriftScan, newest
// first; those that cannot be read are skipped.
func recentReports(h *drift.History) []*drift.Report {
	entries, _ := h.List()
	var out []*drift.Report
	for i, e := range entries {
		if i == maxDriftScan {
			break
		}
		if r, err := readReportFile(e.Path); err == nil {
			out = append(out, r)
		}
	}
	return out
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
