package sim

import (
	"maps"
	"path"
	"slices"
	"strings"
	"time"
)

// conn is one alias's remote connection on the local cluster: upstream's
// RemoteClusterConnection as RemoteClusterService keeps it per alias.
// Its sockets are opened when the connection is built and stay up until
// a settings change or a credential add/remove rebuilds it; what is true
// of the remote or of the loaded credential later does not close them.
type conn struct {
	key     string // aliasConfig.connKey it was built from
	open    bool   // sockets up: _remote/info.connected
	remote  string // the simulated cluster the address reached
	apiKey  bool   // built with credentials (the _remote_cluster profile)
	cause   string // why it did not open (a Cause* constant)
	reason  string // the log line a real node writes for it
	waitFor bool   // the attempt hangs until the connect timeout (no simulated cluster answers)
}

func credKey(alias string) string { return "cluster.remote." + alias + ".credentials" }

// credAliases is RemoteClusterService.REMOTE_CLUSTER_CREDENTIALS.getAsMap:
// the aliases that have a credential among secure settings.
func credAliases(secure map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range secure {
		if alias, ok := strings.CutPrefix(k, "cluster.remote."); ok {
			if a, ok := strings.CutSuffix(alias, ".credentials"); ok && aliasRe.MatchString(a) {
				out[a] = v
			}
		}
	}
	return out
}

// syncConns brings the connections of every node in line with the
// effective settings, as the settings appliers do on every node after a
// cluster-settings update (RemoteClusterAware.listenForUpdates →
// RemoteClusterService.updateRemoteCluster): an alias no longer enabled is
// closed and removed (DISCONNECTED); a new alias is connected (CONNECTED);
// an alias whose connKey changed is closed and connected again
// (RECONNECTED); anything else is UNCHANGED (skip_unavailable only flips a
// flag, RemoteClusterService.updateSkipUnavailable). Each node's applier
// waits for its (re)built aliases one after the other, and the master
// waits for every node's ack: wait is the longest node's sum of
// connectWait over the attempts that reach nothing.
func (w *World) syncConns(c *cluster) (wait time.Duration) {
	wait, _ = w.syncConnsAliases(c)
	return wait
}

// syncConnsAliases is syncConns that also returns the effective aliases it
// parsed (effectiveAliases), for a caller that needs them next.
func (w *World) syncConnsAliases(c *cluster) (wait time.Duration, al map[string]*aliasConfig) {
	w.settle(c)
	al = effectiveAliases(c)
	for _, n := range c.nodes {
		var nodeWait time.Duration
		for alias := range n.conns {
			if a := al[alias]; a == nil || !a.enabled() {
				delete(n.conns, alias)
			}
		}
		for _, alias := range slices.Sorted(maps.Keys(al)) {
			a := al[alias]
			if !a.enabled() {
				continue
			}
			if cn := n.conns[alias]; cn != nil && cn.key == a.connKey() {
				continue
			}
			cn := w.build(c, n, alias, a)
			n.conns[alias] = cn
			if cn.waitFor {
				nodeWait += w.connectWait()
			}
		}
		wait = max(wait, nodeWait)
	}
	return wait, al
}

// build opens a connection from node n: the transport must reach a
// simulated cluster and the handshake must pass, which for the API key
// model authenticates the credential n has loaded now (anchors.md §5.2: an
// invalid key fails cluster:internal/remote_cluster/handshake).
func (w *World) build(c *cluster, n *node, alias string, a *aliasConfig) *conn {
	st := w.linkOf(c, n, alias, a)
	return &conn{key: a.connKey(), open: st.Connected, remote: st.Remote, apiKey: st.Security == SecurityAPIKey,
		cause: st.Cause, reason: st.Reason, waitFor: st.Cause == CauseUnreachable}
}

// retry builds a down connection of node n again with the settings and
// the credential of now (RemoteClusterConnection.ensureConnected). a is
// the alias's effective configuration (effectiveAliases(c)[alias]):
// callers that go over many aliases parse the settings once, not once per
// alias.
func (w *World) retry(c *cluster, n *node, alias string, a *aliasConfig) *conn {
	if a == nil || !a.enabled() {
		return n.conns[alias]
	}
	cn := w.build(c, n, alias, a)
	n.conns[alias] = cn
	return cn
}

// restartLinks rebuilds every connection, on every node, from or to a
// deployment whose trust changed. The platform applies trust as a plan
// change, which restarts the nodes, and a starting node connects to its
// remotes again (RemoteClusterService.initializeRemoteClusters). Upstream
// (the Cloud API) does not say whether open connections survive; the sim
// takes the side that makes a trust change visible at once.
func (w *World) restartLinks(d *cluster) {
	for _, name := range w.order {
		c := w.clusters[name]
		var al map[string]*aliasConfig
		for _, n := range c.nodes {
			for alias, cn := range n.conns {
				if c == d || cn.remote == d.Name {
					if al == nil {
						al = effectiveAliases(c)
					}
					w.retry(c, n, alias, al[alias])
				}
			}
		}
	}
}

