package sim

import (
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strings"
)

// Users, roles and what they are allowed to do.
//
// A user holds role names (the world file's admin_roles, default
// superuser); an API key without role descriptors (the only kind the sim
// makes for REST) acts with its owner's roles (upstream: an empty
// role_descriptors gives the key its limited-by role alone,
// Subject.buildRoleReferencesForApiKey). A role is the built-in superuser
// (ReservedRolesStore.SUPERUSER_ROLE_DESCRIPTOR) or one stored by
// PUT /_security/role (or the world file's roles).
//
// What the sim authorizes with them: GET /_security/user/_privileges,
// _has_privileges, and the cross-cluster requests (_resolve/cluster and
// _search on remote expressions), on both sides (localAuthorize,
// remoteAuthorize). The other endpoints accept any authenticated user
// (not modelled: upstream checks the cluster privilege of each action).

// roleDescriptor returns a role by name: the reserved superuser or a
// stored role (the stored form GET /_security/role returns).
func (c *cluster) roleDescriptor(name string) (map[string]any, bool) {
	if name == "superuser" {
		return superuserDescriptor(c.Version), true
	}
	r, ok := c.roles[name]
	return r, ok
}

// superuserDescriptor is ReservedRolesStore.SUPERUSER_ROLE_DESCRIPTOR:
// cluster all; indices * all (and read-like on restricted indices);
// remote_indices the same on clusters * (GA with the API-key model, the
// sim's 8.14 floor); remote_cluster monitor_enrich from 8.15, monitor_stats
// from 8.17 (RemoteClusterPermissions).
func superuserDescriptor(version string) map[string]any {
	readLike := []any{"monitor", "read", "view_index_metadata", "read_cross_cluster"}
	d := map[string]any{
		"cluster": []any{"all"},
		"indices": []any{
			map[string]any{"names": []any{"*"}, "privileges": []any{"all"}, "allow_restricted_indices": false},
			map[string]any{"names": []any{"*"}, "privileges": readLike, "allow_restricted_indices": true},
		},
		"applications": []any{map[string]any{"application": "*", "privileges": []any{"*"}, "resources": []any{"*"}}},
		"run_as":       []any{"*"},
		"remote_indices": []any{
			map[string]any{"names": []any{"*"}, "privileges": []any{"all"}, "allow_restricted_indices": false, "clusters": []any{"*"}},
			map[string]any{"names": []any{"*"}, "privileges": readLike, "allow_restricted_indices": true, "clusters": []any{"*"}},
		},
		"metadata":           map[string]any{"_reserved": true},
		"transient_metadata": map[string]any{"enabled": true},
	}
	if versionAtLeast(version, 8, 15) {
		privs := []any{"monitor_enrich"}
		if versionAtLeast(version, 8, 17) {
			privs = append(privs, "monitor_stats")
		}
		d["remote_cluster"] = []any{map[string]any{"privileges": privs, "clusters": []any{"*"}}}
	}
	return d
}

// subject is who a request acts as: the user, its role names, and the
// API key it authenticated with ("" for a password).
type subject struct {
	username string
	roles    []string
	apiKeyID string
}

func (c *cluster) subjectOf(p principal) subject {
	return subject{username: p.username, roles: c.users[p.username].roles, apiKeyID: p.apiKeyID}
}

// descriptors returns the subject's roles that exist (the effective
// roles, sorted, as RBACAuthorizationInfo names them) and their bodies.
func (c *cluster) descriptors(s subject) (names []string, ds []map[string]any) {
	for _, n := range slices.Sorted(slices.Values(s.roles)) {
		if d, ok := c.roleDescriptor(n); ok {
			names = append(names, n)
			ds = append(ds, d)
		}
	}
	return names, ds
}

