package drift

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
)

// ConnectionPage is what [WriteConnectionPage] draws: one connection of
// the latest report, with its past passes.
type ConnectionPage struct {
	// Report is the latest report. Required.
	Report *Report
	// Name is the connection's name.
	Name string
	// Graph is the estate from the specs, for the remote end of the
	// connection and its kind; empty leaves them out.
	Graph Graph
	// History is the connection in past reports, newest first (see
	// [ConnectionHistory]).
	History []ConnectionPass
	// Refresh, Now, Host, Kiosk and Stale are as in [StatusPage].
	Refresh time.Duration
	Now     time.Time
	Host    string
	Kiosk   bool
	Stale   string
}

// ErrNoConnection is returned by [WriteConnectionPage] when the report has
// no connection of the name asked for.
var ErrNoConnection = errors.New("no such connection in the last report")

// ConnectionPass is one connection in one past report.
type ConnectionPass struct {
	At      time.Time
	Trigger Trigger
	Mode    Mode
	Sync    Sync
	Health  Health
	// Changes counts the differences found, Applied those written, Failed
	// those whose write failed.
	Changes, Applied, Failed int
	// Error is what went wrong ([Connection.LastError]), "" when nothing.
	Error string
}

// ConnectionHistory is connection name in reports, in their order;
// reports without it are skipped.
func ConnectionHistory(name string, reports []*Report) []ConnectionPass {
	var out []ConnectionPass
	for _, r := range reports {
		for _, c := range r.Connections {
			if c.Name != name {
				continue
			}
			p := ConnectionPass{At: r.GeneratedAt, Trigger: r.Trigger, Mode: r.Mode, Sync: c.Sync, Health: c.Health, Changes: len(c.Changes)}
			for _, ch := range c.Changes {
				switch {
				case ch.Applied:
					p.Applied++
				case ch.Error != "":
					p.Failed++
				}
			}
			if e := c.LastError(); e != "-" {
				p.Error = e
			}
			out = append(out, p)
			break
		}
	}
	return out
}

// resourcesOf are the kinds of object a connection of a security model
// owns, in apply order.
func resourcesOf(security string) []Resource {
	if security == "certificate" {
		return []Resource{ResourceTrust, ResourceClusterSetting, ResourceRole}
	}
	return []Resource{ResourceAPIKey, ResourceKeystore, ResourceClusterSetting, ResourceRole}
}

