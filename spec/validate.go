package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

var (
	aliasPattern   = regexp.MustCompile(`^[a-z0-9_-]+$`)
	envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// cloudDomains are host suffixes of ECH and ECE proxies, which route by
// server name: a proxy_address there without server_name cannot connect.
var cloudDomains = []string{".ip.es.io", ".found.io", ".elastic-cloud.com", ".elastic.cloud", ".cloud.es.io", ".elstc.co"}

// validate runs every offline check on a defaulted Set. It is pure but for
// stat calls on ca_file paths.
func validate(s *Set) Problems {
	v := &validator{set: s}
	v.clusters()
	v.connections()
	v.keyHosts()
	v.trustedEnvironments()
	return v.problems
}

type validator struct {
	set      *Set
	problems Problems
}

func (v *validator) at(obj any, path string) Pos { return v.set.meta[obj].at(path) }

// errorf and warnf report a problem at path, unless the value there (or
// one of its parents) did not decode: the walk reported that already, and
// what validation sees there is not what was written.
func (v *validator) errorf(obj any, path, format string, a ...any) {
	if v.lost(obj, path) {
		return
	}
	v.problems = append(v.problems, Problem{Pos: v.at(obj, path), Severity: SeverityError, Message: fmt.Sprintf(format, a...)})
}

func (v *validator) warnf(obj any, path, format string, a ...any) {
	if v.lost(obj, path) {
		return
	}
	v.problems = append(v.problems, Problem{Pos: v.at(obj, path), Severity: SeverityWarning, Message: fmt.Sprintf(format, a...)})
}

// lost reports whether the value at path, or a parent's, did not decode.
// Checks that a field is missing, reported at its parent, ask it first.
func (v *validator) lost(obj any, path string) bool { return v.set.meta[obj].isLost(path) }

// written reports whether path was present in obj's document.
func (v *validator) written(obj any, path string) bool {
	_, ok := v.set.meta[obj].pos[path]
	return ok
}

func (v *validator) clusters() {
	names := map[string]*Cluster{}
	deployments := map[string]*Cluster{}
	for _, c := range v.set.Clusters {
		if c.Name == "" {
			v.errorf(c, "name", "Cluster has no name: add name: so that connections can refer to it")
		} else if first, dup := names[c.Name]; dup {
			v.errorf(c, "name", "duplicate Cluster name %q: also declared at %s; rename one", c.Name, v.at(first, "name"))
		} else {
			names[c.Name] = c
		}
		es := c.Elasticsearch
		if !v.written(c, "elasticsearch") && !v.lost(c, "elasticsearch") {
			v.errorf(c, "", "%s has no elasticsearch block: add elasticsearch: {url: …, auth: …}", title(KindCluster, c.Name))
		} else {
			v.url(c, "elasticsearch.url", es.URL, "the cluster's REST endpoint, such as https://my-deployment.es.eu-west-1.aws.found.io:443")
			v.auth(c, "elasticsearch.auth", es.Auth)
			v.caFile(c, "elasticsearch.ca_file", es.CAFile)
			if es.InsecureSkipVerify {
				v.warnf(c, "elasticsearch.insecure_skip_verify", "TLS verification is off for %s: anyone on the path can read its credentials; set ca_file to the cluster's CA instead", c.Name)
			}
		}
		d := c.Deployment
		if d == nil {
			continue
		}
		v.platform(c, "deployment.platform", d.Platform)
		v.url(c, "deployment.api", d.API, "the control plane's API, https://api.elastic-cloud.com for ECH or https://COORDINATOR:12443 for ECE")
		v.auth(c, "deployment.auth", d.Auth)
		if d.Platform == PlatformECH && d.Auth.Basic != nil {
			v.errorf(c, "deployment.auth.basic", "the ECH API accepts API keys only: use deployment.auth.api_key")
		}
		v.caFile(c, "deployment.ca_file", d.CAFile)
		switch {
		case v.lost(c, "deployment.id"):
		case d.ID == "":
			v.errorf(c, "deployment", "deployment.id is missing: add the deployment ID (32 lowercase hex digits, as in the deployment's console URL)")
		case !clusterIDPattern.MatchString(d.ID):
			v.errorf(c, "deployment.id", "deployment.id %s is not a deployment ID: it is 32 lowercase hex digits, as in the deployment's console URL", quoteValue(d.ID))
		default:
			key := string(d.Platform) + " " + strings.TrimRight(d.API, "/") + " " + d.ID + " " + d.RefID
			if first, dup := deployments[key]; dup {
				v.errorf(c, "deployment.id", "deployment %s is already declared by Cluster %s at %s: declare each deployment once", d.ID, first.Name, v.at(first, "deployment.id"))
			} else {
				deployments[key] = c
			}
		}
	}
}

// quoteValue quotes a value for an error about it, unless it looks like
// a secret pasted in the wrong field (an API key as deployment.id or as a
// URL): such a value is withheld, the problem's position says where it is.
func quoteValue(s string) string {
	if LooksLikeSecret(s) && !strings.Contains(s, "://") {
		return "(value withheld: it looks like a secret)"
	}
	return strconv.Quote(s)
}

// url checks an https endpoint.
func (v *validator) url(obj any, p, raw, what string) {
	if v.lost(obj, p) {
		return
	}
	if raw == "" {
		v.errorf(obj, parent(p), "%s is missing: set it to %s", p, what)
		return
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		v.errorf(obj, p, "%s %s is not an http(s) URL: set it to %s", p, quoteValue(raw), what)
		return
	}
	if u.User != nil {
		v.errorf(obj, p, "%s carries credentials in the URL: remove them and use auth with a secret reference", p)
	}
	if u.Scheme == "http" {
		v.warnf(obj, p, "%s uses plain http: credentials would cross the network in clear; use https", p)
	}
}

func (v *validator) platform(obj any, p string, pl Platform) {
	if v.lost(obj, p) {
		return
	}
	switch pl {
	case PlatformECH, PlatformECE:
	case "":
		v.errorf(obj, parent(p), "%s is missing: set it to ech or ece", p)
	default:
		v.errorf(obj, p, "%s %q is not a platform: use ech or ece", p, pl)
	}
}

// auth checks that exactly one way to authenticate is given.
func (v *validator) auth(obj any, p string, a Auth) {
	switch {
	case a.APIKey == nil && a.Basic == nil:
		v.errorf(obj, p, "%s needs one of api_key or basic: e.g. auth: {api_key: {credential: NAME}}", p)
	case a.APIKey != nil && a.Basic != nil:
		v.errorf(obj, p, "%s sets both api_key and basic: keep one", p)
	case a.APIKey != nil:
		v.secretRef(obj, p+".api_key", *a.APIKey)
	default:
		if a.Basic.Username == "" && !v.lost(obj, p+".basic.username") {
			v.errorf(obj, p+".basic", "%s.basic.username is missing", p)
		}
		if !v.written(obj, p+".basic.password") {
			v.errorf(obj, p+".basic", "%s.basic.password is missing: name the password, e.g. password: {credential: NAME}", p)
		} else {
			v.secretRef(obj, p+".basic.password", a.Basic.Password)
		}
	}
}

// secretRef checks that exactly one source is named, and names that are
// usable. It never reads the secret.
func (v *validator) secretRef(obj any, p string, r SecretRef) {
	if r.count() != 1 {
		v.errorf(obj, p, "%s must name exactly one of credential, file or env (it names %d)", p, r.count())
		return
	}
	// Names are never repeated in messages: a name that is not one is
	// often the secret itself, pasted in the wrong place.
	switch {
	case r.Credential != "":
		switch {
		case r.Credential != filepath.Base(r.Credential) || strings.HasPrefix(r.Credential, ".") || strings.ContainsRune(r.Credential, '/'):
			v.errorf(obj, p+".credential", "%s.credential is not a credential name (a plain file name, no / and no leading dot): use the name given to LoadCredential=%s", p, secretHint(r.Credential))
		case LooksLikeSecret(r.Credential):
			v.warnf(obj, p+".credential", "%s.credential looks like a secret value, not a credential name: put the value in a credential (LoadCredential=NAME:PATH) and name it here", p)
		}
	case r.Env != "":
		switch {
		case !envNamePattern.MatchString(r.Env):
			v.errorf(obj, p+".env", "%s.env is not an environment variable name (letters, digits and _, not starting with a digit)%s", p, secretHint(r.Env))
		case LooksLikeSecret(r.Env):
			v.warnf(obj, p+".env", "%s.env looks like a secret value, not a variable name: put the value in the environment and name the variable here", p)
		}
	}
}

// secretHint is the part of a message about a malformed name that says it
// looks like a secret value.
func secretHint(name string) string {
	if LooksLikeSecret(name) {
		return "; it looks like a secret value: keep the value out of the spec and name where it is"
	}
	return ""
}

// caFile checks that a CA bundle exists, relative to the spec file.
func (v *validator) caFile(obj any, p, file string) {
	if file == "" {
		return
	}
	full := file
	if !filepath.IsAbs(full) {
		full = filepath.Join(v.set.meta[obj].base, filepath.FromSlash(file))
	}
	info, err := os.Stat(full)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		v.errorf(obj, p, "%s %s does not exist (paths are relative to this spec file): add the PEM file or fix the path", p, file)
	case err != nil:
		v.errorf(obj, p, "%s %s: %v", p, file, unwrapPathError(err))
	case !info.Mode().IsRegular():
		v.errorf(obj, p, "%s %s is %s, not a regular file: name a PEM file", p, file, fileKind(info.Mode()))
	}
}

