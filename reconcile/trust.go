package reconcile

// The certificate security model: trust on both deployments of a link,
// kept without clobbering what others set (DESIGN §3, §5; cloud-api.md
// §2–§4, §7, §10.1).
//
// What is desired. A TrustedEnvironment asks its deployment D to trust an
// environment (an ECE environment ID or an ECH organization ID). A
// certificate Connection between two declared deployments L and R asks L
// to trust R's environment and R to trust L's, each restricted to an
// allowlist holding the other side's Elasticsearch cluster ID. The entry
// that carries such trust depends on who trusts whom:
//
//	ECH trusting ECE  direct {type: ECE, scope_id: environment ID, the environment CA}
//	ECE trusting ECH  direct {type: ESS, scope_id: organization ID, every CA the ECH
//	                  certificate-authority endpoint lists}
//	ECH trusting ECH  accounts {account_id: organization ID}
//	ECE trusting ECE  external {trust_relationship_id of the platform trust relationship
//	                  whose installation_id is the environment}; nothing within one
//	                  environment (the account trust covers it)
//
// Every source that wants the same entry (same deployment, same identity,
// e.g. "direct ECE 1053523734") is merged into it: the allowlists are
// joined, trust_all wins, the CAs are joined, a TrustedEnvironment's name
// wins over the generated one. CA and IDs come from the APIs when a
// Cluster of that environment is declared (ECE trust-relationships
// filter=local, ECH organization and certificate authority), else from the
// TrustedEnvironment's environment_id and ca_file.
//
// Ownership. The ledger records, per deployment ID and entry identity, a
// fingerprint of the entry esremote wrote. esremote changes only entries
// it owns or wants: an entry it wants that exists but that it does not own
// (made by hand, the default account trust) is never touched; if it does
// not already grant what is wanted, a trust_not_owned finding says so. An
// owned entry no spec wants any more is removed only while its live value
// still matches the fingerprint; otherwise it is reported unmanaged
// ("foreign"). Every other entry goes back byte-for-byte (cloud.UpdateTrust).
// Live entries esremote neither owns nor wants are not listed as
// unmanaged: every deployment has the default account trust, and listing
// it in every report would be noise.
//
// Policy. A Connection's policy governs the trust it implies: report never
// writes, disabled implies nothing. TrustedEnvironment trust is enforced
// unless every certificate connection whose local is its deployment is
// report or disabled (no such connection: enforced). An entry is written
// when one of its sources is enforced; what report-only sources contribute
// is then kept as live, never added or removed.
//
// Reporting. Changes and findings are attached to the connections they
// concern: the connections that imply the entry, and for entries a
// TrustedEnvironment implies, every certificate connection whose local is
// that deployment. What concerns no connection (TrustedEnvironment trust
// on a deployment that is no certificate connection's local, removals of
// entries whose connection left the specs, foreign entries) is kept in
// trustPlan.detached: it is applied all the same, logged, and returned by
// passState.trustDetached for the report's pass-level items.
//
// Concurrency. planTrust and applyTrust run before the per-cluster
// goroutines; attachTrust only reads the trustPlan. Writes go one
// deployment at a time, locals of certificate connections first. A 409
// (someone changed the deployment between GET and PUT) re-reads, re-diffs
// and retries up to trustWriteAttempts times; a plan in progress is
// reported and retried on the next pass.

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/cloud"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/spec"
)

// Finding codes of the certificate model.
const (
	CodeCAExpiresSoon  = "ca_expires_soon"
	CodeTrustOneSided  = "trust_one_sided"
	CodeTrustNotOwned  = "trust_not_owned"
	CodeTrustPending   = "trust_plan_pending"
	CodeTrustUnplanned = "trust_unplanned"
)

// caWarnBefore is how long before a trusted CA expires esremote warns.
const caWarnBefore = 30 * 24 * time.Hour

// trustWriteAttempts bounds the PUTs of one deployment's trust in a pass
// when the deployment keeps changing under us (409).
const trustWriteAttempts = 4

// Trust entry kinds (the lists of settings.trust).
const (
	trustAccounts = "accounts"
	trustExternal = "external"
	trustDirect   = "direct"
)

// trustPlan is the certificate model's trust work of one pass: desired vs
// live trust of every deployment involved, the writes apply makes, and
// what the pass found, by connection.
type trustPlan struct {
	deps  map[string]*trustDeployment // by cluster name
	order []string                    // write order: locals of certificate connections first
	// links are the certificate connections between two declared
	// deployments, for the one-sided check.
	links []*trustLink
	// byConn is what concerns each connection, by connection name.
	byConn map[string]*connTrust
	// detached concerns no connection.
	detached Detached
}

// Detached is trust work and findings of a pass that concern no
// connection: it belongs in the report as pass-level items.
type Detached struct {
	Changes   []*Change
	Findings  []Finding
	Unmanaged []Unmanaged
}

// connTrust is what the trust plan adds to one connection.
type connTrust struct {
	changes  []*Change
	findings []Finding
	err      error
	// caExpiry is when the first CA the connection's trust relies on
	// expires (zero when unknown), for metrics.
	caExpiry time.Time
}

// trustDeployment is one deployment whose trust the pass looks at.
type trustDeployment struct {
	cl  *spec.Cluster
	dep *cloud.Deployment
	res *cloud.ESResource
	err error
	// entries are the entries sources want, by identity.
	entries map[string]*trustEntry
	// ops are the differences diff found; changes their report, by key.
	ops     []*trustOp
	changes map[string]*Change
	// final is the trust after this pass (live, or what apply wrote).
	final cloud.Trust
	// locals: this deployment is the local of a certificate connection.
	local bool
}

func (d *trustDeployment) id() string { return d.cl.Deployment.ID }

// trustEntry is one desired entry and the sources that want it.
type trustEntry struct {
	key     string
	kind    string
	typ     string // direct: ECE or ESS
	id      string // scope_id, account_id or trust_relationship_id
	sources []trustSource
	// conns are the connections the entry concerns (report attachment).
	conns []string
}

// trustSource is one spec object that wants an entry.
type trustSource struct {
	conn     *spec.Connection
	te       *spec.TrustedEnvironment
	enforced bool
	all      bool
	ids      []string
	certs    []string
	name     string
}

func (s trustSource) connName() string {
	if s.conn != nil {
		return s.conn.Name
	}
	return ""
}

// trustLink is one direction-pair of a certificate connection.
type trustLink struct {
	conn        *spec.Connection
	local, rem  *trustDeployment
	localEnv    envRef
	remoteEnv   envRef
	localCerts  []string
	remoteCerts []string
}

