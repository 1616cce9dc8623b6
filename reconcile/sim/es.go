package sim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// esHandler serves one simulated Elasticsearch cluster.
type esHandler struct {
	w    *World
	name string
}

type principal struct {
	username string
	apiKeyID string // set when authenticated with an API key
}

func writeES(rw http.ResponseWriter, status int, v any) {
	writeJSON(rw, status, v)
}

// writeESFresh is writeES for an answer built for this request alone: no
// map or slice in it is one the world changes later (settings values are
// replaced, never changed in place). Under auth it is encoded after the
// world is unlocked, so that encoding one cluster's answer does not hold
// up the requests of every other cluster of the world; a real estate's
// clusters answer independently.
func writeESFresh(rw http.ResponseWriter, status int, v any) {
	if held, ok := rw.(*heldResponse); ok && held.status == 0 && held.body.Len() == 0 {
		held.header.Set("Content-Type", "application/json")
		held.status, held.value, held.deferred = status, v, true
		return
	}
	writeES(rw, status, v)
}

func writeESError(rw http.ResponseWriter, e *esError) {
	writeJSON(rw, e.status, e.body())
}

// routes registers every endpoint of the cluster; see README.md.
func (h *esHandler) routes(add func(pattern string, fn http.HandlerFunc)) {
	add("GET /{$}", h.auth(h.info))
	add("HEAD /{$}", h.auth(h.info))
	add("GET /_cluster/settings", h.auth(h.getSettings))
	add("PUT /_cluster/settings", h.auth(h.putSettings))
	add("GET /_remote/info", h.auth(h.remoteInfo))
	add("GET /_resolve/cluster/{expr}", h.auth(h.resolveCluster))
	add("GET /_resolve/cluster", h.auth(h.resolveCluster))
	add("POST /_security/cross_cluster/api_key", h.auth(h.createCCSKey))
	add("PUT /_security/cross_cluster/api_key/{id}", h.auth(h.updateCCSKey))
	add("GET /_security/api_key", h.auth(h.getAPIKeys))
	add("DELETE /_security/api_key", h.auth(h.invalidateAPIKeys))
	add("GET /_security/role", h.auth(h.getRoles))
	add("GET /_security/role/{name}", h.auth(h.getRoles))
	add("PUT /_security/role/{name}", h.auth(h.putRole))
	add("POST /_security/role/{name}", h.auth(h.putRole))
	add("DELETE /_security/role/{name}", h.auth(h.deleteRole))
	add("GET /_security/user/_privileges", h.auth(h.userPrivileges))
	add("GET /_security/user/_has_privileges", h.auth(h.hasPrivileges))
	add("POST /_security/user/_has_privileges", h.auth(h.hasPrivileges))
	add("GET /_security/user/{username}/_has_privileges", h.auth(h.hasPrivileges))
	add("POST /_security/user/{username}/_has_privileges", h.auth(h.hasPrivileges))
	add("POST /{index}/_search", h.auth(h.search))
	add("GET /{index}/_search", h.auth(h.search))
	add("POST /_nodes/reload_secure_settings", h.auth(h.reload))
	add("POST /_nodes/{node}/reload_secure_settings", h.auth(h.reload))
	h.docRoutes(add)
	add("/", func(rw http.ResponseWriter, r *http.Request) {
		writeES(rw, 400, map[string]any{
			"error":  fmt.Sprintf("no handler found for uri [%s] and method [%s]", r.URL.Path, r.Method),
			"status": 400,
		})
	})
}

type esFunc func(rw http.ResponseWriter, r *http.Request, c *cluster, p principal)

