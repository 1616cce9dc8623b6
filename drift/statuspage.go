package drift

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"time"
)

// StatusPage is what [WriteStatusPage] draws: the same report GET /status
// serves, the estate's graph, and what the history adds.
type StatusPage struct {
	// Report is the latest report. Required.
	Report *Report
	// Graph is the estate from the specs; the page fills its links' sync
	// and health from Report.
	Graph Graph
	// LastChange says when each connection last had a change applied; nil
	// when the history could not be read (the column then says "?").
	LastChange map[string]time.Time
	// LastDrift is the latest report that found differences (it may be
	// Report itself); nil when none is kept.
	LastDrift *Report
	// Refresh, when positive, makes the browser reload the page this often
	// (a meta refresh: the page has no JavaScript).
	Refresh time.Duration
	// Now is the time the page's relative times count from ("3 min ago");
	// zero means the report's GeneratedAt.
	Now time.Time
	// Host is the name of the host the daemon runs on, shown in the
	// header; "" leaves it out.
	Host string
	// Kiosk draws the read-only view for a request without the daemon's
	// token (see [KioskView]): names, states, counts and times only.
	Kiosk bool
	// Stale, when set, says why the report may no longer be the truth
	// ("the daemon is stuck: …", "no pass for 2h"): the header says it and
	// takes the colour of trouble, so a wall screen never shows an old
	// green.
	Stale string
}

