package decide

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// One local cluster's decision, from its read alone: the desired aliases,
// the links' evidence, the canary privileges, each api_key link's key and
// its trust, the settings diff, the roles, and what removed connections
// leave behind. It needs nothing of the other clusters, so the live pass
// makes it as soon as the cluster's reads are in; the part that spans
// clusters (identity) is Decide's.

// Windows are the durations the key decisions weigh (the Reconciler's
// options --keystore-grace, rotation_stuck_after, --rotation-overlap).
type Windows struct {
	Grace      time.Duration // KeystoreLoadGrace
	StuckAfter time.Duration // RotationStuckAfter
	Overlap    time.Duration // RotationOverlap
}

// SecretRead is a hand-made key's credential as the observe stage
// resolved it from its reference, or why it could not. spec.Secret never
// prints, logs or marshals its value.
type SecretRead struct {
	Secret spec.Secret
	Err    error
}

// ClusterInput is everything one local cluster's decision is made from.
type ClusterInput struct {
	Set   *spec.Set
	Local string
	// Conns are the pass's connections of the cluster (--only keeps one);
	// All is every alias the specs declare on it, never deleted.
	Conns []*spec.Connection
	All   map[string]bool
	// Read is the cluster's read (nil: not read); Remotes the reads of the
	// clusters its managed keys live on, by name (Read.KeyRemotes names
	// them); Endpoints every remote's endpoint.
	Read      *world.ClusterRead
	Remotes   map[string]*world.KeysRead
	Endpoints map[string]world.EndpointRead
	// Secrets are the hand-made keys' credentials, by connection name.
	Secrets map[string]SecretRead
	// Trust is the pass's trust decision (DecideTrust).
	Trust *TrustPlan
	// Ledger is the copy of the ledger taken at pass start (read only).
	Ledger *ledger.Ledger
	// Scoped: the pass is restricted to one connection (--only).
	Scoped  bool
	Windows Windows
	Now     time.Time
}

// ClusterDecision is one local cluster's decision.
type ClusterDecision struct {
	Plan *ClusterPlan
	// Cluster is the declared cluster, nil when the decision failed (its
	// plan's Err says why): nothing of it is written.
	Cluster *spec.Cluster
	// Read is what it was decided from.
	Read *world.ClusterRead
	// Seen is the observation the identity check is made on (nil when the
	// decision failed before it).
	Seen *world.Observed
	// Conns are the cluster's connections, for a failure.
	Conns []*spec.Connection
}

// Failed is the decision of a cluster that failed: every connection fails
// with err, nothing is written.
func Failed(local string, conns []*spec.Connection, err error) *ClusterDecision {
	cp := &ClusterPlan{Local: local, Err: err}
	for _, c := range conns {
		cp.Connections = append(cp.Connections, &ConnectionPlan{Conn: c, Err: err, Health: drift.HealthUnknown})
	}
	return &ClusterDecision{Plan: cp, Conns: conns}
}

