package doctor

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/esremote/esremote/reconcile/cloud"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/spec"
)

// Engine is what the doctor needs of the engine; *reconcile.Reconciler
// implements it. The doctor only reads through it.
type Engine interface {
	// ESClient and CloudClient return the clients of a declared Cluster
	// (its Elasticsearch and its deployment's control plane).
	ESClient(set *spec.Set, cl *spec.Cluster) (*es.Client, error)
	CloudClient(set *spec.Set, cl *spec.Cluster) (*cloud.Client, error)
	// DesiredSettings returns the flat cluster.remote.<alias>.* settings
	// the spec wants for c, the remote's endpoint resolved.
	DesiredSettings(ctx context.Context, set *spec.Set, c *spec.Connection) (map[string]string, error)
	// ManagedKeyID is the ID of the cross-cluster key the ledger records
	// for the connection ("" when none).
	ManagedKeyID(connection string) string
	// Getenv resolves secret references; Now is the clock.
	Getenv(key string) string
	Now() time.Time
	// CanaryPrivileges checks whether the credential esremote uses on c's
	// local cluster (local) may make c's evidence request: missing is
	// false with what it has as evidence, or true with what it lacks and
	// the role to add as fix.
	CanaryPrivileges(ctx context.Context, local *es.Client, c *spec.Connection) (missing bool, evidence, fix string, err error)
}

// Options configure [Run].
type Options struct {
	// Network is how the DNS, TCP and TLS probes reach the remote (zero
	// value: the real network and the system roots). The probes always
	// run: a host is never guessed to be unreachable on purpose.
	Network Network
}

// Run diagnoses the connection called name step by step (see the Step
// names for the steps and their order). It reads only: nothing is
// written, not even the ledger. The error is non-nil only when the
// diagnosis could not start (no such connection); everything the checks
// find is in the report.
func Run(ctx context.Context, r Engine, set *spec.Set, name string, opts Options) (*Report, error) {
	c := set.Connection(name)
	if c == nil {
		return nil, fmt.Errorf("no connection named %q in %s", name, set.Dir)
	}
	rep := &Report{Connection: c.Name, Local: c.Local, Alias: c.Alias, Security: string(c.Security)}
	rep.Add(Step{Name: StepSpec, Status: OK,
		Evidence: fmt.Sprintf("%d connections and %d clusters load without errors", len(set.Connections), len(set.Clusters))})

	skipRest := func(from string, why string) {
		for _, s := range stepsAfter(from, c.Security) {
			rep.Add(Step{Name: s, Status: Skipped, Evidence: why})
		}
	}
	cl := set.Cluster(c.Local)
	client, err := r.ESClient(set, cl)
	if err != nil {
		rep.Add(Step{Name: StepLocal, Status: Problem, Cause: CauseLocalUnreachable,
			Evidence: err.Error(), Fix: "make the credential of cluster " + c.Local + " readable (see its elasticsearch.auth)"})
		skipRest(StepLocal, "the local cluster cannot be asked")
		return rep, nil
	}
	info, err := client.Info(ctx)
	if err == nil && c.Security == spec.SecurityAPIKey && !info.Version.AtLeast(8, 14, 0) {
		rep.Add(Step{Name: StepLocal, Status: Problem, Cause: CauseVersion,
			Evidence: fmt.Sprintf("%s runs Elasticsearch %s; the API-key model needs 8.14 or later", c.Local, info.Version),
			Fix:      "upgrade " + c.Local + " to 8.14 or later, or use the certificate model"})
	} else if err == nil {
		rep.Add(Step{Name: StepLocal, Status: OK,
			Evidence: fmt.Sprintf("%s answers: Elasticsearch %s, cluster %s (license level not read)", c.Local, info.Version, info.ClusterName)})
	}
	var ri map[string]es.RemoteInfo
	if err == nil {
		ri, err = client.RemoteInfo(ctx)
	}
	if err != nil {
		rep.Add(Step{Name: StepLocal, Status: Problem, Cause: CauseLocalUnreachable,
			Evidence: err.Error(), Fix: localFix(c.Local, err)})
		skipRest(StepLocal, "the local cluster cannot be asked")
		return rep, nil
	}

	want, werr := r.DesiredSettings(ctx, set, c)
	ck := &Checkup{Set: set, Conn: c, Local: client, Want: want, WantErr: werr, Report: rep, Now: r.Now(),
		Getenv: r.Getenv, KeyID: r.ManagedKeyID(c.Name),
		Remote: func(ctx context.Context, rcl *spec.Cluster) (*es.Client, error) { return r.ESClient(set, rcl) },
		Deployment: func(ctx context.Context, cl *spec.Cluster) (*cloud.Deployment, error) {
			cc, err := r.CloudClient(set, cl)
			if err != nil {
				return nil, err
			}
			return cc.Deployment(ctx, cl.Deployment.ID)
		}}
	ck.Live, ck.Configured = ri[c.Alias]
	ck.Parameters()

	addr, serverName := ck.address()
	switch {
	case addr == "":
		for _, s := range []string{StepDNS, StepTCP, StepTLS} {
			rep.Add(Step{Name: s, Status: Skipped, Evidence: "no address to probe"})
		}
	default:
		n := opts.Network
		if n.Now == nil {
			n.Now = r.Now
		}
		dns := n.ProbeDNS(ctx, addr)
		rep.Add(dns)
		tcp := Step{Name: StepTCP, Status: Skipped, Evidence: "the host does not resolve"}
		if dns.Status == OK {
			tcp = n.ProbeTCP(ctx, addr)
		}
		rep.Add(tcp)
		if tcp.Status == OK {
			rep.Add(n.ProbeTLS(ctx, addr, serverName, string(c.Security)))
		} else {
			rep.Add(Step{Name: StepTLS, Status: Skipped, Evidence: "no TCP connection"})
		}
	}
	if c.Security == spec.SecurityAPIKey {
		ck.Keystore()
		ck.APIKey(ctx)
	} else {
		ck.trust(ctx)
	}
	ck.privileges(ctx, r)
	ck.remoteInfo()
	ck.resolve(ctx)
	ck.canary(ctx)
	ck.probesFromHere()
	return rep, nil
}

