package reconcile

import (
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/spec"
)

// What the daemon schedules by (DESIGN §4): each failure's class, as the
// adapters classified it (drift.Classify), and the earliest time each
// connection falls due. The report carries both; daemon.Loop switches on
// them.

// classOf is an error's class and, for a throttled one, the earliest time
// to try again, counted from at (when the pass ended).
func classOf(err error, at time.Time) (drift.Class, time.Time) {
	class, wait := drift.Classify(err)
	if class != drift.ClassThrottled || wait <= 0 {
		return class, time.Time{}
	}
	return class, at.Add(wait).UTC()
}

// reportError is a cluster's error as the report lists it.
func reportError(target string, err error, at time.Time) drift.ReportError {
	class, retryAt := classOf(err, at)
	return drift.ReportError{Target: target, Message: err.Error(), Class: class, RetryAt: retryAt}
}

// setOutcome sets c's error class and retry time from p's error and its
// changes' errors together (drift.Merge, the latest retry time), and its
// requeue time.
func setOutcome(c *drift.Connection, p *ConnectionPlan, at time.Time) {
	merge := func(err error) {
		if err == nil {
			return
		}
		class, retryAt := classOf(err, at)
		c.ErrorClass = drift.Merge(c.ErrorClass, class)
		if retryAt.After(c.RetryAt) {
			c.RetryAt = retryAt
		}
	}
	merge(p.Err)
	for _, ch := range p.Changes {
		merge(ch.Err)
	}
	if c.ErrorClass != drift.ClassThrottled {
		c.RetryAt = time.Time{}
	}
	if !p.RequeueAt.IsZero() {
		c.RequeueAt = p.RequeueAt.UTC()
	}
}

// schedule sets RequeueAt on each connection of a daemon's pass (plan and
// apply run once: nothing is scheduled for them).
func (ps *passState) schedule(cp *ClusterPlan) {
	if ps.mode != ModeRun {
		return
	}
	now := ps.r.opts.Now()
	for _, p := range cp.Connections {
		p.RequeueAt = ps.due(p, now)
	}
}

// due is the earliest time after now that a pass could find something new
// on p without anything changing: the managed key's warning window
// (key_expires_soon, 2 × rotate_before before the expiry) and rotation
// window (rotate_before before it) open; the key or the CA expires; the
// keystore load grace of the alias's last keystore write ends (a "not
// loaded yet" verdict turns into a repair); a rotation's proof window
// (RotationOverlap) ends and its old key can be invalidated; a rotation or
// a keystore write not proven in use turns stuck. Zero when none is
// ahead.
func (ps *passState) due(p *ConnectionPlan, now time.Time) time.Time {
	c := p.Conn
	var first time.Time
	consider := func(t time.Time) {
		if t.After(now) && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	if c.Policy == spec.PolicyDisabled || p.Err != nil {
		return first
	}
	if exp := p.KeyExpiration; !exp.IsZero() {
		consider(exp)
		if c.APIKey != nil && c.APIKey.Managed {
			rb := c.APIKey.RotateBefore.D()
			consider(exp.Add(-rb))
			consider(exp.Add(-2 * rb))
		}
	}
	if !p.CAExpiration.IsZero() {
		consider(p.CAExpiration)
	}
	if c.Security == spec.SecurityAPIKey {
		rec := ps.r.ledger.Key(c.Name)
		if ks := ps.r.ledger.Keystore(c.Local, CredentialsKey(c.Alias)); ks != nil && !ks.WrittenAt.IsZero() {
			consider(ks.WrittenAt.Add(ps.r.opts.KeystoreLoadGrace))
			if rec != nil && rec.ProvenAt.IsZero() || rec == nil && p.Health == HealthRotating {
				consider(ks.WrittenAt.Add(ps.r.opts.RotationStuckAfter))
			}
			if rec != nil && rec.Previous != nil && p.Key != nil && canaryAmbiguous(p.Key.Access) {
				consider(ks.WrittenAt.Add(max(ps.r.opts.KeystoreLoadGrace, ps.r.opts.RotationOverlap)))
			}
		}
		if rec != nil && rec.Previous != nil && !rec.ProvenAt.IsZero() {
			// The rotation's proof window ends: the old key can go.
			consider(rec.ProvenAt.Add(ps.r.opts.RotationOverlap))
		}
	}
	return first
}
