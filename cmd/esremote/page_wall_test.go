package main

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/daemon"
	"github.com/esremote/esremote/reconcile/sim"
)

// testConnectionPage: GET /connections/NAME is the page of one connection
// of the report, linked from the status page: its policy, resources,
// evidence and history (the daemon saved its first pass); an unknown name
// is 404.
func testConnectionPage(t *testing.T, addr string) {
	r := pageReport(t, addr)
	_, index := fetch(t, "http://"+addr+"/", true)
	for _, c := range r.Connections {
		path := "connections/" + url.PathEscape(c.Name)
		if !strings.Contains(index, `href="`+path+`"`) {
			t.Errorf("the status page does not link to %s", path)
		}
		code, page := fetch(t, "http://"+addr+"/"+path, true)
		if code != http.StatusOK {
			t.Fatalf("GET /%s = %d %s", path, code, page)
		}
		for _, want := range []string{
			`<div class="sub" id="connection-name">` + html.EscapeString(c.Name) + `</div>`,
			`<tr><th>Policy</th><td>` + c.Policy + `</td></tr>`,
			`<table id="resources">`,
			`<table id="history">`,
			`<tr><td><time datetime="`, // a row of the history
		} {
			if !strings.Contains(page, want) {
				t.Errorf("/%s lacks %s", path, want)
			}
		}
		if c.Evidence != nil && !strings.Contains(page, html.EscapeString(c.Evidence.Request)) {
			t.Errorf("/%s does not show the evidence %q", path, c.Evidence.Request)
		}
		if e := c.LastError(); e != "-" && !strings.Contains(page, html.EscapeString(e)) {
			t.Errorf("/%s does not show the last error %q", path, e)
		}
	}
	if code, body := fetch(t, "http://"+addr+"/connections/nope", true); code != http.StatusNotFound {
		t.Errorf("GET /connections/nope = %d %s", code, body)
	}
}

// testStatusPageKiosk: with a token, both pages open without it in the
// read-only view, which shows the verdict and the names but no error
// text, evidence, address or spec digest; with the token they are whole.
// /status and /-/reload still need the token.
func testStatusPageKiosk(t *testing.T, addr string) {
	r := pageReport(t, addr)
	var hidden []string // what the full pages show and the kiosk must not
	hidden = append(hidden, "onprem-search.sim:9400", r.SpecDigest)
	for _, c := range r.Connections {
		if c.Error != "" {
			hidden = append(hidden, html.EscapeString(c.Error))
		}
		if c.Evidence != nil {
			hidden = append(hidden, html.EscapeString(c.Evidence.Answer))
		}
		for _, f := range c.Findings {
			hidden = append(hidden, html.EscapeString(f.Message))
		}
	}
	if len(hidden) < 4 {
		t.Fatalf("the sim's report has too little to hide: %q", hidden)
	}
	var full, kiosk strings.Builder
	for _, path := range []string{"/"} {
		code, page := fetch(t, "http://"+addr+path, false)
		if code != http.StatusOK {
			t.Fatalf("GET %s without the token = %d %s", path, code, page)
		}
		kiosk.WriteString(page)
		_, page = fetch(t, "http://"+addr+path, true)
		full.WriteString(page)
	}
	for _, c := range r.Connections {
		path := "/connections/" + url.PathEscape(c.Name)
		code, page := fetch(t, "http://"+addr+path, false)
		if code != http.StatusOK {
			t.Fatalf("GET %s without the token = %d %s", path, code, page)
		}
		kiosk.WriteString(page)
		_, page = fetch(t, "http://"+addr+path, true)
		full.WriteString(page)
	}
	for _, h := range hidden {
		if !strings.Contains(full.String(), h) {
			t.Errorf("the full pages do not show %q", h)
		}
		if strings.Contains(kiosk.String(), h) {
			t.Errorf("the kiosk view shows %q", h)
		}
	}
	for _, c := range r.Connections {
		if !strings.Contains(kiosk.String(), `<tr data-connection="`+c.Name+`" data-sync="`+string(c.Sync)+`" data-health="`+string(c.Health)+`">`) {
			t.Errorf("the kiosk view has no row for %s", c.Name)
		}
	}
	if !strings.Contains(kiosk.String(), `id="kiosk"`) || strings.Contains(full.String(), `id="kiosk"`) {
		t.Error("the kiosk view does not say it is one, or the full view does")
	}
	for _, c := range []struct{ method, path string }{{"GET", "/status"}, {"GET", "/status/last-change"}, {"POST", "/-/reload"}} {
		req, _ := http.NewRequestWithContext(t.Context(), c.method, "http://"+addr+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s without the token = %s, want 401", c.method, c.path, resp.Status)
		}
	}
}

