package decide

import (
	"encoding/pem"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// The decide stage for the certificate model's trust: decideTrust, a pure
// function of the frozen trust observation and the ledger.

// DecideTrust is the trust decision of a pass: from the specs, the
// observed trust facts and the ledger, the desired entries of every
// deployment involved, their differences with the live trust (the writes
// and removals apply makes), the findings, and the write order. It is
// pure when in.obs is frozen.
func DecideTrust(in TrustInput) *TrustPlan {
	tp := &TrustPlan{Deps: map[string]*TrustDeployment{}, ByConn: map[string]*ConnTrust{}}
	tb := &TrustBuilder{Input: in, Plan: tp}
	set := in.Set

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
		if err := firstErr(ld.Err, rd.Err); err != nil {
			tp.conn(c.Name).Err = err
			continue
		}
		tb.linkSources(c, ld, rd)
	}
	if !in.Scoped {
		for _, te := range set.TrustedEnvironments {
			tb.environmentSource(te, conns)
		}
		// Deployments where esremote owns entries, to remove those no spec
		// wants any more.
		for _, cl := range set.Clusters {
			if cl.Deployment != nil && len(in.Ledger.TrustEntries(cl.Deployment.ID)) > 0 {
				tb.dep(cl)
			}
		}
	}

	for _, name := range sortedKeys(tp.Deps) {
		d := tp.Deps[name]
		if d.Err != nil {
			continue
		}
		d.Ops = tb.Diff(d, d.Res.Trust, true)
		d.Final = d.Res.Trust
		d.Changes = map[string]*Change{}
		for _, op := range d.Ops {
			tb.Report(d, op)
		}
	}
	tb.expiryFindings()
	tb.versionFindings(conns)
	tp.OneSided()

	// Write order: locals of certificate connections first (DESIGN §5).
	tp.Order = sortedKeys(tp.Deps)
	sort.SliceStable(tp.Order, func(i, j int) bool { return tp.Deps[tp.Order[i]].local && !tp.Deps[tp.Order[j]].local })
	return tp
}

// Report makes the Change of an op and attaches it.
func (tb *TrustBuilder) Report(d *TrustDeployment, op *TrustOp) {
	if op.Action == "" {
		return
	}
	ch := &Change{Resource: drift.ResourceTrust, Target: d.Cluster.Name, Key: op.Key, Action: op.Action,
		Actual: op.actual, Origin: op.Origin}
	if !op.Remove {
		ch.Desired = op.want.summary()
	}
	d.Changes[op.Key] = ch
	tb.Attach(op.Conns, func(ct *ConnTrust) { ct.Changes = append(ct.Changes, ch) }, func() {
		tb.Plan.Detached.Changes = append(tb.Plan.Detached.Changes, ch)
	})
}

