package reconcile

// The decide stage for the certificate model's trust: decideTrust, a pure
// function of the frozen trust observation and the ledger.

import (
	"context"
	"encoding/pem"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// planTrust observes the trust of every deployment that certificate
// connections and TrustedEnvironments involve, and decides it. It only
// reads: first the rules run against a live reader, which observes (each
// thing once) what they ask for; the record, frozen, is the Snapshot's
// part of trust, and decideTrust decides from it and the ledger alone.
func (ps *passState) planTrust(ctx context.Context) {
	in := trustInput{set: ps.set, scoped: ps.scoped, only: ps.only, ledger: ps.ledger, now: ps.r.opts.Now(),
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

// entryFor is the entry through which deployment d trusts env.
// skip is true when no entry is needed (one ECE environment: the account
// trust covers it).
func (tb *trustBuilder) entryFor(d *trustDeployment, env envRef) (e *trustEntry, skip bool, err error) {
	dp := d.cl.Deployment.Platform
	switch {
	case dp == spec.PlatformECH && env.platform == spec.PlatformECE:
		return &trustEntry{key: directKey(world.DirectECE, env.id), kind: trustDirect, typ: world.DirectECE, id: env.id}, false, nil
	case dp == spec.PlatformECE && env.platform == spec.PlatformECH:
		return &trustEntry{key: directKey(world.DirectESS, env.id), kind: trustDirect, typ: world.DirectESS, id: env.id}, false, nil
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
func (tb *trustBuilder) diff(d *trustDeployment, live world.Trust, note bool) []*trustOp {
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