// measureScript is added to a copy of a page in the test only (the served
// page has no script and a CSP that forbids one): it measures the verdict
// and every label of the graph as Chromium lays them out and writes the
// figures into the DOM, which --dump-dom prints.
const measureScript = `<script>
(function () {
  function rect(e) { var b = e.getBoundingClientRect(); return {x: b.left, y: b.top, w: b.width, h: b.height}; }
  var out = {viewport: {w: window.innerWidth, h: window.innerHeight}, scrollWidth: document.documentElement.scrollWidth, groups: []};
  var v = document.getElementById('verdict-health');
  out.verdict = {text: v.textContent, fontSize: parseFloat(getComputedStyle(v).fontSize), box: rect(v)};
  out.border = getComputedStyle(document.body).borderTopColor;
  var list = document.querySelector('section.list');
  if (list) { out.listOverflow = list.scrollWidth - list.clientWidth; }
  var svg = document.getElementById('graph');
  if (svg) {
    out.svg = rect(svg);
    svg.querySelectorAll('g.cluster, g.link').forEach(function (g) {
      var box = g.querySelector('rect');
      out.groups.push({
        kind: g.getAttribute('class'),
        name: g.getAttribute('data-cluster') || g.getAttribute('data-connection'),
        reach: g.getAttribute('data-reach') || '',
        box: rect(box),
        texts: Array.prototype.map.call(g.querySelectorAll('text'), function (t) {
          return {text: t.textContent, cls: t.getAttribute('class'), box: rect(t)};
        })
      });
    });
  }
  var pre = document.createElement('pre');
  pre.id = 'measure';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
</body>`

type rectJS struct{ X, Y, W, H float64 }

// overlaps reports whether a and b share more than a sliver: anti-aliased
// edges may touch by a fraction of a pixel.
func (a rectJS) overlaps(b rectJS) bool {
	const eps = 0.5
	return a.X+eps < b.X+b.W && b.X+eps < a.X+a.W && a.Y+eps < b.Y+b.H && b.Y+eps < a.Y+a.H
}

func (a rectJS) inside(b rectJS) bool {
	const eps = 1.5
	return a.X >= b.X-eps && a.Y >= b.Y-eps && a.X+a.W <= b.X+b.W+eps && a.Y+a.H <= b.Y+b.H+eps
}

type measure struct {
	Viewport    struct{ W, H float64 }
	ScrollWidth float64
	// ListOverflow is how much wider the connections' table is than its
	// column.
	ListOverflow float64
	Verdict      struct {
		Text     string
		FontSize float64
		Box      rectJS
	}
	Border string
	SVG    rectJS
	Groups []struct {
		Kind, Name, Reach string
		Box               rectJS
		Texts             []struct {
			Text, Cls string
			Box       rectJS
		}
	}
}

// measurePage fetches path from the daemon as a wall screen would
// (without the token), adds measureScript to a copy and measures it in
// headless Chromium at 1920×1080.
func measurePage(t *testing.T, chromium, addr, path string) measure {
	t.Helper()
	code, page := fetch(t, "http://"+addr+path, false)
	if code != http.StatusOK || !strings.Contains(page, "</body>") || strings.Contains(page, "<script") {
		t.Fatalf("GET %s = %d\n%s", path, code, page)
	}
	name := "wall" + strings.ReplaceAll(strings.TrimSuffix(path, "/"), "/", "-") + ".png"
	return measureHTML(t, chromium, page, name)
}