func (v *validator) connections() {
	names := map[string]*Connection{}
	aliases := map[[2]string]*Connection{}
	type roleAt struct {
		conn *Connection
		i    int
	}
	roles := map[[2]string]roleAt{}
	for _, c := range v.set.Connections {
		if c.Name == "" {
			if !v.lost(c, "name") {
				v.errorf(c, "", "Connection has no name: add name:")
			}
		} else if first, dup := names[c.Name]; dup {
			v.errorf(c, "name", "duplicate Connection name %q: also declared at %s; rename one", c.Name, v.at(first, "name"))
		} else {
			names[c.Name] = c
		}

		v.clusterRef(c, "local", c.Local, "the Cluster that gets the remote-cluster settings")

		switch {
		case v.lost(c, "alias"):
		case c.Alias == "":
			v.errorf(c, "", "%s has no alias: add alias: (the remote cluster's name on %s)", title(KindConnection, c.Name), c.Local)
		case !aliasPattern.MatchString(c.Alias):
			v.errorf(c, "alias", "alias %q may hold only lowercase letters, digits, - and _", c.Alias)
		case c.Local != "":
			key := [2]string{c.Local, c.Alias}
			if first, dup := aliases[key]; dup {
				v.errorf(c, "alias", "alias %q on cluster %s is already used by connection %s at %s: each alias of a cluster belongs to one connection", c.Alias, c.Local, first.Name, v.at(first, "alias"))
			} else {
				aliases[key] = c
			}
		}

		switch c.Security {
		case SecurityAPIKey:
		case SecurityCertificate:
			v.warnf(c, "security", "certificate security is deprecated since Elastic Stack 9.0: prefer security: api_key (needs 8.14 or later on both sides)")
		case "":
			if v.lost(c, "security") {
				break
			}
			v.errorf(c, "", "%s has no security: add security: api_key (or certificate)", title(KindConnection, c.Name))
		default:
			v.errorf(c, "security", "security %q is not a security model: use api_key or certificate", c.Security)
		}

		v.remote(c)
		v.apiKey(c)
		v.settings(c)

		switch c.Policy {
		case PolicyEnforce, PolicyReport, PolicyDisabled:
		default:
			v.errorf(c, "policy", "policy %q is not a policy: use enforce, report or disabled", c.Policy)
		}
		for i, k := range c.Ignore {
			p := fmt.Sprintf("ignore[%d]", i)
			switch {
			case k == "":
				v.errorf(c, p, "ignore entries are setting keys under cluster.remote.%s., such as transport.ping_schedule", c.Alias)
			case strings.HasPrefix(k, "cluster.remote."):
				v.errorf(c, p, "ignore entry %q: write the key without cluster.remote.<alias>., e.g. transport.ping_schedule", k)
			}
		}

		for i := range c.Roles {
			r := &c.Roles[i]
			p := fmt.Sprintf("roles[%d]", i)
			if r.Name == "" {
				if !v.lost(c, p+".name") {
					v.errorf(c, p, "%s has no name: add name:", p)
				}
			} else if c.Local != "" {
				key := [2]string{c.Local, r.Name}
				if first, dup := roles[key]; dup {
					v.errorf(c, p+".name", "role %q on cluster %s is already defined by connection %s at %s: define each role once", r.Name, c.Local, first.conn.Name, v.at(first.conn, fmt.Sprintf("roles[%d].name", first.i)))
				} else {
					roles[key] = roleAt{c, i}
				}
			}
			if len(r.RemoteIndices) == 0 && len(r.RemoteCluster) == 0 && !v.lost(c, p+".remote_indices") && !v.lost(c, p+".remote_cluster") {
				v.warnf(c, p, "role %s grants nothing through alias %s: add remote_indices or remote_cluster", r.Name, c.Alias)
			}
			for j, ri := range r.RemoteIndices {
				q := fmt.Sprintf("%s.remote_indices[%d]", p, j)
				if len(ri.Names) == 0 && !v.lost(c, q+".names") {
					v.errorf(c, q, "%s needs names: the index patterns on the remote, e.g. names: [\"logs-*\"]", q)
				}
				if len(ri.Privileges) == 0 && !v.lost(c, q+".privileges") {
					v.errorf(c, q, "%s needs privileges, e.g. [read, read_cross_cluster, view_index_metadata]", q)
				}
				v.roleClusters(c, q, ri.Clusters)
			}
			for j, rc := range r.RemoteCluster {
				q := fmt.Sprintf("%s.remote_cluster[%d]", p, j)
				if len(rc.Privileges) == 0 && !v.lost(c, q+".privileges") {
					v.errorf(c, q, "%s needs privileges, e.g. [monitor_enrich]", q)
				}
				v.roleClusters(c, q, rc.Clusters)
			}
		}
	}
}