// auth authenticates the request (ApiKey or Basic), then runs fn with
// the world locked. A handler that must answer late (a settings PUT
// waiting on connections) sets a delay: the answer is held, with the
// world unlocked, until the delay passes or the client gives up.
func (h *esHandler) auth(fn esFunc) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		if r.Body != http.NoBody { // a request without a body (every GET of a pass) has none to keep
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(strings.NewReader(string(body)))
		}
		held := &heldResponse{header: http.Header{}}
		r = r.WithContext(context.WithValue(r.Context(), heldKey{}, held))
		h.w.mu.Lock()
		c := h.w.clusters[h.name]
		r = withCoordinator(r, c, h.w.coordinator(c, r))
		p, e := h.authenticate(c, r)
		if e != nil {
			held.Header().Set("WWW-Authenticate", `Basic realm="security", charset="UTF-8"`)
			held.Header().Add("WWW-Authenticate", "ApiKey")
			writeESError(held, e)
		} else {
			fn(held, r, c, p)
		}
		h.w.mu.Unlock()
		if held.deferred {
			_ = encodeJSON(&held.body, held.value)
		}
		if held.delay > 0 {
			if p, ok := r.Context().Value(logHeldKey{}).(*time.Duration); ok {
				*p = held.delay
			}
			t := time.NewTimer(held.delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		maps.Copy(rw.Header(), held.header)
		if held.status == 0 {
			held.status = 200
		}
		// Elasticsearch sends the length of a whole response
		// (DefaultRestChannel.sendResponse: content-length unless the
		// response is chunked), so a client can size its read.
		rw.Header().Set("Content-Length", strconv.Itoa(held.body.Len()))
		rw.WriteHeader(held.status)
		_, _ = rw.Write(held.body.Bytes())
	}
}

// heldResponse buffers an answer so that it can be sent after the world
// is unlocked.
type heldResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
	delay  time.Duration
	// value is the answer to encode once the world is unlocked, when
	// deferred is set (writeESFresh).
	value    any
	deferred bool
}

type heldKey struct{}

func (h *heldResponse) Header() http.Header { return h.header }
func (h *heldResponse) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}
func (h *heldResponse) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = 200
	}
	return h.body.Write(b)
}

// answerAfter delays the answer of the request being handled.
// logHeldKey carries a pointer to the request log entry's Held.
type logHeldKey struct{}

func answerAfter(r *http.Request, d time.Duration) {
	if held, ok := r.Context().Value(heldKey{}).(*heldResponse); ok {
		held.delay = d
	}
}

func unauthorized(reason string) *esError {
	return &esError{status: 401, typ: "security_exception", reason: reason}
}

func (h *esHandler) authenticate(c *cluster, r *http.Request) (principal, *esError) {
	authz := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(authz, " ")
	switch strings.ToLower(scheme) {
	case "apikey":
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		id, secret, ok := strings.Cut(string(raw), ":")
		if err != nil || !ok {
			return principal{}, unauthorized("unable to authenticate with provided credentials and anonymous access is not allowed for this request")
		}
		k := c.keys[id]
		if k == nil || k.secret != secret || !k.active(h.w.now()) {
			return principal{}, unauthorized("unable to authenticate with provided credentials and anonymous access is not allowed for this request")
		}
		if k.Type != "rest" {
			return principal{}, unauthorized(fmt.Sprintf("authentication expected API key type of [rest], but API key [%s] has type [%s]", k.ID, k.Type))
		}
		return principal{username: k.Username, apiKeyID: k.ID}, nil
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		u, pw, ok := strings.Cut(string(raw), ":")
		if err != nil || !ok {
			return principal{}, unauthorized(fmt.Sprintf("missing authentication credentials for REST request [%s]", r.URL.RequestURI()))
		}
		if usr, known := c.users[u]; !known || usr.password != pw {
			return principal{}, unauthorized(fmt.Sprintf("unable to authenticate user [%s] for REST request [%s]", u, r.URL.RequestURI()))
		}
		return principal{username: u}, nil
	}
	return principal{}, unauthorized(fmt.Sprintf("missing authentication credentials for REST request [%s]", r.URL.RequestURI()))
}

func boolParam(r *http.Request, name string) bool {
	v, ok := r.URL.Query()[name]
	return ok && (len(v) == 0 || v[0] == "" || v[0] == "true")
}

func versionInfo(c *cluster) map[string]any {
	return map[string]any{
		"number": c.Version, "build_flavor": "default", "build_type": "docker",
		"build_hash": derivedHex("build", c.Version), "build_date": "2026-10-01T10:00:00.000000000Z",
		"build_snapshot": false, "lucene_version": luceneVersion(c.Version),
		"minimum_wire_compatibility_version": "7.17.0", "minimum_index_compatibility_version": "7.0.0",
	}
}

func luceneVersion(v string) string {
	if versionAtLeast(v, 9, 0) {
		return "10.2.2"
	}
	return "9.12.2"
}

