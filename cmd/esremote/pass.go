package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/plan"
	"github.com/esremote/esremote/reconcile/state"
	"github.com/esremote/esremote/reconcile/statedir"
	"github.com/esremote/esremote/spec"
)

// passFlags are the flags plan and apply share.
type passFlags struct {
	format   string
	only     string
	stateDir string
	verify   time.Duration
	timeout  time.Duration
	verbose  bool
	// lockTimeout is how long apply waits for the state dir's lock (and
	// the state store's lease).
	lockTimeout time.Duration
	// out is where plan saves the plan (--out); planFile the saved plan
	// apply executes (--plan).
	out, planFile string
	// stateStore names the Cluster holding a shared ledger and lease.
	stateStore string
	leaseTTL   time.Duration
	// windows are --keystore-grace and --rotation-overlap.
	windows keyWindows
}

// declare puts plan's or apply's flags (name) on fs.
func (pf *passFlags) declare(name string, fs *pflag.FlagSet) {
	fs.StringVar(&pf.format, "format", "text", "output format: text, json or markdown")
	fs.StringVar(&pf.only, "only", "", "reconcile only the connection of this `name`")
	fs.StringVar(&pf.stateDir, "state-dir", "", "where the ownership ledger and reports live (default $STATE_DIRECTORY, /var/lib/esremote or $XDG_STATE_HOME/esremote)")
	fs.BoolVarP(&pf.verbose, "verbose", "v", false, "log each request-level event to stderr")
	fs.DurationVar(&pf.timeout, "request-timeout", 30*time.Second, "how long one HTTP request to a cluster or control plane may take")
	if name == "apply" {
		fs.DurationVar(&pf.verify, "verify-timeout", 10*time.Second, "how long to wait for a written link to connect")
		fs.DurationVar(&pf.lockTimeout, "lock-timeout", 0, lockTimeoutUsage)
		fs.StringVar(&pf.planFile, "plan", "", "apply exactly the plan saved in this `file` by esremote plan --out; refused when it is stale")
		fs.DurationVar(&pf.leaseTTL, "lease-ttl", state.DefaultLeaseTTL, leaseTTLUsage)
	} else {
		fs.StringVar(&pf.out, "out", "", "also save the plan to this `file`, for esremote apply --plan (schema: esremote schema --plan)")
	}
	fs.StringVar(&pf.stateStore, "state-store", "", stateStoreUsage)
	pf.windows.declare(fs)
}

