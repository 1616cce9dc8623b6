package drift

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// historyOf is the history the connection page of analytics-to-ece-logs
// shows in its golden: the apply of applyReport, a plan before it, and
// an older pass where the link was still connected.
func historyOf(name string) []ConnectionPass {
	older := planReport()
	older.GeneratedAt = at.Add(-2 * time.Hour)
	for i := range older.Connections {
		older.Connections[i].Changes = nil
		older.Connections[i].Sync = SyncInSync
	}
	plan := planReport()
	plan.GeneratedAt = at.Add(-10 * time.Minute)
	failing := applyReport()
	failing.GeneratedAt = at.Add(-5 * time.Minute)
	return ConnectionHistory(name, []*Report{applyReport(), failing, plan, older})
}

// withEvidence is applyReport with the evidence of a failed request on
// the failing link.
func withEvidence() *Report {
	r := applyReport()
	for i := range r.Connections {
		if r.Connections[i].Name == "analytics-to-ece-logs" {
			r.Connections[i].Evidence = &Evidence{Request: "GET /_resolve/cluster/ece-prod-logs:esremote-canary",
				Answer: "connected: false (a542ab.192.168.44.10.ip.es.io:9443 refused the connection)", At: at}
		}
	}
	return r
}

func TestConnectionPageGolden(t *testing.T) {
	var buf bytes.Buffer
	err := WriteConnectionPage(&buf, ConnectionPage{Report: withEvidence(), Name: "analytics-to-ece-logs", Graph: planGraph(),
		History: historyOf("analytics-to-ece-logs"), Refresh: 30 * time.Second, Now: at.Add(3 * time.Minute), Host: "admin-1"})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "connection-page.html.golden", buf.Bytes())
	page := buf.String()
	for _, want := range []string{
		`<h1 id="verdict-health">Disconnected · Failed</h1>`,
		`<td class="mono">ece-prod-logs <span class="note">ECE</span></td>`,
		`<tr><th>Policy</th><td>enforce</td></tr>`,
		`<tr data-resource="keystore"><td>keystore</td><td colspan="5" class="note">no difference found</td></tr>`,
		`failed: put cluster settings on ech-analytics: 400 illegal_argument_exception`,
		`GET /_resolve/cluster/ece-prod-logs:esremote-canary`,
		`title="2026-11-26T18:00:00Z">2 h ago</time>`, // the oldest pass of the history
		`<li class="err"><time datetime="2026-11-26T19:55:00Z" title="2026-11-26T19:55:00Z">8 min ago</time>: 1 change failed</li>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the connection page lacks %s", want)
		}
	}
	if n := strings.Count(page, `<tr><td><time`); n != 4 {
		t.Errorf("history has %d rows, want 4", n)
	}
	err = WriteConnectionPage(&buf, ConnectionPage{Report: applyReport(), Name: "nope"})
	if !errors.Is(err, ErrNoConnection) {
		t.Errorf("a page for an unknown connection: %v", err)
	}
}

// The kiosk view (a screen without the daemon's token) shows names,
// states, counts and times, never an error text, a value, evidence, an
// address or the spec digest; the full view shows them.
func TestPagesKiosk(t *testing.T) {
	r := withEvidence()
	r.Errors = append(r.Errors, ReportError{Target: "/etc/esremote/connections", Message: "a.yaml:2:1: error: unknown field"},
		ReportError{Target: "ech-search", Message: "get /: 503 Service Unavailable"})
	secretish := []string{
		"illegal_argument_exception", "503 Service Unavailable", // error texts
		"a542ab.192.168.44.10.ip.es.io", "sha256:ab12cd34", "remote_indices", // values
		"esremote-canary", "refused the connection", // evidence
		"sha256:5f0c6e1d", `old &#34;proxy&#34;:9443`, // spec digest, an address
		"the cross-cluster API key expires",        // a finding's message
		"/etc/esremote/connections", "ece-staging", // targets that are no cluster of the graph
	}
	pages := func(kiosk bool) string {
		var buf bytes.Buffer
		if err := WriteStatusPage(&buf, StatusPage{Report: r, Graph: planGraph(), LastDrift: r, Now: at, Host: "admin-1", Kiosk: kiosk}); err != nil {
			t.Fatal(err)
		}
		for _, c := range r.Connections {
			err := WriteConnectionPage(&buf, ConnectionPage{Report: r, Name: c.Name, Graph: planGraph(), History: historyOf(c.Name), Now: at, Kiosk: kiosk})
			if err != nil {
				t.Fatal(err)
			}
		}
		return buf.String()
	}
	full, kiosk := pages(false), pages(true)
	for _, s := range secretish {
		if !strings.Contains(full, s) {
			t.Errorf("the full view lacks %q (the test's list is wrong)", s)
		}
		if strings.Contains(kiosk, s) {
			t.Errorf("the kiosk view shows %q", s)
		}
	}
	for _, want := range []string{`id="kiosk"`, "1 of 3 not connected", "analytics-to-ece-logs", "ECE · unreachable",
		`data-cluster="external 1"`, "key_expires_soon", hiddenText, "admin-1", "<b>ech-search</b>", "<b>another target</b>"} {
		if !strings.Contains(kiosk, want) {
			t.Errorf("the kiosk view lacks %q", want)
		}
	}
	if strings.Contains(full, `id="kiosk"`) {
		t.Error("the full view says it is the kiosk view")
	}
	// KioskView leaves its input alone.
	if r.Connections[0].Evidence == nil || r.Errors[0].Message == hiddenText {
		t.Error("KioskView changed the report it was given")
	}
}