// roleClusters warns when an explicit clusters list does not match the
// connection's alias (wildcards count).
func (v *validator) roleClusters(c *Connection, p string, clusters []string) {
	if c.Alias == "" || !v.written(c, p+".clusters") {
		return
	}
	for _, pat := range clusters {
		if ok, _ := path.Match(pat, c.Alias); ok {
			return
		}
	}
	v.warnf(c, p+".clusters", "%s.clusters does not include the alias %s: this role grants nothing through this connection; add %s or leave clusters out (it defaults to [%s])", p, c.Alias, c.Alias, c.Alias)
}

// clusterRef checks a reference to a declared Cluster.
func (v *validator) clusterRef(obj any, p, name, what string) *Cluster {
	if name == "" {
		if !v.lost(obj, p) {
			v.errorf(obj, parent(p), "%s is missing: name %s", p, what)
		}
		return nil
	}
	cl := v.set.Cluster(name)
	if cl == nil && v.set.broken[KindCluster+"/"+name] {
		return nil // its own document did not decode: that error says it all
	}
	if cl == nil {
		var names []string
		for _, c := range v.set.Clusters {
			names = append(names, c.Name)
		}
		v.errorf(obj, p, "%s %q is not a declared Cluster%s: declare it (kind: Cluster) or fix the name", p, name, didYouMean(name, names))
	}
	return cl
}

