package reconcile

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// Two admin hosts, each with its own state dir (two installations), both
// running the same spec. A made the link first: its key is in the
// keystore entry and the link works. B finds the alias's credential (and
// A's key for the same local and alias) with no record of its own, so the
// entry is someone else's: B reports a conflict next to
// contested_by_other_installation, creates no key, writes neither the
// keystore nor the alias's settings, and its apply fails (summary failed,
// exit 1). A's link keeps A's key and stays in sync: B left nothing A
// could see.
func TestSecondInstallationOnSameLinkIsContested(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.fast("asserts the link connected by the apply that wrote its key; the platform's keystore load delay is the subject of TestRotationByProofWithKeystoreReloadDelay and TestKeystoreLoadingIsReportedAsLoading")
	tw.write("conn.yaml", apiKeyConn)
	dirB, stateB := t.TempDir(), t.TempDir()
	for _, f := range []string{"clusters.yaml", "conn.yaml"} {
		if err := os.WriteFile(filepath.Join(dirB, f), []byte(mustRead(t, filepath.Join(tw.dir, f))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rB, err := New(Options{StateDir: stateB, Getenv: func(k string) string { return tw.env[k] }, VerifyTimeout: 500e6, VerifyInterval: 10e6})
	if err != nil {
		t.Fatal(err)
	}
	const conn, local = "analytics-to-ece-logs", "ech-analytics"
	ksKey := CredentialsKey("ece-prod-logs")
	first := tw.pass(ModeApply).Report(drift.TriggerApply, "")
	if c := findConn(t, first, conn); c.Health != drift.HealthConnected {
		t.Fatalf("A's first apply: %s, %s; want connected", c.Sync, c.Health)
	}
	keyA := tw.reconciler(true).Ledger().Key(conn)
	if keyA == nil {
		t.Fatal("A recorded no key")
	}
	for pass := range 2 {
		from := len(tw.srv.Log())
		res, err := rB.Pass(t.Context(), loadDir(t, dirB), ModeApply, "")
		if err != nil {
			t.Fatal(err)
		}
		repB := res.Report(drift.TriggerApply, "")
		for _, r := range tw.srv.Log()[from:] {
			keyWrite := strings.HasPrefix(r.Path, "/_security/cross_cluster/api_key") && r.Method != "GET"
			if keyWrite || r.Method == "PATCH" || r.Path == "/_cluster/settings" && r.Method == "PUT" {
				t.Errorf("B's pass %d wrote: %s %s %s", pass, r.Method, r.Target, r.Path)
			}
		}
		c := findConn(t, repB, conn)
		if c.Sync != drift.SyncFailed || repB.Summary.Failed != 1 ||
			!slices.Contains(findingCodes(c), CodeConflict) || !slices.Contains(findingCodes(c), CodeContestedByOther) {
			t.Errorf("B's pass %d: %s (failed %d), findings %v; want failed with %s and %s", pass, c.Sync, repB.Summary.Failed, findingCodes(c), CodeConflict, CodeContestedByOther)
		}
		for _, f := range c.Findings {
			if f.Code == CodeConflict && (!strings.Contains(f.Fix, "esremote import "+dirB+" --cluster "+local) || !strings.Contains(f.Fix, "remove the connection")) {
				t.Errorf("conflict fix %q: want esremote import with B's spec dir, or removing the connection", f.Fix)
			}
		}
		repA := tw.pass(ModeApply).Report(drift.TriggerApply, "")
		if a := findConn(t, repA, conn); a.Sync != drift.SyncInSync || a.Health != drift.HealthConnected {
			t.Errorf("A after B's pass %d: %s, %s, findings %v; want in_sync and connected", pass, a.Sync, a.Health, findingCodes(a))
		}
		if k := tw.reconciler(true).Ledger().Key(conn); k == nil || k.ID != keyA.ID {
			t.Errorf("A's key after B's pass %d: %+v; want still %s", pass, k, keyA.ID)
		}
		ks, err := tw.srv.World.Keystore(local)
		if err != nil {
			t.Fatal(err)
		}
		if Fingerprint(ks[ksKey]) != keyA.Fingerprint {
			t.Errorf("after B's pass %d the keystore entry is not A's key", pass)
		}
	}
	// A different link of the same name elsewhere is not a fight (the
	// foreign_installation case): covered by TestOtherInstallationKeysLeftAlone.
}

// Two installations that both hold keys for one link (A's was invalidated
// and its keystore entry removed by hand, then B set the link up): the
// link works with B's key, so A reports it connected, whatever the
// contest; and A, whose ledger cannot prove it wrote the entry B holds,
// writes nothing (issue 24).
func TestBothInstallationsHoldKeysContestedLinkWorks(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.fast("asserts the link connected by the apply that wrote its key; the platform's keystore load delay is the subject of TestRotationByProofWithKeystoreReloadDelay and TestKeystoreLoadingIsReportedAsLoading")
	tw.write("conn.yaml", apiKeyConn)
	dirB, stateB := t.TempDir(), t.TempDir()
	for _, f := range []string{"clusters.yaml", "conn.yaml"} {
		if err := os.WriteFile(filepath.Join(dirB, f), []byte(mustRead(t, filepath.Join(tw.dir, f))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rB, err := New(Options{StateDir: stateB, Getenv: func(k string) string { return tw.env[k] }, VerifyTimeout: 500e6, VerifyInterval: 10e6})
	if err != nil {
		t.Fatal(err)
	}
	const conn, local, remote = "analytics-to-ece-logs", "ech-analytics", "ece-prod-logs"
	ksKey := CredentialsKey(remote)
	tw.pass(ModeApply)
	keyA := tw.reconciler(true).Ledger().Key(conn)
	if keyA == nil {
		t.Fatal("A recorded no key")
	}
	if err := tw.srv.World.InvalidateKey(remote, keyA.ID); err != nil {
		t.Fatal(err)
	}
	if err := tw.srv.World.RemoveKeystore(local, ksKey); err != nil {
		t.Fatal(err)
	}
	res, err := rB.Pass(t.Context(), loadDir(t, dirB), ModeApply, "")
	if err != nil {
		t.Fatal(err)
	}
	if c := findConn(t, res.Report(drift.TriggerApply, ""), conn); c.Health != drift.HealthConnected {
		t.Fatalf("B's apply: %s, %s, findings %v; want connected", c.Sync, c.Health, findingCodes(c))
	}
	ks, err := tw.srv.World.Keystore(local)
	if err != nil {
		t.Fatal(err)
	}
	entryB := ks[ksKey]
	for pass := range 2 {
		from := len(tw.srv.Log())
		c := findConn(t, tw.pass(ModeApply).Report(drift.TriggerApply, ""), conn)
		for _, r := range tw.srv.Log()[from:] {
			keyWrite := strings.HasPrefix(r.Path, "/_security/cross_cluster/api_key") && r.Method != "GET"
			if keyWrite || r.Method == "PATCH" || r.Path == "/_cluster/settings" && r.Method == "PUT" {
				t.Errorf("A's pass %d wrote: %s %s %s", pass, r.Method, r.Target, r.Path)
			}
		}
		if c.Health != drift.HealthConnected || !slices.Contains(findingCodes(c), CodeContestedByOther) {
			t.Errorf("A's pass %d: %s, %s, findings %v, evidence %+v; want connected (B's key carries the link) and %s", pass, c.Sync, c.Health, findingCodes(c), c.Evidence, CodeContestedByOther)
		}
		ks, err := tw.srv.World.Keystore(local)
		if err != nil {
			t.Fatal(err)
		}
		if ks[ksKey] != entryB {
			t.Errorf("A's pass %d overwrote the keystore entry B wrote", pass)
		}
	}
}
