package sim

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// node is one node of a simulated cluster. Cluster settings, API keys and
// roles are cluster-wide (the cluster state and the security index); what
// a node holds of its own is what upstream keeps per node: the secure
// settings it has loaded (each node reads its own keystore,
// RemoteClusterCredentialsManager) and its remote connections (each node
// runs its own RemoteClusterService). A REST request is served by the node
// that coordinates it, which uses its own credentials and connections.
type node struct {
	loaded map[string]string // secure settings in effect on this node
	conns  map[string]*conn  // remote connections by alias (conn.go)
	// delay is how long the platform takes to load a keystore change on
	// this node (deployments: keystore_load_delays or
	// keystore_reload_delay); loadAt is when it will, nil when nothing is
	// pending.
	delay  time.Duration
	loadAt *time.Time
	// broken is why this node fails a secure-settings reload
	// (BreakNodeKeystore); it keeps what it had loaded.
	broken string
}

func newNode(delay time.Duration) *node {
	return &node{loaded: map[string]string{}, conns: map[string]*conn{}, delay: delay}
}

// NodeHeader, on a request to a simulated cluster, names the node (0, 1,
// …) that coordinates it; without it the cluster's pinned node
// (SetCoordinatingNode) or a node drawn from the world's seeded source
// coordinates, as a load balancer in front of the nodes would pick one.
// Elasticsearch ignores the header; it exists for tests and the demo.
const NodeHeader = "X-Sim-Node"

// nodeKey carries the coordinating node's index in a request's context.
type nodeKey struct{}

// logNodeKey carries a pointer to the request log entry's Node.
type logNodeKey struct{}

// coordinator picks the node that serves r (call with w.mu held). A
// header naming no node of the cluster falls back to the draw.
func (w *World) coordinator(c *cluster, r *http.Request) int {
	if v := r.Header.Get(NodeHeader); v != "" {
		if i, err := strconv.Atoi(v); err == nil && i >= 0 && i < len(c.nodes) {
			return i
		}
	}
	if c.pinned >= 0 && c.pinned < len(c.nodes) {
		return c.pinned
	}
	if len(c.nodes) == 1 {
		return 0
	}
	return w.rng.IntN(len(c.nodes))
}

// withCoordinator records the coordinating node in r's context and in
// its log entry.
func withCoordinator(r *http.Request, c *cluster, i int) *http.Request {
	if p, ok := r.Context().Value(logNodeKey{}).(*string); ok {
		*p = c.nodeNameN(i)
	}
	return r.WithContext(context.WithValue(r.Context(), nodeKey{}, i))
}

// coord is the node coordinating r (node 0 when none was recorded).
func coord(r *http.Request, c *cluster) *node { return c.nodes[coordIndex(r, c)] }

// coordIndex is the index of the node coordinating r.
func coordIndex(r *http.Request, c *cluster) int {
	if i, ok := r.Context().Value(nodeKey{}).(int); ok && i < len(c.nodes) {
		return i
	}
	return 0
}

// SetCoordinatingNode makes node i (0, 1, …) coordinate every request to
// cluster that does not name one with NodeHeader; -1 draws a node per
// request again.
func (w *World) SetCoordinatingNode(cluster string, i int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.cluster(cluster)
	if err != nil {
		return err
	}
	if i < -1 || i >= len(c.nodes) {
		return fmt.Errorf("cluster %s has nodes 0 to %d", cluster, len(c.nodes)-1)
	}
	c.pinned = i
	return nil
}

// SetKeystoreLoadDelays sets, per node, how long a deployment's platform
// takes to load a keystore change (the world file's
// keystore_load_delays); one delay per node.
func (w *World) SetKeystoreLoadDelays(cluster string, delays []time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.cluster(cluster)
	if err != nil {
		return err
	}
	if !c.isDeployment() {
		return fmt.Errorf("%s is self-managed: its keystore loads on POST /_nodes/reload_secure_settings", cluster)
	}
	if len(delays) != len(c.nodes) {
		return fmt.Errorf("%s has %d nodes: give %d delays, not %d", cluster, len(c.nodes), len(c.nodes), len(delays))
	}
	for i, d := range delays {
		if d < 0 {
			return fmt.Errorf("%s: delay %s for node %d is negative", cluster, d, i)
		}
		c.nodes[i].delay = d
	}
	return nil
}

// LinkStatusOn is LinkStatus as node i of local sees it: its own
// connection and the credential it has loaded.
func (w *World) LinkStatusOn(local, alias string, i int) LinkStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.clusters[local]
	if c == nil || i < 0 || i >= len(c.nodes) {
		return LinkStatus{Local: local, Alias: alias, Cause: CauseNotConfigured, Reason: "no such cluster or node"}
	}
	w.syncConns(c)
	return w.status(c, c.nodes[i], alias, effectiveAliases(c)[alias])
}