// Cluster decides one local cluster from its read. It reads nothing and
// changes nothing but the plan it returns.
func Cluster(in ClusterInput) *ClusterDecision {
	local, conns := in.Local, in.Conns
	cl := in.Set.Cluster(local)
	if cl == nil {
		return Failed(local, conns, drift.Terminal(fmt.Errorf("cluster %q is not declared", local)))
	}
	cr := in.Read
	if cr == nil {
		return Failed(local, conns, fmt.Errorf("cluster %s was not observed in this pass", local))
	}
	if cr.Err != nil {
		return Failed(local, conns, cr.Err)
	}
	obs := cr.Observed
	cps := make([]*ConnectionPlan, 0, len(conns))
	for _, c := range conns {
		p := &ConnectionPlan{Conn: c}
		if c.Policy != spec.PolicyDisabled {
			ep := in.Endpoints[c.Remote.Cluster]
			if ep.Err != nil && c.Remote.ProxyAddress == "" {
				p.Err = ep.Err
			} else if d, err := Desire(c, ep.Endpoint); err != nil {
				p.Err = err
			} else {
				p.Desired = d
			}
			if cl.Elasticsearch.InsecureSkipVerify {
				p.Findings = append(p.Findings, Finding{Severity: "warning", Code: CodeInsecureSkipVerify,
					Message: "TLS verification is off for " + local + " (insecure_skip_verify): anyone on the path can read its credentials",
					Fix:     "give the cluster's CA in elasticsearch.ca_file and remove insecure_skip_verify"})
			}
		}
		p.Observed, p.ObservedOK = obs.Remote[c.Alias]
		cps = append(cps, p)
	}
	// Health by evidence, before planning: a managed key the local cluster
	// does not use is drift the key planning repairs.
	for _, p := range cps {
		if ev, ok := cr.Evidence[p.Conn.Name]; ok {
			SetEvidence(p, ev)
		}
	}
	CheckCanaryPrivileges(local, cr.Privileges, cps)
	for _, p := range cps {
		if p.Conn.Policy != spec.PolicyDisabled {
			in.key(p, cl, cr)
			AttachTrust(in.Trust, p)
		}
	}
	cp := Diff(local, cps, in.All, obs, in.Ledger, in.Scoped)
	if in.Set.Dir != "" {
		specDir(cp, in.Set.Dir)
	}
	cp.UUID, cp.Observed = obs.UUID, ObservedOf(obs)
	if err := in.roles(cl, cp, cr); err != nil {
		d := Failed(local, conns, err)
		d.Seen = obs // a failed identity check is the failure reported
		return d
	}
	if !in.Scoped {
		RemovedKeysOf(cp, in.Set, in.Ledger)
		KeystoreRemovalsOf(cp, in.All, in.Ledger)
	}
	return &ClusterDecision{Plan: cp, Cluster: cl, Read: cr, Seen: obs, Conns: conns}
}

// specDir names the spec directory in the commands the conflict findings'
// fixes give.
func specDir(cp *ClusterPlan, dir string) {
	for _, p := range cp.Connections {
		for i, f := range p.Findings {
			if f.Code == CodeConflict || f.Code == CodeContestedByOther || f.Code == CodeForeignKey {
				fix := strings.Replace(f.Fix, "esremote import "+SpecDirPlaceholder+" ", "esremote import "+dir+" ", 1)
				p.Findings[i].Fix = strings.Replace(fix, "esremote state recover "+SpecDirPlaceholder, "esremote state recover "+dir, 1)
			}
		}
	}
}

// ObservedOf is a cluster's remote-cluster settings as a plan records
// them (ClusterPlan.Observed): the persistent keys, and the transient ones
// marked so.
func ObservedOf(obs *world.Observed) map[string]string {
	out := make(map[string]string, len(obs.Persistent)+len(obs.Transient))
	maps.Copy(out, obs.Persistent)
	for k, v := range obs.Transient {
		out[k+" (transient)"] = v
	}
	return out
}

// key gathers what Key decides from for an api_key connection (the
// alias in _remote/info, the evidence, the remote's keys; the ledger's
// key and keystore records, the installation id) and adds the decision
// to p.
func (in *ClusterInput) key(p *ConnectionPlan, local *spec.Cluster, cr *world.ClusterRead) {
	c := p.Conn
	if c.Security != spec.SecurityAPIKey || c.APIKey == nil || p.Err != nil || c.Policy == spec.PolicyDisabled {
		return
	}
	led := in.Ledger
	k := KeyInput{
		Conn:         c,
		SelfManaged:  local.Deployment == nil,
		LocalVersion: cr.Observed.Version,
		Health:       p.Health,
		Refusal:      p.Refusal,
		RefusedKey:   p.RefusedKey,
		Proven:       p.Proven,
		Keystore:     led.Keystore(c.Local, CredentialsKey(c.Alias)),
		Key:          led.Key(c.Name),
		Installation: led.Installation(),
		Now:          in.Now,
		Grace:        in.Windows.Grace,
		StuckAfter:   in.Windows.StuckAfter,
		Overlap:      in.Windows.Overlap,
	}
	k.Alias, k.AliasLive = cr.Observed.Remote[c.Alias]
	if !c.APIKey.Managed && c.APIKey.Credentials != nil {
		s, ok := in.Secrets[c.Name]
		if !ok {
			s.Err = errors.New("its credentials were not resolved in this pass")
		}
		k.Secret, k.SecretErr = s.Secret, s.Err
	}
	if remote := cr.KeyRemotes[c.Name]; remote != "" {
		k.Remote = &RemoteKeys{Name: remote, Err: errors.New("not observed in this pass")}
		if kr := CheckRemote(remote, in.Remotes[remote], led); kr != nil {
			k.Remote = &RemoteKeys{Name: remote, Info: kr.Info, Keys: kr.Keys, Err: kr.Err}
		}
	}
	d := Key(k)
	p.Changes = append(p.Changes, d.Changes...)
	p.Findings = append(p.Findings, d.Findings...)
	if d.Contested {
		p.Contested = true
	}
	p.KeyConflict = d.Conflict
	if !d.Expiration.IsZero() {
		p.KeyExpiration = d.Expiration
	}
	if d.Err != nil {
		p.Err = d.Err
		return
	}
	p.Key = d.Work
}