// probesFromHere weighs the network probes against the link's evidence.
// They run from this host, not from the local cluster's nodes: when the
// local cluster proves the link works (resolve_cluster connected), a probe
// that fails here says something about this host's network, not about the
// link, and is not the link's problem.
func (ck *Checkup) probesFromHere() {
	rc := ck.Report.Step(StepResolveCluster)
	if rc == nil || (rc.Status != OK && !reachedRemote[rc.Cause]) {
		return
	}
	for _, name := range []string{StepDNS, StepTCP, StepTLS} {
		if s := ck.Report.Step(name); s != nil && s.Status == Problem {
			s.Status, s.Cause, s.Fix = Skipped, "", ""
			s.Evidence += " (seen from this host only: the local cluster reaches the remote, see resolve_cluster)"
		}
	}
}

// stepsAfter lists the steps that follow step for a security model.
func stepsAfter(step string, sec spec.Security) []string {
	all := []string{StepLocal, StepParameters, StepDNS, StepTCP, StepTLS}
	if sec == spec.SecurityAPIKey {
		all = append(all, StepKeystore, StepAPIKey)
	} else {
		all = append(all, StepTrust)
	}
	all = append(all, StepPrivileges, StepRemoteInfo, StepResolveCluster, StepCanary)
	i := slices.Index(all, step)
	return all[i+1:]
}

func localFix(name string, err error) string {
	switch {
	case errors.Is(err, es.ErrAuth):
		return "check the credentials of cluster " + name + " (elasticsearch.auth) and that they may read cluster settings (monitor)"
	case errors.Is(err, es.ErrTLS):
		return "give the CA of cluster " + name + " in elasticsearch.ca_file"
	case errors.Is(err, es.ErrNotElasticsearch):
		return "point elasticsearch.url of cluster " + name + " at Elasticsearch itself, not a proxy or Kibana"
	}
	return "check elasticsearch.url of cluster " + name + " and that the cluster is up and reachable from this host"
}

