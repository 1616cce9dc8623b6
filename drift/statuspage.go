package drift

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
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

//go:embed statuspage.html
var statusPageHTML string

var statusPageTmpl = template.Must(template.New("status").Funcs(template.FuncMap{
	"stamp": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	},
	"healthColor": healthColor,
	"syncColor":   syncColor,
}).Parse(statusPageHTML))

// WriteStatusPage writes p as one self-contained HTML page: no external
// asset, no script. It shows the estate as an inline SVG graph (clusters
// as nodes, connections as edges coloured by health and labelled with
// alias, security model and health), a table of the connections (sync,
// health, last change, last error), the report's errors and the changes
// of the last drift. Every colour is next to the text it stands for.
func WriteStatusPage(w io.Writer, p StatusPage) error {
	if p.Report == nil {
		return fmt.Errorf("status page: no report")
	}
	g := Graph{Clusters: slicesClone(p.Graph.Clusters), Links: slicesClone(p.Graph.Links)}
	g.WithReport(p.Report)
	g.Sort()
	type row struct {
		Connection
		LastChange string
		LastError  string
	}
	data := struct {
		StatusPage
		Summary     string
		SVG         svgGraph
		Rows        []row
		DriftTime   time.Time
		DriftReport *Report
		Legend      []Health
		RefreshSecs int
	}{StatusPage: p, Summary: connectionsLine(p.Report), SVG: layoutGraph(g),
		Legend: []Health{HealthConnected, HealthRotating, HealthDisconnected, HealthUnauthorized, HealthUnknown}, RefreshSecs: int(p.Refresh.Seconds())}
	for _, c := range p.Report.Connections {
		last := "-"
		if p.LastChange == nil {
			last = "?"
		} else if t, ok := p.LastChange[c.Name]; ok {
			last = t.UTC().Format(time.RFC3339)
		}
		data.Rows = append(data.Rows, row{Connection: c, LastChange: last, LastError: c.LastError()})
	}
	if p.LastDrift != nil {
		data.DriftReport = p.LastDrift
		data.DriftTime = p.LastDrift.GeneratedAt
	}
	var buf bytes.Buffer
	if err := statusPageTmpl.Execute(&buf, data); err != nil {
		return fmt.Errorf("status page: %w", err)
	}
	_, err := w.Write(buf.Bytes())
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
	out := fmt.Sprintf("%d connections: %d in sync, %d drifted, %d corrected, %d failed", s.Connections,
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