// remote checks the remote end and returns its declared Cluster, if any.
func (v *validator) remote(c *Connection) *Cluster {
	r := c.Remote
	var cl *Cluster
	if r.Cluster != "" {
		cl = v.clusterRef(c, "remote.cluster", r.Cluster, "")
	}
	if !v.written(c, "remote") && !v.lost(c, "remote") {
		v.errorf(c, "", "%s has no remote: add remote: {cluster: NAME} or remote: {proxy_address: …, server_name: …}", title(KindConnection, c.Name))
		return cl
	}
	switch c.Settings.Mode {
	case ModeSniff:
		if cl != nil && cl.Deployment != nil {
			v.errorf(c, "settings.mode", "sniff mode cannot reach %s: ECH/ECE nodes are only reachable through the proxy; use mode: proxy", cl.Name)
		}
		if r.ProxyAddress != "" || r.ServerName != "" {
			v.errorf(c, "remote", "remote.proxy_address and remote.server_name are for proxy mode: in sniff mode set remote.seeds, or use mode: proxy")
		}
		if len(r.Seeds) == 0 && (cl == nil || cl.Deployment == nil) && !v.lost(c, "remote.seeds") {
			v.errorf(c, "remote", "sniff mode needs remote.seeds: the transport addresses (host:9300) of some remote nodes")
		}
		for i, s := range r.Seeds {
			if _, err := hostPort(s); err != nil {
				v.errorf(c, fmt.Sprintf("remote.seeds[%d]", i), "remote.seeds[%d] %q: %v", i, s, err)
			}
		}
		return cl
	case ModeProxy:
	default:
		v.errorf(c, "settings.mode", "settings.mode %q is not a mode: use proxy or sniff", c.Settings.Mode)
		return cl
	}
	if len(r.Seeds) > 0 {
		v.errorf(c, "remote.seeds", "remote.seeds is for sniff mode: in proxy mode set remote.proxy_address (or remote.cluster)")
	}
	switch {
	case v.lost(c, "remote.cluster") || v.lost(c, "remote.proxy_address"):
	case r.Cluster == "" && r.ProxyAddress == "":
		v.errorf(c, "remote", "remote needs cluster (a declared Cluster) or proxy_address and server_name copied from the remote deployment's Security page")
	case cl != nil && cl.Deployment == nil && r.ProxyAddress == "":
		v.errorf(c, "remote", "remote cluster %s has no deployment block, so its proxy address cannot be derived: set remote.proxy_address (host:port)", cl.Name)
	}
	if r.ProxyAddress == "" {
		if r.ServerName != "" && r.Cluster == "" && !v.lost(c, "remote.proxy_address") {
			v.errorf(c, "remote.server_name", "remote.server_name needs remote.proxy_address")
		}
		return cl
	}
	port, err := hostPort(r.ProxyAddress)
	if err != nil {
		v.errorf(c, "remote.proxy_address", "remote.proxy_address %q: %v", r.ProxyAddress, err)
		return cl
	}
	switch {
	case c.Security == SecurityAPIKey && port != PortAPIKey:
		why := ""
		if port == PortCertificate {
			why = "; 9400 is the certificate-model proxy port"
		}
		v.warnf(c, "remote.proxy_address", "api_key security uses the remote cluster server port %d%s: use port %d unless a load balancer maps it", PortAPIKey, why, PortAPIKey)
	case c.Security == SecurityCertificate && port != PortCertificate:
		why := ""
		if port == PortAPIKey {
			why = "; 9443 is the API-key (remote cluster server) port"
		}
		v.warnf(c, "remote.proxy_address", "certificate security uses the transport proxy port %d%s: use port %d unless a load balancer maps it", PortCertificate, why, PortCertificate)
	}
	if r.ServerName == "" && cl == nil {
		host, _, _ := net.SplitHostPort(r.ProxyAddress)
		for _, d := range cloudDomains {
			if strings.HasSuffix(host, d) {
				v.warnf(c, "remote.proxy_address", "remote.server_name is not set: ECH and ECE proxies route by server name; copy it from the remote deployment's Security page")
				break
			}
		}
	}
	return cl
}