// entryView is the comparable content of a trust entry: what the
// fingerprint covers. It leaves out uid and certificate metadata (set by
// the platform) and, for external entries, the read-only name.
type entryView struct {
	Name  string   `json:"name,omitempty"`
	Type  string   `json:"type,omitempty"`
	ID    string   `json:"id"`
	All   bool     `json:"all"`
	IDs   []string `json:"ids,omitempty"`
	Certs []string `json:"certs,omitempty"`
}

func (v entryView) fingerprint() string {
	b, _ := json.Marshal(v)
	return Fingerprint(string(b))
}

func (v entryView) equal(o entryView) bool {
	return v.Name == o.Name && v.Type == o.Type && v.ID == o.ID && v.All == o.All &&
		slices.Equal(v.IDs, o.IDs) && slices.Equal(v.Certs, o.Certs)
}

// covers reports whether v grants everything w asks for (names aside).
func (v entryView) covers(w entryView) bool {
	if w.All && !v.All {
		return false
	}
	if !v.All {
		for _, id := range w.IDs {
			if !slices.Contains(v.IDs, id) {
				return false
			}
		}
	}
	for _, c := range w.Certs {
		if !slices.Contains(v.Certs, c) {
			return false
		}
	}
	return true
}

// summary is how an entry shows in a report.
func (v entryView) summary() string {
	var parts []string
	if v.Name != "" {
		parts = append(parts, fmt.Sprintf("%q", v.Name))
	}
	if v.All {
		parts = append(parts, "all clusters")
	} else {
		parts = append(parts, "clusters ["+strings.Join(v.IDs, ", ")+"]")
	}
	if len(v.Certs) > 0 {
		parts = append(parts, fmt.Sprintf("%d CA %s", len(v.Certs), Fingerprint(strings.Join(v.Certs, "\n"))))
	}
	return strings.Join(parts, ", ")
}

// trustOp is one difference between a deployment's desired and live
// trust: a write (create or update) or a removal.
type trustOp struct {
	key    string
	kind   string
	entry  *trustEntry // nil for a removal
	action drift.Action
	origin drift.Origin
	actual string
	want   entryView // the full desired value (report)
	write  entryView // what apply writes: enforced sources only
	remove bool
	// enforced: apply makes this change.
	enforced bool
	conns    []string
	conn     string // the connection recorded in the ledger
}