func (c *cluster) esClusterName() string {
	if c.isDeployment() {
		return c.ClusterID
	}
	return c.Name
}

func (h *esHandler) info(rw http.ResponseWriter, r *http.Request, c *cluster, _ principal) {
	writeESFresh(rw, 200, map[string]any{
		"name": c.nodeNameN(coordIndex(r, c)), "cluster_name": c.esClusterName(), "cluster_uuid": c.uuid,
		"version": versionInfo(c), "tagline": "You Know, for Search",
	})
}

func (h *esHandler) getSettings(rw http.ResponseWriter, r *http.Request, c *cluster, _ principal) {
	flat := boolParam(r, "flat_settings")
	if flat && !boolParam(r, "include_defaults") {
		// What every pass reads of every cluster: the answer is kept,
		// encoded, until the settings change (settingsChanged).
		if c.flatSettings == nil {
			var b bytes.Buffer
			_ = encodeJSON(&b, map[string]any{"persistent": renderSettings(c.persistent, true), "transient": renderSettings(c.transient, true)})
			c.flatSettings = b.Bytes()
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(200)
		_, _ = rw.Write(c.flatSettings)
		return
	}
	out := map[string]any{
		"persistent": renderSettings(maps.Clone(c.persistent), flat),
		"transient":  renderSettings(maps.Clone(c.transient), flat),
	}
	if boolParam(r, "include_defaults") {
		defaults := map[string]any{
			"cluster.remote.connections_per_cluster": "3",
			"cluster.remote.initial_connect_timeout": "30s",
			"cluster.routing.allocation.enable":      "all",
			"transport.compress":                     "INDEXING_DATA",
			"transport.ping_schedule":                "-1",
			"cluster.name":                           c.esClusterName(),
		}
		out["defaults"] = renderSettings(defaults, flat)
	}
	writeESFresh(rw, 200, out)
}

func (h *esHandler) putSettings(rw http.ResponseWriter, r *http.Request, c *cluster, _ principal) {
	body, _ := io.ReadAll(r.Body)
	var req map[string]any
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := decodeJSON(body, &req); err != nil {
			writeESError(rw, &esError{status: 400, typ: "x_content_parse_exception", reason: "failed to parse request body: " + err.Error()})
			return
		}
	}
	scopes := map[string]map[string]any{}
	for _, scope := range []string{"persistent", "transient"} {
		v, ok := req[scope]
		if !ok || v == nil {
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			writeESError(rw, badRequest("failed to parse [%s] settings", scope))
			return
		}
		flat := map[string]any{}
		if err := flatten("", m, flat); err != nil {
			writeESError(rw, badRequest("%v", err))
			return
		}
		scopes[scope] = flat
	}
	if len(scopes["persistent"]) == 0 && len(scopes["transient"]) == 0 {
		writeESError(rw, &esError{status: 400, typ: "action_request_validation_exception", reason: "Validation Failed: 1: no settings to update;"})
		return
	}
	ackTimeout := 30 * time.Second // ClusterUpdateSettingsRequest: AcknowledgedRequest.DEFAULT_ACK_TIMEOUT
	if t := r.URL.Query().Get("timeout"); t != "" {
		ms, err := parseTimeValue(t)
		if err != nil {
			writeESError(rw, badRequest("failed to parse setting [timeout] with value [%s] as a time value: unit is missing or unrecognized", t))
			return
		}
		ackTimeout = time.Duration(ms) * time.Millisecond
	}
	setP, setT, e := c.updateSettings(scopes["persistent"], scopes["transient"])
	if e != nil {
		writeESError(rw, e)
		return
	}
	// The new state is committed; each node's appliers then run the remote
	// cluster consumers one alias at a time, and each waits for its
	// connection attempt (RemoteClusterService.updateRemoteCluster,
	// latch.await(10, TimeUnit.SECONDS)). The master waits for the nodes'
	// acks up to the ack timeout; past it the answer is acknowledged:false
	// with the settings stored (AckedClusterStateUpdateTask.onAckTimeout).
	wait := h.w.syncConns(c)
	acked := !requestFault(r).unacknowledged
	if wait > ackTimeout {
		wait, acked = ackTimeout, false
	}
	answerAfter(r, wait)
	flat := boolParam(r, "flat_settings")
	writeES(rw, 200, map[string]any{
		"acknowledged": acked,
		"persistent":   renderSettings(setP, flat),
		"transient":    renderSettings(setT, flat),
	})
}

