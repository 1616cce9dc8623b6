package reconcile

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/esremote/esremote/reconcile/doctor"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/spec"
)

// diagnose adds the likely cause of a configured but disconnected link to
// its findings (code link_disconnected, with the fix), from the checks
// esremote doctor runs that need no request beyond the pass's own reads:
// the remote parameters (mode, proxy address, server name, port against
// the security model) as the plan leaves them, and for a managed key the
// key the pass already read on the remote (exists, type, invalidated,
// expired, access against the role grants). A pass sends exactly the
// reads of DESIGN §5, so the keystore, _resolve/cluster and network checks
// stay with esremote doctor; when none of these checks finds a cause, or
// the alias has setting changes still to apply (they are the cause), no
// finding is added.
func (ps *passState) diagnose(ctx context.Context, p *ConnectionPlan, applied func(*Change) bool) {
	c := p.Conn
	ck := &doctor.Checkup{Set: ps.set, Conn: c, Report: &doctor.Report{Connection: c.Name},
		Now: ps.r.opts.Now(), Getenv: ps.r.opts.Getenv, KeyID: ps.r.ManagedKeyID(c.Name)}
	if p.Desired != nil {
		ck.Want = p.Desired.Settings
	}
	ck.Live, ck.Configured = plannedLive(p, applied)
	if !ck.Configured {
		return
	}
	for _, ch := range p.Changes {
		if ch.Resource == ResourceClusterSetting && !applied(ch) {
			// The plan's own changes are the cause, and apply the fix.
			return
		}
	}
	ck.Parameters()
	// loading: esremote wrote the keystore entry so recently that the
	// platform may not have loaded it (ECH/ECE reload on their own
	// schedule): _remote/info showing no credentials yet is not a
	// missing entry, and apply has nothing to write. A refusal is
	// evidence about the credential in use, so only a link without one
	// (disconnected) can be loading.
	var loading *Record
	if p.Health == HealthDisconnected {
		loading = ps.loadingKeystore(p)
	}
	written := keystoreWritten(p, applied)
	if c.Security == spec.SecurityAPIKey && p.ObservedOK && !written && loading == nil {
		// The pass's own _remote/info says whether the keystore holds the
		// alias's credentials: no extra request.
		if p.Observed.HasCredentials {
			ck.Live.ClusterCredentials = "::es_redacted::"
		}
		ck.Keystore()
	}
	if c.Security == spec.SecurityAPIKey && !written {
		// A key written in this pass is newer than the pass's read of the
		// remote's keys: not checked against it.
		if ck.Cached = ps.cachedKey(c); ck.Cached != nil {
			ck.APIKey(ctx) // sends nothing: Cached is set, Remote nil
		}
	}
	if s := ck.Report.FirstProblem(); s == nil && loading != nil {
		p.Findings = append(p.Findings, Finding{Severity: "info", Code: CodeKeystoreNotLoaded,
			Message: fmt.Sprintf("%s of %s was written %s ago and may not be loaded yet; the platform loads keystore values on its own schedule (esremote waits %s)",
				CredentialsKey(c.Alias), c.Local, ps.r.opts.Now().Sub(loading.WrittenAt).Round(time.Second), es.FormatTimeValue(ps.r.opts.KeystoreLoadGrace)),
			Fix: "nothing to do: the link connects once the value is loaded, and a later pass checks again"})
		return
	}
	s := ck.Report.FirstProblem()
	if s == nil && p.Health == HealthUnauthorized {
		// No check found why; the remote's own refusal is the cause.
		cause, fix := "refused", "run esremote doctor on the spec directory and "+c.Name
		if k, ok := doctor.Match(p.Refusal); ok {
			cause, fix = k.Cause, k.Fix
		}
		if cause == doctor.CauseKeyInvalid && c.APIKey != nil && c.APIKey.Managed && p.Enforced() {
			fix = ps.managedKeyFix()
		}
		p.Findings = append(p.Findings, Finding{Severity: "error", Code: CodeDisconnected,
			Message: fmt.Sprintf("%s refuses requests with the link's credential; likely cause %s: %s", c.Alias, cause, p.Refusal), Fix: fix})
		return
	}
	if s == nil {
		return
	}
	state := "is configured but not connected"
	if p.Health == HealthUnauthorized {
		state = "refuses requests with the link's credential"
	}
	p.Findings = append(p.Findings, Finding{Severity: "error", Code: CodeDisconnected,
		Message: fmt.Sprintf("%s %s; likely cause %s: %s", c.Alias, state, s.Cause, s.Evidence),
		Fix:     s.Fix})
}

