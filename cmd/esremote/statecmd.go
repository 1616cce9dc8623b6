package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/esremote/esremote/reconcile/state"
	"github.com/esremote/esremote/spec"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func init() {
	register("state", &command{
		summary: "move the ownership ledger between the state dir and an Elasticsearch state store (and back)",
		usage:   "state migrate --from DIR|CLUSTER --to CLUSTER|DIR --specs SPECDIR [--lock-timeout 0s] [--lease-ttl 30s]",
		flags:   cmdState,
		exits:   "0 when moved, 1 on error",
		complete: func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return []cobra.Completion{"migrate"}, cobra.ShellCompDirectiveNoFileComp
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
	return func(c *cli, args []string) int {
		if len(args) == 0 || args[0] != "migrate" {
			c.errorf("state takes a subcommand: migrate")
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
