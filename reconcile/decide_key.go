package reconcile

import (
	"fmt"

	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// The decide stage for an api_key connection's credentials (key and
// keystore): decide.Key, a pure function of the Snapshot and the ledger.

// planKey gathers what decide.Key decides from (the connection, the
// Snapshot's part: the alias in _remote/info, the evidence, the remote's
// keys; the ledger's part: the key and keystore records, the installation
// id) and adds the decision to p. It reads nothing live: the remote was
// read by the observe stage (prefetchRemotes).
func (ps *passState) planKey(p *ConnectionPlan, local *spec.Cluster, cr *world.ClusterRead) {
	obs := cr.Observed
	c := p.Conn
	if c.Security != spec.SecurityAPIKey || c.APIKey == nil || p.Err != nil || c.Policy == spec.PolicyDisabled {
		return
	}
	in := decide.KeyInput{
		Conn:         c,
		SelfManaged:  local.Deployment == nil,
		LocalVersion: obs.Version,
		Health:       p.Health,
		Refusal:      p.Refusal,
		RefusedKey:   p.RefusedKey,
		Proven:       p.Proven,
		Keystore:     ps.ledger.Keystore(c.Local, CredentialsKey(c.Alias)),
		Key:          ps.ledger.Key(c.Name),
		Installation: ps.ledger.Installation(),
		Now:          ps.r.opts.Now(),
		Grace:        ps.r.opts.KeystoreLoadGrace,
		StuckAfter:   ps.r.opts.RotationStuckAfter,
		Overlap:      ps.r.opts.RotationOverlap,
	}
	in.Alias, in.AliasLive = obs.Remote[c.Alias]
	if !c.APIKey.Managed && c.APIKey.Credentials != nil {
		in.Secret, in.SecretErr = c.APIKey.Credentials.Resolve(ps.r.opts.Getenv)
	}
	if rcl := keyRemote(ps.set, p, local, obs); rcl != nil {
		in.Remote = &decide.RemoteKeys{Name: rcl.Name, Err: fmt.Errorf("not observed in this pass")}
		if kr := ps.snap.keys(rcl.Name); kr != nil {
			in.Remote = &decide.RemoteKeys{Name: rcl.Name, Info: kr.Info, Keys: kr.Keys, Err: kr.Err}
		}
	}
	d := decide.Key(in)
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
