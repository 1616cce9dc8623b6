package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/statedir"
	"github.com/esremote/esremote/spec"
)

func init() {
	register("graph", &command{
		summary:  "print the estate as a graph (clusters, connections, live health when reachable)",
		usage:    "graph DIR [--format mermaid|dot] [--offline] [--request-timeout 5s] [--state-dir DIR]",
		exits:    "0, 1 when the specs are invalid",
		flags:    cmdGraph,
		values:   map[string][]string{"format": {"mermaid", "dot"}},
		complete: dirArgs(1),
	})
}

// graphTimeout bounds the whole live read of `esremote graph`: a graph is
// worth printing without health rather than waiting on a dead cluster.
const graphTimeout = 20 * time.Second

// cmdGraph prints the clusters and connections of the specs as Mermaid or
// DOT. Unless --offline, it first observes the targets like plan does
// (read only) and colours each connection by its health; when that fails,
// it prints the graph from the specs alone and says why on stderr.
func cmdGraph(fs *pflag.FlagSet) runFunc {
	format := fs.String("format", "mermaid", "output `format`: mermaid or dot")
	offline := fs.Bool("offline", false, "draw from the specs alone, without asking the clusters for health")
	timeout := fs.Duration("request-timeout", 5*time.Second, "how long one HTTP request to a cluster or control plane may take")
	stateDirFlag := fs.String("state-dir", "", "where the ownership ledger lives, read to observe like plan (default as for plan)")
	return func(c *cli, pos []string) int {
		if len(pos) != 1 {
			c.errorf("graph takes one spec directory")
			c.hintf("usage: esremote %s", commands["graph"].usage)
			return exitError
		}
		write := drift.WriteMermaid
		switch *format {
		case "mermaid":
		case "dot":
			write = drift.WriteDot
		default:
			c.errorf("unknown --format %q: use mermaid or dot", *format)
			return exitError
		}
		dir := pos[0]
		set, problems, err := spec.LoadAsGiven(dir)
		if err != nil {
			for _, p := range problems {
				fmt.Fprintln(c.stderr, p.String())
			}
			c.specsInvalid(dir, err, "nothing was drawn")
			return exitError
		}
		g := graphOf(set)
		if !*offline {
			r, err := c.observeForGraph(set, *stateDirFlag, *timeout)
			switch {
			case err != nil:
				c.warnf("no live health: %v", err)
				c.hintf("the graph below is drawn from the specs alone; --offline skips asking the clusters")
			case len(r.Errors) > 0:
				for _, e := range r.Errors {
					c.warnf("%s: %s", e.Target, e.Message)
				}
			}
			if r != nil {
				g.WithReport(r)
			}
		}
		g.Sort()
		if err := write(c.stdout, g); err != nil {
			c.errorf("write graph: %v", err)
			return exitError
		}
		return exitOK
	}
}

// observeForGraph runs a read-only pass (what plan does, writing nothing)
// for the connections' health.
func (c *cli) observeForGraph(set *spec.Set, stateDirFlag string, timeout time.Duration) (*drift.Report, error) {
	stateDir, err := statedir.StateDir(c.getenv, stateDirFlag)
	if err != nil {
		return nil, err
	}
	rec, err := reconcile.New(reconcile.Options{StateDir: stateDir, Getenv: c.getenv, Logger: slog.New(slog.DiscardHandler),
		RequestTimeout: timeout, ReadOnly: true})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(c.ctx, graphTimeout)
	defer cancel()
	res, err := rec.Pass(ctx, set, reconcile.ModePlan, "")
	if err != nil {
		return nil, err
	}
	r := res.Report(drift.TriggerPlan, "")
	spec.ScrubAll(r)
	return r, nil
}

// graphOf is the estate the specs describe: every declared Cluster (a
// deployment when it has one, else self-managed) and, for each Connection,
// an edge from its local cluster to its remote, which is a declared Cluster
// or, for a remote given only by address, a node named by that address.
func graphOf(set *spec.Set) drift.Graph {
	var g drift.Graph
	seen := map[string]bool{}
	for _, cl := range set.Clusters {
		kind, platform := drift.ClusterSelfManaged, ""
		if cl.Deployment != nil {
			kind, platform = drift.ClusterDeployment, string(cl.Deployment.Platform)
		}
		g.Clusters = append(g.Clusters, drift.GraphCluster{Name: cl.Name, Kind: kind, Platform: platform})
		seen[cl.Name] = true
	}
	for _, conn := range set.Connections {
		to := conn.Remote.Cluster
		if to == "" {
			to = conn.Remote.ProxyAddress
			if to == "" && len(conn.Remote.Seeds) > 0 {
				to = conn.Remote.Seeds[0]
			}
			if to == "" {
				to = conn.Alias + " (undeclared)"
			}
			if !seen[to] {
				g.Clusters = append(g.Clusters, drift.GraphCluster{Name: to, Kind: drift.ClusterExternal})
				seen[to] = true
			}
		}
		g.Links = append(g.Links, drift.GraphLink{Connection: conn.Name, From: conn.Local, To: to, Alias: conn.Alias,
			Security: string(conn.Security)})
	}
	g.Sort()
	return g
}

// writeReport prints a pass's report; the Markdown form ends with the
// graph of what changes (drift.WriteMarkdownGraph) so a merge request
// shows it.
func writeReport(w io.Writer, r *drift.Report, format string, set *spec.Set) error {
	switch format {
	case "json":
		return drift.WriteJSON(w, r)
	case "markdown":
		return drift.WriteMarkdownGraph(w, r, graphOf(set))
	default:
		return drift.WriteText(w, r, drift.TextOptions{})
	}
}