// hostPort checks "host:port" and returns the port.
func hostPort(s string) (int, error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return 0, errors.New("expected host:port")
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return 0, errors.New("the port is not a number from 1 to 65535")
	}
	return port, nil
}

// apiKey checks the api_key block against the security model and remote.
func (v *validator) apiKey(c *Connection) {
	k := c.APIKey
	if v.lost(c, "security") || v.lost(c, "api_key.managed") {
		return
	}
	if c.Security != SecurityAPIKey {
		if k != nil && v.written(c, "api_key") {
			v.errorf(c, "api_key", "api_key applies only to security: api_key: remove it, or set security: api_key")
		}
		return
	}
	if k == nil {
		return
	}
	if k.Managed {
		if k.Credentials != nil {
			v.errorf(c, "api_key.credentials", "a managed key is created by esremote, so it takes no credentials: remove api_key.credentials, or set managed: false to use a key made by hand")
		}
		if c.Remote.Cluster == "" {
			v.errorf(c, "api_key", "esremote can create (manage) a key only on a declared remote Cluster: set remote.cluster, or set managed: false with credentials naming a key made by hand")
		}
		if len(k.Access.Search) == 0 && len(k.Access.Replication) == 0 && !v.lost(c, "api_key.access.search") && !v.lost(c, "api_key.access.replication") {
			v.errorf(c, "api_key", "a managed cross-cluster key needs access: add api_key.access.search and/or access.replication, e.g. search: [{names: [\"logs-*\"]}]")
		}
		for _, e := range []struct {
			name    string
			entries []AccessEntry
		}{{"search", k.Access.Search}, {"replication", k.Access.Replication}} {
			for i, a := range e.entries {
				if len(a.Names) == 0 {
					p := fmt.Sprintf("api_key.access.%s[%d]", e.name, i)
					v.errorf(c, p, "%s needs names: the remote index patterns the key may reach", p)
				}
			}
		}
		exp, rot := k.Expiration.D(), k.RotateBefore.D()
		switch {
		case rot > 0 && exp == 0:
			v.warnf(c, "api_key.rotate_before", "api_key.rotate_before has no effect without api_key.expiration: a key that never expires is never rotated")
		case rot > 0 && rot >= exp:
			v.errorf(c, "api_key.rotate_before", "api_key.rotate_before (%s) must be shorter than api_key.expiration (%s), or every pass would rotate the key", k.RotateBefore, k.Expiration)
		}
		return
	}
	if k.Credentials == nil {
		v.errorf(c, "api_key", "an unmanaged key (managed: false) needs api_key.credentials naming the key made by hand, e.g. credentials: {credential: NAME}")
	} else {
		v.secretRef(c, "api_key.credentials", *k.Credentials)
	}
	for _, p := range []string{"api_key.access", "api_key.expiration", "api_key.rotate_before"} {
		if v.written(c, p) {
			v.warnf(c, p, "%s is ignored for a key made by hand (managed: false): esremote does not change that key", p)
		}
	}
}

