package sim

import (
	"encoding/base64"
	"net"
	"strconv"
	"strings"
)

// Security models of a link.
const (
	SecurityAPIKey      = "api_key"
	SecurityCertificate = "certificate"
)

// Causes a link is disconnected; LinkStatus.Cause holds one of them.
const (
	CauseNotConfigured      = "not_configured"       // alias unknown or not enabled
	CauseUnreachable        = "unreachable"          // address reaches no simulated cluster
	CauseRemoteDown         = "remote_down"          // the remote cluster is down (SetClusterDown)
	CauseServerName         = "server_name_mismatch" // platform proxy cannot route the SNI
	CauseWrongPort          = "wrong_port"           // port does not match the security model
	CauseNoCredentials      = "no_credentials"       // 9443 without cluster.remote.<alias>.credentials
	CauseInvalidCredentials = "invalid_credentials"  // unknown, expired or invalidated key, or another cluster's
	CauseWrongKeyType       = "wrong_key_type"       // a REST key in the keystore
	CauseNotTrusted         = "not_trusted"          // certificate model without mutual trust
	CauseVersion            = "version"              // API key model below 8.14
	CauseSniffToCloud       = "sniff_to_cloud"       // sniff mode toward a deployment
	CausePrivileges         = "privileges"           // the key's access does not cover the index asked for
	// CauseLocalPrivileges: the local user has no remote_indices for the
	// alias, so its own cluster refuses the request before sending it.
	CauseLocalPrivileges = "local_privileges"
)

// LinkStatus is the simulation's verdict on one alias of a local cluster:
// what _remote/info reports (Connected: the sockets) and whether a
// cross-cluster request over it succeeds now (Authorized), and why not.
type LinkStatus struct {
	Local      string `json:"local"`
	Alias      string `json:"alias"`
	Configured bool   `json:"configured"` // the alias is enabled (listed in _remote/info)
	Mode       string `json:"mode,omitempty"`
	Security   string `json:"security,omitempty"` // api_key when the connection was built with credentials
	Remote     string `json:"remote,omitempty"`   // the simulated cluster the address reaches
	// Connected is the socket state _remote/info reports: set when the
	// connection was built, kept until it is rebuilt.
	Connected bool `json:"connected"`
	// Authorized is true when a cross-cluster request over the link,
	// with the credential loaded now, succeeds.
	Authorized bool   `json:"authorized"`
	Cause      string `json:"cause,omitempty"`
	// Reason is the log line a real cluster would write for the failure
	// (anchors.md §5.2), or the security error a request gets.
	Reason string `json:"reason,omitempty"`
}

// LinkStatus says whether alias on local is connected and usable now, as
// node 0 sees it (LinkStatusOn asks another node).
func (w *World) LinkStatus(local, alias string) LinkStatus {
	return w.LinkStatusOn(local, alias, 0)
}

// Links returns the status of every enabled alias of a cluster, by alias,
// as node 0 sees it.
func (w *World) Links(local string) map[string]LinkStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.clusters[local]
	out := map[string]LinkStatus{}
	if c == nil {
		return out
	}
	w.syncConns(c)
	al := effectiveAliases(c)
	n := c.nodes[0]
	for alias := range n.conns {
		out[alias] = w.status(c, n, alias, al[alias])
	}
	return out
}

// status reports one alias from node n's connection (call syncConns
// first).
func (w *World) status(c *cluster, n *node, alias string, a *aliasConfig) LinkStatus {
	st := LinkStatus{Local: c.Name, Alias: alias}
	cn := n.conns[alias]
	if cn == nil {
		st.Cause = CauseNotConfigured
		st.Reason = "no such remote cluster: [" + alias + "]"
		return st
	}
	st.Configured, st.Mode, st.Remote = true, a.mode, cn.remote
	st.Security = SecurityCertificate
	if cn.apiKey {
		st.Security = SecurityAPIKey
	}
	st.Connected = cn.open
	if !cn.open {
		st.Cause, st.Reason = cn.cause, cn.reason
		return st
	}
	out := w.evaluate(c, n, alias, actionResolveCluster)
	if out.err != nil {
		st.Cause, st.Reason = out.cause, out.err.reason
		return st
	}
	st.Authorized = true
	return st
}