// Checkup is one connection's checks that need the clusters; Run runs
// all of them, the engine's pass those that send no network probes
// (Parameters, Keystore, APIKey with Cached set). Each check adds its
// step to Report.
type Checkup struct {
	Set  *spec.Set
	Conn *spec.Connection
	// Local is the local cluster's client (Run's resolve and canary).
	Local *es.Client
	// Want is the flat settings the spec wants for the alias; WantErr
	// says why they cannot be computed.
	Want    map[string]string
	WantErr error
	// Live is the alias as _remote/info shows it; Configured whether it
	// is there at all.
	Live       es.RemoteInfo
	Configured bool
	// KeyID is the ledger's key ID of a managed key ("" when none).
	KeyID string
	// Getenv resolves a hand-made key's secret reference.
	Getenv func(string) string
	// Remote returns a remote Cluster's client; Deployment reads a
	// Cluster's deployment (trust). Either may be nil: the checks that
	// need them are skipped.
	Remote     func(ctx context.Context, cl *spec.Cluster) (*es.Client, error)
	Deployment func(ctx context.Context, cl *spec.Cluster) (*cloud.Deployment, error)
	Now        time.Time
	Report     *Report
	// Cached, when non-nil, is the key lookup already done by the pass
	// (empty: the key is not on the remote); APIKey then sends nothing.
	Cached []es.APIKey
}

func (ck *Checkup) add(name string, st Status, cause, evidence, fix string) {
	ck.Report.Add(Step{Name: name, Status: st, Cause: cause, Evidence: evidence, Fix: fix})
}

// address is the proxy address (or first seed) and server name the local
// cluster uses: the live ones when the alias is configured, else the
// spec's.
func (ck *Checkup) address() (addr, serverName string) {
	if ck.Configured {
		if ck.Live.Mode == "sniff" {
			if len(ck.Live.Seeds) > 0 {
				return ck.Live.Seeds[0], ""
			}
			return "", ""
		}
		return ck.Live.ProxyAddress, ck.Live.ServerName
	}
	return ck.Want[es.RemoteKey(ck.Conn.Alias, "proxy_address")], ck.Want[es.RemoteKey(ck.Conn.Alias, "server_name")]
}

// cloudRemote reports whether the remote is an ECH/ECE deployment.
func (ck *Checkup) cloudRemote(host string) bool {
	if rcl := ck.Set.Cluster(ck.Conn.Remote.Cluster); rcl != nil && rcl.Deployment != nil {
		return true
	}
	return CloudHost(host)
}

func (ck *Checkup) applyFix() string {
	return "run esremote apply " + ck.Set.Dir + ": it writes the spec's values (policy " + string(ck.Conn.Policy) + ")"
}

// Parameters checks mode, proxy address, server name and port against the
// security model and the spec.
func (ck *Checkup) Parameters() {
	const step = StepParameters
	c := ck.Conn
	if ck.WantErr != nil {
		ck.add(step, Problem, CauseNotConfigured, "the spec's remote parameters cannot be computed: "+ck.WantErr.Error(),
			"declare the remote cluster's deployment, or give remote.proxy_address and remote.server_name")
		return
	}
	if !ck.Configured {
		ck.add(step, Problem, CauseNotConfigured,
			fmt.Sprintf("alias %s is not in _remote/info of %s: it has no proxy_address or seeds", c.Alias, c.Local), ck.applyFix())
		return
	}
	addr, serverName := ck.address()
	host, port := SplitPort(addr)
	cloud := ck.cloudRemote(host)
	if ck.Live.Mode == "sniff" && cloud {
		ck.add(step, Problem, CauseSniffToCloud, "mode sniff toward an ECH/ECE deployment, which only accepts proxy mode",
			"use mode: proxy with proxy_address <endpoint>:9443 (API key) or :9400 (certificate)")
		return
	}
	sec := string(c.Security)
	if ok, ev, fix := CheckPort(sec, port, cloud); !ok {
		ev = fmt.Sprintf("proxy_address %s with security %s: %s", addr, sec, ev)
		if want := ck.want("proxy_address"); want != "" && want != addr {
			ev += "; the spec wants " + want
			fix = ck.applyFix()
		}
		ck.add(step, Problem, CauseWrongPort, ev, fix)
		return
	}
	if want := ck.want("proxy_address"); want != "" && want != addr {
		ck.add(step, Problem, CauseSettingsDrift, fmt.Sprintf("live proxy_address %s, the spec wants %s", addr, want), ck.applyFix())
		return
	}
	if want := ck.want("server_name"); want != "" && want != serverName {
		ck.add(step, Problem, CauseServerName, fmt.Sprintf("live server_name %q, the spec wants %s", serverName, want), ck.applyFix())
		return
	}
	if ck.Live.Mode == "proxy" && cloud && serverName != host {
		ck.add(step, Problem, CauseServerName,
			fmt.Sprintf("server_name %q is not the proxy host %s: the ECH/ECE proxy routes by the TLS server name", serverName, host),
			"set server_name to the deployment's endpoint, the host of proxy_address")
		return
	}
	ev := fmt.Sprintf("mode %s, proxy_address %s, server_name %s: port %d fits %s", ck.Live.Mode, addr, serverName, port, sec)
	if ck.Live.Mode == "sniff" {
		ev = fmt.Sprintf("mode sniff, seed %s: port %d fits %s", addr, port, sec)
	}
	ck.add(step, OK, "", ev, "")
}