func (h *esHandler) remoteInfo(rw http.ResponseWriter, r *http.Request, c *cluster, _ principal) {
	writeESFresh(rw, 200, h.w.remoteInfo(c, coord(r, c)))
}

// resolveCluster answers GET /_resolve/cluster/{expr} (8.13+) and, from
// 8.18, GET /_resolve/cluster without an expression (the forms are in
// resolve.go). Each remote is asked as resolveRemote says, by version.
// The caller's privileges are checked first on the local side: a request
// naming only remote indices needs the action on some local index
// (localDenial, 403 for the whole request), and each API-key alias needs
// remote_indices that apply to it (crossClusterAs, an error on that
// alias's entry).
func (h *esHandler) resolveCluster(rw http.ResponseWriter, r *http.Request, c *cluster, p principal) {
	req, e := parseResolveCluster(r, c)
	if e != nil {
		if e.status == 0 {
			h.noHandler(rw, r)
			return
		}
		writeESError(rw, e)
		return
	}
	timeout, ok := resolveTimeout(rw, r, c)
	if !ok {
		return
	}
	if remoteOnly(r.PathValue("expr")) {
		if e := c.localDenial(p, actionResolveCluster, r.PathValue("expr"), grantedByOf(actionResolveCluster)); e != nil {
			writeESError(rw, e)
			return
		}
	}
	h.w.syncConns(c)
	al := effectiveAliases(c)
	n := coord(r, c)
	groups, e := req.group(n)
	if e != nil {
		writeESError(rw, e)
		return
	}
	out := map[string]any{}
	if local, ok := groups[""]; ok {
		e := map[string]any{"connected": true, "skip_unavailable": false}
		if missing := missingIndex(c, nil, strings.Join(local, ",")); missing != "" {
			e["error"] = "no such index [" + missing + "]"
		} else {
			e["matching_indices"] = len(visible(c, nil, strings.Join(local, ","))) > 0
			e["version"] = minVersion(c)
		}
		out["(local)"] = e
	}
	var slowest time.Duration
	for _, alias := range slices.Sorted(maps.Keys(groups)) {
		if alias == "" {
			continue
		}
		e, took := h.w.resolveRemote(p, c, n, alias, al[alias], groups[alias], timeout, req.infoOnly)
		slowest = max(slowest, took)
		out[alias] = e
	}
	// The remotes are asked in parallel; the answer comes when the slowest
	// has answered or timed out.
	answerAfter(r, slowest)
	writeES(rw, 200, out)
}

// resolveTimeout reads ?timeout= where the version has it and refuses it
// where it does not, as BaseRestHandler refuses any unconsumed parameter.
// ok is false when the answer has been written.
func resolveTimeout(rw http.ResponseWriter, r *http.Request, c *cluster) (timeout time.Duration, ok bool) {
	t, has := r.URL.Query()["timeout"]
	if !has {
		return 0, true
	}
	if !resolveTimeoutParam(parseVersion(c.Version)) {
		writeESError(rw, &esError{status: 400, typ: "illegal_argument_exception",
			reason: "request [" + r.URL.Path + "] contains unrecognized parameter: [timeout]"})
		return 0, false
	}
	ms, err := parseTimeValue(t[0])
	if err != nil {
		writeESError(rw, badRequest("failed to parse setting [timeout] with value [%s] as a time value: unit is missing or unrecognized", t[0]))
		return 0, false
	}
	return time.Duration(ms) * time.Millisecond, true
}

// resolveTimedOut is TransportResolveClusterAction's
// REMOTE_CONNECTION_TIMEOUT_ERROR (8.18+).
const resolveTimedOut = "Request timed out before receiving a response from the remote cluster"