// WriteConnectionPage writes the page of one connection, self-contained
// like the status page: the verdict of the connection (health and sync in
// big words on their colour), what it links (local, alias, remote and its
// kind, security model, policy), its resources as the report lists them
// (each kind of object the connection owns: its differences with their
// result, or that none was found), its findings, the evidence its health
// rests on, its last errors and its history. Without the connection in
// the report it returns an error wrapping [ErrNoConnection] and writes
// nothing.
func WriteConnectionPage(w io.Writer, p ConnectionPage) error {
	if p.Report == nil {
		return fmt.Errorf("connection page: no report")
	}
	r, g, hist := p.Report, Graph{Clusters: slicesClone(p.Graph.Clusters), Links: slicesClone(p.Graph.Links)}, p.History
	if p.Kiosk {
		r, g = KioskView(r, g)
		hist = slicesClone(hist)
		for i := range hist {
			if hist[i].Error != "" {
				hist[i].Error = hiddenText
			}
		}
	}
	var c *Connection
	for i := range r.Connections {
		if r.Connections[i].Name == p.Name {
			c = &r.Connections[i]
		}
	}
	if c == nil {
		return fmt.Errorf("connection %s: %w", visible(p.Name), ErrNoConnection)
	}
	now := p.Now
	if now.IsZero() {
		now = r.GeneratedAt
	}
	v := connectionVerdict(*c).withStale(p.Stale)
	var b bytes.Buffer
	pf := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }

	writeHead(pf, "esremote: "+c.Name+": "+v.String(), p.Refresh, v.Level)
	pf("<header class=\"verdict\" id=\"verdict\" data-level=\"%s\">\n<div>\n<h1 id=\"verdict-health\">%s · %s</h1>\n<div class=\"sub\" id=\"connection-name\">%s</div>\n",
		v.Level, esc(v.Health), esc(v.Sync), esc(c.Name))
	if v.Detail != "" {
		pf("<div class=\"sub\" id=\"verdict-detail\">%s</div>\n", esc(v.Detail))
	}
	pf("</div>\n<div class=\"where\">")
	writeWhere(pf, r, p.Host, now)
	pf("<br>\n<a href=\"../\">all connections</a></div>\n</header>\n<main>\n")
	if p.Kiosk {
		pf("%s\n", kioskNote)
	}

	// What it links.
	remote, kind := "", ""
	for _, l := range g.Links {
		if l.Connection == c.Name {
			remote = l.To
		}
	}
	for _, cl := range g.Clusters {
		if cl.Name == remote {
			kind = kindWord(cl)
		}
	}
	pf("<table id=\"facts\">\n<tbody>\n")
	pf("<tr><th>Local cluster</th><td class=\"mono\">%s</td></tr>\n", esc(c.Local))
	pf("<tr><th>Alias</th><td class=\"mono\">%s</td></tr>\n", esc(c.Alias))
	if remote != "" {
		pf("<tr><th>Remote</th><td class=\"mono\">%s <span class=\"note\">%s</span></td></tr>\n", esc(remote), esc(kind))
	}
	pf("<tr><th>Security</th><td>%s</td></tr>\n<tr><th>Policy</th><td>%s</td></tr>\n", esc(c.Security), esc(policyWord(c.Policy)))
	pf("<tr><th>Sync</th><td>%s</td></tr>\n<tr><th>Health</th><td>%s</td></tr>\n</tbody>\n</table>\n", syncBadge(c.Sync), healthBadge(c.Health))

	// Resources.
	pf("\n<h2>Resources</h2>\n<table id=\"resources\">\n<thead><tr><th>Resource</th><th>Target</th><th>Key</th><th>Change</th><th>Origin</th><th>Result</th></tr></thead>\n<tbody>\n")
	kinds := resourcesOf(c.Security)
	for _, ch := range c.Changes {
		if rank(kinds, ch.Resource) == len(kinds) {
			kinds = append(kinds, ch.Resource)
		}
	}
	for _, kind := range kinds {
		n := 0
		for _, ch := range c.Changes {
			if ch.Resource != kind {
				continue
			}
			n++
			writeChangeRow(pf, ch)
		}
		if n == 0 {
			pf("<tr data-resource=\"%s\"><td>%s</td><td colspan=\"5\" class=\"note\">no difference found</td></tr>\n", esc(string(kind)), esc(string(kind)))
		}
	}
	pf("</tbody>\n</table>\n")

	// Findings and evidence.
	if len(c.Findings) > 0 {
		pf("\n<h2>Findings</h2>\n<ul id=\"findings\">\n")
		for _, f := range c.Findings {
			class := ""
			if f.Severity == SeverityError {
				class = " class=\"err\""
			}
			pf("<li%s><b>%s</b> <span class=\"mono\">%s</span>", class, esc(string(f.Severity)), esc(f.Code))
			if f.Message != "" {
				pf(": %s", esc(f.Message))
			}
			if f.Fix != "" {
				pf("<br>\nfix: %s", esc(f.Fix))
			}
			pf("</li>\n")
		}
		pf("</ul>\n")
	}
	pf("\n<h2>Evidence</h2>\n")
	switch e := c.Evidence; {
	case e != nil:
		pf("<table id=\"evidence\">\n<tbody>\n<tr><th>Request</th><td class=\"mono\">%s</td></tr>\n<tr><th>Answer</th><td>%s</td></tr>\n<tr><th>At</th><td>%s</td></tr>\n</tbody>\n</table>\n",
			esc(e.Request), esc(e.Answer), timeHTML(now, e.At))
	case p.Kiosk:
		pf("<p id=\"evidence\" class=\"note\">%s</p>\n", hiddenText)
	default:
		pf("<p id=\"evidence\" class=\"note\">The last pass recorded no request through this link.</p>\n")
	}

	// Last errors: now, then in the history.
	pf("\n<h2>Last errors</h2>\n<ul id=\"last-errors\">\n")
	n := 0
	if e := c.LastError(); e != "-" {
		pf("<li class=\"err\">%s: %s</li>\n", timeHTML(now, r.GeneratedAt), esc(e))
		n++
	}
	for _, h := range hist {
		if n == maxLastErrors {
			break
		}
		if h.Error == "" || h.At.Equal(r.GeneratedAt) {
			continue
		}
		pf("<li class=\"err\">%s: %s</li>\n", timeHTML(now, h.At), esc(h.Error))
		n++
	}
	if n == 0 {
		pf("<li>None in the reports kept.</li>\n")
	}
	pf("</ul>\n")

	// History.
	pf("\n<h2>History</h2>\n")
	if len(hist) == 0 {
		pf("<p id=\"history\">No past pass in the reports kept.</p>\n")
	} else {
		pf("<table id=\"history\">\n<thead><tr><th>Pass</th><th>Trigger</th><th>Sync</th><th>Health</th><th>Changes</th><th>Error</th></tr></thead>\n<tbody>\n")
		for _, h := range hist {
			changes := "-"
			if h.Changes > 0 {
				changes = fmt.Sprintf("%d (%d applied, %d failed)", h.Changes, h.Applied, h.Failed)
			}
			e, class := h.Error, " class=\"err\""
			if e == "" {
				e, class = "-", ""
			}
			pf("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td%s>%s</td></tr>\n",
				timeHTML(now, h.At), esc(string(h.Trigger)), syncBadge(h.Sync), healthBadge(h.Health), changes, class, esc(e))
		}
		pf("</tbody>\n</table>\n")
	}
	pf("\n<p class=\"meta\"><a href=\"../\">All connections</a> · the report as JSON: <a href=\"../status\">/status</a></p>\n</main>\n</body>\n</html>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// maxLastErrors bounds the page's list of last errors.
const maxLastErrors = 10

// changeCells is a change's text (action, values), origin and result
// (HTML).
func changeCells(ch Change) (change, origin, result string) {
	change = string(ch.Action)
	if ch.Actual != "" {
		change += " " + ch.Actual
	}
	if ch.Actual != "" && ch.Desired != "" {
		change += " →"
	}
	if ch.Desired != "" {
		change += " " + ch.Desired
	}
	origin = string(ch.Origin)
	if origin == "" {
		origin = "-"
	}
	result = "not applied"
	switch {
	case ch.Applied:
		result = "applied"
	case ch.Error != "":
		result = `<span class="err">failed: ` + esc(ch.Error) + `</span>`
	}
	return change, origin, result
}

// writeChangeRow writes one change as a row of the resources table.
func writeChangeRow(pf func(string, ...any), ch Change) {
	change, origin, result := changeCells(ch)
	pf("<tr data-resource=\"%s\"><td>%s</td><td>%s</td><td class=\"mono\">%s</td><td class=\"mono\">%s</td><td>%s</td><td>%s</td></tr>\n",
		esc(string(ch.Resource)), esc(string(ch.Resource)), esc(ch.Target), esc(ch.Key), esc(change), esc(origin), result)
}