// want is the spec's value of an alias setting suffix ("" when unset).
func (ck *Checkup) want(suffix string) string {
	return ck.Want[es.RemoteKey(ck.Conn.Alias, suffix)]
}

// Keystore checks that the local keystore holds the alias's credentials,
// as _remote/info shows them (cluster_credentials).
func (ck *Checkup) Keystore() {
	const step = StepKeystore
	c := ck.Conn
	switch {
	case !ck.Configured:
		ck.add(step, Skipped, "", "the alias is not configured", "")
	case ck.Live.HasCredentials():
		ck.add(step, OK, "", "_remote/info shows cluster_credentials for "+c.Alias+": the keystore holds cluster.remote."+c.Alias+".credentials", "")
	default:
		fix := "run esremote apply " + ck.Set.Dir + ": it writes cluster.remote." + c.Alias + ".credentials to the deployment's keystore"
		if lc := ck.Set.Cluster(c.Local); lc == nil || lc.Deployment == nil {
			fix = "on every node of " + c.Local + " run bin/elasticsearch-keystore add cluster.remote." + c.Alias + ".credentials with the encoded key, then POST /_nodes/reload_secure_settings"
		}
		ck.add(step, Problem, CauseNoCredentials,
			"_remote/info shows no cluster_credentials for "+c.Alias+": the local keystore has no cluster.remote."+c.Alias+".credentials", fix)
	}
}

// keyID finds the ID of the connection's cross-cluster key: the ledger's
// record for a managed key, the decoded credential for a hand-made one.
func (ck *Checkup) keyID() (id, why string) {
	c := ck.Conn
	if c.APIKey == nil {
		return "", "the connection has no api_key block"
	}
	if c.APIKey.Managed {
		if ck.KeyID == "" {
			return "", "the ledger has no key for " + c.Name
		}
		return ck.KeyID, ""
	}
	if c.APIKey.Credentials == nil {
		return "", "api_key.credentials names no secret"
	}
	sec, err := c.APIKey.Credentials.Resolve(ck.Getenv)
	if err != nil {
		return "", "api_key.credentials: " + err.Error()
	}
	raw, err := base64.StdEncoding.DecodeString(sec.Reveal())
	id, _, ok := strings.Cut(string(raw), ":")
	if err != nil || !ok || id == "" {
		return "", "api_key.credentials is not an encoded API key (base64 of id:key)"
	}
	return id, ""
}

func (ck *Checkup) keyFix() string {
	c := ck.Conn
	if c.APIKey != nil && c.APIKey.Managed {
		return "run esremote apply " + ck.Set.Dir + ": it creates a new key, swaps the keystore entry, verifies the link and invalidates the old key"
	}
	return "create a new key with POST /_security/cross_cluster/api_key on the remote, store its encoded value where api_key.credentials points, and run esremote apply"
}