// resolveRemote is one remote's entry of a _resolve/cluster answer and how
// long it took, as TransportResolveClusterAction.doExecuteForked builds
// it: a remote-unavailable failure
// (ExceptionsHelper.isRemoteUnavailableException) gives connected:false
// and no error; a security exception gives its message as error, with
// connected:false from 8.16.3/8.17.1/8.18.0 and connected:true before
// (resolveRefusalConnected); an IndexNotFoundException (a concrete index
// that does not exist) gives connected:true with its message as error. A
// connection that is down is reconnected before the request
// (RECONNECT_IF_DISCONNECTED), except on the releases that failed fast
// (resolveFailFast); only a reconnect toward an address that answers
// nothing takes time (the world's connect_wait). With ?timeout= (8.18+) a
// remote that has not answered by then is connected:false with
// REMOTE_CONNECTION_TIMEOUT_ERROR as error.
func (w *World) resolveRemote(p principal, c *cluster, n *node, alias string, a *aliasConfig, indices []string, timeout time.Duration, infoOnly bool) (map[string]any, time.Duration) {
	v := parseVersion(c.Version)
	idxPat := strings.Join(indices, ",")
	e := map[string]any{"connected": false, "skip_unavailable": skipUnavailable(c, a)}
	res := w.crossClusterAs(p, c, n, alias, a, actionResolveCluster, indices, !resolveFailFast(v))
	took := res.took
	if timeout > 0 && took > timeout {
		e["error"] = resolveTimedOut
		return e, timeout
	}
	switch {
	case res.unavailable:
	case res.err != nil:
		e["error"] = res.err.reason
		e["connected"] = resolveRefusalConnected(v)
	case infoOnly:
		e["connected"] = true
		e["version"] = minVersion(res.remote)
	default:
		e["connected"] = true
		key := w.keyInUse(c, n, alias)
		if missing := missingIndex(res.remote, key, idxPat); missing != "" {
			e["error"] = "no such index [" + missing + "]"
		} else {
			e["matching_indices"] = len(visible(res.remote, key, idxPat)) > 0
			e["version"] = minVersion(res.remote)
		}
	}
	return e, took
}

// noHandler is the answer to a path no route of the version serves.
func (h *esHandler) noHandler(rw http.ResponseWriter, r *http.Request) {
	writeES(rw, 400, map[string]any{
		"error":  fmt.Sprintf("no handler found for uri [%s] and method [%s]", r.URL.Path, r.Method),
		"status": 400,
	})
}

// skipUnavailable is the alias's skip_unavailable: false up to 8.14,
// true from 8.15 (RemoteClusterService.REMOTE_CLUSTER_SKIP_UNAVAILABLE).
func skipUnavailable(c *cluster, a *aliasConfig) bool {
	if a != nil && a.skip != nil {
		return *a.skip
	}
	return skipUnavailableDefault(parseVersion(c.Version))
}

// keyInUse is the cross-cluster key the loaded credential of alias names
// on its remote (nil for the certificate model).
func (w *World) keyInUse(c *cluster, n *node, alias string) *apiKey {
	cn := n.conns[alias]
	if cn == nil || !cn.apiKey {
		return nil
	}
	_, k := lookupEncoded(w.clusters[cn.remote], n.loaded[credKey(alias)])
	return k
}

// visible lists the indices of x a comma-separated pattern names that
// key may see (all of them when key is nil): IndicesAndAliasesResolver
// drops the wildcard matches a caller is not authorized for.
func visible(x *cluster, key *apiKey, pattern string) []string {
	var out []string
	for _, idx := range x.Indices {
		for _, p := range strings.Split(pattern, ",") {
			if ok, _ := path.Match(p, idx); ok && (key == nil || key.grants(idx)) {
				out = append(out, idx)
				break
			}
		}
	}
	return out
}

// missingIndex is the first concrete (wildcard-free) name of pattern that
// x does not hold: with the default strict indices options it is an
// IndexNotFoundException ("no such index [name]").
func missingIndex(x *cluster, _ *apiKey, pattern string) string {
	for _, p := range strings.Split(pattern, ",") {
		if p == "" || strings.ContainsAny(p, "*?") || slices.Contains(x.Indices, p) {
			continue
		}
		return p
	}
	return ""
}