// keyHosts checks that a remote Cluster hosting managed keys logs in as a
// user: Elasticsearch refuses to create a cross-cluster key over API-key
// authentication (TransportCreateCrossClusterApiKeyAction) and to update
// one (TransportBaseUpdateApiKeyAction: "only the owner user can update an
// API key"), so with an API key esremote could neither create nor rotate.
func (v *validator) keyHosts() {
	// Clusters that log in with an API key, by name (in declaration order,
	// duplicates kept): looking each Connection's remote up here, not in a
	// scan of every Cluster, keeps this linear in the spec's size.
	apiKeyClusters := map[string][]*Cluster{}
	for _, cl := range v.set.Clusters {
		if cl.Elasticsearch.Auth.APIKey != nil {
			apiKeyClusters[cl.Name] = append(apiKeyClusters[cl.Name], cl)
		}
	}
	reported := map[string]bool{}
	for _, conn := range v.set.Connections {
		if conn.Security != SecurityAPIKey || conn.APIKey == nil || !conn.APIKey.Managed || conn.Remote.Cluster == "" {
			continue
		}
		for _, cl := range apiKeyClusters[conn.Remote.Cluster] {
			if reported[cl.Name] {
				continue
			}
			reported[cl.Name] = true
			v.errorf(cl, "elasticsearch.auth", "Cluster %s hosts the managed cross-cluster key of Connection %s, but logs in with an API key: "+
				"Elasticsearch creates and updates cross-cluster keys only for a user (\"authentication via API key not supported\"); "+
				"use elasticsearch.auth.basic with a user that has manage_security", cl.Name, conn.Name)
		}
	}
}

func (v *validator) settings(c *Connection) {
	s := c.Settings
	switch s.Compress {
	case "", "true", "false", "indexing_data":
	default:
		v.errorf(c, "settings.compress", "settings.compress %q: use true, false or indexing_data", s.Compress)
	}
	switch s.CompressionScheme {
	case "", "deflate", "lz4":
	default:
		v.errorf(c, "settings.compression_scheme", "settings.compression_scheme %q: use deflate or lz4", s.CompressionScheme)
	}
	if s.ProxySocketConnections != nil {
		if *s.ProxySocketConnections < 1 {
			v.errorf(c, "settings.proxy_socket_connections", "settings.proxy_socket_connections must be at least 1")
		}
		if s.Mode == ModeSniff {
			v.errorf(c, "settings.proxy_socket_connections", "settings.proxy_socket_connections is a proxy-mode setting: in sniff mode use node_connections")
		}
	}
	if s.NodeConnections != nil {
		if *s.NodeConnections < 1 {
			v.errorf(c, "settings.node_connections", "settings.node_connections must be at least 1")
		}
		if s.Mode == ModeProxy {
			v.errorf(c, "settings.node_connections", "settings.node_connections is a sniff-mode setting: in proxy mode use proxy_socket_connections")
		}
	}
}

