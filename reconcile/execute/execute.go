// Package execute runs a plan's steps (DESIGN §4): in order, each sent
// only while its precondition holds (read again right before the write,
// or, for a saved plan, every one before the first write) and every step
// it depends on succeeded; the ledger records each write as pending
// before the request and as committed after it, through one helper that
// reports a commit that could not be saved. The result is an Outcome per
// step with its error class and, when throttled, when to try again. It
// never decides: what to write, and against what, is the plan's.
package execute

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/cloud"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/plan"
)

// Status is what became of a step.
type Status string

// The statuses of a step.
const (
	// Done: the request was sent and succeeded (and the ledger recorded
	// it, or Err says it could not).
	Done Status = "done"
	// Failed: the request (or its ledger intent) failed.
	Failed Status = "failed"
	// Stale: the precondition no longer holds; nothing was sent.
	Stale Status = "stale"
	// Skipped: a step it depends on did not succeed, or (CheckFirst) a
	// step of the plan is stale; nothing was sent.
	Skipped Status = "skipped"
)

// Outcome is what became of one step.
type Outcome struct {
	Step   string
	Status Status
	// Err is why the step failed, is stale or was skipped; for a Done
	// step, a ledger commit that could not be saved.
	Err error
	// Class is Err's class (drift.Classify); RetryAt when a throttled
	// step may be tried again (zero otherwise).
	Class   drift.Class
	RetryAt time.Time
	// Result is what the request returned that later steps and the
	// ledger need.
	Result Result
}

// Result is what a step's request returned. It never holds a secret.
type Result struct {
	// KeyID, KeyExpiration and Fingerprint: a created key's id, expiry and
	// the fingerprint of its encoded value; for a keystore write, the
	// fingerprint of the secret written and, when that secret is a key
	// created by the run (SecretRef.Step), the key's id.
	KeyID         string
	KeyExpiration time.Time
	Fingerprint   string
}

// Ledger records the steps' writes. The engine implements it over its
// ownership ledger; the records a step makes are the step's own
// (plan.Step.Ledger), completed with the Result.
type Ledger interface {
	// Intent records that s is about to be sent (pending), before the
	// request: no record, no request. ref is the result of the step its
	// SecretRef names (a created key: its fingerprint), if any. undo
	// gives back what the intent replaced, for a request that did not
	// land.
	Intent(s *plan.Step, ref Result) (undo func() error, err error)
	// Commit records s as written, with what its request returned.
	Commit(s *plan.Step, r Result) error
	// Digest is the digest of the ledger's record for a ReadLedger
	// precondition (plan.Absent when there is none).
	Digest(name string) string
}

// Env is what a run sends through: the adapters' clients by target, the
// ledger, the secrets a step refers to.
type Env struct {
	ES     func(target string) (*es.Client, error)
	Cloud  func(target string) (*cloud.Client, error)
	Ledger Ledger
	// Secret resolves a connection's hand-made key (SecretRef.Connection):
	// its value and the fingerprint the plan shows of it.
	Secret func(connection string) (value, fingerprint string, err error)
	// Sent is told every secret a step sends (a created key on its way
	// to the keystore), so that an echo of it is scrubbed from output.
	Sent func(secret string)
	// Canary adds a created key's canary to its access (evidence names
	// the key by it).
	Canary func(a es.CrossClusterAccess, keyID string) es.CrossClusterAccess
	// Fingerprint is the ledger's fingerprint of a value.
	Fingerprint func(string) string
	Now         func() time.Time
	Logger      *slog.Logger
}

// Options say how a run checks preconditions.
type Options struct {
	// CheckFirst checks every step's precondition before the first write
	// (a saved plan): one stale step anywhere, and nothing is sent.
	CheckFirst bool
	// Identity, when set, gives the cluster_uuid of a target the caller
	// read already (a live pass's GET /), so that it is not read again.
	Identity func(target string) (uuid string, ok bool)
	// Deployment, when set, gives the deployment of a target the caller
	// read already (a live pass's GET /deployments/{id}): a trust step's
	// precondition is then that read's version, and the write's
	// ?version= is the compare-and-set that checks it.
	Deployment func(target string) (*cloud.Deployment, bool)
}

// StaleError is why a step's precondition no longer holds: what changed
// since the plan was made, one reason each.
type StaleError struct {
	Reasons []string
}

func (e *StaleError) Error() string { return "stale: " + strings.Join(e.Reasons, "; ") }

// Run sends steps in order. A step is sent only when every step of its
// After succeeded and its precondition holds; otherwise its outcome says
// why, and so do those of the steps depending on it. With CheckFirst,
// every precondition is read before the first write, and when one is
// stale no step is sent: the outcomes say which were stale and mark the
// rest skipped.
func Run(ctx context.Context, steps []plan.Step, env Env, o Options) []Outcome {
	r := &run{env: env, steps: steps, reads: newReads(env, o), outcomes: make([]Outcome, len(steps)), index: map[string]int{}, secrets: map[string]string{}}
	for i, s := range steps {
		r.index[s.ID] = i
	}
	if o.CheckFirst {
		stale := false
		for i := range steps {
			if why := r.reads.check(ctx, &steps[i]); why != nil {
				r.outcomes[i] = outcome(steps[i].ID, Stale, why, env.Now())
				stale = true
			}
		}
		if stale {
			for i, s := range steps {
				if r.outcomes[i].Status == "" {
					r.outcomes[i] = Outcome{Step: s.ID, Status: Skipped, Err: errors.New("not sent: the plan is stale elsewhere")}
				}
			}
			return r.outcomes
		}
		r.reads.checked = true
	}
	for i := range steps {
		r.outcomes[i] = r.step(ctx, &steps[i])
	}
	return r.outcomes
}

