package drift

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Graph is the estate: clusters as nodes, connections as edges from the
// local cluster to the remote one. The caller builds it from the specs
// (drift knows nothing of them) and may add live sync and health from a
// report with [Graph.WithReport]. The graph renderers ([WriteMermaid],
// [WriteDot]) and the status page ([WriteStatusPage]) draw it.
type Graph struct {
	Clusters []GraphCluster `json:"clusters"`
	Links    []GraphLink    `json:"links"`
}

// GraphCluster is a node: a declared Cluster, or a remote known only by
// its address.
type GraphCluster struct {
	Name string `json:"name"`
	// Kind is ClusterDeployment, ClusterSelfManaged or ClusterExternal.
	Kind string `json:"kind"`
	// Platform is "ech" or "ece" for a deployment, "" otherwise or when
	// not known; the status page labels the node with it.
	Platform string `json:"platform,omitempty"`
}

// Kinds of GraphCluster.
const (
	ClusterDeployment  = "deployment"   // ECH or ECE: has a control plane
	ClusterSelfManaged = "self-managed" // a declared cluster without a deployment
	ClusterExternal    = "external"     // not declared: only its proxy address or seeds
)

// GraphLink is an edge: the connection Name makes From reach To as Alias.
type GraphLink struct {
	Connection string `json:"connection"`
	From       string `json:"from"`
	To         string `json:"to"`
	Alias      string `json:"alias"`
	Security   string `json:"security"`
	// Sync and Health are empty when the graph was drawn from the specs
	// alone (no live data).
	Sync   Sync   `json:"sync,omitempty"`
	Health Health `json:"health,omitempty"`
	// Changes counts the differences the report found for the connection.
	Changes int `json:"changes,omitempty"`
}

// Sort orders clusters by name and links by (from, to, alias), so that the
// renderers' output only depends on the graph's content.
func (g *Graph) Sort() {
	slices.SortFunc(g.Clusters, func(a, b GraphCluster) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(g.Links, func(a, b GraphLink) int {
		return cmp.Or(strings.Compare(a.From, b.From), strings.Compare(a.To, b.To),
			strings.Compare(a.Alias, b.Alias), strings.Compare(a.Connection, b.Connection))
	})
}

// WithReport fills each link's sync, health and change count from the
// report's connection of the same name; links the report does not have
// keep theirs.
func (g *Graph) WithReport(r *Report) {
	if r == nil {
		return
	}
	byName := make(map[string]Connection, len(r.Connections))
	for _, c := range r.Connections {
		byName[c.Name] = c
	}
	for i, l := range g.Links {
		if c, ok := byName[l.Connection]; ok {
			g.Links[i].Sync, g.Links[i].Health, g.Links[i].Changes = c.Sync, c.Health, len(c.Changes)
		}
	}
}

// healthColor is the colour of a link of health h. Every colour also has
// its text (the health itself) wherever it is drawn.
func healthColor(h Health) string {
	switch h {
	case HealthConnected:
		return "#1a7f37" // green
	case HealthRotating:
		return "#0969da" // blue: works, on the old key until the new one is proven
	case HealthDisconnected:
		return "#cf222e" // red
	case HealthUnauthorized:
		return "#8250df" // purple: reachable, the remote refuses the credential
	case HealthUnknown:
		return "#9a6700" // amber
	}
	return "#57606a" // grey: no live data
}

// linkLabel is what an edge says: alias, security model, and the live sync
// and health when known.
func linkLabel(l GraphLink, sep string) string {
	parts := []string{l.Alias, l.Security}
	if l.Health != "" {
		parts = append(parts, string(l.Health))
	}
	if l.Sync != "" && l.Sync != SyncInSync {
		parts = append(parts, string(l.Sync))
	}
	switch {
	case l.Changes == 1:
		parts = append(parts, "1 change")
	case l.Changes > 1:
		parts = append(parts, fmt.Sprintf("%d changes", l.Changes))
	}
	return strings.Join(parts, sep)
}

// WriteMermaid writes g as a Mermaid flowchart (GitHub and GitLab render
// it in Markdown): one node per cluster, one edge per connection labelled
// with its alias, security model and, when known, health and sync; edges
// are coloured by health (linkStyle), the colour's meaning is in the label.
func WriteMermaid(w io.Writer, g Graph) error {
	bw := bufio.NewWriter(w)
	ids := map[string]string{}
	fmt.Fprintln(bw, "flowchart LR")
	for i, c := range g.Clusters {
		ids[c.Name] = fmt.Sprintf("c%d", i)
		fmt.Fprintf(bw, "  c%d[\"%s<br/><small>%s</small>\"]\n", i, mermaidText(c.Name), mermaidText(c.Kind))
	}
	for _, l := range g.Links {
		from, to, err := linkEnds(ids, l)
		if err != nil {
			return err
		}
		fmt.Fprintf(bw, "  %s -->|\"%s\"| %s\n", from, mermaidText(linkLabel(l, " · ")), to)
	}
	for i, l := range g.Links {
		if l.Health != "" {
			fmt.Fprintf(bw, "  linkStyle %d stroke:%s,stroke-width:2px\n", i, healthColor(l.Health))
		}
	}
	return bw.Flush()
}

// mermaidText escapes s for a quoted Mermaid label: quotes and the
// characters Mermaid reads as markup become entity codes.
func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;", "|", "#124;", "\n", " ").Replace(s)
}