// load makes secure settings effective on node n, as
// RemoteClusterService.updateRemoteClusterCredentials does after a reload:
// RemoteClusterCredentialsManager.updateClusterCredentials reports the
// aliases whose credential was added or removed (all of them when none was
// loaded before), and only their existing connections are rebuilt ("We
// only need to rebuild connections when a credential was newly added or
// removed for a cluster alias, not if the credential value was updated").
// A changed value is used by the next request over the open connection.
// An alias with no connection yet is skipped
// (maybeRebuildConnectionOnCredentialsChange). A node whose keystore is
// broken fails the reload and keeps what it had (ok false).
func (w *World) load(c *cluster, n *node, secure map[string]string) (ok bool) {
	n.loadAt = nil
	if n.broken != "" {
		return false
	}
	before, after := credAliases(n.loaded), credAliases(secure)
	n.loaded = maps.Clone(secure)
	changed := map[string]bool{}
	for a := range after {
		if _, ok := before[a]; !ok {
			changed[a] = true
		}
	}
	for a := range before {
		if _, ok := after[a]; !ok {
			changed[a] = true
		}
	}
	al := effectiveAliases(c)
	for alias := range changed {
		if n.conns[alias] == nil {
			continue
		}
		if a := al[alias]; a != nil && a.enabled() {
			n.conns[alias] = w.build(c, n, alias, a)
		}
	}
	return true
}

// scheduleLoad is the platform's reload after a keystore change on a
// deployment: the Cloud API answers before the nodes load the value, and
// the platform reloads each node on its own schedule (ECH/ECE 8.14+; not
// documented to the second: cloud-api.md §5), each node its delay after
// the change (keystore_load_delays). A later change restarts every
// node's wait.
func (w *World) scheduleLoad(c *cluster) {
	now := w.now()
	c.keystoreAt = now
	for _, n := range c.nodes {
		if n.delay <= 0 {
			w.load(c, n, c.keystore)
			continue
		}
		at := now.Add(n.delay)
		n.loadAt = &at
	}
}

// settle applies the scheduled platform reloads whose time has come. Every
// reader of link state calls it, so time (the world's clock) alone makes
// a keystore change take effect, node by node.
func (w *World) settle(c *cluster) {
	now := w.now()
	for _, n := range c.nodes {
		if n.loadAt != nil && !now.Before(*n.loadAt) {
			w.load(c, n, c.keystore)
		}
	}
}

// SetClusterDown takes a cluster down (true) or brings it back (false),
// as a full restart or an outage would: while it is down, connecting to it
// is refused at once. Going down drops every open connection to it on
// every node of every cluster, and each drop makes one reconnect attempt
// at once, which the down cluster refuses
// (RemoteConnectionStrategy.onNodeDisconnected: "try to reconnect and
// fill up the slot of the disconnected node"). Coming back reopens
// nothing: a connection that is down is retried only by a request (see
// crossCluster), so what a request meets first then depends on the
// version (resolveFailFast).
func (w *World) SetClusterDown(cluster string, down bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	x, err := w.cluster(cluster)
	if err != nil {
		return err
	}
	x.down = down
	if !down {
		return nil
	}
	for _, name := range w.order {
		c := w.clusters[name]
		var al map[string]*aliasConfig
		for _, n := range c.nodes {
			for alias, cn := range n.conns {
				if cn.remote != cluster || !cn.open {
					continue
				}
				if al == nil {
					al = effectiveAliases(c)
				}
				w.retry(c, n, alias, al[alias])
			}
		}
	}
	return nil
}

// refusedReason is the log line of a connection attempt the remote refuses
// (the sim's text, in the shape of the strategies' other failures).
func refusedReason(alias string, a *aliasConfig, addr string) string {
	if a.mode == "proxy" {
		return "[ProxyConnectionStrategy] failed to open any proxy connections to cluster [" + alias + "]: connect_exception: Connection refused: " + addr
	}
	return "[SniffConnectionStrategy] fetching nodes from external cluster [" + alias + "] failed: connect_exception: Connection refused: " + addr
}

// connectWait is how long a settings PUT waits on one alias whose
// connection attempt does not finish: RemoteClusterService
// .updateRemoteCluster(String, Settings) blocks the applier on
// latch.await(10, TimeUnit.SECONDS) per alias. Upstream does not bound how
// long an unanswered attempt takes (a blackholed address hangs until the
// transport connect timeout, 30 s), so the sim takes the harsher side: the
// full wait, capped at the latch's 10 s.
func (w *World) connectWait() time.Duration {
	d := w.connectWaitD
	if d > 10*time.Second {
		d = 10 * time.Second
	}
	return d
}

// requestOutcome is what a cross-cluster request over alias meets.
type requestOutcome struct {
	remote *cluster
	// unavailable: the transport is down (ExceptionsHelper
	// .isRemoteUnavailableException); reason is the connection's log line.
	unavailable bool
	reason      string
	// err: the remote refused the request (authentication or authorization).
	err   *esError
	cause string
	// took is how long the request spent reconnecting first.
	took time.Duration
}

