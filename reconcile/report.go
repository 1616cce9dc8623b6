package reconcile

import (
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/spec"
)

// Report turns a pass into the drift report of DESIGN §6: a function of
// the pass's decision (its rows, as decided) and what became of it
// (res.Outcomes). The same function serves plan, apply, apply --plan and
// the daemon, so they cannot disagree.
func (res *Result) Report(trigger drift.Trigger, revision string) *drift.Report {
	mode := drift.ModePlan
	switch res.Mode {
	case ModeApply:
		mode = drift.ModeApply
	case ModeRun:
		mode = drift.ModeRun
	}
	outs := &res.Outcomes
	r := drift.New(mode, trigger, res.Started)
	r.SpecDigest = res.Set.Digest
	r.SpecRevision = revision
	for _, cp := range res.Plan.Clusters {
		clusterErr := cp.Err
		if err := outs.Clusters[cp.Local]; err != nil && clusterErr == nil {
			clusterErr = err
		}
		if clusterErr != nil {
			r.Errors = append(r.Errors, reportError(cp.Local, clusterErr, res.Finished))
		}
		for _, p := range cp.Connections {
			r.Connections = append(r.Connections, connectionReport(p, outs.link(p.Conn.Name), outs, res.Mode, res.Finished))
		}
		for _, d := range cp.Deletions {
			c := drift.Connection{Name: d.Connection, Local: cp.Local, Alias: d.Alias, Policy: string(spec.PolicyEnforce),
				Health: drift.HealthUnknown, Changes: changes(d.Changes, outs),
				Findings: []drift.Finding{{Severity: drift.SeverityInfo, Code: drift.CodeConnectionRemoved,
					Message: "the connection left the specs; esremote deletes the alias it created"}}}
			c.Sync = syncOf(c.Changes, res.Mode, true, nil)
			setOutcome(&c, nil, d.Changes, outs, time.Time{}, res.Finished)
			r.Connections = append(r.Connections, c)
		}
		for _, u := range cp.Unmanaged {
			r.Unmanaged = append(r.Unmanaged, drift.Unmanaged{Target: u.Target, Kind: u.Kind, Name: u.Name, Reason: unmanagedReason(u.Reason)})
		}
	}
	if d := res.Detached; len(d.Changes) > 0 || len(d.Findings) > 0 {
		p := &ConnectionPlan{Conn: &spec.Connection{Name: DetachedTrustName, Security: spec.SecurityCertificate, Policy: spec.PolicyEnforce},
			Changes: d.Changes, Findings: d.Findings, Health: HealthUnknown}
		c := connectionReport(p, nil, outs, res.Mode, res.Finished)
		c.ErrorClass, c.RetryAt = "", time.Time{}
		r.Connections = append(r.Connections, c)
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

// connectionReport is one connection's entry: its decided row p, with
// what the pass left of the link (lo, nil when as decided) and what
// became of its changes (outs).
func connectionReport(p *ConnectionPlan, lo *LinkOutcome, outs *Outcomes, mode Mode, at time.Time) drift.Connection {
	health, evidence, findings, chs, err, requeue := p.Health, p.Evidence, p.Findings, p.Changes, p.Err, p.RequeueAt
	if lo != nil {
		health, evidence, findings, chs, requeue = lo.Health, lo.Evidence, lo.Findings, lo.Changes, lo.RequeueAt
		if lo.Err != nil && err == nil {
			err = lo.Err
		}
	}
	c := drift.Connection{Name: p.Conn.Name, Local: p.Conn.Local, Alias: p.Conn.Alias,
		Security: string(p.Conn.Security), Policy: string(p.Conn.Policy),
		Health: health, Changes: changes(chs, outs), Findings: []drift.Finding{}}
	if c.Health == "" {
		c.Health = drift.HealthUnknown
	}
	for _, f := range findings {
		c.Findings = append(c.Findings, drift.Finding{Severity: f.Severity, Code: f.Code, Message: f.Message, Fix: f.Fix})
	}
	if err != nil {
		c.Error = err.Error()
	}
	c.Evidence = evidence
	enforced := err == nil && p.Conn.Policy != spec.PolicyReport && p.Conn.Policy != spec.PolicyDisabled
	c.Sync = syncOf(c.Changes, mode, enforced, err)
	if p.Contested {
		c.Sync = drift.SyncContested
	}
	if p.Conn.Policy == spec.PolicyDisabled {
		// Not looked at: saying "in sync" would claim a check that was
		// never made.
		c.Sync = drift.SyncDisabled
		c.Health = drift.HealthUnknown
	}
	setOutcome(&c, err, chs, outs, requeue, at)
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

// changes are the report's changes: each decided change with what became
// of it.
func changes(in []*Change, outs *Outcomes) []drift.Change {
	out := []drift.Change{}
	for _, ch := range in {
		co := outs.change(ch)
		d := drift.Change{Resource: ch.Resource, Target: ch.Target, Key: ch.Key,
			Action: ch.Action, Actual: ch.Actual, Desired: outs.shown(ch),
			Origin: ch.Origin, Applied: co.Applied}
		if co.Err != nil {
			d.Error = co.Err.Error()
		}
		out = append(out, d)
	}
	return out
}