// search answers a size-0 search over local and remote index patterns
// (the doctor's and esremote's canary): a shard per matching index, no
// documents. A remote that fails (transport down, or refused by its
// security) is skipped when skip_unavailable is true and fails the whole
// search otherwise, with the remote's error (TransportSearchAction
// ccsRemoteReduce; SearchResponse.Clusters counts the skipped).
func (h *esHandler) search(rw http.ResponseWriter, r *http.Request, c *cluster, p principal) {
	h.w.syncConns(c)
	n := coord(r, c)
	if remoteOnly(r.PathValue("index")) {
		if e := c.localDenial(p, actionSearch, r.PathValue("index"), grantedByOf(actionSearch)); e != nil {
			writeESError(rw, e)
			return
		}
	}
	al := effectiveAliases(c)
	shards, total, skipped, successful := 0, 0, 0, 0
	for _, part := range strings.Split(r.PathValue("index"), ",") {
		alias, idx, remote := strings.Cut(part, ":")
		if !remote {
			if missing := missingIndex(c, nil, part); missing != "" {
				writeESError(rw, &esError{status: 404, typ: "index_not_found_exception", reason: "no such index [" + missing + "]"})
				return
			}
			shards += len(visible(c, nil, part))
			continue
		}
		if n.conns[alias] == nil {
			writeESError(rw, &esError{status: 404, typ: "no_such_remote_cluster_exception", reason: "no such remote cluster: [" + alias + "]"})
			return
		}
		total++
		skip := skipUnavailable(c, al[alias])
		res := h.w.crossClusterAs(p, c, n, alias, al[alias], actionSearch, strings.Split(idx, ","), !skip)
		fail := res.err
		if res.unavailable {
			fail = &esError{status: 500, typ: "connect_transport_exception", reason: res.reason}
		} else if fail == nil {
			if missing := missingIndex(res.remote, nil, idx); missing != "" {
				fail = &esError{status: 404, typ: "index_not_found_exception", reason: "no such index [" + missing + "]"}
			}
		}
		switch {
		case fail == nil:
			successful++
			shards += len(visible(res.remote, h.w.keyInUse(c, n, alias), idx))
		case skip:
			skipped++
		default:
			writeESError(rw, fail)
			return
		}
	}
	out := map[string]any{"took": 1, "timed_out": false,
		"_shards": map[string]any{"total": shards, "successful": shards, "skipped": 0, "failed": 0},
		"hits":    map[string]any{"total": map[string]any{"value": 0, "relation": "eq"}, "max_score": nil, "hits": []any{}}}
	if total > 0 {
		out["_clusters"] = map[string]any{"total": total + 1, "successful": successful + 1, "skipped": skipped,
			"running": 0, "partial": 0, "failed": 0}
	}
	writeES(rw, 200, out)
}

func minVersion(c *cluster) map[string]any {
	return map[string]any{"number": c.Version, "build_flavor": "default",
		"minimum_wire_compatibility_version": "7.17.0", "minimum_index_compatibility_version": "7.0.0"}
}

// createCCSKey is POST /_security/cross_cluster/api_key. Over API-key
// authentication it is refused
// (TransportCreateCrossClusterApiKeyAction.doExecute).
func (h *esHandler) createCCSKey(rw http.ResponseWriter, r *http.Request, c *cluster, p principal) {
	if p.apiKeyID != "" {
		writeESError(rw, badRequest("authentication via API key not supported: An API key cannot be used to create a cross-cluster API key"))
		return
	}
	body, _ := io.ReadAll(r.Body)
	req, e := parseCCSRequest(body, false)
	if e != nil {
		writeESError(rw, e)
		return
	}
	access, desc, e := buildAccess(req.Access, c.Version)
	if e != nil {
		writeESError(rw, e)
		return
	}
	now := h.w.now()
	k := &apiKey{ID: randomKeyID(), Name: *req.Name, Type: "cross_cluster", secret: randomString(22),
		Creation: now, Username: p.username, Metadata: req.Metadata, Access: access, RoleDescriptors: desc}
	if k.Metadata == nil {
		k.Metadata = map[string]any{}
	}
	if req.Expiration != nil {
		exp := now.Add(*req.Expiration)
		k.Expiration = &exp
	}
	c.addKey(k)
	resp := map[string]any{"id": k.ID, "name": k.Name, "api_key": k.secret, "encoded": k.encoded()}
	if k.Expiration != nil {
		resp["expiration"] = k.Expiration.UnixMilli()
	}
	writeES(rw, 200, resp)
}