// measureHTML measures a page in headless Chromium at 1920×1080 (see
// measurePage); with ESREMOTE_SCREENSHOT_DIR set it also saves a
// screenshot there under name.
func measureHTML(t *testing.T, chromium, page, name string) measure {
	t.Helper()
	file := filepath.Join(t.TempDir(), "page.html")
	writeFile(t, file, strings.Replace(page, "</body>", measureScript, 1), 0o644)
	// Headless Chromium takes room for a window frame it does not draw
	// off --window-size (139 px of height in Chromium 148): measure once,
	// then ask for a window that much taller, for a 1920×1080 viewport.
	var out measure
	height := 1080
	for try := 0; ; try++ {
		size := fmt.Sprintf("--window-size=1920,%d", height)
		dom := string(runChromium(t, chromium, size, "--hide-scrollbars", "--dump-dom", "file://"+file))
		m := regexp.MustCompile(`<pre id="measure">(.*?)</pre>`).FindStringSubmatch(dom)
		if m == nil {
			t.Fatalf("no measurements in the DOM:\n%s", dom)
		}
		out = measure{}
		if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &out); err != nil {
			t.Fatalf("measurements: %v\n%s", err, m[1])
		}
		if out.Viewport.W == 1920 && out.Viewport.H == 1080 {
			if dir := os.Getenv("ESREMOTE_SCREENSHOT_DIR"); dir != "" { // to look at it
				// A screenshot's image is the window: 1920×1080 here.
				shot := filepath.Join(t.TempDir(), "shot.html")
				writeFile(t, shot, page, 0o644)
				runChromium(t, chromium, "--screenshot="+filepath.Join(dir, name), "--window-size=1920,1080", "--hide-scrollbars", "file://"+shot)
			}
			break
		}
		if try == 1 || out.Viewport.W != 1920 {
			t.Fatalf("chromium's viewport is %vx%v with %s, want 1920x1080", out.Viewport.W, out.Viewport.H, size)
		}
		height += 1080 - int(out.Viewport.H)
	}
	return out
}

