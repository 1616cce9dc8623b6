package decide

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

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

// caWarnBefore is how long before a trusted CA expires esremote warns.
const caWarnBefore = 30 * 24 * time.Hour

// TrustWriteAttempts bounds the PUTs of one deployment's trust in a pass
// when the deployment keeps changing under us (409).
const TrustWriteAttempts = 4

// Trust entry kinds (the lists of settings.trust).
const (
	TrustAccounts = "accounts"
	TrustExternal = "external"
	TrustDirect   = "direct"
)

// TrustPlan is the certificate model's trust work of one pass: desired vs
// live trust of every deployment involved, the writes apply makes, and
// what the pass found, by connection.
type TrustPlan struct {
	Deps  map[string]*TrustDeployment // by cluster name
	Order []string                    // write order: locals of certificate connections first
	// links are the certificate connections between two declared
	// deployments, for the one-sided check.
	links []*trustLink
	// ByConn is what concerns each connection, by connection name.
	ByConn map[string]*ConnTrust
	// Detached concerns no connection.
	Detached Detached
	// Missing are the facts the decision asked for and the observation
	// did not hold, in the order asked: the observe stage reads them and
	// decides again. A plan with Missing facts is not the pass's decision.
	Missing []TrustQuestion
	// Refused are the connections refused as conflicts whose trust the
	// plan holds (HoldRefused), sorted.
	Refused []string
	// decided maps the changes of a copy (Clone) to the decision's.
	decided map[*Change]*Change
}

// Detached is trust work and findings of a pass that concern no
// connection: it belongs in the report as pass-level items.
type Detached struct {
	Changes   []*Change
	Findings  []Finding
	Unmanaged []Unmanaged
}

// ConnTrust is what the trust plan adds to one connection.
type ConnTrust struct {
	Changes  []*Change
	Findings []Finding
	Err      error
	// caExpiry is when the first CA the connection's trust relies on
	// expires (zero when unknown), for metrics.
	CAExpiry time.Time
}

// TrustDeployment is one deployment whose trust the pass looks at.
type TrustDeployment struct {
	Cluster *spec.Cluster
	Dep     *world.Deployment
	Res     *world.ESResource
	Err     error
	// entries are the entries sources want, by identity.
	entries map[string]*TrustEntry
	// Ops are the differences diff found; changes their report, by key.
	Ops     []*TrustOp
	Changes map[string]*Change
	// Final is the trust after this pass (live, or what apply wrote).
	Final world.Trust
	// locals: this deployment is the local of a certificate connection.
	local bool
}

func (d *TrustDeployment) ID() string { return d.Cluster.Deployment.ID }

// TrustEntry is one desired entry and the sources that want it.
type TrustEntry struct {
	Key     string
	Kind    string
	Type    string // direct: ECE or ESS
	ID      string // scope_id, account_id or trust_relationship_id
	Sources []TrustSource
	// conns are the connections the entry concerns (report attachment).
	conns []string
}

// TrustSource is one spec object that wants an entry.
type TrustSource struct {
	conn     *spec.Connection
	te       *spec.TrustedEnvironment
	Enforced bool
	all      bool
	IDs      []string
	Certs    []string
	name     string
}

func (s TrustSource) connName() string {
	if s.conn != nil {
		return s.conn.Name
	}
	return ""
}

// trustLink is one direction-pair of a certificate connection.
type trustLink struct {
	conn        *spec.Connection
	local, rem  *TrustDeployment
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

func (v entryView) Fingerprint() string {
	b, _ := json.Marshal(v)
	return ledger.Fingerprint(string(b))
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
		parts = append(parts, fmt.Sprintf("%d CA %s", len(v.Certs), ledger.Fingerprint(strings.Join(v.Certs, "\n"))))
	}
	return strings.Join(parts, ", ")
}

// TrustOp is one difference between a deployment's desired and live
// trust: a write (create or update) or a removal.
type TrustOp struct {
	Key    string
	Kind   string
	entry  *TrustEntry // nil for a removal
	Action drift.Action
	Origin drift.Origin
	actual string
	want   entryView // the full desired value (report)
	Write  entryView // what apply writes: enforced sources only
	Remove bool
	// Enforced: apply makes this change. Held: it would, but every
	// connection that wants it was refused as a conflict (HoldRefused).
	Enforced bool
	Held     bool
	Conns    []string
	Conn     string // the connection recorded in the ledger
}

