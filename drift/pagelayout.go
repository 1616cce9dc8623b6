package drift

import (
	"fmt"
	"math"
	"unicode"
)

// The status page's graph is laid out here, in Go, so the page needs no
// script: clusters on an ellipse (wide, for a wall screen), connections as
// curves between them, and every piece of text in a box the layout knows.
// Labels are placed one after another, each at the first free spot near
// its edge, so no two label boxes overlap whatever the names; the text is
// drawn with textLength set to its box's width, so the browser's font
// cannot make it wider than the box.

// Sizes of the graph's text, in SVG units (pixels at scale 1).
const (
	nodeNameFont = 16.0
	nodeInfoFont = 13.0
	edgeFont     = 14.0
	// charWidth is the width of one column of monospace text in em: the
	// advance of DejaVu Sans Mono and Liberation Mono is 0.6 em; the
	// margin keeps textLength from squeezing glyphs.
	charWidth = 0.62
	// boxGap is the least distance between two label boxes.
	boxGap = 8.0
	// margin is the space around the drawing.
	margin = 24.0
)

// box is an axis-aligned rectangle: top-left corner and size.
type box struct{ X, Y, W, H float64 }

// overlaps reports whether a and b come closer than gap.
func (a box) overlaps(b box, gap float64) bool {
	return a.X < b.X+b.W+gap && b.X < a.X+a.W+gap && a.Y < b.Y+b.H+gap && b.Y < a.Y+a.H+gap
}

func (a box) cx() float64 { return a.X + a.W/2 }
func (a box) cy() float64 { return a.Y + a.H/2 }