// describe is AuthorizationDenialMessages.Default
// .successfulAuthenticationDescription with the effective roles:
// "user [u] with effective roles [a,b]" (plus "(assigned roles [x] were
// not found)"), or "API key id [id] of user [u]" for an API key (an API
// key has no roles to print: rolesDescription).
func (c *cluster) describe(s subject) string {
	if s.apiKeyID != "" {
		return "API key id [" + s.apiKeyID + "] of user [" + s.username + "]"
	}
	names, _ := c.descriptors(s)
	out := "user [" + s.username + "] with effective roles [" + strings.Join(names, ",") + "]"
	var missing []string
	for _, r := range slices.Sorted(slices.Values(s.roles)) {
		if !slices.Contains(names, r) {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		out += " (assigned roles [" + strings.Join(missing, ",") + "] were not found)"
	}
	return out
}

// entries lists a descriptor's entries of a kind (indices or
// remote_indices) as maps.
func entries(d map[string]any, kind string) []map[string]any {
	list, _ := d[kind].([]any)
	var out []map[string]any
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func stringsOf(v any) []string {
	if s, ok := toStrings(v).([]string); ok {
		return s
	}
	return nil
}

// indexPrivilegeActions are the action patterns of the named index
// privileges esremote's requests meet (IndexPrivilege: ALL_AUTOMATON,
// READ_AUTOMATON, READ_CROSS_CLUSTER_AUTOMATON, VIEW_METADATA_AUTOMATON,
// MANAGE_AUTOMATON, MONITOR_AUTOMATON; the lists hold the actions of
// _resolve/cluster and _search, not every action of each automaton).
// A privilege that is an action name or pattern grants what it matches.
var indexPrivilegeActions = map[string][]string{
	"all":                 {"indices:*", "internal:transport/proxy/indices:*"},
	"manage":              {"indices:admin/*", "indices:monitor/*"},
	"monitor":             {"indices:monitor/*"},
	"read":                {"indices:data/read/*", "indices:admin/resolve/index", actionResolveCluster},
	"read_cross_cluster":  {"internal:transport/proxy/indices:data/read/*", "indices:admin/shards/search_shards", "indices:admin/search/search_shards", actionResolveCluster},
	"view_index_metadata": {"indices:admin/get", "indices:admin/mappings/get", "indices:admin/resolve/index", actionResolveCluster, "indices:admin/shards/search_shards", "indices:admin/search/search_shards"},
}

// privilegeGrants reports whether an index privilege (a name, or an
// action pattern) grants action.
func privilegeGrants(priv, action string) bool {
	priv = strings.ToLower(priv)
	pats, named := indexPrivilegeActions[priv]
	if !named {
		pats = []string{priv}
	}
	for _, p := range pats {
		if ok, _ := path.Match(p, action); ok {
			return true
		}
		if strings.HasSuffix(p, "*") && strings.HasPrefix(action, strings.TrimSuffix(p, "*")) {
			return true // * crosses slashes in an action pattern (Automatons.patterns)
		}
	}
	return false
}

// namePattern reports whether a role's index name pattern covers name
// (simple wildcards; a /regex/ pattern is not modelled and covers
// nothing, the harsher reading).
func namePattern(pattern, name string) bool {
	if strings.HasPrefix(pattern, "/") {
		return false
	}
	return wildcardMatch(pattern, name)
}

// wildcardMatch is Elasticsearch's Regex.simpleMatch: * matches any run
// of characters, / included.
func wildcardMatch(p, s string) bool {
	for len(p) > 0 {
		if p[0] == '*' {
			for i := 0; i <= len(s); i++ {
				if wildcardMatch(p[1:], s[i:]) {
					return true
				}
			}
			return false
		}
		if len(s) == 0 || p[0] != s[0] {
			return false
		}
		p, s = p[1:], s[1:]
	}
	return len(s) == 0
}

// grantsAction reports whether an entry's privileges grant action.
func grantsAction(e map[string]any, action string) bool {
	for _, p := range stringsOf(e["privileges"]) {
		if privilegeGrants(p, action) {
			return true
		}
	}
	return false
}

// checkIndicesAction is Role.checkIndicesAction (SimpleRole: IndicesPermission
// .check): does any local index entry grant action, whatever its names.
func (c *cluster) checkIndicesAction(s subject, action string) bool {
	_, ds := c.descriptors(s)
	for _, d := range ds {
		for _, e := range entries(d, "indices") {
			if grantsAction(e, action) {
				return true
			}
		}
	}
	return false
}

// remoteEntries are the subject's remote_indices entries whose clusters
// match alias: Role.getRoleDescriptorsIntersectionForRemoteCluster, the
// privileges a cross-cluster request carries to the remote.
func (c *cluster) remoteEntries(s subject, alias string) []map[string]any {
	_, ds := c.descriptors(s)
	var out []map[string]any
	for _, d := range ds {
		for _, e := range entries(d, "remote_indices") {
			for _, cl := range stringsOf(e["clusters"]) {
				if wildcardMatch(cl, alias) {
					out = append(out, e)
					break
				}
			}
		}
	}
	return out
}

// localDenial is the local cluster's own refusal of a request whose index
// expressions are all remote, before anything is sent
// (RBACEngine.authorizeIndexAction: a request that allows remote indices
// and resolves to no local index is DENIED unless the role grants the
// action on some local index, Role.checkIndicesAction). The denial is
// AuthorizationService's 403 with AuthorizationDenialMessages.actionDenied
// ("… on indices [<expression>], this action is granted by the index
// privileges [...]"); which names upstream prints for a remote-only
// request was not pinned by a test: the sim prints the request's
// expression. nil when allowed.
func (c *cluster) localDenial(p principal, action, expr string, grantedBy string) *esError {
	s := c.subjectOf(p)
	if c.checkIndicesAction(s, action) {
		return nil
	}
	return &esError{status: 403, typ: "security_exception",
		reason: "action [" + action + "] is unauthorized for " + c.describe(s) + " on indices [" + expr +
			"], this action is granted by the index privileges [" + grantedBy + "]"}
}

// remoteOnly reports whether every part of a comma-separated index
// expression names a remote cluster (alias:index).
func remoteOnly(expr string) bool {
	for _, part := range strings.Split(expr, ",") {
		if !strings.Contains(part, ":") {
			return false
		}
	}
	return expr != ""
}

// crossClusterAs is crossCluster for a request made by p, with the
// authorization of the API-key model on both sides (the certificate model
// checks the user's roles on the remote by name, which the sim does not
// model: it authorizes nothing there).
//
// Local side, before sending: SecurityServerTransportInterceptor
// .sendWithCrossClusterAccessHeaders asks
// AuthorizationService.getRoleDescriptorsIntersectionForRemoteCluster for
// the subject's remote_indices that apply to the alias; none → the request
// fails with AuthorizationDenialMessages.remoteActionDenied: "action [A]
// towards remote cluster [alias] is unauthorized for <subject> because no
// remote indices privileges apply for the target cluster"
// (RemoteClusterSecurityRCS2ResolveClusterIT, test case 1). It runs only
// when the alias has a credential (the API-key model) and after the
// connection was obtained (a remote that is down fails as unavailable
// first).
//
// Remote side: the request carries those privileges, and the remote
// authorizes the intersection of the key's access and them
// (CrossClusterAccessAuthenticationService, RBACEngine on the fulfilling
// cluster): a concrete name either does not cover is denied with
// actionDenied for the cross-cluster subject: "action [A] towards remote
// cluster is unauthorized for user [u] with assigned roles [r]
// authenticated by API key id [k] of user [o] on indices [x], this action
// is granted by the index privileges [...]" (same IT, test cases 7 and 8;
// a request authenticated by an API key reads "API key id [l] of user
// [u]" in place of the user and roles). Authentication failures of the key
// come first and are kept as crossCluster found them.
func (w *World) crossClusterAs(p principal, c *cluster, n *node, alias string, a *aliasConfig, action string, indices []string, reconnect bool) requestOutcome {
	res := w.crossCluster(c, n, alias, a, action, indices, reconnect)
	if res.unavailable || res.remote == nil {
		return res
	}
	cn := n.conns[alias]
	if cn == nil || !cn.apiKey {
		return res
	}
	if _, loaded := n.loaded[credKey(alias)]; !loaded {
		return res
	}
	s := c.subjectOf(p)
	granted := c.remoteEntries(s, alias)
	if len(granted) == 0 {
		return requestOutcome{remote: res.remote, cause: CauseLocalPrivileges,
			err: &esError{status: 403, typ: "security_exception",
				reason: "action [" + action + "] towards remote cluster [" + alias + "] is unauthorized for " + c.describe(s) +
					" because no remote indices privileges apply for the target cluster"}}
	}
	if res.err != nil && res.cause != CausePrivileges {
		return res // the key failed authentication on the remote
	}
	_, k := lookupEncoded(res.remote, n.loaded[credKey(alias)])
	var denied []string
	for _, idx := range indices {
		if idx == "" || strings.ContainsAny(idx, "*?") {
			continue
		}
		userOK := false
		for _, e := range granted {
			if grantsAction(e, action) && slices.ContainsFunc(stringsOf(e["names"]), func(n string) bool { return namePattern(n, idx) }) {
				userOK = true
				break
			}
		}
		if !userOK || !k.grants(idx) {
			denied = append(denied, idx)
		}
	}
	if len(denied) == 0 {
		res.err, res.cause = nil, ""
		return res
	}
	who := c.describe(s)
	if s.apiKeyID == "" {
		// The cross-cluster subject's roles are printed as assigned
		// (successfulAuthenticationDescription with no AuthorizationInfo).
		who = "user [" + s.username + "] with assigned roles [" + strings.Join(s.roles, ",") + "]"
	}
	res.err = &esError{status: 403, typ: "security_exception",
		reason: "action [" + action + "] towards remote cluster is unauthorized for " + who +
			" authenticated by API key id [" + k.ID + "] of user [" + k.Username + "] on indices [" + strings.Join(denied, ",") +
			"], this action is granted by the index privileges [" + grantedByOf(action) + "]"}
	res.cause = CausePrivileges
	return res
}

// grantedByOf is the list actionDenied appends for an index action
// (IndexPrivilege.findPrivilegesThatGrant, sorted by access level), for
// the two actions the sim serves.
func grantedByOf(action string) string {
	if action == actionSearch {
		return "read,all"
	}
	return "view_index_metadata,manage,read_cross_cluster,all"
}

// userPrivileges answers GET /_security/user/_privileges
// (RestGetUserPrivilegesAction, RBACEngine.buildUserPrivilegesResponseObject,
// GetUserPrivilegesResponse): the privileges of the authenticated subject,
// its roles merged: cluster (sorted), global, indices, applications,
// run_as, and remote_indices (each group with its clusters) and
// remote_cluster only when there are some. Names, privileges and clusters
// are sorted sets (TreeSet). Entries with the same names, restricted flag
// and clusters and no document or field security are one group with the
// union of their privileges, as the role builder merges them.
func (h *esHandler) userPrivileges(rw http.ResponseWriter, r *http.Request, c *cluster, p principal) {
	_, ds := c.descriptors(c.subjectOf(p))
	clusterPrivs := map[string]bool{}
	var runAs []string
	var apps, remoteCluster []any
	type group struct {
		e     map[string]any
		privs map[string]bool
	}
	var order []string
	groups := map[string]*group{}
	add := func(kind string, e map[string]any) {
		names := slices.Sorted(slices.Values(stringsOf(e["names"])))
		restricted, _ := e["allow_restricted_indices"].(bool)
		out := map[string]any{"names": names, "allow_restricted_indices": restricted}
		key := kind + "|" + strings.Join(names, ",") + fmt.Sprintf("|%t", restricted)
		if kind == "remote_indices" {
			cl := slices.Sorted(slices.Values(stringsOf(e["clusters"])))
			out["clusters"] = cl
			key += "|" + strings.Join(cl, ",")
		}
		if q, ok := e["query"].(string); ok && q != "" {
			out["query"] = []any{q}
			key += "|dls" + fmt.Sprint(len(order))
		}
		if fs, ok := e["field_security"]; ok {
			out["field_security"] = []any{fs}
			key += "|fls" + fmt.Sprint(len(order))
		}
		g := groups[key]
		if g == nil {
			g = &group{e: out, privs: map[string]bool{}}
			groups[key] = g
			order = append(order, key)
		}
		for _, pr := range stringsOf(e["privileges"]) {
			g.privs[pr] = true
		}
	}
	for _, d := range ds {
		for _, cp := range stringsOf(d["cluster"]) {
			clusterPrivs[cp] = true
		}
		runAs = append(runAs, stringsOf(d["run_as"])...)
		if a, ok := d["applications"].([]any); ok {
			apps = append(apps, a...)
		}
		if rc, ok := d["remote_cluster"].([]any); ok {
			remoteCluster = append(remoteCluster, rc...)
		}
		for _, e := range entries(d, "indices") {
			add("indices", e)
		}
		for _, e := range entries(d, "remote_indices") {
			add("remote_indices", e)
		}
	}
	indices, remote := []any{}, []any{}
	for _, key := range order {
		g := groups[key]
		g.e["privileges"] = slices.Sorted(func(yield func(string) bool) {
			for pr := range g.privs {
				if !yield(pr) {
					return
				}
			}
		})
		if strings.HasPrefix(key, "remote_indices|") {
			remote = append(remote, g.e)
		} else {
			indices = append(indices, g.e)
		}
	}
	slices.Sort(runAs)
	out := map[string]any{
		"cluster": slices.Sorted(func(yield func(string) bool) {
			for cp := range clusterPrivs {
				if !yield(cp) {
					return
				}
			}
		}),
		"global":       []any{},
		"indices":      indices,
		"applications": nonNil(apps),
		"run_as":       slices.Compact(nonNilStrings(runAs)),
	}
	if len(remote) > 0 {
		out["remote_indices"] = remote
	}
	if len(remoteCluster) > 0 {
		out["remote_cluster"] = remoteCluster
	}
	writeES(rw, 200, out)
}

func nonNil(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

func nonNilStrings(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// clusterImplies lists, for the cluster privileges the sim knows, the
// named privileges each one includes (ClusterPrivilegeResolver: all is
// every cluster action; manage is cluster:admin/* and cluster:monitor/*
// without the security actions, so it does not include manage_security;
// manage_security includes the API-key and role privileges). A privilege
// always includes itself.
var clusterImplies = map[string][]string{
	"all":             {"*"},
	"manage":          {"monitor", "manage_ilm", "manage_ingest_pipelines", "manage_index_templates", "manage_pipeline", "manage_slm", "manage_transform", "manage_ccr", "read_ccr", "monitor_enrich", "manage_enrich"},
	"manage_security": {"manage_api_key", "manage_own_api_key", "read_security", "manage_service_account", "manage_token"},
	"manage_api_key":  {"manage_own_api_key"},
}

func clusterGranted(have map[string]bool, want string) bool {
	for h := range have {
		if h == want || h == "all" || slices.Contains(clusterImplies[h], want) {
			return true
		}
	}
	return false
}

// hasPrivileges answers GET|POST /_security/user/_has_privileges and
// /_security/user/{username}/_has_privileges (RestHasPrivilegesAction →
// TransportHasPrivilegesAction → RBACEngine.checkPrivileges;
// HasPrivilegesResponse): the body is parsed by
// RoleDescriptor.parsePrivilegesToCheck, which knows cluster, index and
// application (applications) only — there is no remote_indices check in
// _has_privileges in any version up to the newest 9.x, and another field
// is a 400 parse_exception "failed to parse privileges check
// [<user>/has_privileges]. unexpected field [<f>]". A named user other
// than the caller is 400 illegal_argument_exception "users may only check
// the privileges of their own account" (TransportHasPrivilegesAction
// .doExecute). The answer: username, has_all_requested, cluster
// {privilege: bool}, index {name: {privilege: bool}}, application {}.
// An index pattern is granted a privilege when one entry's names cover
// it (a concrete name matched, or a pattern equal to or inside the
// entry's) with a privilege that includes it; the application check is
// not modelled (answered from superuser's application *: granted to a
// superuser, refused otherwise).
func (h *esHandler) hasPrivileges(rw http.ResponseWriter, r *http.Request, c *cluster, p principal) {
	if u := r.PathValue("username"); u != "" && u != p.username {
		writeESError(rw, &esError{status: 400, typ: "illegal_argument_exception", reason: "users may only check the privileges of their own account"})
		return
	}
	desc := p.username + "/has_privileges"
	body, _ := io.ReadAll(r.Body)
	var raw map[string]any
	if len(strings.TrimSpace(string(body))) == 0 {
		writeESError(rw, &esError{status: 400, typ: "parse_exception", reason: "request body or source parameter is required"})
		return
	}
	if err := decodeJSON(body, &raw); err != nil {
		writeESError(rw, &esError{status: 400, typ: "parse_exception", reason: fmt.Sprintf("failed to parse privileges check [%s]. %v", desc, err)})
		return
	}
	for k := range raw {
		switch k {
		case "cluster", "index", "application", "applications":
		default:
			writeESError(rw, &esError{status: 400, typ: "parse_exception",
				reason: fmt.Sprintf("failed to parse privileges check [%s]. unexpected field [%s]", desc, k)})
			return
		}
	}
	if raw["cluster"] == nil && raw["index"] == nil && raw["application"] == nil && raw["applications"] == nil {
		writeESError(rw, &esError{status: 400, typ: "parse_exception",
			reason: fmt.Sprintf("failed to parse privileges check [%s]. All privilege fields [cluster,index,applications] are missing", desc)})
		return
	}
	s := c.subjectOf(p)
	names, ds := c.descriptors(s)
	have := map[string]bool{}
	for _, d := range ds {
		for _, cp := range stringsOf(d["cluster"]) {
			have[cp] = true
		}
	}
	all := true
	clusterOut := map[string]any{}
	for _, cp := range stringsOf(raw["cluster"]) {
		ok := clusterGranted(have, cp)
		clusterOut[cp] = ok
		all = all && ok
	}
	indexOut := map[string]any{}
	idxList, _ := raw["index"].([]any)
	for _, e := range idxList {
		m, _ := e.(map[string]any)
		if _, dls := m["query"]; dls {
			writeESError(rw, &esError{status: 400, typ: "parse_exception", reason: "Field [query] is not supported in a has_privileges request"})
			return
		}
		if _, fls := m["field_security"]; fls {
			writeESError(rw, &esError{status: 400, typ: "parse_exception", reason: "Field [field_security] is not supported in a has_privileges request"})
			return
		}
		for _, name := range stringsOf(m["names"]) {
			res, _ := indexOut[name].(map[string]any)
			if res == nil {
				res = map[string]any{}
				indexOut[name] = res
			}
			for _, pr := range stringsOf(m["privileges"]) {
				ok := indexGranted(ds, name, pr)
				res[pr] = ok
				all = all && ok
			}
		}
	}
	appOut := map[string]any{}
	apps, _ := raw["application"].([]any)
	if apps == nil {
		apps, _ = raw["applications"].([]any)
	}
	for _, e := range apps {
		m, _ := e.(map[string]any)
		app, _ := m["application"].(string)
		res := map[string]any{}
		for _, rsc := range stringsOf(m["resources"]) {
			pr := map[string]any{}
			for _, name := range stringsOf(m["privileges"]) {
				ok := slices.Contains(names, "superuser")
				pr[name] = ok
				all = all && ok
			}
			res[rsc] = pr
		}
		appOut[app] = res
	}
	writeES(rw, 200, map[string]any{"username": p.username, "has_all_requested": all,
		"cluster": clusterOut, "index": indexOut, "application": appOut})
}

// indexGranted reports whether one of the descriptors' local index entries
// grants privilege priv on every index a (possibly wildcard) name covers.
func indexGranted(ds []map[string]any, name, priv string) bool {
	for _, d := range ds {
		for _, e := range entries(d, "indices") {
			covers := slices.ContainsFunc(stringsOf(e["names"]), func(n string) bool {
				return namePattern(n, name) || n == "*" || (strings.HasSuffix(n, "*") && strings.HasPrefix(name, strings.TrimSuffix(n, "*")))
			})
			if !covers {
				continue
			}
			for _, have := range stringsOf(e["privileges"]) {
				if have == priv || have == "all" || indexIncludes(have, priv) {
					return true
				}
			}
		}
	}
	return false
}

// indexIncludes reports whether named index privilege have includes want:
// every action pattern of want is granted by have (for the privileges of
// indexPrivilegeActions), or want is an action have grants.
func indexIncludes(have, want string) bool {
	pats, named := indexPrivilegeActions[want]
	if !named {
		return privilegeGrants(have, want)
	}
	if _, known := indexPrivilegeActions[have]; !known {
		return false
	}
	for _, p := range pats {
		if !privilegeGrants(have, strings.TrimSuffix(p, "*")+"x") {
			return false
		}
	}
	return true
}
