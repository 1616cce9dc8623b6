// Package importer brings hand-made remote-cluster aliases under
// esremote's management (`esremote import`): it reads a local cluster's
// live aliases and writes one Connection spec per alias such that an
// immediate plan finds nothing to change, and records each alias in the
// ownership ledger.
//
// It uses only the engine's exported API (reconcile.Reconciler's clients,
// endpoint resolution, Desire, Normalize and its Ledger).
package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/statedir"
	"github.com/esremote/esremote/spec"
)

// Dir is where Import writes, under the spec directory: one file
// per alias at imported/<local cluster>/<alias>.yaml. Keeping imports in
// their own tree makes them easy to review, move or split by team later.
const Dir = "imported"

// Import statuses of one alias.
const (
	Created   = "created"   // a new file was written
	Updated   = "updated"   // a differing file was overwritten (--force)
	Unchanged = "unchanged" // the file already says exactly what import would write
	Differs   = "differs"   // the file says something else: left alone
	Skipped   = "skipped"   // another spec already declares the alias
)

// Options say what Import brings under management.
type Options struct {
	// Cluster is the declared local Cluster whose aliases are imported.
	Cluster string
	// Aliases restricts the import to these aliases (all when empty).
	Aliases []string
	// DryRun computes everything and writes nothing: no file, no ledger.
	DryRun bool
	// Force overwrites an earlier import's file that no longer says what
	// import would write.
	Force bool
}

// Result is what Import did, alias by alias.
type Result struct {
	Cluster string
	Aliases []*Alias
	// Credentials are the secrets the operator must supply before the
	// first apply: hand-made API keys cannot be read back.
	Credentials []Credential
	// Recorded counts the aliases recorded in the ledger as owned.
	Recorded int
}

// Alias is one alias of the local cluster and what became of it.
type Alias struct {
	Alias      string
	Connection string
	// Path is the spec file, relative to the spec directory.
	Path     string
	Status   string
	Mode     spec.Mode
	Security spec.Security
	// Remote is how the file names the other end: a declared Cluster, a
	// proxy address or the seeds.
	Remote string
	// Notes explain what plan will still show or what needs the operator.
	Notes []string
	// Content is the file as import renders it.
	Content []byte

	recorded   bool // the ledger holds the alias
	inKeystore bool // the local keystore holds its credentials entry
}

// Credential is a secret an imported spec names.
type Credential struct {
	Name  string // the systemd credential name
	Alias string
	// Setting is the keystore setting the secret belongs in.
	Setting string
	// Present is true when the credential already resolves.
	Present bool
}