// columns is how many monospace columns s takes: two for East Asian wide
// and fullwidth characters and emoji, one for the others.
func columns(s string) int {
	n := 0
	for _, r := range s {
		if wide(r) {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func wide(r rune) bool {
	switch {
	case r >= 0x1100 && r <= 0x115F, r >= 0x2E80 && r <= 0xA4CF, r >= 0xAC00 && r <= 0xD7A3,
		r >= 0xF900 && r <= 0xFAFF, r >= 0xFE30 && r <= 0xFE4F, r >= 0xFF00 && r <= 0xFF60,
		r >= 0xFFE0 && r <= 0xFFE6, r >= 0x1F300 && r <= 0x1FAFF, r >= 0x20000 && r <= 0x3FFFD:
		return true
	}
	return unicode.Is(unicode.Han, r)
}

// textWidth is the width of s drawn at size in the graph's monospace font.
func textWidth(s string, size float64) float64 {
	return math.Ceil(float64(columns(s)) * charWidth * size)
}

// svgGraph is the graph laid out for the page's inline SVG.
type svgGraph struct {
	Width, Height int
	Nodes         []svgNode
	Edges         []svgEdge
	Colors        []string // one arrowhead marker per colour
}

// svgNode is a cluster: its box holds its name and a second line with its
// kind and reachability.
type svgNode struct {
	box
	Name, Info string
	Reach      string // reachUp, reachDown or reachUnknown
}

// svgEdge is a connection: its curve and its label's box.
type svgEdge struct {
	// Cmd is the curve's SVG command, Q (quadratic) or C (a loop, cubic);
	// Pts are its points, start first, as x, y pairs.
	Cmd      byte
	Pts      []float64
	Label    string
	LabelBox box
	// Leader, when set, is a line (x1, y1, x2, y2) from the curve to a
	// label placed away from it.
	Leader     []float64
	Color      string
	Marker     string
	Connection string
}

// Reachability of a cluster, as the page says it.
const (
	reachUp      = "reachable"
	reachDown    = "unreachable"
	reachUnknown = "not known"
)

func reachColors(reach string) (stroke, fill string) {
	switch reach {
	case reachUp:
		return "#1a7f37", "#dafbe1"
	case reachDown:
		return "#cf222e", "#ffebe9"
	}
	return "#57606a", "#f6f8fa"
}

// kindWord is how the page names a cluster's kind: ECH, ECE, self-managed
// or external.
func kindWord(c GraphCluster) string {
	switch {
	case c.Kind == ClusterDeployment && c.Platform == "ech":
		return "ECH"
	case c.Kind == ClusterDeployment && c.Platform == "ece":
		return "ECE"
	case c.Kind == "":
		return "cluster"
	}
	return c.Kind
}

// reachability says, per cluster, whether the last pass reached it: a
// cluster named by an error of the report is unreachable; one that
// answered (the local of a link with a known health, the remote of a link
// that connected or refused the credential) is reachable; the remote whose
// every link is disconnected is unreachable; the rest is not known.
func reachability(g Graph, r *Report) map[string]string {
	out := map[string]string{}
	if r == nil {
		return out
	}
	down := map[string]bool{}
	for _, e := range r.Errors {
		down[e.Target] = true
	}
	remoteDown := map[string]bool{}
	for _, l := range g.Links {
		switch l.Health {
		case HealthConnected, HealthRotating, HealthUnauthorized:
			out[l.From], out[l.To] = reachUp, reachUp
		case HealthDisconnected:
			out[l.From] = reachUp
			if _, seen := remoteDown[l.To]; !seen {
				remoteDown[l.To] = true
			}
		}
	}
	for name := range remoteDown {
		if out[name] == "" {
			out[name] = reachDown
		}
	}
	for _, c := range g.Clusters {
		if down[c.Name] {
			out[c.Name] = reachDown
		}
		if out[c.Name] == "" {
			out[c.Name] = reachUnknown
		}
	}
	return out
}

// edgeLabel is what an edge says on the page: the alias and the health,
// and the sync when it is not in_sync.
func edgeLabel(l GraphLink) string {
	s := l.Alias
	if l.Health != "" {
		s += " · " + string(l.Health)
	} else {
		s += " · health not known"
	}
	if l.Sync != "" && l.Sync != SyncInSync {
		s += " · " + string(l.Sync)
	}
	return visible(s)
}

// layoutGraph places g's clusters on an ellipse (in g's order), wide
// enough that no two boxes touch, draws each connection as a quadratic
// curve between the boxes' borders (links between the same two clusters
// bend apart) and places each edge's label at the first free spot near the
// middle of its curve. The result depends only on g and reach.
func layoutGraph(g Graph, reach map[string]string) svgGraph {
	const padX, nodeH = 14.0, 56.0
	n := len(g.Clusters)
	var out svgGraph
	nodes := make([]svgNode, n)
	for i, c := range g.Clusters {
		info := kindWord(c) + " · " + reach[c.Name]
		w := math.Max(textWidth(visible(c.Name), nodeNameFont), textWidth(info, nodeInfoFont)) + 2*padX
		nodes[i] = svgNode{box: box{W: math.Max(w, 120), H: nodeH}, Name: visible(c.Name), Info: info, Reach: reach[c.Name]}
	}
	// The ellipse grows until no two boxes are closer than 3 gaps.
	rx := math.Max(220, float64(n)*60)
	for try := 0; ; try++ {
		ry := rx * 0.5
		for i := range nodes {
			a := -math.Pi/2 + 2*math.Pi*float64(i)/float64(max(n, 1))
			x, y := rx*math.Cos(a), ry*math.Sin(a)
			if n == 1 {
				x, y = 0, 0
			}
			nodes[i].X, nodes[i].Y = x-nodes[i].W/2, y-nodes[i].H/2
		}
		if !anyOverlap(nodes, 3*boxGap) || try > 60 {
			break
		}
		rx *= 1.12
	}
	pos := map[string]int{}
	placed := make([]box, 0, n+len(g.Links))
	for i, nd := range nodes {
		pos[g.Clusters[i].Name] = i
		placed = append(placed, nd.box)
	}
	out.Nodes = nodes

	// Curves first, then labels: a label avoids the nodes and the labels
	// before it.
	type curve struct {
		x1, y1, mx, my, x2, y2 float64
		loop                   bool
	}
	seen := map[string]int{}
	colors := map[string]bool{}
	var curves []curve
	for _, l := range g.Links {
		ia, okA := pos[l.From]
		ib, okB := pos[l.To]
		if !okA || !okB {
			continue
		}
		a, b := nodes[ia], nodes[ib]
		color := healthColor(l.Health)
		if !colors[color] {
			colors[color] = true
			out.Colors = append(out.Colors, color)
		}
		e := svgEdge{Label: edgeLabel(l), Color: color, Marker: markerID(color), Connection: l.Connection}
		pair := l.From + "\x00" + l.To
		k := float64(seen[pair])
		seen[pair]++
		var c curve
		if l.From == l.To {
			// A loop above the box.
			x, y := a.cx(), a.Y
			h := 60 + 24*k
			e.Cmd, e.Pts = 'C', []float64{x - 12, y, x - 60, y - h, x + 60, y - h, x + 12, y}
			c = curve{x1: x, y1: y, mx: x, my: y - h*0.75, x2: x, y2: y, loop: true}
		} else {
			// Bend: links in opposite directions bend to opposite sides
			// (the normal flips with the direction); more links of one
			// direction bend further.
			offset := 20 + 34*k
			x1, y1 := clip(a.box, b.cx(), b.cy())
			x2, y2 := clip(b.box, a.cx(), a.cy())
			dx, dy := x2-x1, y2-y1
			d := math.Hypot(dx, dy)
			if d == 0 {
				d = 1
			}
			mx, my := (x1+x2)/2-dy/d*offset*2, (y1+y2)/2+dx/d*offset*2
			e.Cmd, e.Pts = 'Q', []float64{x1, y1, mx, my, x2, y2}
			c = curve{x1: x1, y1: y1, mx: mx, my: my, x2: x2, y2: y2}
		}
		out.Edges = append(out.Edges, e)
		curves = append(curves, c)
	}
	for i := range out.Edges {
		e, c := &out.Edges[i], curves[i]
		w, h := textWidth(e.Label, edgeFont)+16, math.Ceil(edgeFont*1.8)
		at := func(t float64) (float64, float64) {
			if c.loop {
				return c.mx, c.my
			}
			u := 1 - t
			return u*u*c.x1 + 2*u*t*c.mx + t*t*c.x2, u*u*c.y1 + 2*u*t*c.my + t*t*c.y2
		}
		px, py := at(0.5)
		lb, ok := box{}, false
		for _, t := range []float64{0.5, 0.4, 0.6, 0.3, 0.7, 0.25, 0.75} {
			x, y := at(t)
			for _, dy := range []float64{0, -h, h} {
				cand := box{X: x - w/2, Y: y + dy - h/2, W: w, H: h}
				if free(cand, placed) {
					lb, ok, px, py = cand, true, x, y
					break
				}
			}
			if ok {
				break
			}
		}
		if !ok {
			// Search outwards from the middle of the curve, ring by
			// ring: the drawing is finite, so a free spot is found.
			lb = spiral(px, py, w, h, placed)
			e.Leader = []float64{px, py, lb.cx(), lb.cy()}
		}
		e.LabelBox = lb
		placed = append(placed, lb)
	}

	// Move everything so the drawing starts at the margin.
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	grow := func(x, y float64) {
		minX, minY, maxX, maxY = math.Min(minX, x), math.Min(minY, y), math.Max(maxX, x), math.Max(maxY, y)
	}
	for _, b := range placed {
		grow(b.X, b.Y)
		grow(b.X+b.W, b.Y+b.H)
	}
	for _, c := range curves {
		grow(c.mx, c.my)
		if c.loop {
			grow(c.x1-60, c.my-20)
			grow(c.x1+60, c.my-20)
		}
	}
	if n == 0 {
		minX, minY, maxX, maxY = 0, 0, 200, 60
	}
	dx, dy := margin-minX, margin-minY
	for i := range out.Nodes {
		out.Nodes[i].X += dx
		out.Nodes[i].Y += dy
	}
	for i := range out.Edges {
		e := &out.Edges[i]
		e.LabelBox.X += dx
		e.LabelBox.Y += dy
		shift(e.Pts, dx, dy)
		shift(e.Leader, dx, dy)
	}
	out.Width = int(math.Ceil(maxX - minX + 2*margin))
	out.Height = int(math.Ceil(maxY - minY + 2*margin))
	return out
}

func anyOverlap(nodes []svgNode, gap float64) bool {
	for i := range nodes {
		for j := i + 1; j < len(nodes); j++ {
			if nodes[i].overlaps(nodes[j].box, gap) {
				return true
			}
		}
	}
	return false
}

func free(b box, placed []box) bool {
	for _, p := range placed {
		if b.overlaps(p, boxGap) {
			return false
		}
	}
	return true
}

// spiral returns the first free box of size w×h on square rings of
// growing radius around (x, y).
func spiral(x, y, w, h float64, placed []box) box {
	const step = 12.0
	at := func(cx, cy float64) box { return box{X: cx - w/2, Y: cy - h/2, W: w, H: h} }
	for ring := 1; ; ring++ {
		r := float64(ring) * step
		// Top and bottom rows, then the sides, each from the middle out.
		for i := 0; i <= ring; i++ {
			for _, s := range []float64{1, -1} {
				off := s * float64(i) * step
				for _, c := range []box{at(x+off, y-r), at(x+off, y+r), at(x-r, y+off), at(x+r, y+off)} {
					if free(c, placed) {
						return c
					}
				}
			}
		}
	}
}

// shift moves the x, y pairs of pts by (dx, dy).
func shift(pts []float64, dx, dy float64) {
	for i := 0; i+1 < len(pts); i += 2 {
		pts[i] += dx
		pts[i+1] += dy
	}
}

// path is the edge's curve as an SVG path.
func (e svgEdge) path() string {
	b := fmt.Appendf(nil, "M %.1f %.1f %c", e.Pts[0], e.Pts[1], e.Cmd)
	for i := 2; i+1 < len(e.Pts); i += 2 {
		b = fmt.Appendf(b, " %.1f %.1f", e.Pts[i], e.Pts[i+1])
	}
	return string(b)
}

// clip returns where the segment from the box's centre towards (x, y)
// leaves the box.
func clip(nd box, x, y float64) (float64, float64) {
	dx, dy := x-nd.cx(), y-nd.cy()
	if dx == 0 && dy == 0 {
		return nd.cx(), nd.cy()
	}
	t := math.Inf(1)
	if dx != 0 {
		t = math.Min(t, nd.W/2/math.Abs(dx))
	}
	if dy != 0 {
		t = math.Min(t, nd.H/2/math.Abs(dy))
	}
	return nd.cx() + dx*t, nd.cy() + dy*t
}

func markerID(color string) string { return "arrow-" + color[1:] }