// AttachTrust adds the trust changes and findings that concern a
// connection to its plan, so the report shows them with the connection.
// It only reads the trust plan.
func AttachTrust(tp *TrustPlan, p *ConnectionPlan) {
	if tp == nil {
		return
	}
	ct := tp.ByConn[p.Conn.Name]
	if ct == nil {
		return
	}
	if ct.Err != nil && p.Err == nil {
		p.Err = fmt.Errorf("trust: %w", ct.Err)
	}
	p.Changes = append(p.Changes, ct.Changes...)
	p.Findings = append(p.Findings, ct.Findings...)
	p.CAExpiration = ct.CAExpiry
}

// roles diffs the cluster's live roles (read by the observe stage when
// there is a role to manage) with the specs and the ledger (Roles). The
// observe stage asked WantRoles with every connection of the cluster, a
// superset of those that prepared, so a cluster whose roles are decided
// had them read.
func (in *ClusterInput) roles(cl *spec.Cluster, cp *ClusterPlan, cr *world.ClusterRead) error {
	var conns []*spec.Connection
	for _, p := range cp.Connections {
		if p.Err == nil {
			conns = append(conns, p.Conn)
		}
	}
	if !WantRoles(cl.Name, conns, in.Ledger, in.Scoped) {
		return nil
	}
	live, err := cr.Roles, cr.RolesErr
	if !cr.RolesRead {
		err = errors.New("not observed in this pass")
	}
	if err != nil {
		return fmt.Errorf("read roles: %w", err)
	}
	Roles(in.Set, cl, cp, cr.Observed.Version, live, in.Ledger, in.Scoped)
	return nil
}

// WantRoles says whether a local cluster's pass decides roles: one of
// conns (not disabled) declares roles, or the ledger owns roles there and
// the pass is not scoped to one connection. The observe stage asks it
// before the connections are prepared, the decision after, without the
// connections that failed to prepare. A cluster whose roles were read and
// whose role-declaring connections all failed to prepare read them for
// nothing: that costs a read only in a pass that fails anyway.
func WantRoles(local string, conns []*spec.Connection, led *ledger.Ledger, scoped bool) bool {
	if slices.ContainsFunc(conns, func(c *spec.Connection) bool { return c.Policy != spec.PolicyDisabled && len(c.Roles) > 0 }) {
		return true
	}
	return len(led.Roles(local)) > 0 && !scoped
}

// CheckRemote is a remote's keys as a decision may use them: as read
// (nil when not read), unless the cluster answering is not the one the
// ledger's records are about: then its keys are not used, and the error
// says why no key is created or invalidated there.
func CheckRemote(name string, kr *world.KeysRead, led *ledger.Ledger) *world.KeysRead {
	if kr == nil || kr.Err != nil {
		return kr
	}
	if rec := led.ClusterUUID(name); rec != "" && kr.Info.ClusterUUID != "" && rec != kr.Info.ClusterUUID {
		return &world.KeysRead{Info: kr.Info, Err: fmt.Errorf("%s: cluster %s now answers with cluster_uuid %s, but esremote's records are about cluster_uuid %s: no key is created or invalidated there",
			CodeIdentityChanged, name, kr.Info.ClusterUUID, rec)}
	}
	return kr
}
