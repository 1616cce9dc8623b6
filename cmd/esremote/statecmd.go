package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/recovery"
	"github.com/esremote/esremote/reconcile/state"
	"github.com/esremote/esremote/reconcile/statedir"
	"github.com/esremote/esremote/spec"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func init() {
	register("state", &command{
		summary: "move the ownership ledger between the state dir and an Elasticsearch state store (and back), or rebuild a lost one from what is live",
		usage: "state migrate --from DIR|CLUSTER --to CLUSTER|DIR --specs SPECDIR [--lock-timeout 0s] [--lease-ttl 30s]\n" +
			"       esremote state recover SPECDIR [--state-dir DIR | --state-store CLUSTER] [--installation ID] [--force] [--format text|json]",
		flags:  cmdState,
		exits:  "migrate: 0 when moved, 1 on error; recover: 0 when the ledger was rebuilt and written, 1 otherwise (nothing written)",
		values: map[string][]string{"format": {"text", "json"}},
		complete: func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return []cobra.Completion{"migrate", "recover"}, cobra.ShellCompDirectiveNoFileComp
			}
			if args[0] == "recover" && len(args) == 1 {
				return nil, cobra.ShellCompDirectiveFilterDirs
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
	})
}

// cmdState runs `esremote state migrate`: it takes what makes both sides
// writable (the state dir's lock, the store's lease: a daemon using either
// refuses it), copies the ledger, reads it back, and retires the source
// (ledger.json.migrated, or the store's document deleted). 0 when moved,
// 1 otherwise; nothing changes on a refusal.
func cmdState(fs *pflag.FlagSet) runFunc {
	from := fs.String("from", "", "the state `dir` or the declared Cluster whose store holds the ledger now")
	to := fs.String("to", "", "the declared Cluster or the state `dir` to move it to")
	specs := fs.String("specs", "", "the spec `dir` that declares the Cluster")
	lockTimeout := fs.Duration("lock-timeout", 0, lockTimeoutUsage)
	ttl := fs.Duration("lease-ttl", state.DefaultLeaseTTL, leaseTTLUsage)
	rf := recoverFlags{
		stateDir:     fs.String("state-dir", "", "recover: where the ledger lives (default $STATE_DIRECTORY, /var/lib/esremote or $XDG_STATE_HOME/esremote)"),
		stateStore:   fs.String("state-store", "", "recover: "+stateStoreUsage),
		installation: fs.String("installation", "", "recover: the installation `id` to keep when live objects carry several (recover lists them)"),
		force:        fs.Bool("force", false, "recover: replace a ledger that is still readable and records objects (a copy is kept as ledger.json.before-recover)"),
		format:       fs.String("format", "text", "recover: output format: text or json"),
	}
	return func(c *cli, args []string) int {
		if len(args) > 0 && args[0] == "recover" {
			return c.stateRecover(rf, args[1:], *lockTimeout, *ttl)
		}
		if len(args) == 0 || args[0] != "migrate" {
			c.errorf("state takes a subcommand: migrate or recover")
			c.hintf("usage: esremote %s", commands["state"].usage)
			return exitError
		}
		pos := args[1:]
		if len(pos) != 0 || *from == "" || *to == "" || *specs == "" {
			c.errorf("state migrate takes --from, --to and --specs")
			c.hintf("usage: esremote %s", commands["state"].usage)
			return exitError
		}
		set, problems, err := spec.LoadAsGiven(*specs)
		if err != nil {
			for _, p := range problems {
				fmt.Fprintln(c.stderr, p.String())
			}
			c.specsInvalid(*specs, err, "nothing was moved")
			return exitError
		}
		// A value that names a declared Cluster (and no path) is a store;
		// anything else is a state dir.
		isCluster := func(v string) bool { return !strings.ContainsRune(v, os.PathSeparator) && set.Cluster(v) != nil }
		if isCluster(*from) == isCluster(*to) {
			c.errorf("state migrate moves a ledger between a state dir and a declared Cluster: got --from %s and --to %s", *from, *to)
			return exitError
		}
		open := func(v string) (s interface {
			state.Store
			Retire() error
		}, release func(), ok bool) {
			if isCluster(v) {
				client, err := c.storeClient(set, v, 0)
				if err != nil {
					c.errorf("%v", err)
					return nil, nil, false
				}
				lease := c.takeLease(c.ctx, client, *ttl, *lockTimeout)
				if lease == nil {
					return nil, nil, false
				}
				return &state.Elasticsearch{Client: client, Lease: lease}, keepLease(lease), true
			}
			dir := filepath.Clean(v)
			lock, ok := c.lockStateDir(dir, "esremote state migrate", *lockTimeout)
			if !ok {
				return nil, nil, false
			}
			return &state.File{Dir: dir}, lock.Release, true
		}
		src, releaseSrc, ok := open(*from)
		if !ok {
			return exitError
		}
		defer releaseSrc()
		dst, releaseDst, ok := open(*to)
		if !ok {
			return exitError
		}
		defer releaseDst()
		b, err := state.Migrate(src, dst)
		if err != nil {
			c.errorf("%v", err)
			if strings.Contains(err.Error(), state.ErrDestinationHolds.Error()) {
				c.hintf("two ledgers are never merged by a migration: move one aside first (esremote state migrate --from %s --to DIR keeps a copy)", *to)
			}
			return exitError
		}
		if err := src.Retire(); err != nil {
			c.warnf("the ledger is in %s, but the source could not be retired: %v; remove it by hand so that nobody uses it", dst, err)
		}
		fmt.Fprintf(c.stdout, "Moved the ledger (%d bytes) from %s to %s.\n", len(b), src, dst)
		if isCluster(*to) {
			fmt.Fprintf(c.stdout, "Run every writer with --state-store %s from now on; %s.migrated is a copy for the record.\n", *to, filepath.Join(filepath.Clean(*from), state.LedgerFile))
		} else {
			fmt.Fprintf(c.stdout, "Run every writer without --state-store, with --state-dir %s, from now on.\n", filepath.Clean(*to))
		}
		return exitOK
	}
}