// effectiveAliases merges persistent with transient (transient wins). The
// map and its configurations are the cluster's until its settings change
// (settingsChanged): read them, never change them. Every request reads
// them (a _remote/info brings the connections in line first), so they are
// parsed once per change of the settings, not once per request.
func effectiveAliases(c *cluster) map[string]*aliasConfig {
	if c.effective != nil {
		return c.effective
	}
	out := map[string]*aliasConfig{}
	addAliases(out, c.persistent)
	addAliases(out, c.transient)
	c.effective = out
	return out
}

// settingsChanged is called after every change of c's persistent or
// transient settings.
func (c *cluster) settingsChanged() { c.effective, c.flatSettings = nil, nil }

// resolveHost finds the simulated cluster that host:port names.
func (w *World) resolveHost(addr string) (*cluster, int) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, 0
	}
	port, _ := strconv.Atoi(portStr)
	host = strings.ToLower(host)
	for _, name := range w.order {
		x := w.clusters[name]
		if host == x.endpoint || host == x.Name+".sim" || host == strings.ToLower(x.ClusterID)+"."+x.Platform+".sim" {
			return x, port
		}
	}
	return nil, port
}

// linkOf evaluates a connection attempt from node n for alias now:
// transport, TLS routing and the handshake with the credential n has
// loaded (conn.go build is its only caller).
func (w *World) linkOf(c *cluster, n *node, alias string, a *aliasConfig) LinkStatus {
	st := LinkStatus{Local: c.Name, Alias: alias}
	if a == nil || !a.enabled() {
		st.Cause = CauseNotConfigured
		st.Reason = "no such remote cluster: [" + alias + "]"
		return st
	}
	st.Configured, st.Mode = true, a.mode
	cred, hasCred := n.loaded[credKey(alias)]
	st.Security = SecurityCertificate
	if hasCred {
		st.Security = SecurityAPIKey
	}
	addr := sniffAddress(w, a)
	if a.mode == "proxy" {
		addr = a.proxyAddress
	}
	x, port := w.resolveHost(addr)
	if x == nil {
		st.Cause = CauseUnreachable
		if a.mode == "proxy" {
			st.Reason = "[ProxyConnectionStrategy] failed to open any proxy connections to cluster [" + alias + "]: connect_exception: unknown host [" + addr + "]"
		} else {
			st.Reason = "[SniffConnectionStrategy] fetching nodes from external cluster [" + alias + "] failed: connect_exception: unknown host [" + addr + "]"
		}
		return st
	}
	st.Remote = x.Name
	if x.down {
		st.Cause, st.Reason = CauseRemoteDown, refusedReason(alias, a, addr)
		return st
	}
	if x.isDeployment() {
		if a.mode != "proxy" {
			st.Cause = CauseSniffToCloud
			st.Reason = "[SniffConnectionStrategy] fetching nodes from external cluster [" + alias + "] failed: connect_exception: the platform proxy only accepts proxy mode"
			return st
		}
		if a.serverName != x.endpoint {
			st.Cause = CauseServerName
			st.Reason = "[ProxyConnectionStrategy] failed to open any proxy connections to cluster [" + alias + "]: the platform proxy found no cluster for server name [" + a.serverName + "]"
			return st
		}
	}
	certPort := PortProxyCertificate
	if !x.isDeployment() {
		certPort = PortTransport
	}
	if hasCred {
		if port != PortRemoteClusterServer {
			st.Cause = CauseWrongPort
			st.Reason = "remote cluster handshake action requires channel profile to be [_remote_cluster], but got [default]"
			return st
		}
		if !apiKeyModel(parseVersion(c.Version)) || !apiKeyModel(parseVersion(x.Version)) {
			st.Cause = CauseVersion
			st.Reason = "the API key security model needs 8.14 or later on both clusters (local " + c.Version + ", remote " + x.Version + ")"
			return st
		}
		id, k := lookupEncoded(x, cred)
		switch {
		case k == nil:
			st.Cause = CauseInvalidCredentials
			st.Reason = "[ApiKeyAuthenticator] Authentication using apikey failed - invalid credentials for API key [" + id + "]"
		case k.Type != "cross_cluster":
			st.Cause = CauseWrongKeyType
			st.Reason = "authentication expected API key type of [cross_cluster], but API key [" + k.ID + "] has type [" + k.Type + "]"
		case !k.active(w.now()):
			st.Cause = CauseInvalidCredentials
			st.Reason = "[ApiKeyAuthenticator] Authentication using apikey failed - invalid credentials for API key [" + k.ID + "]"
		default:
			st.Connected = true
		}
		return st
	}
	switch port {
	case PortRemoteClusterServer:
		st.Cause = CauseNoCredentials
		st.Reason = "Cross cluster requests through the dedicated remote cluster server port require transport header [_cross_cluster_access_credentials] but none found. Make sure you have configured remote cluster credentials in the cluster settings."
		return st
	case certPort:
	default:
		st.Cause = CauseWrongPort
		st.Reason = "[ProxyConnectionStrategy] failed to open any proxy connections to cluster [" + alias + "]: connect_exception: Connection refused: " + addr
		return st
	}
	if ok, why := w.trusts(c, x); !ok {
		st.Cause = CauseNotTrusted
		st.Reason = "[DiagnosticTrustManager] failed to establish trust with server at [" + x.endpoint + "]; the server provided a certificate that is not trusted (" + why + "); PKIX path building failed"
		return st
	}
	if ok, why := w.trusts(x, c); !ok {
		st.Cause = CauseNotTrusted
		st.Reason = "client did not trust this server's certificate, closing connection (remote " + x.Name + ": " + why + ")"
		return st
	}
	st.Connected = true
	return st
}

