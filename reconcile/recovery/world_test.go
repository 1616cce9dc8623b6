package recovery_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/internal/worldtest"
	"github.com/esremote/esremote/reconcile/recovery"
	"github.com/esremote/esremote/reconcile/sim"
)

// conn is worldtest.APIKeyConn's name.
const conn = "analytics-to-ece-logs"

// converged applies until the connection is in sync and connected, and
// returns its key record.
func converged(t *testing.T, tw *worldtest.World) *reconcile.KeyRecord {
	t.Helper()
	rep := tw.Apply()
	c := worldtest.FindConn(t, rep, conn)
	if c.Sync == drift.SyncFailed || c.Health != drift.HealthConnected {
		t.Fatalf("first apply: %s, %s, findings %v", c.Sync, c.Health, c.Findings)
	}
	key := tw.Reconciler(true).Ledger().Key(conn)
	if key == nil {
		t.Fatal("the first apply recorded no key")
	}
	return key
}

// recoverInto runs recovery over the world's specs and saves the ledger in
// the state dir, as `esremote state recover` does.
func recoverInto(t *testing.T, tw *worldtest.World) *recovery.Result {
	t.Helper()
	r, err := reconcile.New(reconcile.Options{Getenv: func(k string) string { return tw.Env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	res := recovery.Recover(t.Context(), r, tw.Load(), "")
	if !res.OK() {
		t.Fatalf("recovery not OK: errors %v, ambiguous %v", res.Errors, res.Ambiguous)
	}
	doc, err := res.Document()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(tw.State, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tw.State, reconcile.LedgerFile), doc, 0o600); err != nil {
		t.Fatal(err)
	}
	return res
}

// keyWrites lists the key creations and invalidations the sim received.
func keyWrites(tw *worldtest.World) []string {
	var out []string
	for _, w := range tw.Writes() {
		if strings.Contains(w, "api_key") {
			out = append(out, w)
		}
	}
	return out
}

// afterRecovery checks Done-when 4's outcome: the apply after recovery
// converges with the same key, creating and invalidating none, and writes
// nothing at all (the links were in sync when the ledger was lost).
func afterRecovery(t *testing.T, tw *worldtest.World, before *reconcile.KeyRecord, res *recovery.Result) {
	t.Helper()
	if res.Installation == "" || !strings.HasPrefix(res.Source, "kept") {
		t.Errorf("installation %q (%s): want the one the key carries, kept", res.Installation, res.Source)
	}
	var kinds []string
	for _, it := range res.Recovered {
		kinds = append(kinds, it.Kind)
	}
	for _, want := range []string{recovery.KindKey, recovery.KindKeystore, recovery.KindAlias, recovery.KindRole} {
		if !slices.Contains(kinds, want) {
			t.Errorf("recovered %v: want a %s", kinds, want)
		}
	}
	tw.Srv.World.ResetLog()
	rep := tw.Apply()
	c := worldtest.FindConn(t, rep, conn)
	if c.Sync != drift.SyncInSync || c.Health != drift.HealthConnected || rep.Summary.Failed != 0 {
		t.Errorf("apply after recovery: %s, %s, failed %d, findings %+v; want in_sync and connected", c.Sync, c.Health, rep.Summary.Failed, c.Findings)
	}
	if w := keyWrites(tw); len(w) > 0 {
		t.Errorf("apply after recovery created or invalidated keys: %v", w)
	}
	if w := tw.Writes(); len(w) > 0 {
		t.Errorf("apply after recovery wrote: %v; want nothing (everything was in sync)", w)
	}
	after := tw.Reconciler(true).Ledger().Key(conn)
	if after == nil || after.ID != before.ID {
		t.Errorf("key after recovery and apply: %+v; want still %s", after, before.ID)
	}
	if got, want := tw.Reconciler(true).Ledger().Installation(), res.Installation; got != want {
		t.Errorf("ledger installation %s after apply; want the recovered %s", got, want)
	}
}

// Done when 4, ledger moved aside: apply converges, the ledger is moved
// aside (as the corrupt-ledger error used to advise), recovery rebuilds
// it, and apply converges with the same key, exit 0 (no failed
// connection). Without recovery the same apply reports the key as another
// installation's and fails: the dead end issue 24 names.
func TestRecoverLedgerMovedAside(t *testing.T) {
	tw := worldtest.New(t, sim.DefaultWorld())
	tw.Fast("asserts the link connected by the apply that wrote its key; the platform's keystore load delay is the subject of reconcile's TestRotationByProofWithKeystoreReloadDelay and TestAPIKeyLinkEndToEnd")
	tw.Write("conn.yaml", worldtest.APIKeyConn)
	before := converged(t, tw)
	installation := tw.Reconciler(true).Ledger().Installation()
	ledger := filepath.Join(tw.State, reconcile.LedgerFile)
	if err := os.Rename(ledger, ledger+".corrupt"); err != nil {
		t.Fatal(err)
	}

	// The dead end, in a copy of the state dir: without recovery, a new
	// installation id and a refused apply.
	lost := *tw
	lost.State = t.TempDir()
	tw.Srv.World.ResetLog()
	rep := lost.Apply()
	if c := worldtest.FindConn(t, rep, conn); c.Sync != drift.SyncFailed || !hasFinding(c, reconcile.CodeContestedByOther) {
		t.Fatalf("apply on a lost ledger: %s, findings %v; want failed and %s (the dead end recovery is for)", c.Sync, c.Findings, reconcile.CodeContestedByOther)
	} else if !strings.Contains(fixOf(c, reconcile.CodeConflict), "esremote state recover "+tw.Dir) {
		t.Errorf("conflict fix %q: want it to name esremote state recover %s", fixOf(c, reconcile.CodeConflict), tw.Dir)
	}
	if w := keyWrites(&lost); len(w) > 0 {
		t.Fatalf("the refused apply wrote keys: %v", w)
	}

	res := recoverInto(t, tw)
	if res.Installation != installation {
		t.Errorf("recovered installation %s; want the lost ledger's %s", res.Installation, installation)
	}
	afterRecovery(t, tw, before, res)
}

// Done when 4, package purged and reinstalled: the purge of old (its
// postremove removed the whole state dir) is simulated by removing the
// state dir; recovery recreates it and apply converges with the same key.
func TestRecoverAfterPurge(t *testing.T) {
	tw := worldtest.New(t, sim.DefaultWorld())
	tw.Fast("asserts the link connected by the apply that wrote its key; the platform's keystore load delay is the subject of reconcile's TestRotationByProofWithKeystoreReloadDelay and TestAPIKeyLinkEndToEnd")
	tw.Write("conn.yaml", worldtest.APIKeyConn)
	before := converged(t, tw)
	if err := os.RemoveAll(tw.State); err != nil {
		t.Fatal(err)
	}
	res := recoverInto(t, tw)
	afterRecovery(t, tw, before, res)
}

func hasFinding(c drift.Connection, code string) bool {
	return fixOf(c, code) != "" || slices.ContainsFunc(c.Findings, func(f drift.Finding) bool { return f.Code == code })
}

func fixOf(c drift.Connection, code string) string {
	for _, f := range c.Findings {
		if f.Code == code {
			return f.Fix
		}
	}
	return ""
}
