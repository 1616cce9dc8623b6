package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/importer"
	"github.com/esremote/esremote/reconcile/state"
	"github.com/esremote/esremote/reconcile/statedir"
	"github.com/esremote/esremote/spec"

	"github.com/spf13/pflag"
)

func init() {
	register("import", &command{
		exits:    "0, 1 on error",
		summary:  "bring existing remote clusters under management",
		usage:    "import DIR --cluster NAME [--alias A]... [--state-dir DIR] [--dry-run] [--force]",
		flags:    cmdImport,
		complete: dirArgs(1),
	})
}

// aliasList is the --alias flag: given several times or comma-separated.
type aliasList []string

func (l *aliasList) String() string { return strings.Join(*l, ",") }

func (l *aliasList) Type() string { return "alias" }

func (l *aliasList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// cmdImport writes a Connection spec for every remote-cluster alias of a
// declared cluster, under DIR/imported/<cluster>/, and records them in the
// ledger as owned. It only reads the clusters: 0 when done, 1 on error.
func cmdImport(fs *pflag.FlagSet) runFunc {
	cluster := fs.String("cluster", "", "the declared local Cluster whose aliases to import (required)")
	var aliases aliasList
	fs.Var(&aliases, "alias", "import only this `alias` (repeat, or separate with commas)")
	stateDirFlag := fs.String("state-dir", "", "where the ownership ledger lives (default $STATE_DIRECTORY, /var/lib/esremote or $XDG_STATE_HOME/esremote)")
	dryRun := fs.Bool("dry-run", false, "show what would be written; write no file and no ledger")
	lockTimeout := fs.Duration("lock-timeout", 0, lockTimeoutUsage)
	stateStore := fs.String("state-store", "", stateStoreUsage)
	leaseTTL := fs.Duration("lease-ttl", state.DefaultLeaseTTL, leaseTTLUsage)
	force := fs.Bool("force", false, "overwrite an earlier import's file that no longer says what the cluster holds")
	verbose := fs.BoolP("verbose", "v", false, "log each request-level event to stderr")
	return func(c *cli, pos []string) int {
		if len(pos) != 1 || *cluster == "" {
			c.errorf("import takes one spec directory and --cluster NAME")
			c.hintf("usage: esremote %s", commands["import"].usage)
			return exitError
		}
		dir := pos[0]
		set, problems, err := spec.Load(dir)
		for _, p := range problems {
			fmt.Fprintln(c.stderr, p.String())
		}
		if err != nil {
			c.specsInvalid(dir, err, "nothing was imported")
			return exitError
		}
		stateDir, err := statedir.StateDir(c.getenv, *stateDirFlag)
		if err != nil {
			c.errorf("%v", err)
			return exitError
		}
		var lockGate func() error
		if !*dryRun {
			// import records in the ledger: a writer like apply.
			lock, ok := c.lockStateDir(stateDir, "esremote import", *lockTimeout)
			if !ok {
				return exitError
			}
			defer lock.Release()
			lockGate = lock.Check
		}
		logger := slog.New(slog.DiscardHandler)
		if *verbose {
			logger = slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
		opts := reconcile.Options{StateDir: stateDir, ReadOnly: *dryRun, Getenv: c.getenv, Logger: logger, Identity: state.HolderName()}
		if !*dryRun {
			// Every save re-reads the file and keeps what another writer
			// recorded since (state.File).
			opts.Store = &state.File{Dir: stateDir, Guard: lockGate}
		}
		if *stateStore != "" {
			client, err := c.storeClient(set, *stateStore, 0)
			if err != nil {
				c.errorf("%v", err)
				return exitError
			}
			store := &state.Elasticsearch{Client: client}
			if !*dryRun {
				// import records in the shared ledger: it takes the lease
				// like apply, or exits naming the holder.
				lease := c.takeLease(c.ctx, client, *leaseTTL, *lockTimeout)
				if lease == nil {
					return exitError
				}
				defer keepLease(lease)()
				store.Lease, opts.WriteGate = lease, gates(lockGate, lease.Check)
			}
			opts.Store = store
		}
		rec, err := reconcile.New(opts)
		if err != nil {
			c.errorf("%v", err)
			return exitError
		}
		res, err := importer.Import(c.ctx, rec, set, importer.Options{Cluster: *cluster, Aliases: aliases, DryRun: *dryRun, Force: *force})
		if res != nil {
			printImport(c, res, *dryRun, rec.Ledger().Path())
		}
		if err != nil {
			c.errorf("import from %s: %v", *cluster, err)
			return exitError
		}
		return exitOK
	}
}

// importMarks are the first column of each alias line, like plan's.
var importMarks = map[string]string{
	importer.Created:   "+",
	importer.Updated:   "~",
	importer.Unchanged: "=",
	importer.Differs:   "!",
	importer.Skipped:   "-",
}

func printImport(c *cli, res *importer.Result, dryRun bool, ledger string) {
	w := c.stdout
	if len(res.Aliases) == 0 {
		fmt.Fprintf(w, "%s has no remote cluster aliases: nothing to import.\n", res.Cluster)
		return
	}
	verb := "Imported"
	if dryRun {
		verb = "Would import"
	}
	fmt.Fprintf(w, "%s the remote clusters of %s (nothing was written to any cluster):\n\n", verb, res.Cluster)
	counts := map[string]int{}
	for _, a := range res.Aliases {
		counts[a.Status]++
		fmt.Fprintf(w, "%s %s  %s [%s]\n", importMarks[a.Status], a.Path, a.Alias, a.Status)
		if a.Status != importer.Skipped {
			fmt.Fprintf(w, "    connection %s: %s mode, %s security, remote %s\n", a.Connection, a.Mode, a.Security, a.Remote)
		}
		for _, n := range a.Notes {
			fmt.Fprintf(w, "    note: %s\n", n)
		}
	}
	var parts []string
	for _, s := range []string{importer.Created, importer.Updated, importer.Unchanged, importer.Differs, importer.Skipped} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	fmt.Fprintf(w, "\n%s: %s.\n", aliasCount(len(res.Aliases)), strings.Join(parts, ", "))
	switch {
	case dryRun:
		fmt.Fprintln(w, "Dry run: no file and no ledger entry was written.")
	case res.Recorded > 0:
		where := ledger
		if where == "" {
			where = "memory (no state directory)"
		}
		fmt.Fprintf(w, "The ledger (%s) records %s as owned: removing a file deletes its alias on the next apply, and a change on the cluster shows as external drift.\n",
			where, aliasCount(res.Recorded))
	}
	if len(res.Credentials) > 0 {
		fmt.Fprintln(w, "\nCredentials to supply before the first apply (a key made by hand cannot be read back):")
		missing := 0
		for _, cr := range res.Credentials {
			state := "supplied"
			if !cr.Present {
				state = "missing"
				missing++
			}
			fmt.Fprintf(w, "  %s  the encoded cross-cluster API key of %s (%s) [%s]\n", cr.Name, cr.Alias, cr.Setting, state)
		}
		if missing > 0 {
			c.hintf("store each as a systemd credential: read -rs KEY && printf %%s \"$KEY\" | systemd-creds encrypt --name=NAME - /etc/credstore.encrypted/NAME, then LoadCredentialEncrypted=NAME:/etc/credstore.encrypted/NAME in the unit (or a file in $CREDENTIALS_DIRECTORY)")
		}
	}
	if counts[importer.Differs] > 0 {
		c.warnf("%s left alone because the file differs from what the cluster holds: review it, or import again with --force", aliasCount(counts[importer.Differs]))
	}
}

func aliasCount(n int) string {
	if n == 1 {
		return "1 alias"
	}
	return fmt.Sprintf("%d aliases", n)
}