// runPass loads DIR, runs one pass and prints the report. It returns the
// result, or nil and an exit code when it could not run.
func (c *cli) runPass(name string, pf passFlags, args []string, mode reconcile.Mode) (*reconcile.Result, *drift.Report, int) {
	if len(args) != 1 {
		c.usageOf(name)
		return nil, nil, exitError
	}
	switch pf.format {
	case "text", "json", "markdown":
	default:
		c.errorf("unknown --format %q: use text, json or markdown", pf.format)
		return nil, nil, exitError
	}
	if pf.out != "" {
		// Said before observing anything: a directory cannot take the plan
		// (the atomic rename failed with "file exists" after a full pass).
		if fi, err := os.Stat(pf.out); err == nil && fi.IsDir() {
			c.errorf("--out %s is a directory: name the file to save the plan in, e.g. %s", pf.out, filepath.Join(pf.out, "plan.json"))
			return nil, nil, exitError
		}
	}
	dir := args[0]
	set, problems, err := spec.LoadAsGiven(dir)
	for _, p := range problems {
		fmt.Fprintln(c.stderr, p.String())
	}
	if err != nil {
		c.specsInvalid(dir, err, "nothing was changed")
		return nil, nil, exitError
	}
	stateDir, err := statedir.StateDir(c.getenv, pf.stateDir)
	if err != nil {
		c.errorf("%v", err)
		return nil, nil, exitError
	}
	emptyLedger := ledgerEmpty(stateDir)
	var lockGate func() error
	if mode == reconcile.ModeApply {
		// One writer at a time: apply holds the state dir for its pass.
		// plan takes no lock; the ledger file is replaced atomically, so
		// it always reads a whole one.
		lock, ok := c.lockStateDir(stateDir, "esremote apply", pf.lockTimeout)
		if !ok {
			return nil, nil, exitError
		}
		defer lock.Release()
		// Every write checks that the lock is still this process's.
		lockGate = lock.Check
	}
	logger := slog.New(slog.DiscardHandler)
	if pf.verbose {
		logger = slog.New(scrubHandler{slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelDebug})})
	}
	opts := reconcile.Options{StateDir: stateDir, Getenv: c.getenv, Logger: logger, VerifyTimeout: pf.verify, RequestTimeout: pf.timeout,
		Identity: state.HolderName(), WriteGate: lockGate, Wait: terminalWaits(c.stderr, pf.timeout)}
	if err := pf.windows.set(&opts); err != nil {
		c.errorf("%v", err)
		return nil, nil, exitError
	}
	if mode == reconcile.ModePlan {
		// plan never writes, not even the ledger: it reads it to tell
		// owned from unmanaged, and keeps any change in memory.
		opts.ReadOnly = true
	} else {
		// Every save re-reads the file and keeps what another writer
		// recorded since (state.File).
		opts.Store = &state.File{Dir: stateDir, Guard: lockGate}
	}
	if pf.stateStore != "" {
		client, err := c.storeClient(set, pf.stateStore, pf.timeout)
		if err != nil {
			c.errorf("%v", err)
			return nil, nil, exitError
		}
		store := &state.Elasticsearch{Client: client}
		if mode != reconcile.ModePlan {
			// apply takes the lease for its pass, or exits naming the
			// holder; every write checks it.
			lease := c.takeLease(c.ctx, client, pf.leaseTTL, pf.lockTimeout)
			if lease == nil {
				return nil, nil, exitError
			}
			defer keepLease(lease)()
			store.Lease, opts.WriteGate = lease, gates(lockGate, lease.Check)
		}
		opts.Store = store
	}
	var saved *plan.Plan
	if pf.planFile != "" {
		var code int
		var ok bool
		if saved, code, ok = c.checkSavedPlan(pf.planFile, dir, set, opts, &pf); !ok {
			return nil, nil, code
		}
	}
	if mode == reconcile.ModeApply && pf.stateStore == "" {
		// Not the specs last applied from this state dir, nor ahead of
		// them: say so (a warning; the operator may mean to roll back).
		c.warnDiverged(stateDir, dir, set.Digest)
	}
	res, report, err := operate(c.ctx, opts, set, mode, pf.only, dir, saved, func(err error) { c.warnf("save report: %v", err) })
	if stale, ok := errors.AsType[*reconcile.StaleError](err); ok {
		for _, why := range stale.Reasons {
			c.errorf("plan is stale: %s", why)
		}
		c.hintf("run esremote plan %s --out %s again, review it, and apply that; nothing was changed", dir, pf.planFile)
		return nil, nil, exitError
	}
	if err != nil {
		c.errorf("%v", err)
		return nil, nil, exitError
	}
	if mode == reconcile.ModeApply && pf.stateStore == "" && pf.only == "" {
		recordApplied(stateDir, dir, set.Digest, nil)
	}
	if pf.out != "" {
		doc := res.SavedPlan()
		spec.ScrubAll(doc) // its errors may quote what a server echoed: see scrub.go
		// Sealed with the state dir's plan key (made on first use): apply
		// --plan takes only a plan this state dir made, unchanged.
		key, err := statedir.PlanKey(stateDir)
		var b []byte
		if err == nil {
			b, err = doc.Sealed(key)
		}
		if err == nil {
			err = statedir.WriteFileAtomic(pf.out, b, 0o600)
		}
		if err != nil {
			c.errorf("save plan: %v", err)
			return nil, nil, exitError
		}
	}
	if err := writeReport(c.stdout, report, pf.format, set); err != nil {
		c.errorf("write report: %v", err)
		return nil, nil, exitError
	}
	c.reportErrors(report, pf.format)
	c.forgotStateDir(pf, stateDir, emptyLedger, report)
	return res, report, exitOK
}

// operate is the one pipeline of plan, apply and the demo: a Reconciler
// over opts, one pass of set (observe, decide, and for an apply execute;
// for apply --plan, the saved plan's steps executed), the report built
// from it and scrubbed of every secret the pass met, and for an apply
// saved to the state dir's history (a failed save is passed to warn: the
// pass happened). Commands only pick what to show.
func operate(ctx context.Context, opts reconcile.Options, set *spec.Set, mode reconcile.Mode, only, dir string, saved *plan.Plan, warn func(error)) (*reconcile.Result, *drift.Report, error) {
	rec, err := reconcile.New(opts)
	if err != nil {
		return nil, nil, err
	}
	var res *reconcile.Result
	if saved != nil {
		res, err = rec.ApplyPlan(ctx, set, saved)
	} else {
		res, err = rec.Pass(ctx, set, mode, only)
	}
	if err != nil {
		return nil, nil, err
	}
	trigger := drift.TriggerPlan
	if mode == reconcile.ModeApply {
		trigger = drift.TriggerApply
	}
	report := res.Report(trigger, reconcile.SpecRevision(dir))
	spec.ScrubAll(report) // before it is printed or saved: see scrub.go
	addFixes(set, report)
	if mode == reconcile.ModeApply && opts.StateDir != "" {
		if _, err := drift.NewHistory(opts.StateDir, 0, statedir.Files{}).Save(report); err != nil {
			warn(err)
		}
	}
	return res, report, nil
}