// crossCluster evaluates one cross-cluster request with the credential
// loaded now (RemoteClusterCredentialsManager.resolveCredentials on every
// request): over an open connection an unknown, expired, invalidated or
// wrong-typed key fails authentication on the remote (ApiKeyService, as
// CrossClusterAccessAuthenticationService calls it), and a concrete index
// the key's access does not cover fails authorization
// (AuthorizationDenialMessages.actionDenied). Wildcards the key does not
// cover resolve to nothing, without an error.
//
// A connection that is down is tried again by the request, as
// RemoteClusterService.maybeEnsureConnectedAndGetConnection does: with
// reconnect (RECONNECT_IF_DISCONNECTED, a search on a remote that is not
// skip_unavailable) before the request is sent; without it
// (FAIL_IF_DISCONNECTED: _resolve/cluster, or skip_unavailable) the
// request fails as unavailable and the attempt runs in the background,
// for the next request. Nothing else reopens a failed connection: the sim
// has no background retry loop.
//
// a is the alias's effective configuration (effectiveAliases(c)[alias]),
// for the retry.
func (w *World) crossCluster(c *cluster, n *node, alias string, a *aliasConfig, action string, indices []string, reconnect bool) requestOutcome {
	cn := n.conns[alias]
	var took time.Duration
	if cn != nil && !cn.open && reconnect {
		cn = w.retry(c, n, alias, a)
		if cn.waitFor {
			// The reconnect runs until the transport gives up on an
			// address that answers nothing (connect_wait).
			took = w.connectWaitD
		}
	}
	if cn == nil || !cn.open {
		out := requestOutcome{unavailable: true, cause: CauseUnreachable, took: took}
		if cn != nil {
			out.reason, out.cause = cn.reason, cn.cause
			if !reconnect {
				w.retry(c, n, alias, a)
			}
		}
		return out
	}
	x := w.clusters[cn.remote]
	out := requestOutcome{remote: x}
	if !cn.apiKey {
		return out
	}
	cred, ok := n.loaded[credKey(alias)]
	if !ok {
		out.err = &esError{status: 401, typ: "security_exception",
			reason: "Cross cluster requests through the dedicated remote cluster server port require transport header [_cross_cluster_access_credentials] but none found. Make sure you have configured remote cluster credentials in the cluster settings."}
		out.cause = CauseNoCredentials
		return out
	}
	id, k := lookupEncoded(x, cred)
	switch {
	case k == nil || !k.active(w.now()):
		out.err = &esError{status: 401, typ: "security_exception",
			reason: "unable to authenticate user [" + id + "] for action [" + action + "]"}
		out.cause = CauseInvalidCredentials
		return out
	case k.Type != "cross_cluster":
		out.err = &esError{status: 401, typ: "security_exception",
			reason: "authentication expected API key type of [cross_cluster], but API key [" + k.ID + "] has type [" + k.Type + "]"}
		out.cause = CauseWrongKeyType
		return out
	}
	var denied []string
	for _, idx := range indices {
		if idx == "" || strings.ContainsAny(idx, "*?") {
			continue
		}
		if !k.grants(idx) {
			denied = append(denied, idx)
		}
	}
	if len(denied) > 0 {
		privs := "view_index_metadata,manage,read_cross_cluster,all"
		if action == actionSearch {
			privs = "read,all"
		}
		out.err = &esError{status: 403, typ: "security_exception",
			reason: "action [" + action + "] towards remote cluster is unauthorized for user [" + c.Username +
				"] with assigned roles [superuser] authenticated by API key id [" + k.ID + "] of user [" + k.Username +
				"] on indices [" + strings.Join(denied, ",") + "], this action is granted by the index privileges [" + privs + "]"}
		out.cause = CausePrivileges
	}
	return out
}

// evaluate is crossCluster over an open connection without side effects
// (World.LinkStatus: what the next request would meet).
func (w *World) evaluate(c *cluster, n *node, alias, action string) requestOutcome {
	return w.crossCluster(c, n, alias, effectiveAliases(c)[alias], action, nil, false)
}

// Transport actions of the cross-cluster requests the sim serves.
const (
	actionResolveCluster = "indices:admin/resolve/cluster"
	actionSearch         = "indices:data/read/search"
)

// grants reports whether a cross-cluster key's access names cover index
// (search and replication names, simple wildcards).
func (k *apiKey) grants(index string) bool {
	for _, what := range []string{"search", "replication"} {
		entries, _ := k.Access[what].([]any)
		for _, e := range entries {
			m, _ := e.(map[string]any)
			names, ok := m["names"].([]string)
			if !ok {
				names = listValue(toStrings(m["names"]))
			}
			for _, n := range names {
				if ok, _ := path.Match(n, index); ok {
					return true
				}
			}
		}
	}
	return false
}