// StaleReasons are the reasons of the stale outcomes, one each.
func StaleReasons(outs []Outcome) []string {
	var why []string
	for _, o := range outs {
		if se, ok := errors.AsType[*StaleError](o.Err); ok && o.Status == Stale {
			why = append(why, se.Reasons...)
		}
	}
	return why
}

type run struct {
	env      Env
	steps    []plan.Step
	reads    *reads
	outcomes []Outcome
	index    map[string]int
	// secrets are the created keys' encoded values, by step, for the
	// steps whose SecretRef names them; never in an Outcome.
	secrets map[string]string
}

// step runs one step: its dependencies, its precondition, then the one
// write (ledger intent, request, commit).
func (r *run) step(ctx context.Context, s *plan.Step) Outcome {
	now := r.env.Now()
	for _, dep := range s.After {
		i, ok := r.index[dep]
		if !ok {
			return outcome(s.ID, Skipped, fmt.Errorf("not sent: it depends on step %s, which is not in the plan", dep), now)
		}
		if d := r.outcomes[i]; d.Status != Done {
			return outcome(s.ID, Skipped, fmt.Errorf("not sent: step %s (%s) did not succeed", dep, What(&r.steps[i])), now)
		}
	}
	if !r.reads.checked {
		if why := r.reads.check(ctx, s); why != nil {
			return outcome(s.ID, Stale, why, now)
		}
	}
	return r.write(ctx, s)
}

// What names what a step writes, as messages say it.
func What(s *plan.Step) string {
	switch s.Kind {
	case plan.KindClusterSettings:
		return "cluster settings of " + s.Target
	case plan.KindPutRole:
		return "role " + s.Name + " on " + s.Target
	case plan.KindDeleteRole:
		return "deletion of role " + s.Name + " on " + s.Target
	case plan.KindForget:
		return s.Name + " gone from " + s.Target
	case plan.KindCreateKey, plan.KindUpdateKey:
		return "key " + s.Name + " on " + s.Target
	case plan.KindInvalidateKeys:
		return "invalidation of key " + s.Name + " on " + s.Target
	case plan.KindSetKeystore:
		return "keystore entry " + s.Name + " of " + s.Target
	case plan.KindRemoveKeystore:
		return "removal of keystore entry " + s.Name + " of " + s.Target
	case plan.KindPutTrust:
		return "trust of " + s.Target
	case plan.KindReload:
		return "keystore reload of " + s.Target
	}
	return string(s.Kind) + " on " + s.Target
}

// write is the one path every request of a step takes: the ledger's
// intent (no record, no request), the request, then the commit; a
// request that failed gives the intent back, unless it may have landed
// and a read-back shows it did (then it is committed: disowning what
// esremote just wrote would lose it).
func (r *run) write(ctx context.Context, s *plan.Step) Outcome {
	now := r.env.Now()
	var ref Result
	if s.SecretRef != nil && s.SecretRef.Step != "" {
		if i, ok := r.index[s.SecretRef.Step]; ok {
			ref = r.outcomes[i].Result
		}
	}
	undo, err := r.env.Ledger.Intent(s, ref)
	if err != nil {
		return outcome(s.ID, Failed, fmt.Errorf("%s: not sent: %w", What(s), err), now)
	}
	res, err := r.send(ctx, s)
	if err != nil {
		if maybeCommitted(err) && r.landed(ctx, s) {
			o := outcome(s.ID, Failed, err, now)
			if cerr := r.env.Ledger.Commit(s, res); cerr != nil {
				r.env.Logger.Error("save ledger", "step", s.ID, "err", cerr)
			}
			return o
		}
		if undo != nil {
			if uerr := undo(); uerr != nil {
				r.env.Logger.Error("save ledger", "step", s.ID, "err", uerr)
			}
		}
		return outcome(s.ID, Failed, err, now)
	}
	if s.Kind == plan.KindSetKeystore && ref.KeyID != "" {
		res.KeyID = ref.KeyID // the created key it delivered
	}
	o := Outcome{Step: s.ID, Status: Done, Result: res}
	if err := r.commit(s, res); err != nil {
		o.Err = err
		o.Class, o.RetryAt = classOf(err, now)
	}
	return o
}

// commit saves the ledger's record of a write that landed and reports a
// save that failed: the object is written but its record stays as the
// intent left it (pending, or the record of what was removed), so the
// outcome must not claim a clean write. The next pass commits a pending
// record whose value is live and finds a removed object gone.
func (r *run) commit(s *plan.Step, res Result) error {
	if err := r.env.Ledger.Commit(s, res); err != nil {
		err = fmt.Errorf("%s: written, but the ledger could not record it: %w", What(s), err)
		r.env.Logger.Error("save ledger", "step", s.ID, "err", err)
		return err
	}
	return nil
}

func outcome(id string, st Status, err error, at time.Time) Outcome {
	o := Outcome{Step: id, Status: st, Err: err}
	o.Class, o.RetryAt = classOf(err, at)
	return o
}

// classOf is an error's class and, for a throttled one, the earliest time
// to try again, counted from at.
func classOf(err error, at time.Time) (drift.Class, time.Time) {
	class, wait := drift.Classify(err)
	if class != drift.ClassThrottled || wait <= 0 {
		return class, time.Time{}
	}
	return class, at.Add(wait).UTC()
}

// maybeCommitted reports whether a failed write may have been applied:
// "acknowledged": false, a timeout or a network error after sending.
func maybeCommitted(err error) bool {
	return errors.Is(err, es.ErrNotAcknowledged) || errors.Is(err, es.ErrTimeout) || errors.Is(err, es.ErrNetwork)
}