// A name holding bidirectional overrides or other invisible characters is
// shown with them as visible code points on both pages, wherever it is
// printed (table, graph, titles, header), so it cannot read reversed.
func TestPagesNeutraliseBidi(t *testing.T) {
	evil := "prod\u202Egol-ecnalav\u202C" // reads "prod" + "valance-log" reversed
	r := New(ModeRun, TriggerResync, at)
	r.Connections = []Connection{{Name: evil, Local: "ech\u2066-a", Alias: "al\u200Fias", Security: "api_key", Policy: "enforce",
		Sync: SyncDrifted, Health: HealthConnected, Error: "x\u202Ey",
		Changes: []Change{{Resource: ResourceRole, Target: "ech\u2066-a", Key: "role\u202E", Action: ActionCreate}}}}
	r.Tally()
	g := Graph{Clusters: []GraphCluster{{Name: "ech\u2066-a", Kind: ClusterDeployment, Platform: "ech"}, {Name: "remote\u202E", Kind: ClusterSelfManaged}},
		Links: []GraphLink{{Connection: evil, From: "ech\u2066-a", To: "remote\u202E", Alias: "al\u200Fias", Security: "api_key"}}}
	var buf bytes.Buffer
	if err := WriteStatusPage(&buf, StatusPage{Report: r, Graph: g, LastDrift: r, Host: "host\u202E"}); err != nil {
		t.Fatal(err)
	}
	if err := WriteConnectionPage(&buf, ConnectionPage{Report: r, Name: evil, Graph: g, History: ConnectionHistory(evil, []*Report{r})}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, bad := range []rune{'\u202E', '\u202C', '\u2066', '\u200F'} {
		if strings.ContainsRune(page, bad) {
			t.Errorf("the page holds %U as is", bad)
		}
	}
	for _, want := range []string{"prod&lt;U+202E&gt;gol-ecnalav&lt;U+202C&gt;", "ech&lt;U+2066&gt;-a", "al&lt;U+200F&gt;ias",
		"remote&lt;U+202E&gt;", "host&lt;U+202E&gt;", "role&lt;U+202E&gt;", "x&lt;U+202E&gt;y"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not show %s", want)
		}
	}
	// The graph still links the renamed ends: one edge, drawn.
	if !strings.Contains(page, `<g class="link" data-connection="prod&lt;U+202E&gt;gol-ecnalav&lt;U+202C&gt;">`) {
		t.Error("the edge of the connection is not drawn")
	}
}

func TestVerdict(t *testing.T) {
	conn := func(s Sync, h Health) Connection { return Connection{Name: fmt.Sprint(s, h), Sync: s, Health: h} }
	for _, c := range []struct {
		conns  []Connection
		errors int
		want   string
		level  string
	}{
		{nil, 0, "No connections · In sync", levelOK},
		{[]Connection{conn(SyncInSync, HealthConnected), conn(SyncInSync, HealthRotating)}, 0, "All 2 connected · In sync", levelOK},
		{[]Connection{conn(SyncInSync, HealthConnected), conn(SyncCorrected, HealthConnected)}, 0, "All 2 connected · In sync · 1 corrected", levelOK},
		{[]Connection{conn(SyncInSync, HealthConnected), conn(SyncDrifted, HealthConnected)}, 0, "All 2 connected · 1 out of sync", levelWarn},
		{[]Connection{conn(SyncInSync, HealthConnected), conn(SyncInSync, HealthUnknown)}, 0, "1 of 2 connected · In sync", levelWarn},
		{[]Connection{conn(SyncInSync, HealthDisconnected), conn(SyncInSync, HealthUnauthorized), conn(SyncInSync, HealthConnected)}, 0, "2 of 3 not connected · In sync", levelBad},
		{[]Connection{conn(SyncFailed, HealthConnected), conn(SyncContested, HealthConnected), conn(SyncDrifted, HealthConnected)}, 0, "All 3 connected · 1 failed · 1 contested · 1 out of sync", levelBad},
		{[]Connection{conn(SyncInSync, HealthConnected), conn(SyncDisabled, HealthUnknown)}, 0, "All 1 connected · In sync", levelOK},
		{[]Connection{conn(SyncDisabled, HealthUnknown)}, 0, "All 1 disabled · In sync", levelOK},
		{[]Connection{conn(SyncInSync, HealthConnected)}, 1, "All 1 connected · In sync", levelBad},
	} {
		r := New(ModeRun, TriggerResync, at)
		r.Connections = c.conns
		for range c.errors {
			r.Errors = append(r.Errors, ReportError{Target: "t", Message: "m"})
		}
		v := verdictOf(r)
		if v.String() != c.want || v.Level != c.level {
			t.Errorf("%v with %d errors: %q (%s), want %q (%s)", c.conns, c.errors, v, v.Level, c.want, c.level)
		}
	}
}