// normPEM is the comparable form of a PEM certificate.
func normPEM(s string) string { return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n")) }

func normCerts(in []string) []string {
	out := make([]string, 0, len(in))
	for _, c := range in {
		if c = normPEM(c); c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	if len(out) == 0 {
		return nil
	}
	return out
}

func normIDs(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

func directType(t string) string {
	if t == "" {
		return cloud.DirectGeneric
	}
	return t
}

// Identity of live entries.
func accountKey(id string) string        { return trustAccounts + " " + id }
func externalKey(id string) string       { return trustExternal + " " + id }
func directKey(typ, scope string) string { return trustDirect + " " + directType(typ) + " " + scope }

func liveDirectKey(d cloud.DirectTrust) string {
	if d.ScopeID == "" {
		return trustDirect + " " + directType(d.Type) + " uid:" + d.UID
	}
	return directKey(d.Type, d.ScopeID)
}

// findLive returns the view of the first live entry with the given
// identity and its index, or -1.
func findLive(t cloud.Trust, key string) (entryView, int) {
	kind, _, _ := strings.Cut(key, " ")
	switch kind {
	case trustAccounts:
		for i, a := range t.Accounts {
			if accountKey(a.AccountID) == key {
				return entryView{Name: a.Name, ID: a.AccountID, All: a.TrustAll, IDs: normIDs(a.TrustAllowlist)}, i
			}
		}
	case trustExternal:
		for i, x := range t.External {
			if externalKey(x.TrustRelationshipID) == key {
				return entryView{ID: x.TrustRelationshipID, All: x.TrustAll, IDs: normIDs(x.TrustAllowlist)}, i
			}
		}
	case trustDirect:
		for i, d := range t.Direct {
			if liveDirectKey(d) == key {
				return entryView{Name: d.Name, Type: directType(d.Type), ID: d.ScopeID, All: d.TrustAll,
					IDs: normIDs(d.TrustAllowlist), Certs: normCerts(d.PEMs())}, i
			}
		}
	}
	return entryView{}, -1
}

// view merges the sources of an entry. writing keeps only what enforced
// sources want, plus what report-only sources want and is already live.
func (e *trustEntry) view(live *entryView, writing bool) entryView {
	v := entryView{ID: e.id}
	if e.kind == trustDirect {
		v.Type = e.typ
	}
	var ids, certs []string
	for _, s := range e.sources {
		if writing && !s.enforced {
			if live == nil {
				continue
			}
			v.All = v.All || (s.all && live.All)
			for _, id := range s.ids {
				if slices.Contains(live.IDs, id) {
					ids = append(ids, id)
				}
			}
			for _, c := range normCerts(s.certs) {
				if slices.Contains(live.Certs, c) {
					certs = append(certs, c)
				}
			}
			continue
		}
		v.All = v.All || s.all
		ids = append(ids, s.ids...)
		certs = append(certs, s.certs...)
	}
	if !v.All {
		v.IDs = normIDs(ids)
	}
	if e.kind == trustDirect {
		v.Certs = normCerts(certs)
	}
	if e.kind != trustExternal {
		v.Name = e.name()
	}
	return v
}

// name is the entry's name: the first TrustedEnvironment's, else one
// saying who made it.
func (e *trustEntry) name() string {
	for _, s := range e.sources {
		if s.te != nil {
			return s.te.Name
		}
	}
	if e.kind == trustAccounts {
		return "esremote: organization " + e.id
	}
	env := "ECE environment"
	if e.typ == cloud.DirectESS {
		env = "ECH organization"
	}
	return "esremote: " + env + " " + e.id
}

func (e *trustEntry) enforced() bool {
	return slices.ContainsFunc(e.sources, func(s trustSource) bool { return s.enforced })
}

// envRef names an environment: an ECH organization or an ECE installation.
type envRef struct {
	platform spec.Platform
	id       string
}

func (e envRef) String() string {
	if e.platform == spec.PlatformECH {
		return "ECH organization " + e.id
	}
	return "ECE environment " + e.id
}

// apiFacts is what the observation says of one control plane.
type apiFacts struct {
	orgs  []string                 // ECH: organizations of the API key
	local *cloud.TrustRelationship // ECE: this environment
	err   error
}

// trustBuilder applies the trust rules to a trustInput. The apply step
// (write) also sets ps and ctx, to write and to re-read after a 409.
type trustBuilder struct {
	in  trustInput
	tp  *trustPlan
	ps  *passState
	ctx context.Context
}

// planTrust observes the trust of every deployment that certificate
// connections and TrustedEnvironments involve, and decides it. It only
// reads: first the rules run against a live reader, which observes (each
// thing once) what they ask for; the record, frozen, is the Snapshot's
// part of trust, and decideTrust decides from it and the ledger alone.
func (ps *passState) planTrust(ctx context.Context) {
	in := trustInput{set: ps.set, scoped: ps.scoped, only: ps.only, ledger: ps.r.ledger, now: ps.r.opts.Now(),
		obs: newTrustObservation(&trustLive{ps: ps, ctx: ctx})}
	decideTrust(in) // observe by demand
	in.obs.live = nil
	ps.snap.trust = in.obs
	tp := decideTrust(in)
	ps.trust = tp
	log := ps.r.opts.Logger
	for _, ch := range tp.detached.Changes {
		log.Info("trust change of no connection", "target", ch.Target, "key", ch.Key, "action", ch.Action)
	}
	for _, f := range tp.detached.Findings {
		log.Warn("trust finding of no connection", "code", f.Code, "message", f.Message)
	}
	for _, u := range tp.detached.Unmanaged {
		log.Info("trust entry left alone", "target", u.Target, "key", u.Name, "reason", u.Reason)
	}
}

// decideTrust is the trust decision of a pass: from the specs, the
// observed trust facts and the ledger, the desired entries of every
// deployment involved, their differences with the live trust (the writes
// and removals apply makes), the findings, and the write order. It is
// pure when in.obs is frozen.
func decideTrust(in trustInput) *trustPlan {
	tp := &trustPlan{deps: map[string]*trustDeployment{}, byConn: map[string]*connTrust{}}
	tb := &trustBuilder{in: in, tp: tp}
	set := in.set

	// Certificate connections between two declared deployments.
	var conns []*spec.Connection
	for _, c := range set.Connections {
		if c.Security != spec.SecurityCertificate || c.Policy == spec.PolicyDisabled || !in.inScope(c) {
			continue
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		l, r := set.Cluster(c.Local), set.Cluster(c.Remote.Cluster)
		if l == nil || r == nil || l.Deployment == nil || r.Deployment == nil {
			continue
		}
		ld, rd := tb.dep(l), tb.dep(r)
		ld.local = true
		if err := firstErr(ld.err, rd.err); err != nil {
			tp.conn(c.Name).err = err
			continue
		}
		tb.linkSources(c, ld, rd)
	}
	if !in.scoped {
		for _, te := range set.TrustedEnvironments {
			tb.environmentSource(te, conns)
		}
		// Deployments where esremote owns entries, to remove those no spec
		// wants any more.
		for _, cl := range set.Clusters {
			if cl.Deployment != nil && len(in.ledger.TrustEntries(cl.Deployment.ID)) > 0 {
				tb.dep(cl)
			}
		}
	}

	for _, name := range sortedKeys(tp.deps) {
		d := tp.deps[name]
		if d.err != nil {
			continue
		}
		d.ops = tb.diff(d, d.res.Trust, true)
		d.final = d.res.Trust
		d.changes = map[string]*Change{}
		for _, op := range d.ops {
			tb.report(d, op)
		}
	}
	tb.expiryFindings()
	tb.versionFindings(conns)
	tp.oneSided()

	// Write order: locals of certificate connections first (DESIGN §5).
	tp.order = sortedKeys(tp.deps)
	sort.SliceStable(tp.order, func(i, j int) bool { return tp.deps[tp.order[i]].local && !tp.deps[tp.order[j]].local })
	return tp
}

// report makes the Change of an op and attaches it.
func (tb *trustBuilder) report(d *trustDeployment, op *trustOp) {
	if op.action == "" {
		return
	}
	ch := &Change{Resource: ResourceTrust, Target: d.cl.Name, Key: op.key, Action: op.action,
		Actual: op.actual, Origin: op.origin}
	if !op.remove {
		ch.Desired = op.want.summary()
	}
	d.changes[op.key] = ch
	tb.attach(op.conns, func(ct *connTrust) { ct.changes = append(ct.changes, ch) }, func() {
		tb.tp.detached.Changes = append(tb.tp.detached.Changes, ch)
	})
}

// inScope reports whether a --only pass covers connection c.
func (in trustInput) inScope(c *spec.Connection) bool {
	return in.only == "" || c.Name == in.only
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (tp *trustPlan) conn(name string) *connTrust {
	ct := tp.byConn[name]
	if ct == nil {
		ct = &connTrust{}
		tp.byConn[name] = ct
	}
	return ct
}

// attach runs add for each named connection, or detached when there is none.
func (tb *trustBuilder) attach(conns []string, add func(*connTrust), detached func()) {
	if len(conns) == 0 {
		detached()
		return
	}
	for _, n := range conns {
		add(tb.tp.conn(n))
	}
}

// dep observes a deployment once per pass.
func (tb *trustBuilder) dep(cl *spec.Cluster) *trustDeployment {
	if d := tb.tp.deps[cl.Name]; d != nil {
		return d
	}
	d := &trustDeployment{cl: cl, entries: map[string]*trustEntry{}}
	tb.tp.deps[cl.Name] = d
	o := tb.in.obs.deployment(cl)
	if o.clientErr != nil {
		d.err = o.clientErr
		return d
	}
	d.err = d.use(o.dep, o.err)
	return d
}

// use takes a deployment the pass read (its read-once cache).
func (d *trustDeployment) use(dep *cloud.Deployment, err error) error {
	if err != nil {
		return fmt.Errorf("read trust of %s: %w", d.cl.Name, err)
	}
	res, err := dep.ES(d.cl.Deployment.RefID)
	if err != nil {
		return fmt.Errorf("read trust of %s: %w", d.cl.Name, err)
	}
	if res.TrustRaw == nil {
		return fmt.Errorf("read trust of %s: the deployment came back without settings", d.cl.Name)
	}
	d.dep, d.res = dep, res
	return nil
}

// read re-reads the deployment and its Elasticsearch resource (after a
// 409: a new observation on purpose).
func (d *trustDeployment) read(ctx context.Context, client *cloud.Client) error {
	dep, err := client.Deployment(ctx, d.id())
	if err != nil {
		return fmt.Errorf("read trust of %s: %w", d.cl.Name, err)
	}
	res, err := dep.ES(d.cl.Deployment.RefID)
	if err != nil {
		return fmt.Errorf("read trust of %s: %w", d.cl.Name, err)
	}
	if res.TrustRaw == nil {
		return fmt.Errorf("read trust of %s: the deployment came back without settings", d.cl.Name)
	}
	d.dep, d.res = dep, res
	return nil
}

// facts is what the observation says of a cluster's control plane.
func (tb *trustBuilder) facts(cl *spec.Cluster) *apiFacts {
	f := &apiFacts{}
	switch cl.Deployment.Platform {
	case spec.PlatformECH:
		o := tb.in.obs.organizations(cl)
		f.orgs, f.err = o.ids, o.err
	case spec.PlatformECE:
		o := tb.in.obs.relations(cl, true)
		if o.err != nil {
			f.err = o.err
			return f
		}
		for i := range o.rels {
			if o.rels[i].Local {
				f.local = &o.rels[i]
			}
		}
		if f.local == nil {
			f.err = fmt.Errorf("the ECE API of %s lists no local trust relationship", cl.Name)
		}
	}
	return f
}

// relations are an ECE control plane's trust relationships (for external
// entries).
func (tb *trustBuilder) relations(cl *spec.Cluster) ([]cloud.TrustRelationship, error) {
	o := tb.in.obs.relations(cl, false)
	return o.rels, o.err
}

// envOf is the environment a declared deployment cluster belongs to.
func (tb *trustBuilder) envOf(cl *spec.Cluster) (envRef, error) {
	env := envRef{platform: cl.Deployment.Platform}
	if cl.Deployment.Platform == spec.PlatformECH {
		if d := tb.tp.deps[cl.Name]; d != nil && d.err == nil {
			env.id = cmpOr(d.dep.OrganizationID, d.res.OrganizationID)
		}
		if env.id == "" {
			f := tb.facts(cl)
			if f.err != nil {
				return env, fmt.Errorf("organization of %s: %w", cl.Name, f.err)
			}
			if len(f.orgs) == 0 {
				return env, fmt.Errorf("organization of %s: the API lists none", cl.Name)
			}
			env.id = f.orgs[0]
		}
		return env, nil
	}
	f := tb.facts(cl)
	if f.err != nil {
		return env, fmt.Errorf("environment of %s: %w", cl.Name, f.err)
	}
	env.id = f.local.InstallationID
	if env.id == "" {
		return env, fmt.Errorf("environment of %s: the local trust relationship has no installation_id", cl.Name)
	}
	return env, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// certsOf are the CAs that sign a declared deployment's clusters: the ECE
// environment CA, or every CA of the ECH deployment (CAs rotate).
func (tb *trustBuilder) certsOf(cl *spec.Cluster) ([]string, error) {
	if cl.Deployment.Platform == spec.PlatformECE {
		f := tb.facts(cl)
		if f.err != nil {
			return nil, f.err
		}
		if f.local.PublicCACert == "" {
			return nil, fmt.Errorf("the ECE API of %s gave no environment CA", cl.Name)
		}
		return []string{f.local.PublicCACert}, nil
	}
	o := tb.in.obs.certificateAuthority(cl)
	if o.err == nil && len(o.ids) == 0 {
		return nil, fmt.Errorf("deployment of %s lists no CA", cl.Name)
	}
	return o.ids, o.err
}

// entryFor is the entry through which deployment d trusts env.
// skip is true when no entry is needed (one ECE environment: the account
// trust covers it).
func (tb *trustBuilder) entryFor(d *trustDeployment, env envRef) (e *trustEntry, skip bool, err error) {
	dp := d.cl.Deployment.Platform
	switch {
	case dp == spec.PlatformECH && env.platform == spec.PlatformECE:
		return &trustEntry{key: directKey(cloud.DirectECE, env.id), kind: trustDirect, typ: cloud.DirectECE, id: env.id}, false, nil
	case dp == spec.PlatformECE && env.platform == spec.PlatformECH:
		return &trustEntry{key: directKey(cloud.DirectESS, env.id), kind: trustDirect, typ: cloud.DirectESS, id: env.id}, false, nil
	case dp == spec.PlatformECH:
		return &trustEntry{key: accountKey(env.id), kind: trustAccounts, id: env.id}, false, nil
	}
	own, err := tb.envOf(d.cl)
	if err != nil {
		return nil, false, err
	}
	if own.id == env.id {
		return nil, true, nil
	}
	rels, err := tb.relations(d.cl)
	if err != nil {
		return nil, false, fmt.Errorf("trust relationships of %s: %w", d.cl.Name, err)
	}
	for _, r := range rels {
		if !r.Local && r.InstallationID == env.id {
			return &trustEntry{key: externalKey(r.ID), kind: trustExternal, id: r.ID}, false, nil
		}
	}
	return nil, false, fmt.Errorf("the ECE environment of %s has no trust relationship with ECE environment %s: create it under Platform > Trust Management (esremote does not manage platform trust)", d.cl.Name, env.id)
}

// want adds a source to deployment d's entry for env.
func (tb *trustBuilder) want(d *trustDeployment, env envRef, s trustSource, conns []string) error {
	e, skip, err := tb.entryFor(d, env)
	if err != nil || skip {
		return err
	}
	if cur := d.entries[e.key]; cur != nil {
		e = cur
	} else {
		d.entries[e.key] = e
	}
	e.sources = append(e.sources, s)
	for _, n := range conns {
		if !slices.Contains(e.conns, n) {
			e.conns = append(e.conns, n)
		}
	}
	return nil
}

// linkSources adds the trust a certificate connection implies: each side
// trusts the other's cluster.
func (tb *trustBuilder) linkSources(c *spec.Connection, l, r *trustDeployment) {
	ct := tb.tp.conn(c.Name)
	enforced := c.Policy != spec.PolicyReport && c.Policy != spec.PolicyDisabled
	lenv, err := tb.envOf(l.cl)
	if err != nil {
		ct.err = err
		return
	}
	renv, err := tb.envOf(r.cl)
	if err != nil {
		ct.err = err
		return
	}
	link := &trustLink{conn: c, local: l, rem: r, localEnv: lenv, remoteEnv: renv}
	// Only direct entries (across platforms) carry CAs.
	if lenv.platform != renv.platform {
		if link.localCerts, err = tb.certsOf(l.cl); err != nil {
			ct.err = fmt.Errorf("CA of %s: %w", l.cl.Name, err)
			return
		}
		if link.remoteCerts, err = tb.certsOf(r.cl); err != nil {
			ct.err = fmt.Errorf("CA of %s: %w", r.cl.Name, err)
			return
		}
	}
	tb.tp.links = append(tb.tp.links, link)
	if err := tb.want(l, renv, trustSource{conn: c, enforced: enforced, ids: []string{r.res.ClusterID},
		certs: link.remoteCerts}, []string{c.Name}); err != nil {
		ct.err = err
		return
	}
	if err := tb.want(r, lenv, trustSource{conn: c, enforced: enforced, ids: []string{l.res.ClusterID},
		certs: link.localCerts}, []string{c.Name}); err != nil {
		ct.err = err
	}
}

// environmentSource adds the trust a TrustedEnvironment asks for.
func (tb *trustBuilder) environmentSource(te *spec.TrustedEnvironment, conns []*spec.Connection) {
	cl := tb.in.set.Cluster(te.Deployment)
	// The connections it concerns, and whether one of them enforces.
	var names []string
	involved, enforced := false, false
	for _, c := range tb.in.set.Connections {
		if c.Security != spec.SecurityCertificate || c.Local != te.Deployment {
			continue
		}
		involved = true
		enforced = enforced || (c.Policy != spec.PolicyReport && c.Policy != spec.PolicyDisabled)
		if slices.Contains(conns, c) {
			names = append(names, c.Name)
		}
	}
	if !involved {
		enforced = true
	}
	fail := func(err error) {
		f := Finding{Severity: "error", Code: CodeTrustUnplanned,
			Message: fmt.Sprintf("trusted environment %s: %v", te.Name, err)}
		tb.attach(names, func(ct *connTrust) { ct.findings = append(ct.findings, f) }, func() {
			tb.tp.detached.Findings = append(tb.tp.detached.Findings, f)
		})
	}
	if cl == nil || cl.Deployment == nil {
		fail(fmt.Errorf("deployment %q is not a declared Cluster with a deployment block", te.Deployment))
		return
	}
	d := tb.dep(cl)
	if d.err != nil {
		fail(d.err)
		return
	}
	env := envRef{platform: te.Platform, id: te.EnvironmentID}
	s := trustSource{te: te, enforced: enforced, all: te.Trust.All, ids: te.Trust.ClusterIDs, name: te.Name}
	// Account and external entries carry no certificates.
	direct := d.cl.Deployment.Platform != env.platform
	if direct {
		certs, err := tb.environmentCerts(te, env)
		if err != nil {
			fail(err)
			return
		}
		s.certs = certs
	}
	if err := tb.want(d, env, s, names); err != nil {
		fail(err)
	}
}

// environmentCerts finds an environment's CA: from the API of a declared
// Cluster of that environment, else the TrustedEnvironment's ca_file.
func (tb *trustBuilder) environmentCerts(te *spec.TrustedEnvironment, env envRef) ([]string, error) {
	var fromAPI []string
	var apiErr error
	var matched []*spec.Cluster
	for _, cl := range tb.in.set.Clusters {
		if cl.Deployment == nil || cl.Deployment.Platform != env.platform {
			continue
		}
		if env.platform == spec.PlatformECH {
			// Deployments observed this pass know their organization;
			// others are matched by the organizations of their API key.
			if d := tb.tp.deps[cl.Name]; d != nil && d.err == nil {
				if cmpOr(d.dep.OrganizationID, d.res.OrganizationID) == env.id {
					matched = append([]*spec.Cluster{cl}, matched...)
				}
				continue
			}
			if f := tb.facts(cl); f.err == nil && slices.Contains(f.orgs, env.id) {
				matched = append(matched, cl)
			}
			continue
		}
		if got, err := tb.envOf(cl); err == nil && got.id == env.id {
			matched = append(matched, cl)
		}
	}
	for i, cl := range matched {
		// ECE: one environment CA. ECH: CAs are regional; every observed
		// deployment of the organization adds its own, else the first.
		if i > 0 && (env.platform == spec.PlatformECE || tb.tp.deps[cl.Name] == nil) {
			break
		}
		certs, err := tb.certsOf(cl)
		if err != nil {
			apiErr = err
			continue
		}
		fromAPI = append(fromAPI, certs...)
	}
	if len(fromAPI) > 0 {
		return fromAPI, nil
	}
	if te.CAFile != "" {
		b, err := tb.in.obs.caFile(te)
		if err != nil {
			return nil, err
		}
		certs := splitPEM(b)
		if len(certs) == 0 {
			return nil, fmt.Errorf("ca_file %s holds no PEM certificate", te.CAFile)
		}
		return certs, nil
	}
	if apiErr != nil {
		return nil, apiErr
	}
	return nil, fmt.Errorf("no CA for %s: declare a Cluster of that environment or give ca_file", env)
}

// splitPEM returns each certificate block of a PEM bundle.
func splitPEM(b []byte) []string {
	var out []string
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return out
		}
		if blk.Type == "CERTIFICATE" {
			out = append(out, string(pem.EncodeToMemory(blk)))
		}
	}
}

// diff compares deployment d's desired entries and owned entries with its
// live trust. It is pure: the ledger's part is tb.in.ledger (the ledger
// as the pass found it, or as the writes left it on a re-diff); note says whether
// findings and unmanaged entries are recorded (the first diff of a pass)
// or not (the re-diff after a conflict).
func (tb *trustBuilder) diff(d *trustDeployment, live cloud.Trust, note bool) []*trustOp {
	led := tb.in.ledger
	var ops []*trustOp
	keys := map[string]bool{}
	for k := range d.entries {
		keys[k] = true
	}
	if !tb.in.scoped {
		for _, k := range led.TrustEntries(d.id()) {
			keys[k] = true
		}
	}
	for _, key := range sortedKeys(keys) {
		rec := led.Trust(d.id(), key)
		cur, idx := findLive(live, key)
		exists := idx >= 0
		owned := rec != nil && (!rec.Pending || (exists && cur.fingerprint() == rec.Fingerprint))
		e := d.entries[key]
		kind, _, _ := strings.Cut(key, " ")
		if e == nil {
			// Owned, no longer wanted.
			switch {
			case tb.unprepared(recConn(rec)):
				// Its connection is still declared but could not be
				// prepared this pass (a control plane or cluster down):
				// not wanted only because it was not computed. Kept.
				continue
			case !exists:
				// Already gone: apply forgets it.
				ops = append(ops, &trustOp{key: key, kind: kind, remove: true, enforced: true, conn: recConn(rec)})
			case owned && cur.fingerprint() == rec.Fingerprint:
				ops = append(ops, &trustOp{key: key, kind: kind, action: ActionDelete, origin: OriginSpec, actual: cur.summary(),
					remove: true, enforced: true, conns: tb.existing(recConn(rec)), conn: recConn(rec)})
			case note:
				tb.tp.detached.Unmanaged = append(tb.tp.detached.Unmanaged, Unmanaged{Target: d.cl.Name, Kind: "trust", Name: key, Reason: "foreign"})
			}
			continue
		}
		var livePtr *entryView
		if exists {
			livePtr = &cur
		}
		want := e.view(nil, false)
		write := e.view(livePtr, true)
		op := &trustOp{key: key, kind: kind, entry: e, want: want, write: write, enforced: e.enforced(), conns: e.conns, conn: firstConn(e)}
		switch {
		case !exists:
			op.action, op.origin = ActionCreate, OriginSpec
			if rec != nil && !rec.Pending {
				op.origin = OriginExternal
			}
		case !owned:
			if note && !cur.covers(want) {
				f := Finding{Severity: "error", Code: CodeTrustNotOwned,
					Message: fmt.Sprintf("deployment %s has a trust entry %s that esremote did not create (%s) and that does not grant %s; esremote leaves it alone", d.cl.Name, key, cur.summary(), want.summary()),
					Fix:     "extend that entry by hand, or delete it so that esremote creates and manages its own"}
				tb.attach(e.conns, func(ct *connTrust) { ct.findings = append(ct.findings, f) }, func() {
					tb.tp.detached.Findings = append(tb.tp.detached.Findings, f)
				})
			}
			continue
		case cur.equal(want):
			continue
		default:
			op.action, op.origin, op.actual = ActionUpdate, OriginSpec, cur.summary()
			if cur.fingerprint() != rec.Fingerprint {
				op.origin = OriginExternal
			}
			// Only report-only sources differ: nothing to write.
			if cur.equal(write) {
				op.enforced = false
			}
		}
		ops = append(ops, op)
	}
	return ops
}

func recConn(r *Record) string {
	if r == nil {
		return ""
	}
	return r.Connection
}

func firstConn(e *trustEntry) string {
	for _, s := range e.sources {
		if n := s.connName(); n != "" {
			return n
		}
	}
	return ""
}

// unprepared reports whether name is a connection of the spec set whose
// trust could not be computed this pass: the entries it owns are kept,
// since a connection that failed to prepare is still declared.
func (tb *trustBuilder) unprepared(name string) bool {
	if name == "" || tb.in.set.Connection(name) == nil {
		return false
	}
	ct := tb.tp.byConn[name]
	return ct != nil && ct.err != nil
}

// existing keeps a connection name when it is still a certificate
// connection of the specs.
func (tb *trustBuilder) existing(name string) []string {
	if c := findConnection(tb.in.set, name); name != "" && c != nil && c.Security == spec.SecurityCertificate && c.Policy != spec.PolicyDisabled {
		return []string{name}
	}
	return nil
}

// expiryFindings warns about every desired CA that expires within 30 days.
func (tb *trustBuilder) expiryFindings() {
	now := tb.in.now
	seen := map[string]bool{}
	for _, name := range sortedKeys(tb.tp.deps) {
		d := tb.tp.deps[name]
		for _, key := range sortedKeys(d.entries) {
			e := d.entries[key]
			for _, s := range e.sources {
				for _, p := range s.certs {
					na, ok := certNotAfter(p)
					if !ok {
						continue
					}
					for _, n := range e.conns {
						if ct := tb.tp.conn(n); ct.caExpiry.IsZero() || na.Before(ct.caExpiry) {
							ct.caExpiry = na
						}
					}
					if na.Sub(now) > caWarnBefore {
						continue
					}
					id := d.cl.Name + key + p
					if seen[id] {
						continue
					}
					seen[id] = true
					verb := "expires"
					if na.Before(now) {
						verb = "expired"
					}
					f := Finding{Severity: "warning", Code: CodeCAExpiresSoon,
						Message: fmt.Sprintf("a CA that %s trusts through %s %s on %s", d.cl.Name, key, verb, na.UTC().Format(time.RFC3339)),
						Fix:     "add the new CA next to the old one before it expires (ca_file, or the environment's API), then remove the old one"}
					tb.attach(e.conns, func(ct *connTrust) { ct.findings = append(ct.findings, f) }, func() {
						tb.tp.detached.Findings = append(tb.tp.detached.Findings, f)
					})
				}
			}
		}
	}
}

func certNotAfter(p string) (time.Time, bool) {
	blk, _ := pem.Decode([]byte(p))
	if blk == nil {
		return time.Time{}, false
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return time.Time{}, false
	}
	return c.NotAfter, true
}

// versionFindings flags certificate connections on 9.x, where the model
// is deprecated.
func (tb *trustBuilder) versionFindings(conns []*spec.Connection) {
	for _, c := range conns {
		var v9 []string
		for _, n := range []string{c.Local, c.Remote.Cluster} {
			if d := tb.tp.deps[n]; d != nil && d.err == nil && versionAtLeast(d.res.Version, 9, 0, 0) {
				v9 = append(v9, n+" runs "+d.res.Version)
			}
		}
		if len(v9) == 0 {
			continue
		}
		ct := tb.tp.conn(c.Name)
		ct.findings = append(ct.findings, Finding{Severity: "warning", Code: CodeCertificateModel,
			Message: "the certificate security model is deprecated since 9.0 (" + strings.Join(v9, ", ") + ")",
			Fix:     "move the connection to security: api_key (cross-cluster API keys, port 9443)"})
	}
}

// versionAtLeast parses a version with es.ParseVersion, the one parser;
// an unparsable one is not at least anything.
func versionAtLeast(raw string, major, minor, patch int) bool {
	v, err := es.ParseVersion(raw)
	return err == nil && v.AtLeast(major, minor, patch)
}

// oneSided reports certificate links where one deployment trusts the
// other but not the other way round, judged on each deployment's final
// trust (live in plan, written in apply).
func (tp *trustPlan) oneSided() {
	for _, l := range tp.links {
		ct := tp.conn(l.conn.Name)
		ct.findings = slices.DeleteFunc(ct.findings, func(f Finding) bool { return f.Code == CodeTrustOneSided })
		lr := trusts(l.local, l.remoteEnv, l.rem.res.ClusterID, l.remoteCerts, l.localEnv)
		rl := trusts(l.rem, l.localEnv, l.local.res.ClusterID, l.localCerts, l.remoteEnv)
		if lr == rl {
			continue
		}
		a, b := l.local.cl.Name, l.rem.cl.Name
		if rl {
			a, b = b, a
		}
		ct.findings = append(ct.findings, Finding{Severity: "warning", Code: CodeTrustOneSided,
			Message: fmt.Sprintf("%s trusts %s, but %s does not trust %s back: the certificate link cannot connect", a, b, b, a),
			Fix:     "apply with policy enforce, or add the missing trust on " + b})
	}
}

// trusts judges whether deployment d's final trust admits cluster id of
// environment env, signed by one of certs. own is d's environment. Within
// one ECE environment any account entry that admits the cluster counts
// (the account ID is not known to esremote there).
func trusts(d *trustDeployment, env envRef, id string, certs []string, own envRef) bool {
	t := d.final
	admits := func(all bool, list []string) bool { return all || slices.Contains(list, id) }
	dp := d.cl.Deployment.Platform
	if dp == env.platform {
		for _, a := range t.Accounts {
			if ((dp == spec.PlatformECE && own.id == env.id) || a.AccountID == env.id) && admits(a.TrustAll, a.TrustAllowlist) {
				return true
			}
		}
		if dp == spec.PlatformECE && len(t.External) > 0 {
			// External entries are judged by the relationship they name,
			// which the pass resolved when it wanted one.
			for key := range d.entries {
				if !strings.HasPrefix(key, trustExternal+" ") {
					continue
				}
				if v, i := findLive(t, key); i >= 0 && (v.All || slices.Contains(v.IDs, id)) {
					return true
				}
			}
		}
	}
	want := cloud.DirectESS
	if env.platform == spec.PlatformECE {
		want = cloud.DirectECE
	}
	nc := normCerts(certs)
	for _, e := range t.Direct {
		if (e.Type != "" && e.Type != cloud.DirectGeneric && e.Type != want) || e.ScopeID != env.id || !admits(e.TrustAll, e.TrustAllowlist) {
			continue
		}
		if len(nc) == 0 || slices.ContainsFunc(normCerts(e.PEMs()), func(c string) bool { return slices.Contains(nc, c) }) {
			return true
		}
	}
	return false
}

// applyTrust writes the trust changes, local deployments first, before any
// cluster settings are written.
func (ps *passState) applyTrust(ctx context.Context) {
	tp := ps.trust
	if tp == nil {
		return
	}
	// The re-diff after a 409 reads the ledger as the writes left it.
	tb := &trustBuilder{ps: ps, ctx: ctx, tp: tp,
		in: trustInput{set: ps.set, scoped: ps.scoped, only: ps.only, ledger: ps.r.ledger, now: ps.r.opts.Now()}}
	for _, name := range tp.order {
		d := tp.deps[name]
		if d.err != nil || !slices.ContainsFunc(d.ops, func(op *trustOp) bool { return op.enforced }) {
			continue
		}
		tb.write(d)
	}
	tp.oneSided()
}

// write brings one deployment's trust to what is desired: build the
// complete trust from the live one, record the intent, PUT, commit. A 409
// re-reads and re-diffs; a plan in progress waits for the next pass.
func (tb *trustBuilder) write(d *trustDeployment) {
	r := tb.ps.r
	log := r.opts.Logger.With("target", d.cl.Name)
	led := r.ledger
	now := r.opts.Now()
	ops := d.ops
	fail := func(err error) {
		for _, op := range d.ops {
			if ch := d.changes[op.key]; ch != nil && op.enforced {
				ch.Err = err
			}
		}
		log.Warn("write trust failed", "err", err)
	}
	for attempt := 1; ; attempt++ {
		var writes []*trustOp
		for _, op := range ops {
			if op.enforced {
				writes = append(writes, op)
			}
		}
		// Entries that are already gone only leave the ledger.
		var puts []*trustOp
		for _, op := range writes {
			if op.remove && op.action == "" {
				if err := led.SetTrust(d.id(), op.key, nil); err != nil {
					log.Error("save ledger", "err", err)
				}
				continue
			}
			puts = append(puts, op)
		}
		if len(puts) == 0 {
			tb.markApplied(d)
			return
		}
		next, err := buildTrust(d.res.Trust, puts)
		if err != nil {
			fail(err)
			return
		}
		// Intent first: a crash after the PUT keeps ownership.
		prev := map[string]*Record{}
		for _, op := range puts {
			prev[op.key] = led.Trust(d.id(), op.key)
			if !op.remove {
				if err := led.SetTrust(d.id(), op.key, &Record{Fingerprint: op.write.fingerprint(), Connection: op.conn, Pending: true, WrittenAt: now}); err != nil {
					fail(err)
					return
				}
			}
		}
		var client *cloud.Client
		if client, err = r.CloudClient(tb.ps.set, d.cl); err == nil {
			err = client.UpdateTrust(tb.ctx, d.dep, d.res.RefID, next)
		}
		if err == nil {
			for _, op := range puts {
				rec := (*Record)(nil)
				if !op.remove {
					rec = &Record{Fingerprint: op.write.fingerprint(), Connection: op.conn, WrittenAt: now}
				}
				if err := led.SetTrust(d.id(), op.key, rec); err != nil {
					log.Error("save ledger", "err", err)
				}
			}
			d.final = next
			log.Info("wrote trust", "entries", len(puts), "attempt", attempt)
			tb.markApplied(d)
			return
		}
		for key, rec := range prev {
			if err := led.SetTrust(d.id(), key, rec); err != nil {
				log.Error("save ledger", "err", err)
			}
		}
		switch {
		case cloud.IsPlanPending(err):
			fail(fmt.Errorf("a plan change is in progress on deployment %s: trust is written on the next pass", d.cl.Name))
			f := Finding{Severity: "info", Code: CodeTrustPending,
				Message: "deployment " + d.cl.Name + " is applying a plan; its trust is written on the next pass"}
			for _, op := range puts {
				tb.attach(op.conns, func(ct *connTrust) { ct.findings = append(ct.findings, f) }, func() {})
			}
			return
		case cloud.IsConflict(err) && attempt < trustWriteAttempts:
			log.Info("deployment changed since read, reading again", "attempt", attempt)
			if rerr := d.read(tb.ctx, client); rerr != nil {
				fail(rerr)
				return
			}
			d.final = d.res.Trust
			ops = tb.diff(d, d.res.Trust, false)
			for _, op := range ops {
				if d.changes[op.key] == nil {
					tb.report(d, op)
					d.ops = append(d.ops, op)
				}
			}
			continue
		default:
			fail(err)
			return
		}
	}
}

// markApplied marks the deployment's enforced changes applied: written,
// or (after a re-read) no longer needed.
func (tb *trustBuilder) markApplied(d *trustDeployment) {
	for _, op := range d.ops {
		if ch := d.changes[op.key]; ch != nil && op.enforced {
			ch.Applied = true
		}
	}
}

// buildTrust returns live with the ops made on a copy: every other entry,
// and every field esremote does not set, is kept as read.
func buildTrust(live cloud.Trust, ops []*trustOp) (cloud.Trust, error) {
	t := live.Clone()
	for _, op := range ops {
		_, idx := findLive(t, op.key)
		v := op.write
		switch op.kind {
		case trustAccounts:
			switch {
			case op.remove && idx >= 0:
				t.Accounts = slices.Delete(t.Accounts, idx, idx+1)
			case op.remove:
			case idx >= 0:
				a := &t.Accounts[idx]
				a.Name, a.TrustAll, a.TrustAllowlist = v.Name, v.All, slices.Clone(v.IDs)
			default:
				t.Accounts = append(t.Accounts, cloud.AccountTrust{AccountID: v.ID, Name: v.Name, TrustAll: v.All, TrustAllowlist: slices.Clone(v.IDs)})
			}
		case trustExternal:
			switch {
			case op.remove && idx >= 0:
				t.External = slices.Delete(t.External, idx, idx+1)
			case op.remove:
			case idx >= 0:
				x := &t.External[idx]
				x.TrustAll, x.TrustAllowlist = v.All, slices.Clone(v.IDs)
			default:
				t.External = append(t.External, cloud.ExternalTrust{TrustRelationshipID: v.ID, TrustAll: v.All, TrustAllowlist: slices.Clone(v.IDs)})
			}
		case trustDirect:
			switch {
			case op.remove && idx >= 0:
				t.Direct = slices.Delete(t.Direct, idx, idx+1)
			case op.remove:
			case idx >= 0:
				e := &t.Direct[idx]
				e.Name, e.TrustAll, e.TrustAllowlist = v.Name, v.All, slices.Clone(v.IDs)
				if !slices.Equal(normCerts(e.PEMs()), v.Certs) {
					e.Certificates = certificates(e.Certificates, v.Certs)
				}
			default:
				t.Direct = append(t.Direct, cloud.DirectTrust{Name: v.Name, Type: v.Type, ScopeID: v.ID,
					TrustAll: v.All, TrustAllowlist: slices.Clone(v.IDs), Certificates: certificates(nil, v.Certs)})
			}
		default:
			return cloud.Trust{}, fmt.Errorf("trust entry %s: unknown kind", op.key)
		}
	}
	return t, nil
}

// certificates lists pems, reusing the live certificate (with its raw
// bytes) where the PEM is unchanged.
func certificates(live []cloud.TrustedCertificate, pems []string) []cloud.TrustedCertificate {
	out := make([]cloud.TrustedCertificate, 0, len(pems))
	for _, p := range pems {
		i := slices.IndexFunc(live, func(c cloud.TrustedCertificate) bool { return normPEM(c.PEM) == p })
		if i >= 0 {
			out = append(out, live[i])
			continue
		}
		out = append(out, cloud.TrustedCertificate{PEM: p + "\n"})
	}
	return out
}

// attachTrust adds the trust changes and findings that concern a
// connection to its plan, so the report shows them with the connection.
// It only reads the trust plan (it runs in the cluster goroutines).
func (ps *passState) attachTrust(p *ConnectionPlan) {
	if ps.trust == nil {
		return
	}
	ct := ps.trust.byConn[p.Conn.Name]
	if ct == nil {
		return
	}
	if ct.err != nil && p.Err == nil {
		p.Err = fmt.Errorf("trust: %w", ct.err)
	}
	p.Changes = append(p.Changes, ct.changes...)
	p.Findings = append(p.Findings, ct.findings...)
	p.CAExpiration = ct.caExpiry
}

// holdRefusedTrust keeps unwritten the trust entries wanted only by
// connections the pass refused as conflicts (their alias is not
// esremote's): nothing of such a connection is written, its trust
// included. An entry another connection wants too is still written.
func (ps *passState) holdRefusedTrust(work []*clusterWork) {
	if ps.trust == nil {
		return
	}
	refused := map[string]bool{}
	for _, w := range work {
		for _, p := range w.cp.Connections {
			if p.refused {
				refused[p.Conn.Name] = true
			}
		}
	}
	if len(refused) == 0 {
		return
	}
	for _, d := range ps.trust.deps {
		for _, op := range d.ops {
			if !op.enforced || len(op.conns) == 0 || slices.ContainsFunc(op.conns, func(c string) bool { return !refused[c] }) {
				continue
			}
			op.enforced = false
			if ch := d.changes[op.key]; ch != nil {
				ch.Err = errRefused
			}
		}
	}
}

// reattachTrust brings the trust part of cp's connections up to date
// after the trust writes: the changes a re-read after a 409 added and the
// findings the writes changed (one-sided trust judged on what was
// written, a deployment's plan in progress).
func (ps *passState) reattachTrust(cp *ClusterPlan) {
	if ps.trust == nil {
		return
	}
	for _, p := range cp.Connections {
		ct := ps.trust.byConn[p.Conn.Name]
		if ct == nil || p.Conn.Policy == spec.PolicyDisabled {
			continue
		}
		p.Findings = slices.DeleteFunc(p.Findings, func(f Finding) bool { return f.Code == CodeTrustOneSided })
		for _, f := range ct.findings {
			if !slices.Contains(p.Findings, f) {
				p.Findings = append(p.Findings, f)
			}
		}
		for _, ch := range ct.changes {
			if !slices.Contains(p.Changes, ch) {
				p.Changes = append(p.Changes, ch)
			}
		}
	}
}

// trustDetached is the pass's trust work and findings that concern no
// connection (see the package comment on trust), for the report.
func (ps *passState) trustDetached() Detached {
	if ps.trust == nil {
		return Detached{}
	}
	return ps.trust.detached
}