// inScope reports whether a --only pass covers connection c.
func (in TrustInput) inScope(c *spec.Connection) bool {
	return in.Only == "" || c.Name == in.Only
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (tp *TrustPlan) conn(name string) *ConnTrust {
	ct := tp.ByConn[name]
	if ct == nil {
		ct = &ConnTrust{}
		tp.ByConn[name] = ct
	}
	return ct
}

// Attach runs add for each named connection, or detached when there is none.
func (tb *TrustBuilder) Attach(conns []string, add func(*ConnTrust), detached func()) {
	if len(conns) == 0 {
		detached()
		return
	}
	for _, n := range conns {
		add(tb.Plan.conn(n))
	}
}

// entryFor is the entry through which deployment d trusts env.
// skip is true when no entry is needed (one ECE environment: the account
// trust covers it).
func (tb *TrustBuilder) entryFor(d *TrustDeployment, env envRef) (e *TrustEntry, skip bool, err error) {
	dp := d.Cluster.Deployment.Platform
	switch {
	case dp == spec.PlatformECH && env.platform == spec.PlatformECE:
		return &TrustEntry{Key: DirectKey(world.DirectECE, env.id), Kind: TrustDirect, Type: world.DirectECE, ID: env.id}, false, nil
	case dp == spec.PlatformECE && env.platform == spec.PlatformECH:
		return &TrustEntry{Key: DirectKey(world.DirectESS, env.id), Kind: TrustDirect, Type: world.DirectESS, ID: env.id}, false, nil
	case dp == spec.PlatformECH:
		return &TrustEntry{Key: accountKey(env.id), Kind: TrustAccounts, ID: env.id}, false, nil
	}
	own, err := tb.envOf(d.Cluster)
	if err != nil {
		return nil, false, err
	}
	if own.id == env.id {
		return nil, true, nil
	}
	rels, err := tb.relations(d.Cluster)
	if err != nil {
		return nil, false, fmt.Errorf("trust relationships of %s: %w", d.Cluster.Name, err)
	}
	for _, r := range rels {
		if !r.Local && r.InstallationID == env.id {
			return &TrustEntry{Key: externalKey(r.ID), Kind: TrustExternal, ID: r.ID}, false, nil
		}
	}
	return nil, false, fmt.Errorf("the ECE environment of %s has no trust relationship with ECE environment %s: create it under Platform > Trust Management (esremote does not manage platform trust)", d.Cluster.Name, env.id)
}

// want adds a source to deployment d's entry for env.
func (tb *TrustBuilder) want(d *TrustDeployment, env envRef, s TrustSource, conns []string) error {
	e, skip, err := tb.entryFor(d, env)
	if err != nil || skip {
		return err
	}
	if cur := d.entries[e.Key]; cur != nil {
		e = cur
	} else {
		d.entries[e.Key] = e
	}
	e.Sources = append(e.Sources, s)
	for _, n := range conns {
		if !slices.Contains(e.conns, n) {
			e.conns = append(e.conns, n)
		}
	}
	return nil
}

// linkSources adds the trust a certificate connection implies: each side
// trusts the other's cluster.
func (tb *TrustBuilder) linkSources(c *spec.Connection, l, r *TrustDeployment) {
	ct := tb.Plan.conn(c.Name)
	enforced := c.Policy != spec.PolicyReport && c.Policy != spec.PolicyDisabled
	lenv, err := tb.envOf(l.Cluster)
	if err != nil {
		ct.Err = err
		return
	}
	renv, err := tb.envOf(r.Cluster)
	if err != nil {
		ct.Err = err
		return
	}
	link := &trustLink{conn: c, local: l, rem: r, localEnv: lenv, remoteEnv: renv}
	// Only direct entries (across platforms) carry CAs.
	if lenv.platform != renv.platform {
		if link.localCerts, err = tb.certsOf(l.Cluster); err != nil {
			ct.Err = fmt.Errorf("CA of %s: %w", l.Cluster.Name, err)
			return
		}
		if link.remoteCerts, err = tb.certsOf(r.Cluster); err != nil {
			ct.Err = fmt.Errorf("CA of %s: %w", r.Cluster.Name, err)
			return
		}
	}
	tb.Plan.links = append(tb.Plan.links, link)
	if err := tb.want(l, renv, TrustSource{conn: c, Enforced: enforced, IDs: []string{r.Res.ClusterID},
		Certs: link.remoteCerts}, []string{c.Name}); err != nil {
		ct.Err = err
		return
	}
	if err := tb.want(r, lenv, TrustSource{conn: c, Enforced: enforced, IDs: []string{l.Res.ClusterID},
		Certs: link.localCerts}, []string{c.Name}); err != nil {
		ct.Err = err
	}
}

// environmentSource adds the trust a TrustedEnvironment asks for.
func (tb *TrustBuilder) environmentSource(te *spec.TrustedEnvironment, conns []*spec.Connection) {
	cl := tb.Input.Set.Cluster(te.Deployment)
	// The connections it concerns, and whether one of them enforces.
	var names []string
	involved, enforced := false, false
	for _, c := range tb.Input.Set.Connections {
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
		tb.Attach(names, func(ct *ConnTrust) { ct.Findings = append(ct.Findings, f) }, func() {
			tb.Plan.Detached.Findings = append(tb.Plan.Detached.Findings, f)
		})
	}
	if cl == nil || cl.Deployment == nil {
		fail(fmt.Errorf("deployment %q is not a declared Cluster with a deployment block", te.Deployment))
		return
	}
	d := tb.dep(cl)
	if d.Err != nil {
		fail(d.Err)
		return
	}
	env := envRef{platform: te.Platform, id: te.EnvironmentID}
	s := TrustSource{te: te, Enforced: enforced, all: te.Trust.All, IDs: te.Trust.ClusterIDs, name: te.Name}
	// Account and external entries carry no certificates.
	direct := d.Cluster.Deployment.Platform != env.platform
	if direct {
		certs, err := tb.environmentCerts(te, env)
		if err != nil {
			fail(err)
			return
		}
		s.Certs = certs
	}
	if err := tb.want(d, env, s, names); err != nil {
		fail(err)
	}
}

// environmentCerts finds an environment's CA: from the API of a declared
// Cluster of that environment, else the TrustedEnvironment's ca_file.
func (tb *TrustBuilder) environmentCerts(te *spec.TrustedEnvironment, env envRef) ([]string, error) {
	var fromAPI []string
	var apiErr error
	var matched []*spec.Cluster
	for _, cl := range tb.Input.Set.Clusters {
		if cl.Deployment == nil || cl.Deployment.Platform != env.platform {
			continue
		}
		if env.platform == spec.PlatformECH {
			// Deployments observed this pass know their organization;
			// others are matched by the organizations of their API key.
			if d := tb.Plan.Deps[cl.Name]; d != nil && d.Err == nil {
				if cmpOr(d.Dep.OrganizationID, d.Res.OrganizationID) == env.id {
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
		if i > 0 && (env.platform == spec.PlatformECE || tb.Plan.Deps[cl.Name] == nil) {
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
		tb.ask(TrustQuestion{Fact: FactCAFile, Env: te})
		b, err := tb.Input.Obs.CAFile(te)
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

// Diff compares deployment d's desired entries and owned entries with its
// live trust. It is pure: the ledger's part is tb.in.ledger (the ledger
// as the pass found it, or as the writes left it on a re-diff); note says whether
// findings and unmanaged entries are recorded (the first diff of a pass)
// or not (the re-diff after a conflict).
func (tb *TrustBuilder) Diff(d *TrustDeployment, live world.Trust, note bool) []*TrustOp {
	led := tb.Input.Ledger
	var ops []*TrustOp
	keys := map[string]bool{}
	for k := range d.entries {
		keys[k] = true
	}
	if !tb.Input.Scoped {
		for _, k := range led.TrustEntries(d.ID()) {
			keys[k] = true
		}
	}
	for _, key := range sortedKeys(keys) {
		rec := led.Trust(d.ID(), key)
		cur, idx := FindLive(live, key)
		exists := idx >= 0
		owned := rec != nil && (!rec.Pending || (exists && cur.Fingerprint() == rec.Fingerprint))
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
				ops = append(ops, &TrustOp{Key: key, Kind: kind, Remove: true, Enforced: true, Conn: recConn(rec)})
			case owned && cur.Fingerprint() == rec.Fingerprint:
				ops = append(ops, &TrustOp{Key: key, Kind: kind, Action: drift.ActionDelete, Origin: drift.OriginSpec, actual: cur.summary(),
					Remove: true, Enforced: true, Conns: tb.existing(recConn(rec)), Conn: recConn(rec)})
			case note:
				tb.Plan.Detached.Unmanaged = append(tb.Plan.Detached.Unmanaged, Unmanaged{Target: d.Cluster.Name, Kind: "trust", Name: key, Reason: "foreign"})
			}
			continue
		}
		var livePtr *entryView
		if exists {
			livePtr = &cur
		}
		want := e.View(nil, false)
		write := e.View(livePtr, true)
		op := &TrustOp{Key: key, Kind: kind, entry: e, want: want, Write: write, Enforced: e.enforced(), Conns: e.conns, Conn: firstConn(e)}
		switch {
		case !exists:
			op.Action, op.Origin = drift.ActionCreate, drift.OriginSpec
			if rec != nil && !rec.Pending {
				op.Origin = drift.OriginExternal
			}
		case !owned:
			if note && !cur.covers(want) {
				f := Finding{Severity: "error", Code: CodeTrustNotOwned,
					Message: fmt.Sprintf("deployment %s has a trust entry %s that esremote did not create (%s) and that does not grant %s; esremote leaves it alone", d.Cluster.Name, key, cur.summary(), want.summary()),
					Fix:     "extend that entry by hand, or delete it so that esremote creates and manages its own"}
				tb.Attach(e.conns, func(ct *ConnTrust) { ct.Findings = append(ct.Findings, f) }, func() {
					tb.Plan.Detached.Findings = append(tb.Plan.Detached.Findings, f)
				})
			}
			continue
		case cur.equal(want):
			continue
		default:
			op.Action, op.Origin, op.actual = drift.ActionUpdate, drift.OriginSpec, cur.summary()
			if cur.Fingerprint() != rec.Fingerprint {
				op.Origin = drift.OriginExternal
			}
			// Only report-only sources differ: nothing to write.
			if cur.equal(write) {
				op.Enforced = false
			}
		}
		ops = append(ops, op)
	}
	// A re-diff after a 409 holds what the decision held (HoldRefused):
	// the plan names the refused connections.
	for _, op := range ops {
		if heldFor(op, tb.Plan.Refused) {
			op.Enforced, op.Held = false, true
		}
	}
	return ops
}

// findConnection is the connection called name, or nil (a scan, not
// spec.Set's index, which is built on first use and not safe for the
// concurrent decisions of a pass).
func findConnection(set *spec.Set, name string) *spec.Connection {
	for _, c := range set.Connections {
		if c.Name == name {
			return c
		}
	}
	return nil
}