// testStatusPageOnWall opens the pages as a wall screen does, without the
// token, in headless Chromium at 1920×1080, and checks what is rendered:
// the verdict says how many links are down in letters at least 48 px high,
// on the first screen, and the page wears the colour of a link down; every
// cluster is labelled ECH, ECE, self-managed or external and coloured by
// reachability; no two labels of the graph overlap, and each lies in its
// box inside the drawing.
func testStatusPageOnWall(t *testing.T, addr string, srv *sim.Server) {
	chromium := needChromium(t)
	r := pageReport(t, addr)
	unhealthy := 0
	for _, c := range r.Connections {
		if c.Health.Unhealthy() {
			unhealthy++
		}
	}
	if unhealthy == 0 {
		t.Fatalf("the sim world has no link down: %+v", r.Connections)
	}
	m := measurePage(t, chromium, addr, "/")
	want := fmt.Sprintf("%d of %d not connected", unhealthy, len(r.Connections))
	if m.Verdict.Text != want {
		t.Errorf("verdict %q, want %q", m.Verdict.Text, want)
	}
	if m.Verdict.FontSize < 48 || m.Verdict.Box.Y+m.Verdict.Box.H > 1080 || m.Verdict.Box.X+m.Verdict.Box.W > 1920 {
		t.Errorf("the verdict is %v px high at %+v: not readable across a room on the first screen", m.Verdict.FontSize, m.Verdict.Box)
	}
	if m.Border != "rgb(207, 34, 46)" {
		t.Errorf("the page's frame is %q, want the red of a link down", m.Border)
	}

	// Node labels: the kind of each sim cluster, as the sim declares it.
	kinds := map[string]string{}
	for name, c := range srv.Addresses().Clusters {
		switch c.Platform {
		case "ech":
			kinds[name] = "ECH"
		case "ece":
			kinds[name] = "ECE"
		default:
			kinds[name] = "self-managed"
		}
	}
	kinds["external 1"] = "external" // onprem-search.sim:9400, its address hidden from the wall
	reach := map[string]string{}
	for _, c := range r.Connections {
		switch {
		case c.Health == drift.HealthConnected:
			reach[c.Local], reach[c.Alias] = "reachable", "reachable" // the alias is the remote's name here
		case c.Health == drift.HealthDisconnected && c.Alias == "onprem":
			reach["external 1"] = "unreachable"
		}
	}
	seen := map[string]bool{}
	for _, g := range m.Groups {
		if g.Kind != "cluster" {
			continue
		}
		seen[g.Name] = true
		if len(g.Texts) != 2 || g.Texts[0].Text != g.Name || !strings.HasPrefix(g.Texts[1].Text, kinds[g.Name]+" · "+g.Reach) {
			t.Errorf("cluster %s (%s, %s) is labelled %+v", g.Name, kinds[g.Name], g.Reach, g.Texts)
		}
		if w, ok := reach[g.Name]; ok && g.Reach != w {
			t.Errorf("cluster %s is %s, want %s", g.Name, g.Reach, w)
		}
	}
	for name := range kinds {
		if !seen[name] {
			t.Errorf("no node for cluster %s", name)
		}
	}

	if n := checkGraphLabels(t, m); n < 2*len(kinds)+len(r.Connections) {
		t.Errorf("%d labels measured for %d clusters and %d connections", n, len(kinds), len(r.Connections))
	}

	// The connection page's verdict, for the link that is down.
	for _, c := range r.Connections {
		if !c.Health.Unhealthy() {
			continue
		}
		m := measurePage(t, chromium, addr, "/connections/"+url.PathEscape(c.Name))
		if !strings.HasPrefix(m.Verdict.Text, "Disconnected · ") || m.Verdict.FontSize < 48 || m.Border != "rgb(207, 34, 46)" {
			t.Errorf("the page of %s: verdict %q at %v px, frame %q", c.Name, m.Verdict.Text, m.Verdict.FontSize, m.Border)
		}
	}
}

// checkGraphLabels checks the graph as Chromium drew it: no two labels
// (texts) overlap, nor two label boxes (clusters' and edge labels'); each
// text lies in its box and each box inside the drawing. It returns how
// many texts it measured.
func checkGraphLabels(t *testing.T, m measure) int {
	t.Helper()
	if m.ScrollWidth > m.Viewport.W || m.ListOverflow > 0 {
		t.Errorf("the page is %v px wide, its table %v px wider than its column: it does not fit the screen's %v", m.ScrollWidth, m.ListOverflow, m.Viewport.W)
	}
	type label struct {
		what string
		box  rectJS
	}
	var texts, boxes []label
	for _, g := range m.Groups {
		boxes = append(boxes, label{g.Kind + " " + g.Name, g.Box})
		for _, tx := range g.Texts {
			texts = append(texts, label{g.Name + ": " + tx.Text, tx.Box})
			if tx.Box.W == 0 || !tx.Box.inside(g.Box) {
				t.Errorf("label %q %+v is not inside its box %+v", tx.Text, tx.Box, g.Box)
			}
		}
		if !g.Box.inside(m.SVG) {
			t.Errorf("%s %s %+v is outside the graph %+v", g.Kind, g.Name, g.Box, m.SVG)
		}
	}
	for _, set := range [][]label{texts, boxes} {
		for i := range set {
			for j := i + 1; j < len(set); j++ {
				if set[i].box.overlaps(set[j].box) {
					t.Errorf("%s %+v overlaps %s %+v", set[i].what, set[i].box, set[j].what, set[j].box)
				}
			}
		}
	}
	return len(texts)
}