// APIKey checks the key on the remote: it exists, is cross_cluster, is
// neither expired nor invalidated, and its access covers the role grants.
func (ck *Checkup) APIKey(ctx context.Context) {
	const step = StepAPIKey
	c := ck.Conn
	id, why := ck.keyID()
	if id == "" {
		cause := CauseKeyMissing
		fix := ck.keyFix()
		if c.APIKey != nil && !c.APIKey.Managed {
			cause, fix = CauseNoCredentials, "make api_key.credentials name the encoded cross-cluster key"
		}
		ck.add(step, Problem, cause, why, fix)
		return
	}
	rcl := ck.Set.Cluster(c.Remote.Cluster)
	if rcl == nil {
		ck.add(step, Skipped, "", "key "+id+": the remote is not a declared Cluster, so esremote cannot read its keys", "")
		return
	}
	keys := ck.Cached
	var err error
	if keys == nil && ck.Remote == nil {
		ck.add(step, Skipped, "", "key "+id+": not read in this pass", "")
		return
	}
	if keys == nil {
		var rc *es.Client
		if rc, err = ck.Remote(ctx, rcl); err == nil {
			keys, err = rc.APIKeys(ctx, es.KeyQuery{ID: id})
		}
	}
	if err != nil && !es.IsNotFound(err) {
		ck.add(step, Skipped, "", "cannot read key "+id+" on "+rcl.Name+": "+err.Error(), "")
		return
	}
	if len(keys) == 0 {
		ck.add(step, Problem, CauseKeyMissing, "key "+id+" does not exist on "+rcl.Name+" (deleted, or the keystore holds another cluster's key)", ck.keyFix())
		return
	}
	k := keys[0]
	desc := fmt.Sprintf("key %s (%s) on %s", k.ID, k.Name, rcl.Name)
	switch {
	case k.Type != "cross_cluster":
		ck.add(step, Problem, CauseWrongKeyType, desc+" has type "+k.Type+", not cross_cluster",
			"create the key with POST /_security/cross_cluster/api_key (a REST key cannot open a remote connection)")
		return
	case k.Invalidated:
		when := ""
		if !k.Invalidation.IsZero() {
			when = " on " + k.Invalidation.UTC().Format(time.DateOnly)
		}
		ck.add(step, Problem, CauseKeyInvalid, desc+" was invalidated"+when, ck.keyFix())
		return
	case k.Expired(ck.Now):
		ck.add(step, Problem, CauseKeyInvalid, desc+" expired on "+k.Expiration.UTC().Format(time.DateOnly), ck.keyFix())
		return
	}
	if k.Access != nil {
		if gap := uncovered(c, *k.Access); gap != "" {
			ck.add(step, Problem, CausePrivileges, desc+": "+gap,
				"widen api_key.access or narrow the role: a search only gets the intersection of both")
			return
		}
	}
	exp := "never expires"
	if !k.Expiration.IsZero() {
		exp = "expires " + k.Expiration.UTC().Format(time.DateOnly)
	}
	access := ""
	if k.Access != nil {
		access = ", access " + k.Access.Summary()
	}
	ck.add(step, OK, "", desc+": cross_cluster, active, "+exp+access, "")
}

// uncovered names the first role grant toward the alias that the key's
// access does not cover, or "".
func uncovered(c *spec.Connection, a es.CrossClusterAccess) string {
	var pats []string
	for _, s := range a.Search {
		pats = append(pats, s.Names...)
	}
	for _, r := range a.Replication {
		pats = append(pats, r.Names...)
	}
	for _, role := range c.Roles {
		for _, ri := range role.RemoteIndices {
			if !grantsAlias(ri.Clusters, c.Alias) {
				continue
			}
			for _, n := range ri.Names {
				if !slices.ContainsFunc(pats, func(p string) bool { return covers(p, n) }) {
					return fmt.Sprintf("role %s grants %s through %s, but the key's access only covers [%s]", role.Name, n, c.Alias, strings.Join(pats, ", "))
				}
			}
		}
	}
	return ""
}

func grantsAlias(clusters []string, alias string) bool {
	if len(clusters) == 0 {
		return true
	}
	return slices.ContainsFunc(clusters, func(p string) bool { return covers(p, alias) })
}