// managedKeyFix is the fix of a managed key the remote refuses: not a
// step for the operator, esremote replaces it. A refusal that names a
// key esremote did not make, or the ledger's key invalidated or deleted,
// is repaired by the next apply; a refusal that names no key only once
// the keystore grace (and, for a key never proven in use, the stuck
// bound) has passed since the last keystore write (decide.KeystoreLost).
func (ps *passState) managedKeyFix() string {
	return fmt.Sprintf("nothing to do by hand: the key is managed (api_key.managed: true), so esremote replaces it itself: the next apply creates a new key, swaps the keystore entry and invalidates the old key once the new one has been proven in use for %s (a refusal that names no key waits %s after the last keystore write first)",
		es.FormatTimeValue(ps.r.opts.RotationOverlap), es.FormatTimeValue(ps.r.opts.KeystoreLoadGrace))
}

// plannedLive reconstructs the alias's live remote-cluster settings from
// the plan: the desired values, corrected by the changes not applied.
func plannedLive(p *ConnectionPlan, applied func(*Change) bool) (es.RemoteInfo, bool) {
	if p.Desired == nil {
		return es.RemoteInfo{}, false
	}
	live := map[string]string{}
	for k, v := range p.Desired.Settings {
		live[k] = v
	}
	for _, ch := range p.Changes {
		if ch.Resource != ResourceClusterSetting || applied(ch) {
			continue
		}
		switch ch.Action {
		case ActionCreate:
			delete(live, ch.Key)
		case ActionUpdate, ActionDelete:
			live[ch.Key] = ch.Actual
		}
	}
	key := func(suffix string) string { return live[es.RemoteKey(p.Conn.Alias, suffix)] }
	ri := es.RemoteInfo{Mode: key("mode"), ProxyAddress: key("proxy_address"), ServerName: key("server_name")}
	if seeds := strings.Trim(key("seeds"), "[]"); seeds != "" {
		ri.Seeds = strings.Split(strings.ReplaceAll(seeds, " ", ""), ",")
	}
	return ri, ri.ProxyAddress != "" || len(ri.Seeds) > 0
}

// cachedKey finds a managed connection's key among those the pass already
// read on its remote (nil when there is none or it was not read).
func (ps *passState) cachedKey(c *spec.Connection) []es.APIKey {
	rcl := ps.set.Cluster(c.Remote.Cluster)
	id := ps.r.ledger.Key(c.Name).DeliveredKeyID()
	if rcl == nil || id == "" || c.APIKey == nil || !c.APIKey.Managed {
		return nil
	}
	rs := ps.snap.readRemote(rcl.Name)
	if rs == nil || rs.Err != nil {
		return nil
	}
	for _, k := range rs.Keys {
		if k.ID == id {
			return []es.APIKey{k}
		}
	}
	return []es.APIKey{}
}

// loadingKeystore returns the ledger's record of an api_key connection's
// keystore entry when esremote wrote it within KeystoreLoadGrace (nil
// otherwise).
func (ps *passState) loadingKeystore(p *ConnectionPlan) *Record {
	c := p.Conn
	if c.Security != spec.SecurityAPIKey || c.APIKey == nil {
		return nil
	}
	ks := ps.r.ledger.Keystore(c.Local, CredentialsKey(c.Alias))
	if ks == nil || ks.Pending || ps.r.opts.Now().Sub(ks.WrittenAt) >= ps.r.opts.KeystoreLoadGrace {
		return nil
	}
	return ks
}

// keystoreWritten reports whether this pass wrote the connection's
// keystore entry (then the pass's _remote/info predates it).
func keystoreWritten(p *ConnectionPlan, applied func(*Change) bool) bool {
	for _, ch := range p.Changes {
		if ch.Resource == ResourceKeystore && applied(ch) {
			return true
		}
	}
	return false
}