// WriteDot writes g as a Graphviz digraph (dot -Tsvg): clusters as boxes,
// connections as edges labelled like WriteMermaid's and coloured by health.
func WriteDot(w io.Writer, g Graph) error {
	bw := bufio.NewWriter(w)
	ids := map[string]string{}
	fmt.Fprintln(bw, "digraph esremote {")
	fmt.Fprintln(bw, "  rankdir=LR;")
	fmt.Fprintln(bw, `  node [shape=box, style="rounded"];`)
	for _, c := range g.Clusters {
		ids[c.Name] = dotString(c.Name)
		fmt.Fprintf(bw, "  %s [label=%s];\n", dotString(c.Name), dotString(c.Name+"\n"+c.Kind))
	}
	for _, l := range g.Links {
		from, to, err := linkEnds(ids, l)
		if err != nil {
			return err
		}
		attrs := "label=" + dotString(linkLabel(l, "\n"))
		if l.Health != "" {
			attrs += fmt.Sprintf(`, color=%q, fontcolor=%q`, healthColor(l.Health), healthColor(l.Health))
		}
		fmt.Fprintf(bw, "  %s -> %s [%s];\n", from, to, attrs)
	}
	fmt.Fprintln(bw, "}")
	return bw.Flush()
}

// dotString quotes s as a DOT string; a newline becomes a centred line break.
func dotString(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "", "\n", `\n`).Replace(s)
	return `"` + s + `"`
}

func linkEnds(ids map[string]string, l GraphLink) (string, string, error) {
	from, ok := ids[l.From]
	if !ok {
		return "", "", fmt.Errorf("graph: connection %s starts at %q, which is not a cluster of the graph", l.Connection, l.From)
	}
	to, ok := ids[l.To]
	if !ok {
		return "", "", fmt.Errorf("graph: connection %s ends at %q, which is not a cluster of the graph", l.Connection, l.To)
	}
	return from, to, nil
}

// Changed returns the part of g that r changes: the links whose connection
// has changes in r, with their sync, health and change count, and the
// clusters at their ends. A plan's Markdown shows it as a Mermaid graph.
func (g Graph) Changed(r *Report) Graph {
	full := Graph{Clusters: g.Clusters, Links: slices.Clone(g.Links)}
	full.WithReport(r)
	var out Graph
	ends := map[string]bool{}
	for _, l := range full.Links {
		if l.Changes > 0 {
			out.Links = append(out.Links, l)
			ends[l.From], ends[l.To] = true, true
		}
	}
	for _, c := range g.Clusters {
		if ends[c.Name] {
			out.Clusters = append(out.Clusters, c)
		}
	}
	out.Sort()
	return out
}

// WriteMarkdownGraph writes r like [WriteMarkdown], followed by a Mermaid
// graph of what changes (see [Graph.Changed]) when anything does, so that a
// merge request shows the links a plan touches.
func WriteMarkdownGraph(w io.Writer, r *Report, g Graph) error {
	if err := WriteMarkdown(w, r); err != nil {
		return err
	}
	changed := g.Changed(r)
	if len(changed.Links) == 0 {
		return nil
	}
	if _, err := fmt.Fprintf(w, "\n#### What changes\n\n```mermaid\n"); err != nil {
		return err
	}
	if err := WriteMermaid(w, changed); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "```")
	return err
}
