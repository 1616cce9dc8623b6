package reconcile

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
	"github.com/esremote/esremote/spec"
)

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// exampleWorld builds a simulated world holding the Clusters an example
// declares (names, platforms, deployment and ref ids, cluster ids as the
// example's hosts spell them), and a spec dir with the example's other
// files as they are and a clusters.yaml pointing at the sim.
func exampleWorld(t *testing.T, dir string) *testWorld {
	set, problems, err := spec.Load(dir)
	if err != nil {
		t.Fatalf("validate %s: %v\n%v", dir, err, problems)
	}
	ws := sim.WorldSpec{ControlPlanes: map[string]sim.ControlPlaneSpec{sim.PlatformECH: {}, sim.PlatformECE: {}}}
	for _, cl := range set.Clusters {
		cs := sim.ClusterSpec{Name: cl.Name, Version: "8.19.3", Platform: sim.PlatformSelfManaged, Indices: []string{"logs-app", "invoices-2026", "metrics-a"}}
		if d := cl.Deployment; d != nil {
			cs.Platform, cs.DeploymentID, cs.RefID = string(d.Platform), d.ID, d.RefID
		}
		if u, err := url.Parse(cl.Elasticsearch.URL); err == nil {
			if id, _, _ := strings.Cut(u.Hostname(), "."); hex32.MatchString(id) {
				cs.ClusterID = id
			}
		}
		ws.Clusters = append(ws.Clusters, cs)
	}
	w, err := sim.NewWorld(ws)
	if err != nil {
		t.Fatal(err)
	}
	tw := newTestWorld(t, w)
	tw.fast("its subject is not the platform's delays: the keystore load delay is TestRotationByProofWithKeystoreReloadDelay's subject, the 10 s connect wait per settings PUT toward an address that answers nothing TestSettingsPutConnectWaitNeitherMisreportsNorWritesTwice's")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if name == "clusters.yaml" || name == "cluster.yaml" || name == "README.md" {
			continue
		}
		copyTree(t, filepath.Join(dir, name), filepath.Join(tw.dir, name))
	}
	return tw
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Every example spec directory, driven against the simulated world as
// the README tells an operator to: validate, plan (exit 2), apply, plan
// (exit 0). The steady-state pass then sends exactly the pinned reads,
// none of them twice.
func TestExamplesAgainstSim(t *testing.T) {
	for _, tc := range []struct {
		dir   string
		setup func(t *testing.T, tw *testWorld)
		// firstPlan is esremote plan's exit code before the first apply
		// (drift.PlanExit, the command's own rule): 2, changes pending,
		// unless the example's README says otherwise.
		firstPlan int
		// steady is the request list of a steady-state plan pass: "target
		// METHOD endpoint", sorted.
		steady []string
	}{
		{dir: "api-key", steady: []string{ // managed-key link
			"ece GET /api/v1/deployments/{id}", // the remote's endpoint
			"ece-prod-logs GET /",
			"ece-prod-logs GET /_security/api_key", // the managed key
			"ech-analytics GET /",
			"ech-analytics GET /_cluster/settings",
			"ech-analytics GET /_remote/info",
			"ech-analytics GET /_resolve/cluster/{expr}",    // health by evidence
			"ech-analytics GET /_security/role",             // the connection's role
			"ech-analytics GET /_security/user/_privileges", // may the credential ask the canary (DESIGN §5)
		}},
		{dir: "certificate", steady: []string{ // certificate link, trust both ways
			"ece GET /api/v1/deployments/{id}",                                            // endpoint and trust, read once
			"ece GET /api/v1/regions/{region}/platform/configuration/trust-relationships", // the environment's id
			"ece-prod-billing GET /",
			"ece-prod-billing GET /_cluster/settings",
			"ece-prod-billing GET /_remote/info",
			"ech GET /api/v1/deployments/{id}",
			"ech GET /api/v1/deployments/{id}/certificate-authority",
			"ech-billing GET /",
			"ech-billing GET /_cluster/settings",
			"ech-billing GET /_remote/info",
			"ech-billing GET /_resolve/cluster/{expr}", // health by evidence
			"ech-billing GET /_security/role",
		}},
		// 1: the hand-made key is in the keystore on disk, which no REST
		// call can read until apply's reload, so plan reports the
		// action-required error the example's README describes.
		{dir: "self-managed", firstPlan: drift.ExitError, setup: func(t *testing.T, tw *testWorld) {
			// The hand-made key the administrator handed over, already in
			// the self-managed keystore (esremote cannot write it).
			key := base64.StdEncoding.EncodeToString([]byte("handmade-id:handmade-secret"))
			creds := t.TempDir()
			if err := os.WriteFile(filepath.Join(creds, "ece-metrics-ccs"), []byte(key), 0o600); err != nil {
				t.Fatal(err)
			}
			tw.env["CREDENTIALS_DIRECTORY"] = creds
			if err := tw.srv.World.SetKeystore("onprem-search", "cluster.remote.ece-metrics.credentials", key); err != nil {
				t.Fatal(err)
			}
		}, steady: []string{ // self-managed local, hand-made key
			"onprem-search GET /",
			"onprem-search GET /_cluster/settings",
			"onprem-search GET /_remote/info",
			"onprem-search GET /_resolve/cluster/{expr}", // health by evidence
			"onprem-search GET /_security/role",
			"onprem-search GET /_security/user/_privileges", // may the credential make the evidence request
		}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			tw := exampleWorld(t, filepath.Join("..", "examples", tc.dir))
			if tc.setup != nil {
				tc.setup(t, tw)
			}
			want := cmp.Or(tc.firstPlan, drift.ExitChanges)
			if got := drift.PlanExit(tw.pass(ModePlan).Report(drift.TriggerPlan, "")); got != want {
				t.Fatalf("first plan exits %d, want %d", got, want)
			}
			apply := tw.pass(ModeApply).Report(drift.TriggerApply, "")
			for _, c := range apply.Connections {
				if c.Sync == drift.SyncFailed {
					t.Errorf("apply: %s failed: %q %+v", c.Name, c.Error, c.Changes)
				}
			}
			tw.srv.World.ResetLog()
			rep := tw.pass(ModePlan).Report(drift.TriggerPlan, "")
			if got := drift.PlanExit(rep); got != 0 {
				t.Fatalf("plan after apply exits %d, want 0: %+v %+v", got, rep.Errors, rep.Connections)
			}
			var got []string
			seen := map[string]bool{}
			for _, r := range tw.srv.Log() {
				k := fmt.Sprintf("%s %s", r.Target, r.Endpoint)
				if seen[k] {
					t.Errorf("read twice in one pass: %s", k)
				}
				seen[k] = true
				got = append(got, k)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.steady) {
				t.Errorf("steady-state requests:\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(tc.steady, "\n\t"))
			}
		})
	}
}