// specsInvalid says why the specs in dir did not load, after their
// problems were printed one per line: a spec set that fails validation is
// summed up ("3 errors above"), not repeated as "error: a.yaml:4:8:
// error: …"; any other failure (no such directory) is printed as is.
// outcome says what the command did not do ("nothing was changed").
func (c *cli) specsInvalid(dir string, err error, outcome string) {
	var inv *spec.InvalidError
	if errors.As(err, &inv) {
		c.errorf("the specs in %s are invalid: %s above", dir, plural(len(inv.Problems.Errors()), "error"))
		c.hintf("fix them ('esremote validate %s' checks them offline); %s", dir, outcome)
		return
	}
	c.errorf("%s", firstLine(err))
	c.hintf("%s", outcome)
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// maxPlanSize bounds a saved plan: the plan of thousands of clusters is a
// few MiB.
const maxPlanSize = 64 << 20

// checkSavedPlan reads the plan apply --plan names and refuses it, with
// exit 1 and the reason, when its seal does not hold (edited, or saved
// with another state dir) or the specs changed since. Its steps are then
// executed (reconcile.Reconciler.ApplyPlan): every precondition read
// before the first write, and a plan stale anywhere is written nowhere.
func (c *cli) checkSavedPlan(file, dir string, set *spec.Set, opts reconcile.Options, pf *passFlags) (*plan.Plan, int, bool) {
	// A saved plan is read as spec files are (spec.ReadFile): a FIFO or a
	// device given as --plan is refused, not waited on or read forever.
	b, err := spec.ReadFile(file, maxPlanSize)
	if err != nil {
		if pe, ok := errors.AsType[*fs.PathError](err); ok {
			err = pe.Err
		}
		c.errorf("read saved plan %s: %v", file, err)
		return nil, exitError, false
	}
	saved, err := plan.Parse(b)
	if err != nil {
		c.errorf("%s: %v", file, err)
		return nil, exitError, false
	}
	key, err := statedir.ReadPlanKey(opts.StateDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.errorf("%v", err)
		return nil, exitError, false
	}
	if err := saved.CheckSeal(key); err != nil {
		c.errorf("%s: refused: %v", file, err)
		c.hintf("run esremote plan %s --out FILE with this state directory, review it, and apply that; nothing was changed", dir)
		return nil, exitError, false
	}
	if pf.only != "" && pf.only != saved.Only {
		c.errorf("--only %s: the saved plan was made with --only %q; apply it as it is", pf.only, saved.Only)
		return nil, exitError, false
	}
	pf.only = saved.Only
	stale := func(why []string) (*plan.Plan, int, bool) {
		for _, w := range why {
			c.errorf("plan is stale: %s", w)
		}
		c.hintf("run esremote plan %s --out %s again, review it, and apply that; nothing was changed", dir, file)
		return nil, exitError, false
	}
	if saved.SpecDigest != set.Digest {
		return stale([]string{fmt.Sprintf("the specs changed (digest %s when planned, %s now)", saved.SpecDigest, set.Digest)})
	}
	return saved, exitOK, true
}

// reportErrors ends a pass that met errors with one diagnostic each on
// stderr. The text report on stdout already shows each error with its
// fix, so stderr then names the failed targets only (the message was
// printed three times: on the connection, under Errors and here); JSON
// and Markdown go to programs, so stderr carries the message and the fix.
func (c *cli) reportErrors(r *drift.Report, format string) {
	if len(r.Errors) == 0 {
		return
	}
	if format == "text" || format == "" {
		names := make([]string, len(r.Errors))
		for i, e := range r.Errors {
			names[i] = e.Target
		}
		c.errorf("%s failed: %s (see Errors above)", plural(len(r.Errors), "target"), strings.Join(names, ", "))
		return
	}
	for _, e := range r.Errors {
		c.errorf("%s: %s", e.Target, e.Message)
		if e.Fix != "" {
			c.hintf("%s", e.Fix)
		}
	}
}