// sniffAddress is the address a sniff-mode alias reaches its remote
// through, as SniffConnectionStrategy.collectRemoteNodes finds it (read at
// main; the same in 8.x): the seeds are tried in order and a connect
// failure moves on to the next seed; with cluster.remote.<alias>.proxy
// every seed is reached through the proxy address (resolveSeedNode,
// maybeAddProxyAddress). When no seed answers, the last one tried is the
// one the failure names.
func sniffAddress(w *World, a *aliasConfig) string {
	if a.sniffProxy != "" {
		return a.sniffProxy
	}
	for _, s := range a.seeds {
		if x, _ := w.resolveHost(s); x != nil {
			return s
		}
	}
	if len(a.seeds) > 0 {
		return a.seeds[len(a.seeds)-1]
	}
	return ""
}

// lookupEncoded decodes a keystore credential (base64 of id:key) and finds
// the key on cluster x; it returns nil when the secret does not match.
func lookupEncoded(x *cluster, encoded string) (string, *apiKey) {
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return "", nil
	}
	id, secret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", nil
	}
	k := x.keys[id]
	if k == nil || k.secret != secret {
		return id, nil
	}
	return id, k
}

// remoteInfo renders GET /_remote/info (es-api.md §4): one entry per
// connection, RemoteConnectionInfo.toXContent. connected is the socket
// state (ProxyModeInfo: numSocketsConnected > 0; SniffModeInfo:
// numNodesConnected > 0), whatever the credential loaded now is worth;
// cluster_credentials is present while a credential is loaded for the
// alias (RemoteClusterCredentialsManager.hasCredentials). Both are node
// n's, the node that coordinates the request: TransportRemoteInfoAction
// answers from the local RemoteClusterService.getRemoteConnectionInfos.
func (w *World) remoteInfo(c *cluster, n *node) map[string]any {
	_, al := w.syncConnsAliases(c)
	out := make(map[string]any, len(n.conns))
	for alias, cn := range n.conns { // a map: the answer's keys are sorted when it is written
		a := al[alias]
		st := LinkStatus{Connected: cn.open}
		if _, ok := n.loaded[a.credKey(alias)]; ok {
			st.Security = SecurityAPIKey
		}
		skip := skipUnavailable(c, a)
		e := remoteInfoEntry{connected: st.Connected, mode: a.mode}
		if a.mode == "proxy" {
			n := 0
			if st.Connected {
				n = a.sockets
			}
			e.proxyAddress = a.proxyAddress
			e.serverName = a.serverName
			e.numConnected = n
			e.maxConnections = a.sockets
		} else {
			// SniffModeInfo (SniffConnectionStrategy.getModeInfo):
			// max_connections_per_cluster is node_connections, and
			// num_nodes_connected the connections the sniff opened: one
			// per remote node while fewer than node_connections are
			// open (shouldOpenMoreConnections), so min(remote nodes,
			// node_connections); RemoteClusterSecurityBwcRestIT expects
			// every node of a small remote.
			n := 0
			if st.Connected {
				n = a.nodeConnections
				if x := w.clusters[cn.remote]; x != nil && x.Nodes < n {
					n = x.Nodes
				}
			}
			e.seeds = a.seeds
			e.numConnected = n
			e.maxConnections = a.nodeConnections
		}
		e.skipUnavailable = skip
		e.credentials = st.Security == SecurityAPIKey
		out[alias] = e
	}
	return out
}