// NormPEM is the comparable form of a PEM certificate.
func NormPEM(s string) string { return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n")) }

func NormCerts(in []string) []string {
	out := make([]string, 0, len(in))
	for _, c := range in {
		if c = NormPEM(c); c != "" && !slices.Contains(out, c) {
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
		return world.DirectGeneric
	}
	return t
}

// Identity of live entries.
func accountKey(id string) string        { return TrustAccounts + " " + id }
func externalKey(id string) string       { return TrustExternal + " " + id }
func DirectKey(typ, scope string) string { return TrustDirect + " " + directType(typ) + " " + scope }

func liveDirectKey(d world.DirectTrust) string {
	if d.ScopeID == "" {
		return TrustDirect + " " + directType(d.Type) + " uid:" + d.UID
	}
	return DirectKey(d.Type, d.ScopeID)
}

// FindLive returns the view of the first live entry with the given
// identity and its index, or -1.
func FindLive(t world.Trust, key string) (entryView, int) {
	kind, _, _ := strings.Cut(key, " ")
	switch kind {
	case TrustAccounts:
		for i, a := range t.Accounts {
			if accountKey(a.AccountID) == key {
				return entryView{Name: a.Name, ID: a.AccountID, All: a.TrustAll, IDs: normIDs(a.TrustAllowlist)}, i
			}
		}
	case TrustExternal:
		for i, x := range t.External {
			if externalKey(x.TrustRelationshipID) == key {
				return entryView{ID: x.TrustRelationshipID, All: x.TrustAll, IDs: normIDs(x.TrustAllowlist)}, i
			}
		}
	case TrustDirect:
		for i, d := range t.Direct {
			if liveDirectKey(d) == key {
				return entryView{Name: d.Name, Type: directType(d.Type), ID: d.ScopeID, All: d.TrustAll,
					IDs: normIDs(d.TrustAllowlist), Certs: NormCerts(d.PEMs())}, i
			}
		}
	}
	return entryView{}, -1
}

// View merges the sources of an entry. writing keeps only what enforced
// sources want, plus what report-only sources want and is already live.
func (e *TrustEntry) View(live *entryView, writing bool) entryView {
	v := entryView{ID: e.ID}
	if e.Kind == TrustDirect {
		v.Type = e.Type
	}
	var ids, certs []string
	for _, s := range e.Sources {
		if writing && !s.Enforced {
			if live == nil {
				continue
			}
			v.All = v.All || (s.all && live.All)
			for _, id := range s.IDs {
				if slices.Contains(live.IDs, id) {
					ids = append(ids, id)
				}
			}
			for _, c := range NormCerts(s.Certs) {
				if slices.Contains(live.Certs, c) {
					certs = append(certs, c)
				}
			}
			continue
		}
		v.All = v.All || s.all
		ids = append(ids, s.IDs...)
		certs = append(certs, s.Certs...)
	}
	if !v.All {
		v.IDs = normIDs(ids)
	}
	if e.Kind == TrustDirect {
		v.Certs = NormCerts(certs)
	}
	if e.Kind != TrustExternal {
		v.Name = e.name()
	}
	return v
}

// name is the entry's name: the first TrustedEnvironment's, else one
// saying who made it.
func (e *TrustEntry) name() string {
	for _, s := range e.Sources {
		if s.te != nil {
			return s.te.Name
		}
	}
	if e.Kind == TrustAccounts {
		return "esremote: organization " + e.ID
	}
	env := "ECE environment"
	if e.Type == world.DirectESS {
		env = "ECH organization"
	}
	return "esremote: " + env + " " + e.ID
}

func (e *TrustEntry) enforced() bool {
	return slices.ContainsFunc(e.Sources, func(s TrustSource) bool { return s.Enforced })
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
	local *world.TrustRelationship // ECE: this environment
	err   error
}

// TrustBuilder applies the trust rules to a trustInput (the apply step
// wraps it in a trustWriter).
type TrustBuilder struct {
	Input TrustInput
	Plan  *TrustPlan
	// asked are the questions noted Missing (ask).
	asked map[string]bool
}