// Import reads the live remote-cluster settings of the declared local
// Cluster opts.Cluster and writes one Connection spec per alias under
// set.Dir/imported/<cluster>/<alias>.yaml, such that an immediate plan
// finds nothing to change. Each imported alias is recorded in the ledger
// as owned, with the fingerprint of its live values: removing the file
// later deletes the alias, and a live change shows as external drift.
//
// Import only reads the clusters and control planes (GET
// /_cluster/settings, GET /_remote/info, the deployments' endpoints and
// the local keystore's entry names). It is idempotent: an alias whose file
// already says the same is unchanged, a file that differs is left alone
// (unless opts.Force), and an alias another spec declares is skipped.
func Import(ctx context.Context, r *reconcile.Reconciler, set *spec.Set, opts Options) (*Result, error) {
	cl := set.Cluster(opts.Cluster)
	if cl == nil {
		var names []string
		for _, c := range set.Clusters {
			names = append(names, c.Name)
		}
		return nil, fmt.Errorf("cluster %q is not declared in %s (declared: %s)", opts.Cluster, set.Dir, strings.Join(names, ", "))
	}
	client, err := r.ESClient(set, cl)
	if err != nil {
		return nil, err
	}
	st, err := client.Settings(ctx)
	if err != nil {
		return nil, err
	}
	info, err := client.RemoteInfo(ctx)
	if err != nil {
		return nil, err
	}
	keystore := map[string]bool{}
	if cl.Deployment != nil {
		cc, err := r.CloudClient(set, cl)
		if err != nil {
			return nil, err
		}
		ks, err := cc.Keystore(ctx, cl.Deployment.ID, cl.Deployment.RefID)
		if err != nil {
			return nil, fmt.Errorf("read keystore of %s: %w", cl.Name, err)
		}
		for k := range ks {
			keystore[k] = true
		}
	}

	persistent, transient := liveAliases(st.Persistent), liveAliases(st.Transient)
	aliases := sortedKeys(persistent)
	for _, a := range sortedKeys(transient) {
		if _, ok := persistent[a]; !ok {
			aliases = append(aliases, a)
		}
	}
	slices.Sort(aliases)
	if len(opts.Aliases) > 0 {
		for _, a := range opts.Aliases {
			if !slices.Contains(aliases, a) {
				return nil, fmt.Errorf("cluster %s has no remote cluster alias %q (it has: %s)", cl.Name, a, strings.Join(aliases, ", "))
			}
		}
		aliases = slices.DeleteFunc(aliases, func(a string) bool { return !slices.Contains(opts.Aliases, a) })
	}

	im := &importer{r: r, set: set, local: cl, now: r.Options().Now(), endpoints: clusterEndpoints(ctx, r, set, cl.Name)}
	res := &Result{Cluster: cl.Name}
	wrote := false
	for _, alias := range aliases {
		ia, err := im.alias(alias, persistent[alias], transient[alias], info[alias], keystore[reconcile.CredentialsKey(alias)], opts)
		if err != nil {
			return nil, err
		}
		res.Aliases = append(res.Aliases, ia)
		if ia.Security == spec.SecurityAPIKey && ia.Status != Skipped {
			name := credentialName(cl.Name, alias)
			_, rerr := (&spec.SecretRef{Credential: name}).Resolve(r.Options().Getenv)
			res.Credentials = append(res.Credentials, Credential{Name: name, Alias: alias,
				Setting: reconcile.CredentialsKey(alias), Present: rerr == nil})
		}
		if ia.recorded {
			res.Recorded++
		}
		if ia.Status == Created || ia.Status == Updated {
			wrote = true
		}
	}
	if !opts.DryRun && wrote {
		// The files must load as written: a failure here is a bug in
		// import, and the operator must not apply what it wrote.
		if _, problems, err := spec.Load(set.Dir); err != nil {
			return res, fmt.Errorf("the imported specs do not load (please report this): %v", problems.Errors())
		}
	}
	return res, nil
}

// credentialName is the systemd credential an imported hand-made key is
// read from: <local>-<alias>-ccs (cross-cluster secret).
func credentialName(local, alias string) string { return local + "-" + alias + "-ccs" }

// liveAlias is one alias's keys as GET /_cluster/settings returns them.
type liveAlias map[string]es.Value // by suffix

// liveAliases groups flat cluster.remote.<alias>.* keys by alias.
func liveAliases(flat map[string]es.Value) map[string]liveAlias {
	out := map[string]liveAlias{}
	for k, v := range flat {
		alias, suffix, ok := es.SplitRemoteKey(k)
		// cluster.remote.node.attr is a node-level setting, not an alias.
		if !ok || (alias == "node" && suffix == "attr") || v.IsNull() {
			continue
		}
		if out[alias] == nil {
			out[alias] = liveAlias{}
		}
		out[alias][suffix] = v
	}
	return out
}

// clusterEndpoints resolves the endpoint of every declared Cluster but
// the local one, to recognise a remote by its address. A cluster whose
// endpoint cannot be read is left out.
func clusterEndpoints(ctx context.Context, r *reconcile.Reconciler, set *spec.Set, local string) map[string]reconcile.Endpoint {
	out := map[string]reconcile.Endpoint{}
	for _, cl := range set.Clusters {
		if cl.Name == local {
			continue
		}
		if cl.Deployment == nil {
			out[cl.Name] = reconcile.EndpointOf(cl)
			continue
		}
		ep, err := r.DeploymentEndpoint(ctx, set, cl)
		if err != nil {
			r.Options().Logger.Warn("import: endpoint unknown", "target", cl.Name, "err", err)
			continue
		}
		out[cl.Name] = ep
	}
	return out
}