// covers reports whether index pattern p matches every name pattern n
// does (prefix wildcards only, as roles and keys use them).
func covers(p, n string) bool {
	if p == "*" || p == n {
		return true
	}
	if pre, ok := strings.CutSuffix(p, "*"); ok {
		return strings.HasPrefix(strings.TrimSuffix(n, "*"), pre)
	}
	return false
}

// trust checks, for the certificate model between two declared
// deployments, that each trusts the other's cluster ID.
func (ck *Checkup) trust(ctx context.Context) {
	const step = StepTrust
	c := ck.Conn
	lcl, rcl := ck.Set.Cluster(c.Local), ck.Set.Cluster(c.Remote.Cluster)
	if lcl == nil || rcl == nil || lcl.Deployment == nil || rcl.Deployment == nil {
		ck.add(step, Skipped, "", "trust is read only when both sides are declared Clusters with a deployment block", "")
		return
	}
	if ck.Deployment == nil {
		ck.add(step, Skipped, "", "the deployments are not read in this pass", "")
		return
	}
	read := func(cl *spec.Cluster) (*cloud.Deployment, *cloud.ESResource, error) {
		d, err := ck.Deployment(ctx, cl)
		if err != nil {
			return nil, nil, err
		}
		res, err := d.ES(cl.Deployment.RefID)
		return d, res, err
	}
	ld, lres, err := read(lcl)
	if err != nil {
		ck.add(step, Skipped, "", "cannot read the deployment of "+lcl.Name+": "+err.Error(), "")
		return
	}
	rd, rres, err := read(rcl)
	if err != nil {
		ck.add(step, Skipped, "", "cannot read the deployment of "+rcl.Name+": "+err.Error(), "")
		return
	}
	fix := "run esremote apply " + ck.Set.Dir + ": a certificate connection between declared deployments writes trust on both sides"
	if !trustCovers(lres.Trust, rd, rres) {
		ck.add(step, Problem, CauseTrust, fmt.Sprintf("%s does not trust cluster %s of %s (no account, external or direct trust entry covers it)", lcl.Name, rres.ClusterID, rcl.Name), fix)
		return
	}
	if !trustCovers(rres.Trust, ld, lres) {
		ck.add(step, Problem, CauseNotTrustedByRemote, fmt.Sprintf("%s does not trust cluster %s of %s back (no account, external or direct trust entry covers it)", rcl.Name, lres.ClusterID, lcl.Name), fix)
		return
	}
	ck.add(step, OK, "", fmt.Sprintf("%s trusts cluster %s and %s trusts cluster %s", lcl.Name, rres.ClusterID, rcl.Name, lres.ClusterID), "")
}

// trustCovers reports whether trust t covers cluster x of deployment d: an
// account entry of d's organization, or an external or direct entry, that
// trusts all or lists x's cluster ID. (Environment IDs of ECE are not on
// the deployment, so direct and external entries are matched by cluster
// ID or trust_all alone.)
func trustCovers(t cloud.Trust, d *cloud.Deployment, x *cloud.ESResource) bool {
	covered := func(all bool, list []string) bool { return all || slices.Contains(list, x.ClusterID) }
	org := d.OrganizationID
	if org == "" {
		org = x.OrganizationID
	}
	for _, a := range t.Accounts {
		if (org == "" || a.AccountID == org) && covered(a.TrustAll, a.TrustAllowlist) {
			return true
		}
	}
	for _, e := range t.External {
		if covered(e.TrustAll, e.TrustAllowlist) {
			return true
		}
	}
	for _, e := range t.Direct {
		if covered(e.TrustAll, e.TrustAllowlist) {
			return true
		}
	}
	return false
}

