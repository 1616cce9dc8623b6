package drift

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// planGraph is the estate of planReport: three locals, two declared
// remotes and one known only by its address. The alias "old|metrics"
// checks the renderers' escaping.
func planGraph() Graph {
	return Graph{
		Clusters: []GraphCluster{
			{Name: "ech-search", Kind: ClusterDeployment, Platform: "ech"},
			{Name: "ece-prod-logs", Kind: ClusterDeployment, Platform: "ece"},
			{Name: "ech-analytics", Kind: ClusterDeployment, Platform: "ech"},
			{Name: "ech-metrics", Kind: ClusterDeployment, Platform: "ech"},
			{Name: "archive", Kind: ClusterSelfManaged},
			{Name: `old "proxy":9443`, Kind: ClusterExternal},
		},
		Links: []GraphLink{
			{Connection: "search-to-archive", From: "ech-search", To: "archive", Alias: "archive", Security: "api_key"},
			{Connection: "analytics-to-ece-logs", From: "ech-analytics", To: "ece-prod-logs", Alias: "ece-prod-logs", Security: "api_key"},
			{Connection: "metrics-to-old", From: "ech-metrics", To: `old "proxy":9443`, Alias: "old|metrics", Security: "certificate"},
		},
	}
}

func TestGraphGolden(t *testing.T) {
	for _, live := range []bool{false, true} {
		g := planGraph()
		name := "graph-specs"
		if live {
			g.WithReport(applyReport())
			name = "graph-live"
		}
		g.Sort()
		var m, d bytes.Buffer
		if err := WriteMermaid(&m, g); err != nil {
			t.Fatal(err)
		}
		if err := WriteDot(&d, g); err != nil {
			t.Fatal(err)
		}
		golden(t, name+".mmd.golden", m.Bytes())
		golden(t, name+".dot.golden", d.Bytes())
	}
}

// Live data colours each edge and says the colour's meaning in its label.
func TestGraphLiveHealthLabelled(t *testing.T) {
	g := planGraph()
	g.WithReport(applyReport())
	g.Sort()
	var m bytes.Buffer
	if err := WriteMermaid(&m, g); err != nil {
		t.Fatal(err)
	}
	for _, l := range g.Links {
		if l.Health == "" {
			t.Fatalf("%s: no health after WithReport", l.Connection)
		}
		if !strings.Contains(m.String(), string(l.Health)) {
			t.Errorf("mermaid does not say %s's health %s", l.Connection, l.Health)
		}
	}
	if !strings.Contains(m.String(), "linkStyle 0 stroke:") {
		t.Errorf("edges are not coloured:\n%s", m.String())
	}
}

func TestGraphUnknownEnd(t *testing.T) {
	g := Graph{Clusters: []GraphCluster{{Name: "a"}}, Links: []GraphLink{{Connection: "x", From: "a", To: "b"}}}
	var buf bytes.Buffer
	if err := WriteDot(&buf, g); err == nil || !strings.Contains(err.Error(), `connection x ends at "b"`) {
		t.Errorf("err = %v", err)
	}
}

func TestStatusPageGolden(t *testing.T) {
	r := applyReport()
	var buf bytes.Buffer
	err := WriteStatusPage(&buf, StatusPage{Report: r, Graph: planGraph(), LastDrift: r, Refresh: 30 * time.Second,
		LastChange: map[string]time.Time{"analytics-to-ece-logs": at}, Now: at.Add(3 * time.Minute), Host: "admin-1"})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "status-page.html.golden", buf.Bytes())
	page := buf.String()
	for _, not := range []string{"<script", "src=", "@import", "<link", `href="http`, "url(http", "<iframe", "<object"} {
		if strings.Contains(page, not) {
			t.Errorf("the page is not self-contained: it has %q", not)
		}
	}
	for _, c := range r.Connections {
		row := `<tr data-connection="` + c.Name + `" data-sync="` + string(c.Sync) + `" data-health="` + string(c.Health) + `">`
		if !strings.Contains(page, row) {
			t.Errorf("no row %s", row)
		}
		if !strings.Contains(page, `<g class="link" data-connection="`+c.Name+`">`) {
			t.Errorf("no edge for %s", c.Name)
		}
	}
	// Escaping: the alias with a quote and a pipe, a value with markup.
	if strings.Contains(page, `old "proxy"`) {
		t.Error("a cluster name is not escaped")
	}
}

func TestStatusPageWithoutHistory(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteStatusPage(&buf, StatusPage{Report: inSyncReport()}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"No drift in the reports kept.", `<td class="mono">?</td>`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if err := WriteStatusPage(&buf, StatusPage{}); err == nil {
		t.Error("a page without a report was written")
	}
}

// A plan's Markdown ends with the graph of the links it changes, and only
// those.
func TestMarkdownGraph(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteMarkdownGraph(&buf, planReport(), planGraph()); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan-graph.md.golden", buf.Bytes())
	md := buf.String()
	i := strings.Index(md, "```mermaid\n")
	if i < 0 {
		t.Fatalf("no mermaid block:\n%s", md)
	}
	graph := md[i:]
	for _, c := range planReport().Connections {
		changed := len(c.Changes) > 0
		if got := strings.Contains(graph, mermaidText(c.Alias)+" · "); got != changed {
			t.Errorf("%s (%d changes) in the graph: %v", c.Name, len(c.Changes), got)
		}
	}
	buf.Reset()
	if err := WriteMarkdownGraph(&buf, inSyncReport(), planGraph()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "mermaid") {
		t.Error("a plan without changes has a graph")
	}
}