// recoverFlags are `state recover`'s flags (on the state command's set).
type recoverFlags struct {
	stateDir, stateStore, installation, format *string
	force                                      *bool
}

// beforeRecover is where recover keeps the ledger it replaces.
const beforeRecover = state.LedgerFile + ".before-recover"

// stateRecover runs `esremote state recover SPECDIR`: it takes the writer
// lock (and the store's lease), reads the clusters of the spec set (GET
// only: nothing is written to any cluster), rebuilds the ledger from live
// metadata (reconcile/recovery), prints what it recovered and what it
// could not prove, and writes the ledger atomically. A ledger that is
// still readable and records objects is replaced only with --force. 0
// when written, 1 otherwise (nothing written).
func (c *cli) stateRecover(rf recoverFlags, pos []string, lockTimeout, ttl time.Duration) int {
	if len(pos) != 1 {
		c.errorf("state recover takes one spec directory")
		c.hintf("usage: esremote %s", commands["state"].usage)
		return exitError
	}
	if *rf.format != "text" && *rf.format != "json" {
		c.errorf("unknown --format %q: use text or json", *rf.format)
		return exitError
	}
	dir := pos[0]
	set, problems, err := spec.LoadAsGiven(dir)
	if err != nil {
		for _, p := range problems {
			fmt.Fprintln(c.stderr, p.String())
		}
		c.specsInvalid(dir, err, "no ledger was written")
		return exitError
	}
	stateDir, err := statedir.StateDir(c.getenv, *rf.stateDir)
	if err != nil {
		c.errorf("%v", err)
		return exitError
	}
	// recover writes the ledger: a writer like apply.
	lock, ok := c.lockStateDir(stateDir, "esremote state recover", lockTimeout)
	if !ok {
		return exitError
	}
	defer lock.Release()
	var store state.Store = &state.File{Dir: stateDir, Guard: lock.Check}
	if *rf.stateStore != "" {
		client, err := c.storeClient(set, *rf.stateStore, 0)
		if err != nil {
			c.errorf("%v", err)
			return exitError
		}
		lease := c.takeLease(c.ctx, client, ttl, lockTimeout)
		if lease == nil {
			return exitError
		}
		defer keepLease(lease)()
		store = &state.Elasticsearch{Client: client, Lease: lease}
	}
	old, err := store.Load()
	if err != nil {
		c.errorf("read the ledger in %s: %v", store, err)
		return exitError
	}
	if n := ledgerRecords(old); n > 0 && !*rf.force {
		c.errorf("the ledger in %s is readable and records %d objects: recover replaces it only with --force (keeping a copy as %s)", store, n, beforeRecover)
		c.hintf("a readable ledger is not lost: plan with it first; recover when it names keys as another installation's")
		return exitError
	}
	rec, err := reconcile.New(reconcile.Options{Getenv: c.getenv, Identity: state.HolderName()})
	if err != nil {
		c.errorf("%v", err)
		return exitError
	}
	res := recovery.Recover(c.ctx, rec, set, *rf.installation)
	out := recoverOutput{Result: res, Ledger: store.String()}
	if res.OK() {
		doc, err := res.Document()
		if err == nil && len(old) > 0 {
			// Keep what is replaced (a corrupt file, an empty ledger a
			// refused apply wrote, or a readable one with --force).
			out.Backup = filepath.Join(stateDir, beforeRecover)
			if err = os.MkdirAll(stateDir, 0o700); err == nil {
				err = statedir.WriteFileAtomic(out.Backup, old, 0o600)
			}
		}
		if err == nil {
			err = store.Save(doc)
		}
		if err != nil {
			c.printRecover(out, *rf.format)
			c.errorf("write the ledger to %s: %v", store, err)
			return exitError
		}
		out.Written = true
	}
	c.printRecover(out, *rf.format)
	switch {
	case len(res.Errors) > 0:
		c.errorf("some clusters could not be read; no ledger was written: recover again when they answer")
		return exitError
	case len(res.Ambiguous) > 0:
		c.errorf("live objects of the specs' connections carry %d installation ids (%s); no ledger was written", len(res.Ambiguous), strings.Join(res.Ambiguous, ", "))
		c.hintf("keep the one this host's specs own: esremote state recover %s --installation ID", dir)
		return exitError
	}
	return exitOK
}