func (v *validator) trustedEnvironments() {
	names := map[string]*TrustedEnvironment{}
	envs := map[[2]string]*TrustedEnvironment{}
	deploymentIDs := map[string]*Cluster{}
	for _, c := range v.set.Clusters {
		if c.Deployment != nil {
			deploymentIDs[c.Deployment.ID] = c
		}
	}
	for _, t := range v.set.TrustedEnvironments {
		if t.Name == "" {
			if !v.lost(t, "name") {
				v.errorf(t, "", "TrustedEnvironment has no name: add name: (the trust name shown on the deployment's Security page)")
			}
		} else if first, dup := names[t.Name]; dup {
			v.errorf(t, "name", "duplicate TrustedEnvironment name %q: also declared at %s; rename one", t.Name, v.at(first, "name"))
		} else {
			names[t.Name] = t
		}
		if cl := v.clusterRef(t, "deployment", t.Deployment, "the trusting Cluster (one with a deployment block)"); cl != nil && cl.Deployment == nil {
			v.errorf(t, "deployment", "Cluster %s has no deployment block: trusted environments are set on ECH/ECE deployments; add its deployment: block", cl.Name)
		}
		v.platform(t, "platform", t.Platform)
		if t.EnvironmentID == "" && v.lost(t, "environment_id") {
			// reported by the walk
		} else if t.EnvironmentID == "" {
			v.errorf(t, "", "%s has no environment_id: copy it from the environment's Trust parameters (ECE) or organization (ECH)", title(KindTrustedEnvironment, t.Name))
		} else if t.Deployment != "" {
			key := [2]string{t.Deployment, t.EnvironmentID}
			if first, dup := envs[key]; dup {
				v.errorf(t, "environment_id", "%s already trusts environment %s in TrustedEnvironment %s at %s: trust each environment once", t.Deployment, t.EnvironmentID, first.Name, v.at(first, "environment_id"))
			} else {
				envs[key] = t
			}
		}
		v.caFile(t, "ca_file", t.CAFile)
		switch {
		case !v.written(t, "trust") && !v.lost(t, "trust"):
			v.errorf(t, "", "%s has no trust: add trust: all, or a list of cluster IDs", title(KindTrustedEnvironment, t.Name))
		case !t.Trust.All && len(t.Trust.ClusterIDs) == 0:
			v.errorf(t, "trust", "trust is empty and would trust nothing: use trust: all or list cluster IDs")
		}
		seen := map[string]bool{}
		for i, id := range t.Trust.ClusterIDs {
			p := fmt.Sprintf("trust[%d]", i)
			switch {
			case !clusterIDPattern.MatchString(id):
				v.errorf(t, p, "%s is not an Elasticsearch cluster ID: it is 32 lowercase hex digits (the cluster's ID, not the deployment's)", quoteValue(id))
			case seen[id]:
				v.warnf(t, p, "cluster ID %s is listed twice", id)
			}
			seen[id] = true
		}
		// Deployment IDs are 32 hex too; a deployment ID in the list is the
		// classic mistake, and the only one we can see offline.
		for i, id := range t.Trust.ClusterIDs {
			if c, ok := deploymentIDs[id]; ok {
				v.errorf(t, fmt.Sprintf("trust[%d]", i), "%s is the deployment ID of Cluster %s, not a cluster ID: trust lists Elasticsearch cluster IDs", id, c.Name)
			}
		}
	}
}

// title names a document for messages: "Connection x", or just the kind
// when it has no name (that is reported on its own).
func title(kind, name string) string {
	if name == "" {
		return kind
	}
	return kind + " " + name
}

// parent returns the path one level up ("" at the top).
func parent(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}
