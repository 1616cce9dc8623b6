package reconcile

import (
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/execute"
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

// Outcomes is what became of a pass's decision (DESIGN §4: the report is
// built from Plan + Outcome). The decision's rows are never written
// back: what a change came to is its step's outcome (Change.Step), or,
// for a change no step of its own makes, an entry of Changes; what a
// link came to after the writes (verification's verdict, what the
// checks after them found) is an entry of Links.
type Outcomes struct {
	// Steps are the outcomes of the steps sent (or not sent: stale,
	// skipped, kept), by step ID.
	Steps map[string]execute.Outcome
	// Changes are what became of the changes no step of their own
	// settles: held back by the pass (a trust entry of a refused
	// connection, a removal no step can make), or a trust change a
	// re-read after a conflict found no longer needed.
	Changes map[*Change]ChangeOutcome
	// Links are the links the pass's writes or its checks after them
	// left other than decided, by connection name; a link not listed is
	// as decided.
	Links map[string]*LinkOutcome
	// Clusters are local clusters that failed after their decision (the
	// identity could not be recorded before the first write): nothing of
	// them was written.
	Clusters map[string]error
	// Ties are the step of each change the live pass made steps of while
	// it executed (decide.StepBuilder.Ties); a saved plan's changes name
	// theirs (Change.Step).
	Ties map[*Change]string
}

// tie records the steps of the changes in ties.
func (o *Outcomes) tie(ties map[*Change]string) {
	if len(ties) == 0 {
		return
	}
	if o.Ties == nil {
		o.Ties = make(map[*Change]string, len(ties))
	}
	for ch, id := range ties {
		o.Ties[ch] = id
	}
}

// step is the ID of the step that makes ch ("" when none does).
func (o *Outcomes) step(ch *Change) string {
	if id, ok := o.Ties[ch]; ok {
		return id
	}
	return ch.Step
}

// ChangeOutcome is what became of one change: made, or not and why.
type ChangeOutcome struct {
	Applied bool
	Err     error
}

// LinkOutcome is a link as the pass left it, where that differs from
// its decided row: each field replaces the row's.
type LinkOutcome struct {
	Health   drift.Health
	Evidence *drift.Evidence
	// Findings are all of the link's findings after the pass (those the
	// writes settled gone, those the checks after them found added).
	Findings []Finding
	// Changes are all of the link's changes after the pass: the decided
	// ones and those a re-read after a trust write's conflict added.
	Changes []*Change
	// Err fails the link after its decision (its cluster's, Clusters).
	Err error
	// KeyExpiration is the expiry of the key the pass created;
	// RequeueAt when something of the link falls due (schedule).
	KeyExpiration time.Time
	RequeueAt     time.Time
}

// change is what became of ch: a decided reason not to make it, what the
// pass said of it, or its step's outcome. A change with none of them is
// not made (a plan, or a policy that only reports).
func (o *Outcomes) change(ch *Change) ChangeOutcome {
	if ch.Err != nil {
		return ChangeOutcome{Err: ch.Err}
	}
	if co, ok := o.Changes[ch]; ok {
		return co
	}
	if id := o.step(ch); id != "" {
		if so, ok := o.Steps[id]; ok {
			return ChangeOutcome{Applied: so.Status == execute.Done, Err: so.Err}
		}
	}
	return ChangeOutcome{}
}

// shown is what the report shows a change wanting: what only the write
// could say is added to the decision's value (a created key's id; the
// fingerprint of the created key its keystore entry now holds).
func (o *Outcomes) shown(ch *Change) string {
	id := o.step(ch)
	so, ok := o.Steps[id]
	if id == "" || !ok || so.Status != execute.Done || so.Result.KeyID == "" {
		return ch.Desired
	}
	switch ch.Resource {
	case ResourceAPIKey:
		return "key " + so.Result.KeyID + " (" + ch.Desired + ")"
	case ResourceKeystore:
		if so.Result.Fingerprint != "" {
			return drift.Redacted(so.Result.Fingerprint)
		}
	}
	return ch.Desired
}

// link is the link as the pass left it (nil: as decided).
func (o *Outcomes) link(name string) *LinkOutcome {
	if o == nil {
		return nil
	}
	return o.Links[name]
}

// changeHeld is what the pass said of a change no step makes (o may be
// nil).
func (o *Outcomes) changeHeld(ch *Change) (ChangeOutcome, bool) {
	if o == nil {
		return ChangeOutcome{}, false
	}
	co, ok := o.Changes[ch]
	return co, ok
}

func (o *Outcomes) setStep(so execute.Outcome) {
	if o.Steps == nil {
		o.Steps = map[string]execute.Outcome{}
	}
	o.Steps[so.Step] = so
}

func (o *Outcomes) setChange(ch *Change, co ChangeOutcome) {
	if ch == nil {
		return
	}
	if o.Changes == nil {
		o.Changes = map[*Change]ChangeOutcome{}
	}
	o.Changes[ch] = co
}

func (o *Outcomes) setLink(name string, lo *LinkOutcome) {
	if o.Links == nil {
		o.Links = map[string]*LinkOutcome{}
	}
	o.Links[name] = lo
}

// merge adds m's outcomes to o.
func (o *Outcomes) merge(m *Outcomes) {
	for _, so := range m.Steps {
		o.setStep(so)
	}
	for ch, co := range m.Changes {
		o.setChange(ch, co)
	}
	for name, lo := range m.Links {
		o.setLink(name, lo)
	}
	o.tie(m.Ties)
	for local, err := range m.Clusters {
		if o.Clusters == nil {
			o.Clusters = map[string]error{}
		}
		o.Clusters[local] = err
	}
}

// setOutcome sets c's error class and retry time from the link's error
// and its changes' errors together (drift.Merge, the latest retry time),
// and its requeue time.
func setOutcome(c *drift.Connection, linkErr error, chs []*Change, outs *Outcomes, requeueAt time.Time, at time.Time) {
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
	merge(linkErr)
	for _, ch := range chs {
		merge(outs.change(ch).Err)
	}
	if c.ErrorClass != drift.ClassThrottled {
		c.RetryAt = time.Time{}
	}
	if !requeueAt.IsZero() {
		c.RequeueAt = requeueAt.UTC()
	}
}

// schedule records when each link of a daemon's pass falls due (plan
// and apply run once: nothing is scheduled for them).
func (cr *clusterRun) schedule() {
	ps := cr.ps
	if ps.mode != ModeRun {
		return
	}
	now := ps.r.opts.Now()
	for i := range cr.w.cp.Connections {
		if t := ps.due(cr.link(i), now); !t.IsZero() {
			if cr.requeue == nil {
				cr.requeue = make([]time.Time, len(cr.w.cp.Connections))
			}
			cr.requeue[i] = t
		}
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
