package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/daemon"
	"github.com/esremote/esremote/reconcile/statedir"

	"github.com/spf13/pflag"
)

func init() {
	register("status", &command{
		exits:   "0, 1 if the daemon is unreachable",
		summary: "show the running daemon's connections, or the history of past passes",
		usage:   "status [--listen ADDR] [--reload-token-file FILE] [--format text|json] [--history [--state-dir DIR]]",
		flags:   cmdStatus,
		values:  map[string][]string{"format": {"text", "json"}},
	})
}

// statusTimeout bounds the requests to the daemon.
const statusTimeout = 10 * time.Second

// maxErrorCell bounds the "last error" column of the table, in runes; the
// JSON form has the whole message.
const maxErrorCell = 72

// cmdStatus prints the running daemon's last report (GET /status) as a
// table of connections and a summary, or the report itself as JSON; it
// exits 1 when the daemon cannot be reached or has no report yet. With
// --history it lists the reports in the state directory instead, without
// asking the daemon (so it works while the daemon is stopped).
func cmdStatus(fs *pflag.FlagSet) runFunc {
	listen := fs.String("listen", defaultListen, "the daemon's HTTP `address` (its --listen)")
	format := fs.String("format", "text", "output format: text or json")
	history := fs.Bool("history", false, "list the past passes saved in the state directory (the daemon need not run)")
	stateDir := fs.String("state-dir", "", "with --history: the daemon's state `directory` (default as for run)")
	tokenFile := fs.String("reload-token-file", "", "`file` holding the daemon's token (its --reload-token-file), sent as Authorization: Bearer")
	return func(c *cli, pos []string) int {
		if len(pos) != 0 {
			c.usageOf("status")
			return exitError
		}
		if *format != "text" && *format != "json" {
			c.errorf("unknown --format %q: use text or json", *format)
			return exitError
		}
		if *history {
			return statusHistory(c, *stateDir, *format)
		}
		if *stateDir != "" {
			c.errorf("--state-dir goes with --history")
			return exitError
		}
		var token string
		if *tokenFile != "" {
			var err error
			if token, err = readToken(c.getenv, *tokenFile); err != nil {
				c.errorf("%v", err)
				return exitError
			}
		}
		ctx, cancel := context.WithTimeout(c.ctx, statusTimeout)
		defer cancel()
		resp, err := daemonGet(ctx, *listen, "/status", token)
		if err != nil {
			c.errorf("cannot reach the daemon at %s: %v", *listen, err)
			c.hintf("is it running? check 'systemctl status esremote', or pass the daemon's --listen address")
			return exitError
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			c.errorf("daemon at %s: %s: %s", *listen, resp.Status, strings.TrimSpace(string(body)))
			return exitError
		}
		r, err := drift.ReadJSON(resp.Body)
		if err != nil {
			c.errorf("daemon at %s sent an unreadable report: %v", *listen, err)
			return exitError
		}
		if *format == "json" {
			err = drift.WriteJSON(c.stdout, r)
		} else {
			// The last-change column is best effort: an older daemon, or one
			// that cannot read its history, leaves it "?".
			changes, cerr := fetchLastChanges(ctx, *listen, token)
			err = writeStatusTable(c.stdout, r, changes, cerr == nil)
		}
		if err != nil {
			c.errorf("write report: %v", err)
			return exitError
		}
		return exitOK
	}
}

// daemonGet sends GET path to the daemon at listen, with the token when
// there is one.
func daemonGet(ctx context.Context, listen, path, token string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+listen+path, nil)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: %w", listen, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, unwrapURLError(err)
	}
	return resp, nil
}

// fetchLastChanges asks the daemon when each connection last had changes
// applied (GET /status/last-change).
func fetchLastChanges(ctx context.Context, listen, token string) (map[string]time.Time, error) {
	resp, err := daemonGet(ctx, listen, "/status/last-change", token)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /status/last-change: %s", resp.Status)
	}
	var body lastChangeResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&body); err != nil {
		return nil, fmt.Errorf("GET /status/last-change: %w", err)
	}
	return body.Connections, nil
}