// remoteInfo reports what _remote/info says of the alias.
func (ck *Checkup) remoteInfo() {
	const step = StepRemoteInfo
	switch {
	case !ck.Configured:
		ck.add(step, Skipped, "", "the alias is not configured", "")
	case ck.Live.Connected && ck.Live.Mode == "sniff":
		ck.add(step, OK, "", fmt.Sprintf("connected, %d of %d nodes (socket state: says nothing of the credential; see resolve_cluster)", ck.Live.NumNodesConnected, ck.Live.MaxConnectionsPerCluster), "")
	case ck.Live.Connected:
		ck.add(step, OK, "", fmt.Sprintf("connected, %d of %d proxy sockets (socket state: says nothing of the credential; see resolve_cluster)", ck.Live.NumProxySocketsConnected, ck.Live.MaxProxySocketConnections), "")
	default:
		fix := "no step above explains it: the steps below and the local cluster's log (RemoteClusterService lines about " +
			ck.Conn.Alias + ") say why; Elasticsearch retries the connection by itself"
		if first := ck.firstProblem(); first != "" {
			fix = "fix the " + first + " problem above first; Elasticsearch retries the connection by itself"
		}
		ck.add(step, Problem, CauseDisconnected, "connected: false (a successful settings update proves nothing)", fix)
	}
}

// firstProblem names the first step reported so far that found a
// problem, or "".
func (ck *Checkup) firstProblem() string {
	for _, s := range ck.Report.Steps {
		if s.Status == Problem {
			return s.Name
		}
	}
	return ""
}

// resolve asks _resolve/cluster, which contacts the remote, and maps the
// error it reports to a known cause.
func (ck *Checkup) resolve(ctx context.Context) {
	const step = StepResolveCluster
	alias := ck.Conn.Alias
	if !ck.Configured {
		ck.add(step, Skipped, "", "the alias is not configured", "")
		return
	}
	m, err := ck.Local.ResolveCluster(ctx, alias+":*")
	if errors.Is(err, es.ErrUnsupported) {
		ck.add(step, Skipped, "", "the local cluster has no _resolve/cluster (needs 8.13+)", "")
		return
	}
	text := ""
	rc, ok := m[alias]
	switch {
	case err != nil:
		text = err.Error()
	case !ok:
		text = "_resolve/cluster does not list " + alias
	case rc.Connected:
		ev := "connected"
		if rc.Version != nil {
			ev += ", remote runs " + rc.Version.Number
		}
		if rc.MatchingIndices != nil {
			ev += fmt.Sprintf(", matching indices: %t", *rc.MatchingIndices)
		}
		ck.add(step, OK, "", ev, "")
		return
	case rc.Error != "":
		text = rc.Error
	default:
		// No error: the local cluster found the remote unavailable
		// (TransportResolveClusterAction reports no error for
		// ExceptionsHelper.isRemoteUnavailableException). The cause is in
		// the network probes, or in the local cluster's log.
		ck.unavailable(step, "the local cluster reports "+alias+" unavailable (connected: false, no error)")
		return
	}
	ck.addMatched(step, text)
}

// unavailable adds a problem for a remote the local cluster found
// unavailable without an error body: the cause is an earlier check's
// problem, else a failed probe, else the path from the nodes.
func (ck *Checkup) unavailable(step, text string) {
	if p := ck.firstCheckProblem(); p != nil {
		ck.add(step, Problem, p.Cause, text+"; it follows from the "+p.Name+" problem above", "fix the "+p.Name+" problem first")
		return
	}
	if p := ck.firstProbeProblem(); p != nil {
		ck.add(step, Problem, p.Cause, text+"; the "+p.Name+" probe from this host failed too: "+p.Evidence, p.Fix)
		return
	}
	ck.add(step, Problem, CauseUnreachable, text+"; DNS, TCP and TLS from this host pass, so look at the path from the local cluster's nodes",
		"read the local cluster's log for ProxyConnectionStrategy or RemoteClusterService lines about "+ck.Conn.Alias+", and check traffic filters between the clusters")
}

// reachedRemote are the causes whose error body the remote itself wrote
// (its security refused the request): the transport got there.
var reachedRemote = map[string]bool{CauseKeyInvalid: true, CauseWrongKeyType: true, CausePrivileges: true}

// firstCheckProblem is the first problem a check of the clusters found
// (parameters, keystore, key, trust), not a probe or remote_info.
func (ck *Checkup) firstCheckProblem() *Step {
	for i := range ck.Report.Steps {
		s := &ck.Report.Steps[i]
		switch s.Name {
		case StepDNS, StepTCP, StepTLS, StepRemoteInfo:
			continue
		}
		if s.Status == Problem {
			return s
		}
	}
	return nil
}