// corrected is drawn unlike in_sync: another colour and a mark, so it
// differs in grey too.
func TestCorrectedDistinctFromInSync(t *testing.T) {
	in, corr := syncBadge(SyncInSync), syncBadge(SyncCorrected)
	if syncColor(SyncInSync) == syncColor(SyncCorrected) {
		t.Error("corrected has in_sync's colour")
	}
	if !strings.Contains(corr, "↺") || strings.Contains(in, "↺") || !strings.Contains(corr, "sync-corrected") {
		t.Errorf("badges: in_sync %s, corrected %s", in, corr)
	}
	if !strings.Contains(pageCSS, ".badge.sync-corrected {") {
		t.Error("the page's style does not set corrected apart")
	}
}

func TestRelTime(t *testing.T) {
	now := at
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "just now"}, {4 * time.Second, "just now"}, {42 * time.Second, "42 s ago"}, {3*time.Minute + 59*time.Second, "3 min ago"},
		{5 * time.Hour, "5 h ago"}, {47 * time.Hour, "47 h ago"}, {72 * time.Hour, "3 d ago"}, {-3 * time.Minute, "in 3 min"},
	} {
		if got := relTime(now, now.Add(-c.d)); got != c.want {
			t.Errorf("relTime(%v ago) = %q, want %q", c.d, got, c.want)
		}
	}
	if got := timeHTML(now, now.Add(-3*time.Minute)); got != `<time datetime="2026-11-26T19:57:00Z" title="2026-11-26T19:57:00Z">3 min ago</time>` {
		t.Errorf("timeHTML = %s", got)
	}
}

// crowdedGraph has n clusters with long names, every cluster linked to the
// next three, a pair of opposite links, a second link on one pair and a
// loop: the layout's hardest cases.
func crowdedGraph(n int) Graph {
	var g Graph
	name := func(i int) string { return fmt.Sprintf("cluster-%02d-%s", i, strings.Repeat("x", i%7*3)) }
	for i := range n {
		g.Clusters = append(g.Clusters, GraphCluster{Name: name(i), Kind: ClusterDeployment, Platform: "ech"})
	}
	healths := []Health{HealthConnected, HealthDisconnected, HealthUnknown, HealthUnauthorized, ""}
	for i := range n {
		for k := 1; k <= 3 && k < n; k++ {
			j := (i + k) % n
			g.Links = append(g.Links, GraphLink{Connection: fmt.Sprintf("%d-to-%d", i, j), From: name(i), To: name(j),
				Alias: fmt.Sprintf("alias-%d-%d", i, j), Health: healths[(i+k)%len(healths)]})
		}
	}
	if n > 1 {
		g.Links = append(g.Links, GraphLink{Connection: "back", From: name(1), To: name(0), Alias: "back"},
			GraphLink{Connection: "again", From: name(0), To: name(1), Alias: "again"})
	}
	if n > 0 {
		g.Links = append(g.Links, GraphLink{Connection: "self", From: name(0), To: name(0), Alias: "self"})
	}
	g.Sort()
	return g
}