// ledgerRecords counts the objects a ledger document records: 0 for no
// document, one that does not parse (corrupt, "null") or one that records
// nothing (the empty ledger an apply writes after the loss).
func ledgerRecords(b []byte) int {
	var doc struct {
		Settings, Roles, Keystore, Trust map[string]map[string]json.RawMessage
		Keys                             map[string]json.RawMessage
	}
	if len(b) == 0 || json.Unmarshal(b, &doc) != nil {
		return 0
	}
	n := len(doc.Keys)
	for _, m := range []map[string]map[string]json.RawMessage{doc.Settings, doc.Roles, doc.Keystore, doc.Trust} {
		for _, g := range m {
			n += len(g)
		}
	}
	return n
}

// recoverOutput is what `state recover` prints (--format json: this).
type recoverOutput struct {
	*recovery.Result
	Ledger  string `json:"ledger"`
	Written bool   `json:"written"`
	Backup  string `json:"backup,omitempty"`
}

func (c *cli) printRecover(out recoverOutput, format string) {
	if format == "json" {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
		return
	}
	w := c.stdout
	res := out.Result
	fmt.Fprintf(w, "Rebuilt the ledger from what is live (nothing was written to any cluster).\n")
	fmt.Fprintf(w, "installation: %s (%s)\n", orDash(res.Installation), res.Source)
	fmt.Fprintf(w, "\nrecovered (%d):\n", len(res.Recovered))
	for _, it := range res.Recovered {
		fmt.Fprintf(w, "  %s\n", recoverLine(it))
	}
	if len(res.Recovered) == 0 {
		fmt.Fprintln(w, "  nothing")
	}
	fmt.Fprintf(w, "\nnot recovered (%d): left out of the ledger, so esremote treats them as unmanaged or a conflict:\n", len(res.NotRecovered))
	for _, it := range res.NotRecovered {
		fmt.Fprintf(w, "  %s\n", recoverLine(it))
	}
	if len(res.NotRecovered) == 0 {
		fmt.Fprintln(w, "  nothing")
	}
	for _, e := range res.Errors {
		fmt.Fprintf(w, "\ncould not read %s\n", e)
	}
	fmt.Fprintln(w)
	if !out.Written {
		fmt.Fprintf(w, "No ledger was written to %s.\n", out.Ledger)
		return
	}
	fmt.Fprintf(w, "Wrote the ledger to %s.\n", out.Ledger)
	if out.Backup != "" {
		fmt.Fprintf(w, "The ledger it replaced is kept as %s.\n", out.Backup)
	}
	fmt.Fprintln(w, "Next: esremote plan SPECDIR shows what apply would change; then esremote apply SPECDIR.")
}

func recoverLine(it recovery.Item) string {
	where := it.Name
	if it.Target != "" {
		where = it.Target + " " + it.Name
	}
	conn := ""
	if it.Connection != "" {
		conn = " (connection " + it.Connection + ")"
	}
	return fmt.Sprintf("%-12s %s%s: %s", it.Kind, where, conn, it.Why)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