type importer struct {
	r         *reconcile.Reconciler
	set       *spec.Set
	local     *spec.Cluster
	now       time.Time
	endpoints map[string]reconcile.Endpoint
}

// alias imports one alias: it builds the Connection, renders its file,
// writes it and records the ledger, as opts allow.
func (im *importer) alias(alias string, live, trans liveAlias, info es.RemoteInfo, inKeystore bool, opts Options) (*Alias, error) {
	local := im.local.Name
	rel := filepath.ToSlash(filepath.Join(Dir, local, alias+".yaml"))
	ia := &Alias{Alias: alias, Path: rel}

	// An alias another spec already declares is that spec's business.
	for _, c := range im.set.ConnectionsFrom(local) {
		if c.Alias == alias && c.Pos.File != rel {
			ia.Status, ia.Connection = Skipped, c.Name
			ia.Notes = append(ia.Notes, fmt.Sprintf("already declared by connection %s at %s", c.Name, c.Pos))
			return ia, nil
		}
	}

	// The effective values: transient overrides persistent (es-api.md §3.1).
	eff := liveAlias{}
	for k, v := range live {
		eff[k] = v
	}
	for k, v := range trans {
		eff[k] = v
	}
	if len(trans) > 0 {
		ia.Notes = append(ia.Notes, fmt.Sprintf("has transient settings (%s): imported as their effective values; the first apply makes them persistent", strings.Join(sortedKeys(trans), ", ")))
	}

	c, doc := im.connection(alias, eff, info, inKeystore, ia)
	ia.Connection, ia.Mode, ia.Security = c.Name, c.Settings.Mode, c.Security
	if other := im.set.Connection(c.Name); other != nil && other.Pos.File != rel {
		return nil, fmt.Errorf("alias %s: the connection name %s is already used at %s: rename that connection or import with --alias to pick other aliases", alias, c.Name, other.Pos)
	}
	ia.Content = doc

	// What would plan still show? Desire from the spec against the live keys.
	ep := im.endpoints[c.Remote.Cluster]
	if d, err := reconcile.Desire(c, ep); err != nil {
		ia.Notes = append(ia.Notes, "plan cannot compute this connection: "+err.Error())
	} else {
		for _, k := range d.Keys() {
			_, suffix, _ := es.SplitRemoteKey(k)
			have, ok := live[suffix]
			switch {
			case !ok:
				ia.Notes = append(ia.Notes, fmt.Sprintf("%s is not set on the cluster; the first apply sets it to %s", suffix, d.Settings[k]))
			case es.Normalize(suffix, have.String()) != es.Normalize(suffix, d.Settings[k]):
				ia.Notes = append(ia.Notes, fmt.Sprintf("%s: the first apply changes %s to %s", suffix, have, d.Settings[k]))
			}
		}
	}
	if c.Security == spec.SecurityCertificate && c.Remote.Cluster != "" && im.local.Deployment != nil {
		if rc := im.set.Cluster(c.Remote.Cluster); rc != nil && rc.Deployment != nil {
			ia.Notes = append(ia.Notes, "a certificate link between two declared deployments: esremote manages the trust on both sides; plan shows any trust it would add")
		}
	}

	path := filepath.Join(im.set.Dir, filepath.FromSlash(rel))
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		ia.Status = Created
	case err != nil:
		return nil, fmt.Errorf("alias %s: %w", alias, err)
	case bytes.Equal(undated(old), undated(doc)):
		ia.Status = Unchanged
	case opts.Force:
		ia.Status = Updated
	default:
		ia.Status = Differs
		ia.Notes = append(ia.Notes, "the file no longer says what the cluster holds (edited, or the cluster changed): left alone; --force overwrites it")
		return ia, nil
	}
	if opts.DryRun {
		return ia, nil
	}
	if ia.Status != Unchanged {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("alias %s: %w", alias, err)
		}
		if err := statedir.WriteFileAtomic(path, doc, 0o644); err != nil {
			return nil, fmt.Errorf("alias %s: write %s: %w", alias, rel, err)
		}
	}
	return ia, im.record(ia, c, live)
}

