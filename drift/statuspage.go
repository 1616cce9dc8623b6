package drift

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"math"
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
}

// statusPageCSS is the page's only style: inline, so the page needs nothing
// else.
const statusPageCSS = `body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #1f2328; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; }
.meta { color: #57606a; margin: 0 0 12px; }
.summary { font-weight: 600; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #d0d7de; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-weight: 600; font-size: 12px; }
.legend span { margin-right: 16px; white-space: nowrap; }
.swatch { display: inline-block; width: 22px; height: 4px; vertical-align: middle; margin-right: 4px; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.err { color: #cf222e; }
svg { max-width: 100%; height: auto; border: 1px solid #d0d7de; border-radius: 6px; background: #fbfcfd; }
svg text { font: 12px system-ui, sans-serif; }
`

// WriteStatusPage writes p as one self-contained HTML page: no external
// asset, no script. It shows the estate as an inline SVG graph (clusters
// as nodes, connections as edges coloured by health and labelled with
// alias, security model and health), a table of the connections (sync,
// health, last change, last error), the report's errors and the changes
// of the last drift. Every colour is next to the text it stands for.
//
// The page is written with fmt and html.EscapeString, not html/template:
// any use of text/template in the binary turns off the linker's dead code
// elimination (reflect.Value.MethodByName), which made esremote 70% larger.
// Every value from the report, the specs or a cluster goes through esc.
func WriteStatusPage(w io.Writer, p StatusPage) error {
	if p.Report == nil {
		return fmt.Errorf("status page: no report")
	}
	r := p.Report
	g := Graph{Clusters: slicesClone(p.Graph.Clusters), Links: slicesClone(p.Graph.Links)}
	g.WithReport(r)
	g.Sort()
	svg := layoutGraph(g)
	summary := connectionsLine(r)
	esc := html.EscapeString
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	var b bytes.Buffer
	pf := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }

	pf("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	if secs := int(p.Refresh.Seconds()); secs > 0 {
		pf("<meta http-equiv=\"refresh\" content=\"%d\">\n", secs)
	}
	pf("<title>esremote: %s</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>esremote</h1>\n", esc(summary), statusPageCSS)
	pf("<p class=\"meta\">Last pass %s (%s, mode %s) · spec <span class=\"mono\">%s</span>", stamp(r.GeneratedAt), esc(string(r.Trigger)), esc(string(r.Mode)), esc(r.SpecDigest))
	if r.SpecRevision != "" {
		pf(" at <span class=\"mono\">%s</span>", esc(r.SpecRevision))
	}
	pf("</p>\n<p class=\"summary\" id=\"summary\">%s</p>\n\n", esc(summary))

	// The estate.
	pf("<h2>Estate</h2>\n<p class=\"legend\">Edges are coloured by health:\n")
	for _, h := range []Health{HealthConnected, HealthRotating, HealthDisconnected, HealthUnauthorized, HealthUnknown} {
		pf("<span><i class=\"swatch\" style=\"background: %s\"></i>%s</span>", healthColor(h), h)
	}
	pf("\n<span><i class=\"swatch\" style=\"background: %s\"></i>health not known</span></p>\n", healthColor(""))
	pf("<svg id=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"clusters and their connections\">\n<defs>",
		svg.Width, svg.Height, svg.Width, svg.Height)
	for _, c := range svg.Colors {
		pf("\n<marker id=\"%s\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"%s\"/></marker>", markerID(c), c)
	}
	pf("\n</defs>\n")
	for _, e := range svg.Edges {
		pf("<g class=\"link\" data-connection=\"%s\">\n", esc(e.Connection))
		pf("<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2.5\" marker-end=\"url(#%s)\"/>\n", e.Path, e.Color, e.Marker)
		pf("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"%s\" stroke=\"#fbfcfd\" stroke-width=\"4\" paint-order=\"stroke\">%s</text>\n", e.LabelX, e.LabelY, e.Color, esc(e.Label))
		pf("<title>%s: %s</title>\n</g>\n", esc(e.Connection), esc(e.Label))
	}
	for _, n := range svg.Nodes {
		pf("<g class=\"cluster\">\n<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"8\" fill=\"#ffffff\" stroke=\"#24292f\" stroke-width=\"1.5\"/>\n", n.X, n.Y, n.W, n.H)
		pf("<text x=\"%.1f\" y=\"%.1f\" dy=\"-3\" text-anchor=\"middle\" font-weight=\"600\">%s</text>\n", n.TX, n.TY, esc(n.Name))
		pf("<text x=\"%.1f\" y=\"%.1f\" dy=\"13\" text-anchor=\"middle\" fill=\"#57606a\">%s</text>\n</g>\n", n.TX, n.TY, esc(n.Kind))
	}
	pf("</svg>\n\n")

	// The connections.
	pf("<h2>Connections</h2>\n<table id=\"connections\">\n<thead><tr><th>Connection</th><th>Local → alias</th><th>Security</th><th>Sync</th><th>Health</th><th>Last change</th><th>Last error</th></tr></thead>\n<tbody>\n")
	for _, c := range r.Connections {
		last := "-"
		if p.LastChange == nil {
			last = "?"
		} else if t, ok := p.LastChange[c.Name]; ok {
			last = stamp(t)
		}
		errCell, errClass := c.LastError(), ""
		if errCell != "-" {
			errClass = ` class="err"`
		}
		pf("<tr data-connection=\"%s\" data-sync=\"%s\" data-health=\"%s\">\n", esc(c.Name), esc(string(c.Sync)), esc(string(c.Health)))
		pf("<td class=\"mono\">%s</td><td>%s → %s</td><td>%s</td>\n", esc(c.Name), esc(c.Local), esc(c.Alias), esc(c.Security))
		pf("<td><span class=\"badge\" style=\"background: %s\">%s</span></td>\n", syncColor(c.Sync), esc(string(c.Sync)))
		pf("<td><span class=\"badge\" style=\"background: %s\">%s</span></td>\n", healthColor(c.Health), esc(string(c.Health)))
		pf("<td class=\"mono\">%s</td><td%s>%s</td>\n</tr>\n", last, errClass, esc(errCell))
	}
	if len(r.Connections) == 0 {
		pf("<tr><td colspan=\"7\">No connections in the specs.</td></tr>\n")
	}
	pf("</tbody>\n</table>\n")
	if len(r.Errors) > 0 {
		pf("\n<h2>Errors</h2>\n<ul id=\"errors\">")
		for _, e := range r.Errors {
			pf("<li class=\"err\"><b>%s</b>: %s</li>", esc(e.Target), esc(e.Message))
		}
		pf("</ul>\n")
	}

	// The last drift.
	pf("\n<h2>Last drift</h2>\n")
	if d := p.LastDrift; d != nil {
		pf("<p id=\"last-drift\">Found %s (%s, mode %s):</p>\n<table>\n", stamp(d.GeneratedAt), esc(string(d.Trigger)), esc(string(d.Mode)))
		pf("<thead><tr><th>Connection</th><th>Resource</th><th>Target</th><th>Key</th><th>Change</th><th>Origin</th><th>Result</th></tr></thead>\n<tbody>\n")
		for _, c := range d.Connections {
			for _, ch := range c.Changes {
				change := string(ch.Action)
				if ch.Actual != "" {
					change += " " + ch.Actual
				}
				if ch.Actual != "" && ch.Desired != "" {
					change += " →"
				}
				if ch.Desired != "" {
					change += " " + ch.Desired
				}
				origin := string(ch.Origin)
				if origin == "" {
					origin = "-"
				}
				result := "not applied"
				switch {
				case ch.Applied:
					result = "applied"
				case ch.Error != "":
					result = `<span class="err">failed: ` + esc(ch.Error) + `</span>`
				}
				pf("<tr>\n<td class=\"mono\">%s</td><td>%s</td><td>%s</td><td class=\"mono\">%s</td>\n", esc(c.Name), esc(string(ch.Resource)), esc(ch.Target), esc(ch.Key))
				pf("<td class=\"mono\">%s</td>\n<td>%s</td>\n<td>%s</td>\n</tr>\n", esc(change), esc(origin), result)
			}
		}
		pf("</tbody>\n</table>\n")
	} else {
		pf("<p id=\"last-drift\">No drift in the reports kept.</p>\n")
	}
	pf("\n<p class=\"meta\">The same report as JSON: <a href=\"/status\">/status</a> · metrics: <a href=\"/metrics\">/metrics</a></p>\n</body>\n</html>\n")
	_, err := w.Write(b.Bytes())
	return err
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
	return out + fmt.Sprintf("; %d unhealthy", s.Unhealthy)
}

