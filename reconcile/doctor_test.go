package reconcile

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/doctor"
	"github.com/esremote/esremote/reconcile/sim"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/doctor/*.golden")

// masked hides what changes between runs: key IDs, dates, the spec dir.
func (tw *testWorld) masked(s string) string {
	s = strings.ReplaceAll(s, tw.dir, "$SPECS")
	s = regexp.MustCompile(`key [A-Za-z0-9_-]{20}`).ReplaceAllString(s, "key <id>")
	s = regexp.MustCompile(`API key \[[A-Za-z0-9_-]{20}\]`).ReplaceAllString(s, "API key [<id>]")
	s = regexp.MustCompile(`user \[[A-Za-z0-9_-]{20}\]`).ReplaceAllString(s, "user [<id>]")
	s = regexp.MustCompile(`esremote-canary-[a-z0-9_-]{20}`).ReplaceAllString(s, "esremote-canary-<id>")
	return regexp.MustCompile(`\d{4}-\d{2}-\d{2}`).ReplaceAllString(s, "<date>")
}

func (tw *testWorld) doctor(name string) *doctor.Report {
	tw.t.Helper()
	ece, _ := tw.srv.World.Cluster("ece-prod-logs")
	rep, err := doctor.Run(context.Background(), tw.reconciler(true), tw.load(), name, doctor.Options{Network: remoteNetwork(tw.t, ece.Endpoint)})
	if err != nil {
		tw.t.Fatal(err)
	}
	return rep
}

func (tw *testWorld) golden(rep *doctor.Report, file string) {
	tw.t.Helper()
	var b bytes.Buffer
	if err := doctor.WriteText(&b, rep); err != nil {
		tw.t.Fatal(err)
	}
	got := tw.masked(b.String())
	path := filepath.Join("testdata", "doctor", file)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tw.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tw.t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tw.t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		tw.t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s--- want\n%s", file, got, want)
	}
}

func wantStep(t *testing.T, rep *doctor.Report, name string, st doctor.Status, cause string) *doctor.Step {
	t.Helper()
	s := rep.Step(name)
	if s == nil || s.Status != st || s.Cause != cause {
		t.Fatalf("step %s: got %+v, want %s %s", name, s, st, cause)
	}
	if st == doctor.Problem && s.Fix == "" {
		t.Fatalf("step %s: a problem without a fix", name)
	}
	return s
}

func connectedAPIKeyWorld(t *testing.T) *testWorld {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("conn.yaml", apiKeyConn)
	if c := findConn(t, tw.pass(ModeApply).Report(drift.TriggerApply, ""), "analytics-to-ece-logs"); c.Health != drift.HealthConnected {
		t.Fatalf("setup: link not connected: %+v", c)
	}
	return tw
}

func TestDoctorHealthyAPIKeyLink(t *testing.T) {
	tw := connectedAPIKeyWorld(t)
	rep := tw.doctor("analytics-to-ece-logs")
	if !rep.Healthy() {
		t.Fatalf("healthy link has a problem: %+v", rep.FirstProblem())
	}
	for _, s := range rep.Steps {
		if s.Status == doctor.Skipped && s.Name != doctor.StepCanary {
			t.Errorf("step %s skipped: %s", s.Name, s.Evidence)
		}
	}
	tw.golden(rep, "healthy.golden")
}

func TestDoctorKeyInvalidated(t *testing.T) {
	tw := connectedAPIKeyWorld(t)
	id := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID
	if err := tw.srv.World.InvalidateKey("ece-prod-logs", id); err != nil {
		t.Fatal(err)
	}
	rep := tw.doctor("analytics-to-ece-logs")
	s := wantStep(t, rep, doctor.StepAPIKey, doctor.Problem, doctor.CauseKeyInvalid)
	if !strings.Contains(s.Evidence, id) || !strings.Contains(s.Evidence, "invalidated") || !strings.Contains(s.Fix, "esremote apply") {
		t.Fatalf("key step does not name the key and the fix: %+v", s)
	}
	if rep.FirstProblem().Name != doctor.StepAPIKey {
		t.Fatalf("first problem %s, want api_key", rep.FirstProblem().Name)
	}
	wantStep(t, rep, doctor.StepResolveCluster, doctor.Problem, doctor.CauseKeyInvalid)
	tw.golden(rep, "key-invalidated.golden")
}

func TestDoctorKeystoreMissing(t *testing.T) {
	tw := connectedAPIKeyWorld(t)
	if err := tw.srv.World.RemoveKeystore("ech-analytics", "cluster.remote.ece-prod-logs.credentials"); err != nil {
		t.Fatal(err)
	}
	rep := tw.doctor("analytics-to-ece-logs")
	s := wantStep(t, rep, doctor.StepKeystore, doctor.Problem, doctor.CauseNoCredentials)
	if rep.FirstProblem().Name != doctor.StepKeystore || !strings.Contains(s.Fix, "keystore") {
		t.Fatalf("keystore: %+v, first %s", s, rep.FirstProblem().Name)
	}
	tw.golden(rep, "keystore-missing.golden")
}

func TestDoctorWrongPort(t *testing.T) {
	tw := connectedAPIKeyWorld(t)
	ece, _ := tw.srv.World.Cluster("ece-prod-logs")
	if err := tw.srv.World.SetSetting("ech-analytics", "persistent", "cluster.remote.ece-prod-logs.proxy_address", ece.Endpoint+":9300"); err != nil {
		t.Fatal(err)
	}
	rep := tw.doctor("analytics-to-ece-logs")
	s := wantStep(t, rep, doctor.StepParameters, doctor.Problem, doctor.CauseWrongPort)
	if !strings.Contains(s.Evidence, "9300 is the transport port") {
		t.Fatalf("parameters: %+v", s)
	}
	wantStep(t, rep, doctor.StepResolveCluster, doctor.Problem, doctor.CauseWrongPort)
	tw.golden(rep, "wrong-port.golden")
}

// A daemon pass over a link whose key was invalidated out of band (policy
// report, so nothing is corrected) reports it unauthorized (the remote
// refuses the key; _remote/info still says connected) with the cause and
// the fix.
func TestDiagnoseFinding(t *testing.T) {
	tw := connectedAPIKeyWorld(t)
	tw.write("conn.yaml", strings.Replace(apiKeyConn, "settings:\n", "policy: report\nsettings:\n", 1))
	id := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID
	if err := tw.srv.World.InvalidateKey("ece-prod-logs", id); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []Mode{ModePlan, ModeRun} {
		c := findConn(t, tw.pass(mode).Report(drift.TriggerResync, ""), "analytics-to-ece-logs")
		var f *drift.Finding
		for i := range c.Findings {
			if c.Findings[i].Code == CodeDisconnected {
				f = &c.Findings[i]
			}
		}
		if c.Health != drift.HealthUnauthorized || f == nil {
			t.Fatalf("%s: health %s findings %+v", mode, c.Health, c.Findings)
		}
		if !strings.Contains(f.Message, doctor.CauseKeyInvalid) || !strings.Contains(f.Message, id) || f.Fix == "" {
			t.Fatalf("%s: finding without the cause: %+v", mode, f)
		}
	}
}