// record writes the ledger for an imported alias: the live persistent
// values as if esremote had written them, and for a hand-made key whose
// credential the operator already supplied, the keystore entry.
func (im *importer) record(ia *Alias, c *spec.Connection, live liveAlias) error {
	led := im.r.Ledger()
	local := im.local.Name
	fps := map[string]string{}
	for suffix, v := range live {
		fps[es.RemoteKey(ia.Alias, suffix)] = reconcile.Fingerprint(es.Normalize(suffix, v.String()))
	}
	if len(fps) > 0 {
		rec := led.Alias(local, ia.Alias)
		if ia.Status != Unchanged || rec == nil || rec.Connection != c.Name {
			if err := led.SetAlias(local, ia.Alias, c.Name, fps, false, im.now); err != nil {
				return err
			}
		}
		ia.recorded = true
	}
	if c.Security == spec.SecurityAPIKey && im.local.Deployment != nil && ia.inKeystore {
		sec, err := c.APIKey.Credentials.Resolve(im.r.Options().Getenv)
		if err != nil {
			// Not supplied yet: the first plan shows the keystore write
			// that delivers it, which is what the operator should see.
			return nil
		}
		key := reconcile.CredentialsKey(ia.Alias)
		if rec := led.Keystore(local, key); rec == nil || rec.Fingerprint != sec.Fingerprint() {
			return led.SetKeystore(local, key, &reconcile.Record{Fingerprint: sec.Fingerprint(), Connection: c.Name, WrittenAt: im.now.UTC()})
		}
	}
	return nil
}