// syncColor is the colour of a sync value's badge.
func syncColor(s Sync) string {
	switch s {
	case SyncInSync, SyncCorrected:
		return "#1a7f37"
	case SyncDrifted, SyncContested:
		return "#9a6700"
	case SyncFailed:
		return "#cf222e"
	}
	return "#57606a"
}

// svgGraph is the graph laid out for the page's inline SVG.
type svgGraph struct {
	Width, Height int
	Nodes         []svgNode
	Edges         []svgEdge
	Colors        []string // one arrowhead marker per colour
}

type svgNode struct {
	X, Y, W, H float64 // top-left corner and size
	TX, TY     float64 // text anchor
	Name, Kind string
}

type svgEdge struct {
	Path           string
	LabelX, LabelY float64
	Label          string
	Color, Marker  string
	Connection     string
}

// layoutGraph places the clusters on a circle (in name order) and draws
// each connection as a quadratic curve between the boxes' borders; links
// between the same two clusters bend apart so their labels do not overlap.
func layoutGraph(g Graph) svgGraph {
	const nodeH, pad = 44.0, 20.0
	n := len(g.Clusters)
	r := math.Max(150, float64(n)*34)
	if n == 1 {
		r = 0
	}
	maxW := 0.0
	for _, c := range g.Clusters {
		maxW = math.Max(maxW, nodeWidth(c))
	}
	cx, cy := r+maxW/2+pad+60, r+nodeH/2+pad+30
	out := svgGraph{Width: int(2*cx + 0.5), Height: int(2*cy + 0.5)}
	pos := map[string]svgNode{}
	for i, c := range g.Clusters {
		a := -math.Pi/2 + 2*math.Pi*float64(i)/float64(max(n, 1))
		w := nodeWidth(c)
		x, y := cx+r*math.Cos(a), cy+r*math.Sin(a)
		nd := svgNode{X: x - w/2, Y: y - nodeH/2, W: w, H: nodeH, TX: x, TY: y, Name: c.Name, Kind: c.Kind}
		pos[c.Name] = nd
		out.Nodes = append(out.Nodes, nd)
	}
	seen := map[string]int{}
	colors := map[string]bool{}
	for _, l := range g.Links {
		a, okA := pos[l.From]
		b, okB := pos[l.To]
		if !okA || !okB {
			continue
		}
		color := healthColor(l.Health)
		if !colors[color] {
			colors[color] = true
			out.Colors = append(out.Colors, color)
		}
		e := svgEdge{Label: linkLabel(l, " · "), Color: color, Marker: markerID(color), Connection: l.Connection}
		if l.Health == "" {
			e.Label += " · health not known"
		}
		pair := l.From + "\x00" + l.To
		k := seen[pair]
		seen[pair]++
		if l.From == l.To {
			// A loop above the box.
			x, y := a.TX, a.Y
			e.Path = fmt.Sprintf("M %.1f %.1f C %.1f %.1f %.1f %.1f %.1f %.1f", x-10, y, x-50, y-60-20*float64(k), x+50, y-60-20*float64(k), x+10, y)
			e.LabelX, e.LabelY = x, y-48-20*float64(k)
			out.Edges = append(out.Edges, e)
			continue
		}
		// Bend: links in opposite directions bend to opposite sides (the
		// normal flips with the direction); more links of one direction
		// bend further.
		offset := 20 + 34*float64(k)
		x1, y1 := clip(a, b.TX, b.TY)
		x2, y2 := clip(b, a.TX, a.TY)
		dx, dy := x2-x1, y2-y1
		d := math.Hypot(dx, dy)
		if d == 0 {
			d = 1
		}
		mx, my := (x1+x2)/2-dy/d*offset*2, (y1+y2)/2+dx/d*offset*2
		e.Path = fmt.Sprintf("M %.1f %.1f Q %.1f %.1f %.1f %.1f", x1, y1, mx, my, x2, y2)
		e.LabelX, e.LabelY = 0.25*x1+0.5*mx+0.25*x2, 0.25*y1+0.5*my+0.25*y2
		out.Edges = append(out.Edges, e)
	}
	return out
}

func nodeWidth(c GraphCluster) float64 {
	return math.Max(110, float64(len([]rune(c.Name)))*7.6+28)
}

// clip returns where the segment from the box's centre towards (x, y)
// leaves the box.
func clip(nd svgNode, x, y float64) (float64, float64) {
	dx, dy := x-nd.TX, y-nd.TY
	if dx == 0 && dy == 0 {
		return nd.TX, nd.TY
	}
	t := math.Inf(1)
	if dx != 0 {
		t = math.Min(t, nd.W/2/math.Abs(dx))
	}
	if dy != 0 {
		t = math.Min(t, nd.H/2/math.Abs(dy))
	}
	return nd.TX + dx*t, nd.TY + dy*t
}

func markerID(color string) string { return "arrow-" + color[1:] }