// writeStatusTable prints one row per connection (name, local → alias,
// sync, health, last change, last error), then when the report was made
// and its summary and errors. known is false when the last changes could
// not be read: the column then says "?".
func writeStatusTable(w io.Writer, r *drift.Report, changes map[string]time.Time, known bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CONNECTION\tLOCAL → ALIAS\tSYNC\tHEALTH\tLAST CHANGE\tLAST ERROR")
	for _, conn := range r.Connections {
		last := "-"
		if t, ok := changes[conn.Name]; ok {
			last = stamp(t)
		} else if !known {
			last = "?"
		}
		fmt.Fprintf(tw, "%s\t%s → %s\t%s\t%s\t%s\t%s\n", cellText(conn.Name), cellText(conn.Local), cellText(conn.Alias),
			conn.Sync, conn.Health, last, truncate(cellText(lastError(conn)), maxErrorCell))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	rev := ""
	if r.SpecRevision != "" {
		rev = " at " + cellText(r.SpecRevision)
	}
	if _, err := fmt.Fprintf(w, "\nLast pass %s (%s), spec %s%s.\n%s\n", stamp(r.GeneratedAt), cellText(string(r.Trigger)),
		cellText(r.SpecDigest), rev, summaryText(r.Summary)); err != nil {
		return err
	}
	if ld := r.Leadership; ld != nil {
		if _, err := fmt.Fprintln(w, leadershipText(ld)); err != nil {
			return err
		}
	}
	for _, e := range r.Errors {
		if _, err := fmt.Fprintf(w, "error: %s: %s\n", cellText(e.Target), cellText(e.Message)); err != nil {
			return err
		}
	}
	return nil
}

// lastError is what went wrong with a connection in the report: its own
// error, else the first failed change, else its first error finding; "-"
// when nothing did.
func lastError(c drift.Connection) string {
	if c.Error != "" {
		return c.Error
	}
	for _, ch := range c.Changes {
		if ch.Error != "" {
			return fmt.Sprintf("%s %s: %s", ch.Resource, ch.Key, ch.Error)
		}
	}
	for _, f := range c.Findings {
		if f.Severity == drift.SeverityError {
			return f.Message
		}
	}
	return "-"
}

// summaryText is a report's summary in one line.
func summaryText(s drift.Summary) string {
	out := fmt.Sprintf("%s: %d in sync, %d drifted, %d corrected, %d failed", plural(s.Connections, "connection"),
		s.InSync, s.Drifted, s.Corrected, s.Failed)
	if s.Contested > 0 {
		out += fmt.Sprintf(", %d contested", s.Contested)
	}
	return out + fmt.Sprintf("; %d unhealthy", s.Unhealthy)
}

// historyEntry is one line of `status --history --format json`.
type historyEntry struct {
	Time    time.Time     `json:"time"`
	Trigger drift.Trigger `json:"trigger"`
	Mode    drift.Mode    `json:"mode"`
	Summary drift.Summary `json:"summary"`
	Errors  int           `json:"errors"`
	// Report is the report's file name in the state dir's reports/.
	Report string `json:"report"`
}

// statusHistory lists the reports of the state directory, newest first.
func statusHistory(c *cli, dir, format string) int {
	stateDir, err := statedir.StateDir(c.getenv, dir)
	if err != nil {
		c.errorf("%v", err)
		return exitError
	}
	entries, err := drift.NewHistory(stateDir, 0, nil).List()
	if err != nil && len(entries) == 0 {
		c.errorf("%v", err)
		return exitError
	}
	if err != nil {
		c.warnf("%v", err)
	}
	list := make([]historyEntry, 0, len(entries))
	for _, e := range entries {
		list = append(list, historyEntry{Time: e.Time.UTC(), Trigger: e.Trigger, Mode: e.Mode, Summary: e.Summary,
			Errors: e.Errors, Report: filepath.Base(e.Path)})
	}
	if format == "json" {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(list); err != nil {
			c.errorf("write history: %v", err)
			return exitError
		}
		return exitOK
	}
	if len(list) == 0 {
		fmt.Fprintf(c.stdout, "No reports in %s yet.\n", stateDir)
		return exitOK
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tTRIGGER\tMODE\tSUMMARY\tERRORS")
	for _, e := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", stamp(e.Time), cellText(string(e.Trigger)), cellText(string(e.Mode)),
			summaryText(e.Summary), e.Errors)
	}
	if err := tw.Flush(); err != nil {
		c.errorf("write history: %v", err)
		return exitError
	}
	return exitOK
}