// firstProbeProblem is the first network probe that found a problem.
func (ck *Checkup) firstProbeProblem() *Step {
	for _, name := range []string{StepDNS, StepTCP, StepTLS} {
		if s := ck.Report.Step(name); s != nil && s.Status == Problem {
			return s
		}
	}
	return nil
}

// addMatched adds a problem whose cause comes from a known error string.
func (ck *Checkup) addMatched(step, text string) {
	if k, ok := Match(text); ok {
		ck.add(step, Problem, k.Cause, text+" ("+k.Meaning+")", k.Fix)
		return
	}
	ck.add(step, Problem, CauseDisconnected, text,
		"read the local cluster's log for ProxyConnectionStrategy or RemoteClusterService lines about "+ck.Conn.Alias)
}

// canary runs a size-0 search through the alias when a role of the
// connection grants reading there.
func (ck *Checkup) canary(ctx context.Context) {
	const step = StepCanary
	pattern := ""
	for _, role := range ck.Conn.Roles {
		for _, ri := range role.RemoteIndices {
			if grantsAlias(ri.Clusters, ck.Conn.Alias) && len(ri.Names) > 0 &&
				slices.ContainsFunc(ri.Privileges, func(p string) bool { return p == "read" || p == "all" }) && pattern == "" {
				pattern = ri.Names[0]
			}
		}
	}
	if pattern == "" {
		ck.add(step, Skipped, "", "no role of the connection grants read through the alias", "")
		return
	}
	if !ck.Configured {
		ck.add(step, Skipped, "", "the alias is not configured", "")
		return
	}
	index := ck.Conn.Alias + ":" + pattern
	res, err := ck.Local.Search(ctx, index, nil)
	if err != nil && strings.Contains(err.Error(), "action [indices:data/read/search] is unauthorized for ") {
		// The local cluster's own refusal (RBACEngine: no local index
		// privilege grants the search): the connection's roles are for
		// other users, esremote's credential need not search.
		ck.add(step, Skipped, "", "esremote's credential on "+ck.Conn.Local+" may not search "+index+" itself: "+err.Error(), "")
		return
	}
	if err != nil {
		ck.addMatched(step, err.Error())
		return
	}
	if res.Clusters != nil && (res.Clusters.Skipped > 0 || res.Clusters.Failed > 0) {
		text := fmt.Sprintf("search %s (size 0): %d of %d clusters skipped or failed", index, res.Clusters.Skipped+res.Clusters.Failed, res.Clusters.Total)
		for _, f := range res.Shards.Failures {
			ck.addMatched(step, text+": "+f.Reason.Reason)
			return
		}
		ck.unavailable(step, text+" (skip_unavailable, no error)")
		return
	}
	ck.add(step, OK, "", fmt.Sprintf("search %s (size 0): %d hits, %d shards", index, res.Hits.Total.Value, res.Shards.Total), "")
}

// privileges checks the local credential's own privileges for the link's
// evidence request (DESIGN §5: the request is authorized on the local
// cluster before it leaves). The engine reads and decides; a read that
// fails (an API key with role descriptors of its own cannot list its
// privileges) leaves the step skipped: the resolve_cluster step still
// shows a refusal.
func (ck *Checkup) privileges(ctx context.Context, r Engine) {
	const step = StepPrivileges
	if ck.Conn.Security != spec.SecurityAPIKey {
		ck.add(step, Skipped, "", "the certificate model: the local cluster sends the request without checking remote_indices; the remote checks the user's roles by name", "")
		return
	}
	missing, evidence, fix, err := r.CanaryPrivileges(ctx, ck.Local, ck.Conn)
	switch {
	case err != nil:
		ck.add(step, Skipped, "", "GET /_security/user/_privileges: "+err.Error(), "")
	case missing:
		ck.add(step, Problem, CauseCanaryPrivileges, evidence, fix)
	default:
		ck.add(step, OK, "", evidence, "")
	}
}