// updateCCSKey is PUT /_security/cross_cluster/api_key/{id}. Over API-key
// authentication it is refused before anything else
// (TransportBaseUpdateApiKeyAction.doExecute).
func (h *esHandler) updateCCSKey(rw http.ResponseWriter, r *http.Request, c *cluster, p principal) {
	if p.apiKeyID != "" {
		writeESError(rw, badRequest("authentication via API key not supported: only the owner user can update an API key"))
		return
	}
	body, _ := io.ReadAll(r.Body)
	req, e := parseCCSRequest(body, true)
	if e != nil {
		writeESError(rw, e)
		return
	}
	id := r.PathValue("id")
	k := c.keys[id]
	if k == nil || k.Username != p.username {
		// ApiKeyService: ResourceNotFoundException for an id the caller does not own.
		writeESError(rw, &esError{status: 404, typ: "resource_not_found_exception", reason: fmt.Sprintf("no API key owned by requesting user found for ID [%s]", id)})
		return
	}
	// ApiKeyService.validateForUpdate: invalidated, then expired, then
	// the type the endpoint expects.
	now := h.w.now()
	if k.Invalidated {
		writeESError(rw, badRequest("cannot update invalidated API key [%s]", id))
		return
	}
	if !k.active(now) {
		writeESError(rw, badRequest("cannot update expired API key [%s]", id))
		return
	}
	if k.Type != "cross_cluster" {
		writeESError(rw, badRequest("cannot update API key of type [%s] while expected type is [cross_cluster]", k.Type))
		return
	}
	updated := false
	if req.accessSet {
		access, desc, e := buildAccess(req.Access, c.Version)
		if e != nil {
			writeESError(rw, e)
			return
		}
		if !sameJSON(access, k.Access) {
			k.Access, k.RoleDescriptors, updated = access, desc, true
		}
	}
	if req.metaSet && !sameJSON(req.Metadata, k.Metadata) {
		k.Metadata, updated = req.Metadata, true
	}
	if req.Expiration != nil {
		exp := now.Add(*req.Expiration)
		k.Expiration, updated = &exp, true
	}
	writeES(rw, 200, map[string]any{"updated": updated})
}

func (h *esHandler) getAPIKeys(rw http.ResponseWriter, r *http.Request, c *cluster, p principal) {
	q := r.URL.Query()
	id, name := q.Get("id"), q.Get("name")
	if (id != "" || name != "") && (q.Get("username") != "" || q.Get("realm_name") != "") {
		writeESError(rw, &esError{status: 400, typ: "action_request_validation_exception",
			reason: "Validation Failed: 1: username or realm name must not be specified when the api key id or api key name is specified;"})
		return
	}
	now := h.w.now()
	keys := []any{}
	for _, kid := range c.keyOrder {
		k := c.keys[kid]
		if id != "" && k.ID != id {
			continue
		}
		if name != "" && name != "*" {
			if prefix, ok := strings.CutSuffix(name, "*"); ok {
				if !strings.HasPrefix(k.Name, prefix) {
					continue
				}
			} else if k.Name != name {
				continue
			}
		}
		if u := q.Get("username"); u != "" && k.Username != u {
			continue
		}
		if boolParam(r, "owner") && k.Username != p.username {
			continue
		}
		if boolParam(r, "active_only") && !k.active(now) {
			continue
		}
		keys = append(keys, k.view(boolParam(r, "with_limited_by")))
	}
	status := 200
	if id != "" && len(keys) == 0 {
		status = 404
	}
	writeES(rw, status, map[string]any{"api_keys": keys})
}

// invalidateAPIKeys is DELETE /_security/api_key; the rules are in
// invalidateKeys (security.go).
func (h *esHandler) invalidateAPIKeys(rw http.ResponseWriter, r *http.Request, c *cluster, p principal) {
	body, _ := io.ReadAll(r.Body)
	inv, e := parseInvalidateRequest(body)
	if e != nil {
		writeESError(rw, e)
		return
	}
	writeES(rw, 200, c.invalidateKeys(inv, p, h.w.now()))
}