// No two label boxes of the laid-out graph (clusters and edge labels)
// come closer than boxGap, every box is inside the drawing, and the layout
// is the same every time. The Chromium test checks the rendered text.
func TestLayoutLabelsNeverOverlap(t *testing.T) {
	for n := 0; n <= 24; n++ {
		g := crowdedGraph(n)
		reach := reachability(g, &Report{})
		svg := layoutGraph(g, reach)
		var boxes []box
		var what []string
		for _, nd := range svg.Nodes {
			boxes, what = append(boxes, nd.box), append(what, "cluster "+nd.Name)
			if w := textWidth(nd.Name, nodeNameFont); w > nd.W {
				t.Errorf("n=%d: %s is %.0f wide in a box of %.0f", n, nd.Name, w, nd.W)
			}
		}
		for _, e := range svg.Edges {
			boxes, what = append(boxes, e.LabelBox), append(what, "label of "+e.Connection)
			if w := textWidth(e.Label, edgeFont); w > e.LabelBox.W {
				t.Errorf("n=%d: label %q is %.0f wide in a box of %.0f", n, e.Label, w, e.LabelBox.W)
			}
		}
		if len(svg.Edges) != len(g.Links) {
			t.Errorf("n=%d: %d edges drawn of %d links", n, len(svg.Edges), len(g.Links))
		}
		for i := range boxes {
			b := boxes[i]
			if b.X < 0 || b.Y < 0 || b.X+b.W > float64(svg.Width) || b.Y+b.H > float64(svg.Height) {
				t.Errorf("n=%d: %s %+v is outside the %dx%d drawing", n, what[i], b, svg.Width, svg.Height)
			}
			for j := i + 1; j < len(boxes); j++ {
				if b.overlaps(boxes[j], boxGap-0.01) {
					t.Errorf("n=%d: %s %+v overlaps %s %+v", n, what[i], b, what[j], boxes[j])
				}
			}
		}
		again := layoutGraph(g, reach)
		if fmt.Sprint(again) != fmt.Sprint(svg) {
			t.Errorf("n=%d: two layouts of one graph differ", n)
		}
	}
}

// Clusters are coloured by whether the last pass reached them.
func TestReachability(t *testing.T) {
	g := Graph{
		Clusters: []GraphCluster{{Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "d"}, {Name: "e"}, {Name: "f"}},
		Links: []GraphLink{
			{Connection: "1", From: "a", To: "b", Health: HealthConnected},
			{Connection: "2", From: "a", To: "c", Health: HealthDisconnected},
			{Connection: "3", From: "d", To: "b", Health: HealthDisconnected}, // b answers a: reachable
			{Connection: "4", From: "e", To: "f", Health: HealthUnknown},
		},
	}
	r := &Report{Errors: []ReportError{{Target: "e", Message: "503"}}}
	got := reachability(g, r)
	want := map[string]string{"a": reachUp, "b": reachUp, "c": reachDown, "d": reachUp, "e": reachDown, "f": reachUnknown}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reachability = %v, want %v", got, want)
	}
}

func TestKindWord(t *testing.T) {
	for c, want := range map[GraphCluster]string{
		{Kind: ClusterDeployment, Platform: "ech"}: "ECH",
		{Kind: ClusterDeployment, Platform: "ece"}: "ECE",
		{Kind: ClusterSelfManaged}:                 "self-managed",
		{Kind: ClusterExternal}:                    "external",
	} {
		if got := kindWord(c); got != want {
			t.Errorf("kindWord(%+v) = %q, want %q", c, got, want)
		}
	}
}

// A report that may be out of date turns both pages' headers to trouble
// and says why, even when everything in it is green.
func TestPagesStale(t *testing.T) {
	r := inSyncReport()
	var fresh, stale bytes.Buffer
	if err := WriteStatusPage(&fresh, StatusPage{Report: r}); err != nil {
		t.Fatal(err)
	}
	if err := WriteStatusPage(&stale, StatusPage{Report: r, Stale: "no pass for 2h0m0s (resync every 5m0s)"}); err != nil {
		t.Fatal(err)
	}
	if err := WriteConnectionPage(&stale, ConnectionPage{Report: r, Name: "link-a", Stale: "the daemon is stuck: a pass for 11m"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fresh.String(), `data-level="ok"`) || strings.Contains(fresh.String(), `id="verdict-detail"`) {
		t.Error("a fresh, green report is not ok")
	}
	for _, want := range []string{
		`<header class="verdict" id="verdict" data-level="bad">` + "\n<div>\n<h1 id=\"verdict-health\">All 3 connected</h1>",
		`<div class="sub" id="verdict-detail">no pass for 2h0m0s (resync every 5m0s)</div>`,
		`<div class="sub" id="verdict-detail">the daemon is stuck: a pass for 11m</div>`,
	} {
		if !strings.Contains(stale.String(), want) {
			t.Errorf("the stale pages lack %s", want)
		}
	}
	if n := strings.Count(stale.String(), `<body class="level-bad"`); n != 2 {
		t.Errorf("%d of 2 stale pages wear the colour of trouble", n)
	}
}