// remoteInfoEntry is one alias of a _remote/info answer: connected, mode,
// the fields of the mode's ModeInfo (ProxyModeInfo, SniffModeInfo),
// initial_connect_timeout (30s) and skip_unavailable, and
// cluster_credentials ("::es_redacted::") for an alias with a keystore
// credential (RemoteConnectionInfo.toXContent). It is written as the map
// of those fields is (keys sorted, as every answer of the sim), without
// making a map per alias of every answer (TestRemoteInfoEntryJSON).
type remoteInfoEntry struct {
	connected       bool
	mode            string // "proxy": proxy fields; anything else: sniff fields
	proxyAddress    string
	serverName      string
	seeds           []string
	numConnected    int // num_proxy_sockets_connected or num_nodes_connected
	maxConnections  int // max_proxy_socket_connections or max_connections_per_cluster
	skipUnavailable bool
	credentials     bool
}

// appendJSON writes e's fields in key order.
func (e remoteInfoEntry) appendJSON(b []byte) []byte {
	b = append(b, '{')
	if e.credentials {
		b = append(b, `"cluster_credentials":"::es_redacted::",`...)
	}
	b = append(b, `"connected":`...)
	b = strconv.AppendBool(b, e.connected)
	b = append(b, `,"initial_connect_timeout":"30s"`...)
	if e.mode == "proxy" {
		b = append(b, `,"max_proxy_socket_connections":`...)
	} else {
		b = append(b, `,"max_connections_per_cluster":`...)
	}
	b = strconv.AppendInt(b, int64(e.maxConnections), 10)
	b = appendString(append(b, `,"mode":`...), e.mode)
	if e.mode == "proxy" {
		b = append(b, `,"num_proxy_sockets_connected":`...)
		b = strconv.AppendInt(b, int64(e.numConnected), 10)
		b = appendString(append(b, `,"proxy_address":`...), e.proxyAddress)
		b = appendString(append(b, `,"server_name":`...), e.serverName)
	} else {
		b = append(b, `,"num_nodes_connected":`...)
		b = strconv.AppendInt(b, int64(e.numConnected), 10)
		b, _ = appendJSON(append(b, `,"seeds":`...), e.seeds) // []string: always ok
	}
	b = append(b, `,"skip_unavailable":`...)
	b = strconv.AppendBool(b, e.skipUnavailable)
	return append(b, '}')
}

// MarshalJSON is appendJSON, for an answer encoding/json writes.
func (e remoteInfoEntry) MarshalJSON() ([]byte, error) { return e.appendJSON(nil), nil }