// connection builds the Connection of an alias from its live values and
// renders it as a person would write it, each value's origin in a comment.
func (im *importer) connection(alias string, eff liveAlias, info es.RemoteInfo, inKeystore bool, ia *Alias) (*spec.Connection, []byte) {
	local := im.local.Name
	c := &spec.Connection{APIVersion: spec.APIVersion, Kind: spec.KindConnection,
		Name: local + "-to-" + alias, Local: local, Alias: alias, Policy: spec.PolicyEnforce}
	str := func(suffix string) string {
		if v, ok := eff[suffix]; ok {
			return v.Str()
		}
		return ""
	}
	var ignore []string
	handled := map[string]bool{}
	use := func(suffix string) { handled[suffix] = true }

	// Mode: an alias without one is sniff when it has seeds (ES default).
	mode := spec.Mode(strings.ToLower(str("mode")))
	use("mode")
	if mode == "" {
		mode = spec.ModeSniff
		if _, ok := eff["proxy_address"]; ok {
			mode = spec.ModeProxy
		}
	}
	c.Settings.Mode = mode

	// Security: cluster_credentials in _remote/info, or the keystore entry.
	secSource := ""
	switch {
	case info.HasCredentials():
		c.Security, secSource = spec.SecurityAPIKey, "GET /_remote/info reports cluster_credentials for "+alias
	case inKeystore:
		c.Security, secSource = spec.SecurityAPIKey, "the keystore of "+local+" holds "+reconcile.CredentialsKey(alias)
	default:
		c.Security, secSource = spec.SecurityCertificate, "GET /_remote/info reports no cluster_credentials for "+alias+": the TLS certificate model"
	}
	ia.inKeystore = inKeystore
	if c.Security == spec.SecurityAPIKey {
		c.APIKey = &spec.APIKey{Managed: false, Credentials: &spec.SecretRef{Credential: credentialName(local, alias)}}
	}

	// The other end.
	remoteNote := ""
	switch mode {
	case spec.ModeProxy:
		use("proxy_address")
		use("server_name")
		addr, name := str("proxy_address"), str("server_name")
		host, port, _ := net.SplitHostPort(addr)
		wantPort := strconv.Itoa(spec.ProxyPort(c.Security))
		if match := im.match(host); match != "" {
			c.Remote.Cluster = match
			rc := im.set.Cluster(match)
			ep := im.endpoints[match]
			if rc.Deployment != nil && port == wantPort && name == ep.ServerName {
				remoteNote = fmt.Sprintf("proxy_address and server_name are the endpoint of deployment %s\n(metadata.endpoint %s)", match, ep.Host)
			} else {
				c.Remote.ProxyAddress, c.Remote.ServerName = addr, name
				remoteNote = fmt.Sprintf("the host of proxy_address is the endpoint of Cluster %s", match)
			}
		} else {
			c.Remote.ProxyAddress, c.Remote.ServerName = addr, name
			remoteNote = "no declared Cluster has the endpoint " + host + ": the parameters as set"
		}
		ia.Remote = addr
		if c.Remote.Cluster != "" {
			ia.Remote = c.Remote.Cluster
		}
		if v, ok := eff["proxy_socket_connections"]; ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v.Str())); err == nil && n >= 1 {
				c.Settings.ProxySocketConnections = &n
				use("proxy_socket_connections")
			}
		}
	case spec.ModeSniff:
		use("seeds")
		if v, ok := eff["seeds"]; ok {
			seeds := v.Items()
			if !v.IsList() {
				seeds = strings.Split(strings.Trim(v.Str(), "[]"), ",")
			}
			for _, s := range seeds {
				if s = strings.Trim(strings.TrimSpace(s), `"`); s != "" {
					c.Remote.Seeds = append(c.Remote.Seeds, s)
				}
			}
		}
		remoteNote = "sniff mode: the transport addresses of some remote nodes"
		ia.Remote = strings.Join(c.Remote.Seeds, ",")
		if v, ok := eff["node_connections"]; ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v.Str())); err == nil && n >= 1 {
				c.Settings.NodeConnections = &n
				use("node_connections")
			}
		}
	}

	if v, ok := eff["skip_unavailable"]; ok {
		if b, err := strconv.ParseBool(strings.ToLower(strings.TrimSpace(v.Str()))); err == nil {
			c.Settings.SkipUnavailable = &b
			use("skip_unavailable")
		}
	}
	if v, ok := eff["transport.compress"]; ok {
		switch s := strings.ToLower(strings.TrimSpace(v.Str())); s {
		case "true", "false", "indexing_data":
			c.Settings.Compress = s
			use("transport.compress")
		}
	}
	if v, ok := eff["transport.compression_scheme"]; ok {
		switch s := strings.ToLower(strings.TrimSpace(v.Str())); s {
		case "deflate", "lz4":
			c.Settings.CompressionScheme = s
			use("transport.compression_scheme")
		}
	}
	if v, ok := eff["transport.ping_schedule"]; ok {
		if d, ok := es.ParseTimeValue(v.Str()); ok && d > 0 {
			if sd, err := spec.ParseDuration(es.FormatTimeValue(d)); err == nil {
				c.Settings.PingSchedule = &sd
				use("transport.ping_schedule")
			}
		}
	}
	for _, suffix := range sortedKeys(eff) {
		switch {
		case handled[suffix]:
		case strings.HasPrefix(suffix, "cluster.remote."):
			// Not a key ignore can name (validate refuses it); plan
			// shows it deleted, which the operator should see.
			ia.Notes = append(ia.Notes, fmt.Sprintf("%s cannot be expressed or ignored in a spec: the first apply removes it", suffix))
		default:
			ignore = append(ignore, suffix)
		}
	}
	c.Ignore = ignore
	if len(ignore) > 0 {
		ia.Notes = append(ia.Notes, fmt.Sprintf("kept out of the spec (listed under ignore, left as they are): %s", strings.Join(ignore, ", ")))
	}
	return c, im.render(c, secSource, remoteNote, eff)
}

// match returns the declared Cluster whose endpoint host is host, or ""
// when none or more than one has it.
func (im *importer) match(host string) string {
	if host == "" {
		return ""
	}
	found := ""
	for _, name := range sortedKeys(im.endpoints) {
		if strings.EqualFold(im.endpoints[name].Host, host) {
			if found != "" {
				return ""
			}
			found = name
		}
	}
	return found
}

// importHeader starts the first line of every imported file; it carries
// the date, so comparisons with an earlier import skip it (undated).
const importHeader = "# Imported by esremote import from "