// lastChanges reads the history and returns, for each connection that had
// changes applied in one of the reports it keeps, the time of the latest
// such report; n is how many reports were read. A daemon's retry report
// repeats the connections it did not retry from the pass before, so in a
// retry report a connection counts only when its entry differs from the
// previous report's. Reports that cannot be read are skipped and named in
// err.
func lastChanges(h *drift.History) (changes map[string]time.Time, n int, err error) {
	entries, err := h.List()
	changes = map[string]time.Time{}
	prev := map[string]drift.Connection{}
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for i := len(entries) - 1; i >= 0; i-- { // oldest first
		r, err := readReportFile(entries[i].Path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n++
		cur := make(map[string]drift.Connection, len(r.Connections))
		for _, c := range r.Connections {
			cur[c.Name] = c
			if !hasApplied(c) {
				continue
			}
			if p, ok := prev[c.Name]; ok && r.Trigger == daemon.TriggerRetry && reflect.DeepEqual(p, c) {
				continue
			}
			if t, ok := changes[c.Name]; !ok || r.GeneratedAt.After(t) {
				changes[c.Name] = r.GeneratedAt.UTC()
			}
		}
		prev = cur
	}
	return changes, n, errors.Join(errs...)
}

func hasApplied(c drift.Connection) bool {
	for _, ch := range c.Changes {
		if ch.Applied {
			return true
		}
	}
	return false
}

// stamp formats a time for the tables: UTC, to the second.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// cellText makes s safe for one table cell: control characters (newlines,
// tabs, terminal escapes) become spaces.
func cellText(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// truncate shortens s to n runes, ending with "…" when it cut.
func truncate(s string, n int) string {
	rs := []rune(s)
	if len(rs) <= n {
		return s
	}
	return string(rs[:n-1]) + "…"
}

// unwrapURLError drops net/http's "Get \"http://…\":" prefix, which
// repeats the address the message already names.
func unwrapURLError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}

// readReportFile reads one saved report.
func readReportFile(path string) (*drift.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := drift.ReadJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// leadershipText is the status line of a daemon sharing a state store:
// "Leader: holds the state store's lease until T." or "Standby: observes
// and reports only; HOLDER leads (lease until T).", saying so when the
// daemon cannot reach the lease.
func leadershipText(ld *drift.Leadership) string {
	until := ""
	if !ld.Expires.IsZero() {
		until = " until " + stamp(ld.Expires)
	}
	switch {
	case ld.Role == drift.RoleLeader && ld.Error != "":
		return "Leader: this daemon holds the state store's lease" + until + " and writes, but cannot renew it (" +
			cellText(ld.Error) + "): it stops writing before the lease expires."
	case ld.Role == drift.RoleLeader:
		return "Leader: this daemon holds the state store's lease" + until + " and writes."
	case ld.Error != "":
		seen := "."
		if ld.Holder != "" {
			seen = "; last seen held by " + cellText(ld.Holder) + " (lease" + until + ")."
		}
		return "Standby: this daemon cannot reach the state store's lease (" + cellText(ld.Error) + ") and writes nothing" + seen
	}
	if ld.Holder == "" {
		return "Standby: observes and reports only; nobody holds the state store's lease."
	}
	return "Standby: observes and reports only; " + cellText(ld.Holder) + " leads (lease" + until + ")."
}