// TestStatusPageCrowdedInChromium draws a crowded estate (18 clusters,
// long names, wide CJK and hidden characters, every cluster linked to the
// next three, parallel and opposite links, a loop) and checks in Chromium
// at 1920×1080 that no two of its labels overlap, whatever font Chromium
// picks for the characters.
func TestStatusPageCrowdedInChromium(t *testing.T) {
	chromium := needChromium(t)
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	r := drift.New(drift.ModeRun, drift.TriggerResync, at)
	var g drift.Graph
	names := []string{"ech-analytics", "ece-prod-logs", "onprem-search", "ech-検索-本番", "x", "a-very-long-cluster-name-for-the-archive-tier",
		"ech-\u202eevil", "metrics", "ece-eu-west-1-logs", "ech-us-east-2", "日本語クラスタ", "backup", "self-managed-42", "ece-apac",
		"ech-siem", "ech-apm", "ece-audit", "ech-ml"}
	platforms := []string{"ech", "ece", ""}
	for i, n := range names {
		p := platforms[i%3]
		kind := drift.ClusterDeployment
		if p == "" {
			kind = drift.ClusterSelfManaged
		}
		g.Clusters = append(g.Clusters, drift.GraphCluster{Name: n, Kind: kind, Platform: p})
	}
	healths := []drift.Health{drift.HealthConnected, drift.HealthDisconnected, drift.HealthUnknown, drift.HealthUnauthorized, drift.HealthRotating}
	syncs := []drift.Sync{drift.SyncInSync, drift.SyncCorrected, drift.SyncDrifted, drift.SyncFailed}
	link := func(from, to int, alias string) {
		name := fmt.Sprintf("%s-to-%s-%d", names[from], names[to], len(g.Links))
		h, s := healths[len(g.Links)%len(healths)], syncs[len(g.Links)%len(syncs)]
		g.Links = append(g.Links, drift.GraphLink{Connection: name, From: names[from], To: names[to], Alias: alias, Security: "api_key"})
		r.Connections = append(r.Connections, drift.Connection{Name: name, Local: names[from], Alias: alias, Security: "api_key",
			Policy: "enforce", Sync: s, Health: h})
	}
	for i := range names {
		for k := 1; k <= 3; k++ {
			link(i, (i+k)%len(names), fmt.Sprintf("%s-%d", names[(i+k)%len(names)], k))
		}
	}
	link(1, 0, "back")
	link(0, 1, "again")
	link(2, 2, "self")
	r.Sort()
	r.Tally()
	var page strings.Builder
	if err := drift.WriteStatusPage(&page, drift.StatusPage{Report: r, Graph: g, Now: at, Host: "admin-1"}); err != nil {
		t.Fatal(err)
	}
	m := measureHTML(t, chromium, page.String(), "crowded.png")
	if n := checkGraphLabels(t, m); n != 2*len(names)+len(g.Links) {
		t.Errorf("%d labels measured, want %d", n, 2*len(names)+len(g.Links))
	}
}

func TestPageStale(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	r := drift.New(drift.ModeRun, drift.TriggerResync, at)
	for _, c := range []struct {
		st     daemon.LoopStatus
		age    time.Duration
		resync time.Duration
		want   string
	}{
		{daemon.LoopStatus{Report: r}, 4 * time.Minute, 5 * time.Minute, ""},
		{daemon.LoopStatus{Report: r}, 14 * time.Minute, 5 * time.Minute, ""}, // a late pass (resync + the 10 min a pass may take)
		{daemon.LoopStatus{Report: r}, 16 * time.Minute, 5 * time.Minute, "no pass for 16m0s (resync every 5m0s)"},
		{daemon.LoopStatus{Report: r}, 89 * time.Minute, 30 * time.Minute, ""},
		{daemon.LoopStatus{Report: r}, 91 * time.Minute, 30 * time.Minute, "no pass for 1h31m0s (resync every 30m0s)"},
		{daemon.LoopStatus{Report: r, Stuck: "a pass for 11m0s"}, time.Minute, 5 * time.Minute, "the daemon is stuck: a pass for 11m0s"},
		{daemon.LoopStatus{}, time.Hour, 5 * time.Minute, ""},
	} {
		if got := pageStale(c.st, at.Add(c.age), c.resync); got != c.want {
			t.Errorf("pageStale(stuck %q, %v old, resync %v) = %q, want %q", c.st.Stuck, c.age, c.resync, got, c.want)
		}
	}
}
