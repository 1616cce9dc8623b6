package reconcile

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// Two admin hosts, each with its own state dir (two installations), both
// running the same spec: they fight over one link, each rewriting the
// keystore entry with its own key. Each sees the other's key for the same
// local and alias, and both report contested_by_other_installation and
// sync contested: the fight is said, not silent.
func TestSecondInstallationOnSameLinkIsContested(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
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
	var reps [2]*drift.Report
	for range 2 {
		reps[0] = tw.pass(ModeApply).Report(drift.TriggerApply, "")
		res, err := rB.Pass(t.Context(), loadDir(t, dirB), ModeApply, "")
		if err != nil {
			t.Fatal(err)
		}
		reps[1] = res.Report(drift.TriggerApply, "")
	}
	for i, rep := range reps {
		c := findConn(t, rep, "analytics-to-ece-logs")
		if c.Sync != drift.SyncContested || !slices.Contains(findingCodes(c), CodeContestedByOther) {
			t.Errorf("installation %d: %s, findings %v; want contested with %s", i, c.Sync, findingCodes(c), CodeContestedByOther)
		}
	}
	// A different link of the same name elsewhere is not a fight (the
	// foreign_installation case): covered by TestOtherInstallationKeysLeftAlone.
}