func (h *esHandler) getRoles(rw http.ResponseWriter, r *http.Request, c *cluster, _ principal) {
	out := map[string]any{}
	names := r.PathValue("name")
	if names == "" {
		for n, role := range c.roles {
			out[n] = role
		}
		writeES(rw, 200, out)
		return
	}
	for _, n := range strings.Split(names, ",") {
		if role, ok := c.roles[n]; ok {
			out[n] = role
		}
	}
	if len(out) == 0 {
		writeES(rw, 404, map[string]any{})
		return
	}
	writeES(rw, 200, out)
}

func (h *esHandler) putRole(rw http.ResponseWriter, r *http.Request, c *cluster, _ principal) {
	name := r.PathValue("name")
	body, _ := io.ReadAll(r.Body)
	role, e := parseRole(name, body, c.Version)
	if e != nil {
		writeESError(rw, e)
		return
	}
	_, existed := c.roles[name]
	c.roles[name] = role
	writeES(rw, 200, map[string]any{"role": map[string]any{"created": !existed}})
}

func (h *esHandler) deleteRole(rw http.ResponseWriter, r *http.Request, c *cluster, _ principal) {
	name := r.PathValue("name")
	_, found := c.roles[name]
	delete(c.roles, name)
	status := 200
	if !found {
		status = 404
	}
	writeES(rw, status, map[string]any{"found": found})
}

// reload is POST /_nodes[/{node}]/reload_secure_settings: every selected
// node reloads its keystore (TransportNodesReloadSecureSettingsAction
// .nodeOperation) and the remote-cluster credentials are updated from it
// (RemoteClusterService.updateRemoteClusterCredentials, see World.load).
// A node that fails reports reload_exception and the call still answers
// 200 (NodesReloadSecureSettingsResponse). Each node loads into its own
// credentials and connections; a node that failed keeps the old ones and
// uses them for the requests it coordinates. The body and the password
// rules are parseReloadRequest and reloadNode (reload.go).
func (h *esHandler) reload(rw http.ResponseWriter, r *http.Request, c *cluster, _ principal) {
	body, _ := io.ReadAll(r.Body)
	password, e := parseReloadRequest(body)
	if e != nil {
		writeESError(rw, e)
		return
	}
	selected := c.selectNodes(r.PathValue("node"), coordIndex(r, c))
	nodes := map[string]any{}
	for _, i := range selected {
		n := map[string]any{"name": c.nodeNameN(i)}
		if ex := c.reloadNode(i, password); ex != nil {
			n["reload_exception"] = ex
		} else {
			h.w.load(c, c.nodes[i], c.keystore)
			if reloadKeystoreDetails(parseVersion(c.Version)) {
				maps.Copy(n, keystoreDetails(c))
			}
		}
		nodes[c.nodeID(i)] = n
	}
	writeES(rw, 200, map[string]any{
		"_nodes":       map[string]any{"total": len(selected), "successful": len(selected), "failed": 0},
		"cluster_name": c.esClusterName(),
		"nodes":        nodes,
	})
}

// keystoreDetails are a reloaded node's keystore fields (9.3+): the names
// it holds, sorted, keystore.seed included (every keystore has it), the
// file's path in the official image, the SHA-256 of its content and its
// modification time.
func keystoreDetails(c *cluster) map[string]any {
	names := append(slices.Collect(maps.Keys(c.keystore)), "keystore.seed")
	slices.Sort(names)
	sum := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(c.keystore)) {
		fmt.Fprintf(sum, "%s=%s\n", k, c.keystore[k])
	}
	return map[string]any{
		"secure_setting_names":        names,
		"keystore_path":               "/usr/share/elasticsearch/config/elasticsearch.keystore",
		"keystore_digest":             hex.EncodeToString(sum.Sum(nil)),
		"keystore_last_modified_time": c.keystoreAt.UTC().Format("2006-01-02T15:04:05.000Z"),
	}
}

func (c *cluster) nodeID(i int) string {
	if i == 0 {
		return derivedHex("node", c.Name)[:22]
	}
	return derivedHex("node", fmt.Sprintf("%s/%d", c.Name, i))[:22]
}

func (c *cluster) nodeNameN(i int) string {
	if c.isDeployment() {
		return fmt.Sprintf("instance-%010d", i)
	}
	return fmt.Sprintf("%s-node-%d", c.Name, i+1)
}
