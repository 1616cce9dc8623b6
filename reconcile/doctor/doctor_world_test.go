package doctor_test

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
	"github.com/esremote/esremote/reconcile/internal/worldtest"
	"github.com/esremote/esremote/reconcile/sim"
)

// world is the test harness's simulated world, with the doctor's helpers.
type world struct{ *worldtest.World }

var updateGolden = flag.Bool("update", false, "rewrite testdata/doctor/*.golden")

// masked hides what changes between runs: key IDs, dates, the spec dir.
func (tw world) masked(s string) string {
	s = strings.ReplaceAll(s, tw.Dir, "$SPECS")
	s = regexp.MustCompile(`key [A-Za-z0-9_-]{20}`).ReplaceAllString(s, "key <id>")
	s = regexp.MustCompile(`API key \[[A-Za-z0-9_-]{20}\]`).ReplaceAllString(s, "API key [<id>]")
	s = regexp.MustCompile(`user \[[A-Za-z0-9_-]{20}\]`).ReplaceAllString(s, "user [<id>]")
	s = regexp.MustCompile(`esremote-canary-[a-z0-9_-]{20}`).ReplaceAllString(s, "esremote-canary-<id>")
	return regexp.MustCompile(`\d{4}-\d{2}-\d{2}`).ReplaceAllString(s, "<date>")
}

func (tw world) doctor(name string) *doctor.Report {
	tw.T.Helper()
	ece, _ := tw.Srv.World.Cluster("ece-prod-logs")
	rep, err := doctor.Run(context.Background(), tw.Reconciler(true), tw.Load(), name, doctor.Options{Network: doctor.RemoteNetwork(tw.T, ece.Endpoint)})
	if err != nil {
		tw.T.Fatal(err)
	}
	return rep
}

func (tw world) golden(rep *doctor.Report, file string) {
	tw.T.Helper()
	var b bytes.Buffer
	if err := doctor.WriteText(&b, rep); err != nil {
		tw.T.Fatal(err)
	}
	got := tw.masked(b.String())
	path := filepath.Join("testdata", "doctor", file)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tw.T.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tw.T.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tw.T.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		tw.T.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s--- want\n%s", file, got, want)
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

func connectedAPIKeyWorld(t *testing.T) world {
	tw := world{worldtest.New(t, sim.DefaultWorld())}
	tw.Fast("asserts the link connected by the apply that wrote its key; the platform's keystore load delay is the subject of reconcile's TestRotationByProofWithKeystoreReloadDelay and TestAPIKeyLinkEndToEnd")
	tw.Write("conn.yaml", worldtest.APIKeyConn)
	if c := worldtest.FindConn(t, tw.Apply(), "analytics-to-ece-logs"); c.Health != drift.HealthConnected {
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
	id := tw.Reconciler(true).Ledger().Key("analytics-to-ece-logs").ID
	if err := tw.Srv.World.InvalidateKey("ece-prod-logs", id); err != nil {
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
	if err := tw.Srv.World.RemoveKeystore("ech-analytics", "cluster.remote.ece-prod-logs.credentials"); err != nil {
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
	ece, _ := tw.Srv.World.Cluster("ece-prod-logs")
	if err := tw.Srv.World.SetSetting("ech-analytics", "persistent", "cluster.remote.ece-prod-logs.proxy_address", ece.Endpoint+":9300"); err != nil {
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

// A local admin with manage and manage_security only (what the README
// asked before issue 23): the privileges step names what the canary
// request lacks and the role to add, and comes before the refusal it
// causes.
func TestDoctorCanaryPrivilegeMissing(t *testing.T) {
	w, err := sim.NewWorld(sim.WorldSpec{
		ControlPlanes: map[string]sim.ControlPlaneSpec{sim.PlatformECH: {}, sim.PlatformECE: {}},
		Clusters: []sim.ClusterSpec{
			{Name: "ech-analytics", Version: "8.19.3", Platform: sim.PlatformECH, Username: "admin",
				Roles:      map[string]any{"esremote_admin": map[string]any{"cluster": []any{"manage", "manage_security"}}},
				AdminRoles: []string{"esremote_admin"}},
			{Name: "ece-prod-logs", Version: "8.19.3", Platform: sim.PlatformECE, Indices: []string{"logs-app-2026.11.25"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tw := world{worldtest.New(t, w)}
	tw.Fast("the privileges step is judged right after the apply that wrote the key; the platform's keystore load delay is the subject of reconcile's TestRotationByProofWithKeystoreReloadDelay and TestAPIKeyLinkEndToEnd")
	tw.Write("conn.yaml", worldtest.APIKeyConn)
	if c := worldtest.FindConn(t, tw.Apply(), "analytics-to-ece-logs"); c.Health != drift.HealthUnknown {
		t.Fatalf("setup: health %s, want unknown: %+v", c.Health, c)
	}
	rep := tw.doctor("analytics-to-ece-logs")
	s := wantStep(t, rep, doctor.StepPrivileges, doctor.Problem, doctor.CauseCanaryPrivileges)
	if rep.FirstProblem().Name != doctor.StepPrivileges ||
		!strings.Contains(s.Fix, `PUT /_security/role/esremote_canary {"indices":[{"names":["esremote-canary-*"],"privileges":["view_index_metadata"]}],"remote_indices":[{"clusters":["ece-prod-logs"],"names":["esremote-canary-*"],"privileges":["view_index_metadata"]}]}`) {
		t.Fatalf("privileges: %+v, first %s", s, rep.FirstProblem().Name)
	}
	tw.golden(rep, "canary-privilege-missing.golden")

	// Granted what the step asks: the step passes and the link is healthy.
	granted := `{"cluster":["manage","manage_security"],` + strings.TrimPrefix(s.Fix[strings.Index(s.Fix, "{"):strings.Index(s.Fix, "]}]}")+len("]}]}")], "{")
	if err := tw.Srv.World.PutRole("ech-analytics", "esremote_admin", []byte(granted)); err != nil {
		t.Fatalf("%s: %v", granted, err)
	}
	rep = tw.doctor("analytics-to-ece-logs")
	wantStep(t, rep, doctor.StepPrivileges, doctor.OK, "")
	if !rep.Healthy() {
		t.Fatalf("granted: %+v", rep.FirstProblem())
	}
}