// undated drops the dated header line for comparing two imports.
func undated(b []byte) []byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(l, []byte(importHeader)) {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

// render writes a Connection as YAML a person would write, with comments
// saying where each value came from. Values are quoted where YAML could
// read them as something else.
func (im *importer) render(c *spec.Connection, secSource, remoteNote string, eff liveAlias) []byte {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	local := c.Local
	day := im.now.UTC().Format(time.DateOnly)
	w("%s%s on %s.\n", importHeader, local, day)
	w("# Nothing was written to the cluster. Values come from GET /_cluster/settings\n")
	w("# and GET /_remote/info on %s; edit this file like any other spec.\n", local)
	w("apiVersion: %s\nkind: %s\n", spec.APIVersion, spec.KindConnection)
	w("name: %s\nlocal: %s\nalias: %s\n", c.Name, local, c.Alias)
	w("remote:\n")
	for _, l := range strings.Split(remoteNote, "\n") {
		w("  # %s\n", l)
	}
	if c.Remote.Cluster != "" {
		w("  cluster: %s\n", c.Remote.Cluster)
	}
	if c.Remote.ProxyAddress != "" {
		w("  proxy_address: %s  # cluster.remote.%s.proxy_address\n", quote(c.Remote.ProxyAddress), c.Alias)
	}
	if c.Remote.ServerName != "" {
		w("  server_name: %s  # cluster.remote.%s.server_name\n", quote(c.Remote.ServerName), c.Alias)
	}
	if len(c.Remote.Seeds) > 0 {
		var qs []string
		for _, s := range c.Remote.Seeds {
			qs = append(qs, strconv.Quote(s))
		}
		w("  seeds: [%s]  # cluster.remote.%s.seeds\n", strings.Join(qs, ", "), c.Alias)
	}
	w("# %s\n", secSource)
	w("security: %s\n", c.Security)
	if c.APIKey != nil {
		w("api_key:\n")
		w("  # A key made by hand cannot be read back: supply the encoded key as the\n")
		w("  # systemd credential below before the first apply (see docs/operations.md).\n")
		w("  managed: false\n")
		w("  credentials: {credential: %s}\n", c.APIKey.Credentials.Credential)
	}
	w("settings:  # from GET /_cluster/settings on %s, %s\n", local, day)
	s := c.Settings
	w("  mode: %s\n", s.Mode)
	if _, ok := eff["mode"]; !ok {
		b.WriteString("  # (the cluster sets no mode: this is Elasticsearch's default)\n")
	}
	if s.SkipUnavailable != nil {
		w("  skip_unavailable: %t\n", *s.SkipUnavailable)
	}
	if s.ProxySocketConnections != nil {
		w("  proxy_socket_connections: %d\n", *s.ProxySocketConnections)
	}
	if s.NodeConnections != nil {
		w("  node_connections: %d\n", *s.NodeConnections)
	}
	if s.Compress != "" {
		w("  compress: %s  # transport.compress\n", quote(s.Compress))
	}
	if s.CompressionScheme != "" {
		w("  compression_scheme: %s  # transport.compression_scheme\n", s.CompressionScheme)
	}
	if s.PingSchedule != nil {
		w("  ping_schedule: %s  # transport.ping_schedule\n", s.PingSchedule)
	}
	w("policy: %s\n", c.Policy)
	if len(c.Ignore) > 0 {
		w("# Settings a Connection cannot express, left as they are on the cluster:\n")
		w("ignore: [%s]\n", strings.Join(c.Ignore, ", "))
	}
	return []byte(b.String())
}

// quote double-quotes a scalar that YAML would not read back as the same
// string (booleans, numbers, anything with YAML syntax in it).
func quote(s string) string {
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "~", "":
		return strconv.Quote(s)
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return strconv.Quote(s)
	}
	if strings.Contains(s, ": ") || strings.Contains(s, " #") || strings.HasSuffix(s, ":") ||
		strings.ContainsAny(s[:1], "-?:,[]{}#&*!|>'\"%@`") || strings.ContainsAny(s, "\"\\\n\t") || strings.TrimSpace(s) != s {
		return strconv.Quote(s)
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
