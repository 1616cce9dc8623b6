package decide

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// The decide stage for trust, continued: findings (CA expiry, versions,
// one-sided trust) and what the trust plan adds to each connection.

func recConn(r *ledger.Record) string {
	if r == nil {
		return ""
	}
	return r.Connection
}

func firstConn(e *TrustEntry) string {
	for _, s := range e.Sources {
		if n := s.connName(); n != "" {
			return n
		}
	}
	return ""
}

// unprepared reports whether name is a connection of the spec set whose
// trust could not be computed this pass: the entries it owns are kept,
// since a connection that failed to prepare is still declared.
func (tb *TrustBuilder) unprepared(name string) bool {
	if name == "" || tb.Input.Set.Connection(name) == nil {
		return false
	}
	ct := tb.Plan.ByConn[name]
	return ct != nil && ct.Err != nil
}

// existing keeps a connection name when it is still a certificate
// connection of the specs.
func (tb *TrustBuilder) existing(name string) []string {
	if c := findConnection(tb.Input.Set, name); name != "" && c != nil && c.Security == spec.SecurityCertificate && c.Policy != spec.PolicyDisabled {
		return []string{name}
	}
	return nil
}

// expiryFindings warns about every desired CA that expires within 30 days.
func (tb *TrustBuilder) expiryFindings() {
	now := tb.Input.Now
	seen := map[string]bool{}
	for _, name := range sortedKeys(tb.Plan.Deps) {
		d := tb.Plan.Deps[name]
		for _, key := range sortedKeys(d.entries) {
			e := d.entries[key]
			for _, s := range e.Sources {
				for _, p := range s.Certs {
					na, ok := certNotAfter(p)
					if !ok {
						continue
					}
					for _, n := range e.conns {
						if ct := tb.Plan.conn(n); ct.CAExpiry.IsZero() || na.Before(ct.CAExpiry) {
							ct.CAExpiry = na
						}
					}
					if na.Sub(now) > caWarnBefore {
						continue
					}
					id := d.Cluster.Name + key + p
					if seen[id] {
						continue
					}
					seen[id] = true
					verb := "expires"
					if na.Before(now) {
						verb = "expired"
					}
					f := Finding{Severity: "warning", Code: CodeCAExpiresSoon,
						Message: fmt.Sprintf("a CA that %s trusts through %s %s on %s", d.Cluster.Name, key, verb, na.UTC().Format(time.RFC3339)),
						Fix:     "add the new CA next to the old one before it expires (ca_file, or the environment's API), then remove the old one"}
					tb.Attach(e.conns, func(ct *ConnTrust) { ct.Findings = append(ct.Findings, f) }, func() {
						tb.Plan.Detached.Findings = append(tb.Plan.Detached.Findings, f)
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
func (tb *TrustBuilder) versionFindings(conns []*spec.Connection) {
	for _, c := range conns {
		var v9 []string
		for _, n := range []string{c.Local, c.Remote.Cluster} {
			if d := tb.Plan.Deps[n]; d != nil && d.Err == nil && versionAtLeast(d.Res.Version, 9, 0, 0) {
				v9 = append(v9, n+" runs "+d.Res.Version)
			}
		}
		if len(v9) == 0 {
			continue
		}
		ct := tb.Plan.conn(c.Name)
		ct.Findings = append(ct.Findings, Finding{Severity: "warning", Code: CodeCertificateModel,
			Message: "the certificate security model is deprecated since 9.0 (" + strings.Join(v9, ", ") + ")",
			Fix:     "move the connection to security: api_key (cross-cluster API keys, port 9443)"})
	}
}

// versionAtLeast parses a version with world.ParseVersion, the one parser;
// an unparsable one is not at least anything.
func versionAtLeast(raw string, major, minor, patch int) bool {
	v, err := world.ParseVersion(raw)
	return err == nil && v.AtLeast(major, minor, patch)
}

// OneSided reports certificate links where one deployment trusts the
// other but not the other way round, judged on each deployment's final
// trust (live in plan, written in apply).
func (tp *TrustPlan) OneSided() {
	for _, l := range tp.links {
		ct := tp.conn(l.conn.Name)
		ct.Findings = slices.DeleteFunc(ct.Findings, func(f Finding) bool { return f.Code == CodeTrustOneSided })
		lr := trusts(l.local, l.remoteEnv, l.rem.Res.ClusterID, l.remoteCerts, l.localEnv)
		rl := trusts(l.rem, l.localEnv, l.local.Res.ClusterID, l.localCerts, l.remoteEnv)
		if lr == rl {
			continue
		}
		a, b := l.local.Cluster.Name, l.rem.Cluster.Name
		if rl {
			a, b = b, a
		}
		ct.Findings = append(ct.Findings, Finding{Severity: "warning", Code: CodeTrustOneSided,
			Message: fmt.Sprintf("%s trusts %s, but %s does not trust %s back: the certificate link cannot connect", a, b, b, a),
			Fix:     "apply with policy enforce, or add the missing trust on " + b})
	}
}

// trusts judges whether deployment d's final trust admits cluster id of
// environment env, signed by one of certs. own is d's environment. Within
// one ECE environment any account entry that admits the cluster counts
// (the account ID is not known to esremote there).
func trusts(d *TrustDeployment, env envRef, id string, certs []string, own envRef) bool {
	t := d.Final
	admits := func(all bool, list []string) bool { return all || slices.Contains(list, id) }
	dp := d.Cluster.Deployment.Platform
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
				if !strings.HasPrefix(key, TrustExternal+" ") {
					continue
				}
				if v, i := FindLive(t, key); i >= 0 && (v.All || slices.Contains(v.IDs, id)) {
					return true
				}
			}
		}
	}
	want := world.DirectESS
	if env.platform == spec.PlatformECE {
		want = world.DirectECE
	}
	nc := NormCerts(certs)
	for _, e := range t.Direct {
		if (e.Type != "" && e.Type != world.DirectGeneric && e.Type != want) || e.ScopeID != env.id || !admits(e.TrustAll, e.TrustAllowlist) {
			continue
		}
		if len(nc) == 0 || slices.ContainsFunc(NormCerts(e.PEMs()), func(c string) bool { return slices.Contains(nc, c) }) {
			return true
		}
	}
	return false
}
