package reconcile

import (
	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/spec"
)

// Report turns a pass into the drift report of DESIGN §6. The same
// function serves plan, apply and the daemon, so they cannot disagree.
func (res *Result) Report(trigger drift.Trigger, revision string) *drift.Report {
	mode := drift.ModePlan
	switch res.Mode {
	case ModeApply:
		mode = drift.ModeApply
	case ModeRun:
		mode = drift.ModeRun
	}
	r := drift.New(mode, trigger, res.Started)
	r.SpecDigest = res.Set.Digest
	r.SpecRevision = revision
	for _, cp := range res.Plan.Clusters {
		if cp.Err != nil {
			r.Errors = append(r.Errors, reportError(cp.Local, cp.Err, res.Finished))
		}
		for _, p := range cp.Connections {
			c := connectionReport(p, res.Mode)
			setOutcome(&c, p, res.Finished)
			r.Connections = append(r.Connections, c)
		}
		for _, d := range cp.Deletions {
			c := drift.Connection{Name: d.Connection, Local: cp.Local, Alias: d.Alias, Policy: string(spec.PolicyEnforce),
				Health: drift.HealthUnknown, Changes: changes(d.Changes),
				Findings: []drift.Finding{{Severity: drift.SeverityInfo, Code: drift.CodeConnectionRemoved,
					Message: "the connection left the specs; esremote deletes the alias it created"}}}
			c.Sync = syncOf(c.Changes, res.Mode, true, nil)
			setOutcome(&c, &ConnectionPlan{Changes: d.Changes}, res.Finished)
			r.Connections = append(r.Connections, c)
		}
		for _, u := range cp.Unmanaged {
			r.Unmanaged = append(r.Unmanaged, drift.Unmanaged{Target: u.Target, Kind: u.Kind, Name: u.Name, Reason: unmanagedReason(u.Reason)})
		}
	}
	if d := res.Detached; len(d.Changes) > 0 || len(d.Findings) > 0 {
		p := &ConnectionPlan{Conn: &spec.Connection{Name: DetachedTrustName, Security: spec.SecurityCertificate, Policy: spec.PolicyEnforce},
			Changes: d.Changes, Findings: d.Findings, Health: HealthUnknown}
		r.Connections = append(r.Connections, connectionReport(p, res.Mode))
	}
	for _, u := range res.Detached.Unmanaged {
		r.Unmanaged = append(r.Unmanaged, drift.Unmanaged{Target: u.Target, Kind: u.Kind, Name: u.Name, Reason: unmanagedReason(u.Reason)})
	}
	r.Sort()
	r.Tally()
	return r
}

// DetachedTrustName is the report entry that carries trust changes and
// findings that belong to no single connection (TrustedEnvironments).
const DetachedTrustName = "(trusted-environments)"

func unmanagedReason(reason string) string {
	if reason == "foreign" {
		return "changed since esremote wrote it: left alone"
	}
	return "not created by esremote: left alone"
}

func connectionReport(p *ConnectionPlan, mode Mode) drift.Connection {
	c := drift.Connection{Name: p.Conn.Name, Local: p.Conn.Local, Alias: p.Conn.Alias,
		Security: string(p.Conn.Security), Policy: string(p.Conn.Policy),
		Health: p.Health, Changes: changes(p.Changes), Findings: []drift.Finding{}}
	if c.Health == "" {
		c.Health = drift.HealthUnknown
	}
	for _, f := range p.Findings {
		c.Findings = append(c.Findings, drift.Finding{Severity: f.Severity, Code: f.Code, Message: f.Message, Fix: f.Fix})
	}
	if p.Err != nil {
		c.Error = p.Err.Error()
	}
	c.Evidence = p.Evidence
	c.Sync = syncOf(c.Changes, mode, p.Enforced(), p.Err)
	if p.Contested {
		c.Sync = drift.SyncContested
	}
	if p.Conn.Policy == spec.PolicyDisabled {
		// Not looked at: saying "in sync" would claim a check that was
		// never made.
		c.Sync = drift.SyncDisabled
		c.Health = drift.HealthUnknown
	}
	return c
}

// syncOf decides a connection's sync value from its changes.
func syncOf(chs []drift.Change, mode Mode, enforced bool, err error) drift.Sync {
	if err != nil {
		return drift.SyncFailed
	}
	if len(chs) == 0 {
		return drift.SyncInSync
	}
	if mode == ModePlan || !enforced {
		return drift.SyncDrifted
	}
	for _, ch := range chs {
		// A change written but not recorded in the ledger (a failed
		// commit) failed too: esremote no longer proves it owns it.
		if !ch.Applied || ch.Error != "" {
			return drift.SyncFailed
		}
	}
	return drift.SyncCorrected
}

func changes(in []*Change) []drift.Change {
	out := []drift.Change{}
	for _, ch := range in {
		d := drift.Change{Resource: ch.Resource, Target: ch.Target, Key: ch.Key,
			Action: ch.Action, Actual: ch.Actual, Desired: ch.Desired,
			Origin: ch.Origin, Applied: ch.Applied}
		if ch.Err != nil {
			d.Error = ch.Err.Error()
		}
		out = append(out, d)
	}
	return out
}