// WriteStatusPage writes p as one self-contained HTML page, made to be
// read across a room on a wall screen: no external asset, no script.
//
// The header is the verdict in two big phrases, after Argo CD's
// Healthy/Synced ("All 12 connected · In sync", "2 of 12 not connected ·
// 1 out of sync"), on the colour of the worst thing on the page; when
// something is wrong a frame of that colour goes round the whole page.
// Below, the estate as an inline SVG graph (clusters as boxes coloured by
// whether the last pass reached them and labelled ECH, ECE, self-managed or
// external; connections as arrows coloured by health and labelled with
// alias and health; no two labels overlap), a table of the connections
// (policy, sync, health, last change, last error; each links to its page
// at connections/NAME), the report's errors and the changes of the last
// drift. Every colour is next to the text it stands for; times are
// relative with the absolute time in their title.
func WriteStatusPage(w io.Writer, p StatusPage) error {
	if p.Report == nil {
		return fmt.Errorf("status page: no report")
	}
	r, g, lastDrift := p.Report, Graph{Clusters: slicesClone(p.Graph.Clusters), Links: slicesClone(p.Graph.Links)}, p.LastDrift
	if p.Kiosk {
		r, g = KioskView(r, g)
		if lastDrift != nil {
			lastDrift, _ = KioskView(lastDrift, Graph{})
		}
	}
	g.WithReport(r)
	g.Sort()
	svg := layoutGraph(g, reachability(g, r))
	v := verdictOf(r).withStale(p.Stale)
	now := p.Now
	if now.IsZero() {
		now = r.GeneratedAt
	}
	var b bytes.Buffer
	pf := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }

	title := "esremote: " + v.String()
	if p.Host != "" {
		title = "esremote on " + p.Host + ": " + v.String()
	}
	writeHead(pf, title, p.Refresh, v.Level)
	pf("<header class=\"verdict\" id=\"verdict\" data-level=\"%s\">\n<div>\n<h1 id=\"verdict-health\">%s</h1>\n<div class=\"sub\" id=\"verdict-sync\">%s</div>\n", v.Level, esc(v.Health), esc(v.Sync))
	if v.Detail != "" {
		pf("<div class=\"sub\" id=\"verdict-detail\">%s</div>\n", esc(v.Detail))
	}
	pf("</div>\n<div class=\"where\">")
	writeWhere(pf, r, p.Host, now)
	pf("</div>\n</header>\n<main>\n")
	pf("<p class=\"meta\" id=\"summary\">%s</p>\n", esc(connectionsLine(r)))
	if p.Kiosk {
		pf("%s\n", kioskNote)
	}

	// The estate and the connections, side by side on a wide screen.
	// A graph wider than half a wall screen takes the whole width, the
	// table goes below it.
	columns := "columns"
	if svg.Width > stackWidth {
		columns = "columns stacked"
	}
	pf("<div class=\"%s\">\n<section class=\"graph\">\n<h2>Estate</h2>\n", columns)
	writeGraph(pf, svg)
	pf("</section>\n<section class=\"list\">\n<h2>Connections</h2>\n<table id=\"connections\">\n<thead><tr><th>Connection</th><th>Local → alias</th><th>Security</th><th>Policy</th><th>Sync</th><th>Health</th><th>Last change</th><th>Last error</th></tr></thead>\n<tbody>\n")
	for _, c := range r.Connections {
		last := "-"
		if p.LastChange == nil {
			last = "?"
		} else if t, ok := p.LastChange[c.Name]; ok {
			last = timeHTML(now, t)
		}
		errCell, errClass := c.LastError(), ""
		if errCell != "-" {
			errClass = ` class="err"`
		}
		pf("<tr data-connection=\"%s\" data-sync=\"%s\" data-health=\"%s\">\n", esc(c.Name), esc(string(c.Sync)), esc(string(c.Health)))
		pf("<td class=\"mono level-%s\"><a href=\"connections/%s\">%s</a></td><td>%s → %s</td><td>%s</td><td>%s</td>\n",
			connectionVerdict(c).Level, esc(url.PathEscape(c.Name)), esc(c.Name), esc(c.Local), esc(c.Alias), esc(c.Security), esc(policyWord(c.Policy)))
		pf("<td>%s</td>\n<td>%s</td>\n", syncBadge(c.Sync), healthBadge(c.Health))
		pf("<td class=\"mono\">%s</td><td%s>%s</td>\n</tr>\n", last, errClass, esc(errCell))
	}
	if len(r.Connections) == 0 {
		pf("<tr><td colspan=\"8\">No connections in the specs.</td></tr>\n")
	}
	pf("</tbody>\n</table>\n</section>\n</div>\n")
	if len(r.Errors) > 0 {
		pf("\n<h2>Errors</h2>\n<ul id=\"errors\">")
		for _, e := range r.Errors {
			pf("<li class=\"err\"><b>%s</b>: %s</li>", esc(e.Target), esc(e.Message))
		}
		pf("</ul>\n")
	}

	// The last drift.
	pf("\n<h2>Last drift</h2>\n")
	if d := lastDrift; d != nil {
		pf("<p id=\"last-drift\">Found %s (%s, mode %s):</p>\n", timeHTML(now, d.GeneratedAt), esc(string(d.Trigger)), esc(string(d.Mode)))
		writeChanges(pf, d.Connections, true)
	} else {
		pf("<p id=\"last-drift\">No drift in the reports kept.</p>\n")
	}
	pf("\n<p class=\"meta\">The same report as JSON: <a href=\"status\">/status</a> · metrics: <a href=\"metrics\">/metrics</a></p>\n</main>\n</body>\n</html>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// stackWidth is the widest graph drawn beside the table: about what half a
// 1920-pixel screen shows at full size.
const stackWidth = 1000

// writeWhere writes which daemon this is and when it last looked: host,
// last pass (relative), trigger and mode, spec revision, leadership.
func writeWhere(pf func(string, ...any), r *Report, host string, now time.Time) {
	if host != "" {
		pf("esremote on <b id=\"host\">%s</b><br>\n", esc(host))
	}
	pf("last pass %s (%s, mode %s)", timeHTML(now, r.GeneratedAt), esc(string(r.Trigger)), esc(string(r.Mode)))
	if r.SpecRevision != "" {
		pf("<br>\nspec <span class=\"mono\">%s</span>", esc(r.SpecRevision))
	}
	if r.SpecDigest != "" {
		pf(" <span class=\"mono\" title=\"%s\">%s</span>", esc(r.SpecDigest), esc(short(r.SpecDigest, 19)))
	}
	if l := r.Leadership; l != nil {
		pf("<br>\n%s", esc(l.Role))
		if l.Holder != "" && l.Role != RoleLeader {
			pf(" (leader %s)", esc(l.Holder))
		}
	}
}

// short cuts s to n runes and an ellipsis.
func short(s string, n int) string {
	rs := []rune(s)
	if len(rs) <= n {
		return s
	}
	return string(rs[:n]) + "…"
}

// policyWord is a connection's policy; an empty one is the default,
// enforce.
func policyWord(p string) string {
	if p == "" {
		return "enforce"
	}
	return p
}

// writeGraph writes the legend and the graph's SVG.
func writeGraph(pf func(string, ...any), svg svgGraph) {
	pf("<p class=\"legend\">Clusters: ")
	for _, r := range []string{reachUp, reachDown, reachUnknown} {
		stroke, fill := reachColors(r)
		pf("<span><i class=\"swatch\" style=\"background: %s; outline: 2px solid %s\"></i>%s</span>", fill, stroke, r)
	}
	pf("<br>\nConnections: ")
	for _, h := range []Health{HealthConnected, HealthRotating, HealthDisconnected, HealthUnauthorized, HealthUnknown} {
		pf("<span><i class=\"swatch\" style=\"background: %s\"></i>%s</span>", healthColor(h), h)
	}
	pf("<span><i class=\"swatch\" style=\"background: %s\"></i>health not known</span></p>\n", healthColor(""))
	pf("<svg id=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"clusters and their connections\">\n<defs>",
		svg.Width, svg.Height, svg.Width, svg.Height)
	for _, c := range svg.Colors {
		pf("\n<marker id=\"%s\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"%s\"/></marker>", markerID(c), c)
	}
	pf("\n</defs>\n")
	for _, e := range svg.Edges {
		pf("<g class=\"link\" data-connection=\"%s\">\n<title>%s: %s</title>\n", esc(e.Connection), esc(e.Connection), esc(e.Label))
		pf("<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"3\" marker-end=\"url(#%s)\"/>\n", e.path(), e.Color, e.Marker)
		if len(e.Leader) == 4 {
			pf("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1\" stroke-dasharray=\"3 3\"/>\n", e.Leader[0], e.Leader[1], e.Leader[2], e.Leader[3], e.Color)
		}
		lb := e.LabelBox
		pf("<rect class=\"label-box\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"4\" fill=\"#ffffff\" stroke=\"%s\" stroke-width=\"1.5\"/>\n", lb.X, lb.Y, lb.W, lb.H, e.Color)
		pf("<text class=\"label\" x=\"%.1f\" y=\"%.1f\" font-size=\"%g\" text-anchor=\"middle\" dominant-baseline=\"central\" textLength=\"%.0f\" lengthAdjust=\"spacingAndGlyphs\" fill=\"%s\">%s</text>\n</g>\n",
			lb.cx(), lb.cy(), edgeFont, textWidth(e.Label, edgeFont), e.Color, esc(e.Label))
	}
	for _, n := range svg.Nodes {
		stroke, fill := reachColors(n.Reach)
		pf("<g class=\"cluster\" data-cluster=\"%s\" data-reach=\"%s\">\n<title>%s: %s</title>\n", esc(n.Name), n.Reach, esc(n.Name), esc(n.Info))
		pf("<rect class=\"node-box\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"8\" fill=\"%s\" stroke=\"%s\" stroke-width=\"2.5\"/>\n", n.X, n.Y, n.W, n.H, fill, stroke)
		pf("<text class=\"label node-name\" x=\"%.1f\" y=\"%.1f\" font-size=\"%g\" font-weight=\"700\" text-anchor=\"middle\" dominant-baseline=\"central\" textLength=\"%.0f\" lengthAdjust=\"spacingAndGlyphs\">%s</text>\n",
			n.cx(), n.Y+19, nodeNameFont, textWidth(n.Name, nodeNameFont), esc(n.Name))
		pf("<text class=\"label node-kind\" x=\"%.1f\" y=\"%.1f\" font-size=\"%g\" text-anchor=\"middle\" dominant-baseline=\"central\" textLength=\"%.0f\" lengthAdjust=\"spacingAndGlyphs\" fill=\"%s\">%s</text>\n</g>\n",
			n.cx(), n.Y+41, nodeInfoFont, textWidth(n.Info, nodeInfoFont), stroke, esc(n.Info))
	}
	pf("</svg>\n")
}

// writeChanges writes a table of the connections' changes; withName adds
// the connection's column.
func writeChanges(pf func(string, ...any), conns []Connection, withName bool) {
	pf("<table class=\"changes\">\n<thead><tr>")
	if withName {
		pf("<th>Connection</th>")
	}
	pf("<th>Resource</th><th>Target</th><th>Key</th><th>Change</th><th>Origin</th><th>Result</th></tr></thead>\n<tbody>\n")
	for _, c := range conns {
		for _, ch := range c.Changes {
			change, origin, result := changeCells(ch)
			pf("<tr>\n")
			if withName {
				pf("<td class=\"mono\"><a href=\"connections/%s\">%s</a></td>", esc(url.PathEscape(c.Name)), esc(c.Name))
			}
			pf("<td>%s</td><td>%s</td><td class=\"mono\">%s</td>\n", esc(string(ch.Resource)), esc(ch.Target), esc(ch.Key))
			pf("<td class=\"mono\">%s</td>\n<td>%s</td>\n<td>%s</td>\n</tr>\n", esc(change), esc(origin), result)
		}
	}
	pf("</tbody>\n</table>\n")
}

func slicesClone[T any](s []T) []T { return append([]T(nil), s...) }

// LastError is what went wrong with the connection: its own error, else
// the first failed change, else its first error finding; "-" when nothing
// did.
func (c Connection) LastError() string {
	if c.Error != "" {
		return c.Error
	}
	for _, ch := range c.Changes {
		if ch.Error != "" {
			return fmt.Sprintf("%s %s: %s", ch.Resource, ch.Key, ch.Error)
		}
	}
	for _, f := range c.Findings {
		if f.Severity == SeverityError {
			if f.Message == "" {
				return f.Code
			}
			return f.Message
		}
	}
	return "-"
}

// connectionsLine is the report's connection counts in one line, from its
// connections.
func connectionsLine(r *Report) string {
	s := tally(r.Connections)
	out := fmt.Sprintf("%s: %d in sync, %d drifted, %d corrected, %d failed", plural(s.Connections, "connection"),
		s.InSync, s.Drifted, s.Corrected, s.Failed)
	if s.Contested > 0 {
		out += fmt.Sprintf(", %d contested", s.Contested)
	}
	if s.Disabled > 0 {
		out += fmt.Sprintf(", %d disabled", s.Disabled)
	}
	return out + fmt.Sprintf("; %d unhealthy", s.Unhealthy)
}

// hiddenText stands, in the kiosk view, for a text that may carry
// something sensitive (an error from a cluster, a value).
const hiddenText = "(hidden in the read-only view)"

// KioskView returns copies of r and g with everything left out that a
// screen without the daemon's token may not see: error texts and finding
// messages (they quote clusters and addresses) become hiddenText, the
// target of an error that is not a declared cluster of g is "another
// target", changes
// lose their values, connections their evidence, the report its spec
// digest and the lease holder, and a remote known only by its address is
// renamed "external N". What stays is what /metrics shows anyone who can
// reach the port: the names the specs bind, the states, counts and times.
func KioskView(r *Report, g Graph) (*Report, Graph) {
	out := *r
	out.SpecDigest = ""
	if r.Leadership != nil {
		l := *r.Leadership
		l.Holder, l.Error = "", ""
		out.Leadership = &l
	}
	out.Connections = make([]Connection, len(r.Connections))
	for i, c := range r.Connections {
		c.Evidence = nil
		if c.Error != "" {
			c.Error = hiddenText
		}
		changes := make([]Change, len(c.Changes))
		for j, ch := range c.Changes {
			ch.Actual, ch.Desired = "", ""
			if ch.Error != "" {
				ch.Error = hiddenText
			}
			changes[j] = ch
		}
		c.Changes = changes
		findings := make([]Finding, len(c.Findings))
		for j, f := range c.Findings {
			f.Message, f.Fix = "", ""
			findings[j] = f
		}
		c.Findings = findings
		out.Connections[i] = c
	}
	// An error's target is kept when it is a cluster of the graph; others
	// (the spec directory's path, an address) are not names the specs
	// bind.
	clusters := map[string]bool{}
	for _, c := range g.Clusters {
		if c.Kind != ClusterExternal {
			clusters[c.Name] = true
		}
	}
	out.Errors = make([]ReportError, len(r.Errors))
	for i, e := range r.Errors {
		if !clusters[e.Target] {
			e.Target = "another target"
		}
		out.Errors[i] = ReportError{Target: e.Target, Message: hiddenText}
	}
	out.Unmanaged = nil

	var kg Graph
	rename := map[string]string{}
	sorted := Graph{Clusters: slicesClone(g.Clusters)}
	sorted.Sort()
	n := 0
	for _, c := range sorted.Clusters {
		if c.Kind == ClusterExternal {
			n++
			rename[c.Name] = fmt.Sprintf("external %d", n)
		}
	}
	for _, c := range g.Clusters {
		if to, ok := rename[c.Name]; ok {
			c.Name = to
		}
		kg.Clusters = append(kg.Clusters, c)
	}
	for _, l := range g.Links {
		if to, ok := rename[l.To]; ok {
			l.To = to
		}
		if to, ok := rename[l.From]; ok {
			l.From = to
		}
		kg.Links = append(kg.Links, l)
	}
	return &out, kg
}
