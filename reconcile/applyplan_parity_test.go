package reconcile

import (
	"strings"
	"testing"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/plan"
	"github.com/esremote/esremote/reconcile/sim"
)

// What apply --plan does after its writes is what a live pass does after
// its own: each test runs both on twin worlds and compares.

// applyBoth runs a live apply on one world and plan, then apply --plan of
// the saved plan, on a twin, both declaring the specs files, and returns
// the two results and worlds.
func applyBoth(t *testing.T, files map[string]string, setup func(tw *testWorld)) (live, saved *Result, twLive, twSaved *testWorld) {
	t.Helper()
	twLive, twSaved = newTestWorld(t, sim.DefaultWorld()), newTestWorld(t, sim.DefaultWorld())
	for _, tw := range []*testWorld{twLive, twSaved} {
		for name, content := range files {
			tw.write(name, content)
		}
		if setup != nil {
			setup(tw)
		}
	}
	live = twLive.pass(ModeApply)
	doc, err := plan.Parse(mustJSON(t, twSaved.pass(ModePlan).SavedPlan()))
	if err != nil {
		t.Fatal(err)
	}
	saved, err = twSaved.reconciler(false).ApplyPlan(t.Context(), twSaved.load(), doc)
	if err != nil {
		t.Fatal(err)
	}
	return live, saved, twLive, twSaved
}

// apply --plan records the proof verification gives a key it created, as
// the live pass does: the rotation window starts from it, not from the
// next pass's request.
func TestApplyPlanRecordsKeyProof(t *testing.T) {
	live, saved, twLive, twSaved := applyBoth(t, map[string]string{"conn.yaml": apiKeyConn}, func(tw *testWorld) {
		tw.fast("asserts the proof of the key the apply wrote, by its own verification within the harness's 500 ms; the platform's keystore load delay is the subject of TestRotationByProofWithKeystoreReloadDelay")
	})
	const conn = "analytics-to-ece-logs"
	for _, tc := range []struct {
		what string
		res  *Result
		tw   *testWorld
	}{{"live", live, twLive}, {"apply --plan", saved, twSaved}} {
		c := findConn(t, tc.res.Report(drift.TriggerApply, ""), conn)
		rec := tc.tw.reconciler(true).Ledger().Key(conn)
		if c.Health != drift.HealthConnected || rec == nil || rec.ProvenAt.IsZero() {
			t.Errorf("%s: health %s, key record %+v; want connected and the key's proof recorded", tc.what, c.Health, rec)
		}
	}
}

// apply --plan diagnoses a link it wrote that does not connect, as the
// live pass does (here a proxy address on the certificate model's port
// for an API-key link).
func TestApplyPlanDiagnosesALinkItWrote(t *testing.T) {
	spec := strings.Replace(apiKeyConn, "  cluster: ece-prod-logs\n",
		"  cluster: ece-prod-logs\n  proxy_address: 019999c4d729196a097c7263fedfc0ef.192.168.44.10.ip.es.io:9400\n", 1)
	live, saved, _, _ := applyBoth(t, map[string]string{"conn.yaml": spec}, nil)
	want := findConn(t, live.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
	got := findConn(t, saved.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
	wantF, gotF := disconnected(want), disconnected(got)
	if wantF == nil || !strings.Contains(wantF.Message, "wrong_port") {
		t.Fatalf("setup: the live pass shows %s, findings %+v; want %s with cause wrong_port", want.Health, want.Findings, CodeDisconnected)
	}
	if gotF == nil || gotF.Message != wantF.Message || gotF.Fix != wantF.Fix || got.Health != want.Health {
		t.Errorf("apply --plan: %s, findings %+v; want the live pass's %s, %+v", got.Health, got.Findings, want.Health, *wantF)
	}
}

func disconnected(c drift.Connection) *drift.Finding {
	for i := range c.Findings {
		if c.Findings[i].Code == CodeDisconnected {
			return &c.Findings[i]
		}
	}
	return nil
}

// A removal no step can make (the key of a removed connection whose
// remote cluster is no longer declared) is reported by apply --plan with
// the live pass's reason, not as merely not applied.
func TestApplyPlanSaysWhyARemovalIsNotMade(t *testing.T) {
	for _, mode := range []string{"live", "apply --plan"} {
		tw := newTestWorld(t, sim.DefaultWorld())
		tw.write("conn.yaml", apiKeyConn)
		tw.pass(ModeApply)
		id := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID
		tw.remove("conn.yaml")
		var docs []string
		for _, d := range strings.Split(mustRead(t, tw.dir+"/clusters.yaml"), "---\n") {
			if !strings.Contains(d, "\nname: ece-prod-logs\n") {
				docs = append(docs, d)
			}
		}
		tw.write("clusters.yaml", strings.Join(docs, "---\n"))
		var res *Result
		if mode == "live" {
			res = tw.pass(ModeApply)
		} else {
			doc, err := plan.Parse(mustJSON(t, tw.pass(ModePlan).SavedPlan()))
			if err != nil {
				t.Fatal(err)
			}
			if res, err = tw.reconciler(false).ApplyPlan(t.Context(), tw.load(), doc); err != nil {
				t.Fatal(err)
			}
		}
		c := findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
		reason := ""
		for _, ch := range c.Changes {
			if ch.Resource == drift.ResourceAPIKey {
				if ch.Applied {
					t.Errorf("%s: the key's removal shows applied", mode)
				}
				reason = ch.Error
			}
		}
		// The live pass's reason (unremovable), with this world's key.
		if want := "remote cluster ece-prod-logs is no longer declared: invalidate key " + id + " there by hand"; reason != want {
			t.Errorf("%s: the key's removal says %q; want %q", mode, reason, want)
		}
	}
}

// The key of a connection whose local cluster left the specs, on a
// remote the pass could not read: apply --plan says why it is not
// invalidated, as the live pass does.
func TestApplyPlanSaysWhyADepartedKeyIsKept(t *testing.T) {
	for _, mode := range []string{"live", "apply --plan"} {
		tw := newTestWorld(t, sim.DefaultWorld())
		tw.write("conn.yaml", apiKeyConn)
		tw.pass(ModeApply)
		id := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID
		tw.remove("conn.yaml")
		var docs []string
		for _, d := range strings.Split(mustRead(t, tw.dir+"/clusters.yaml"), "---\n") {
			if !strings.Contains(d, "\nname: ech-analytics\n") {
				docs = append(docs, d)
			}
		}
		tw.write("clusters.yaml", strings.Join(docs, "---\n"))
		if _, err := tw.srv.Fault(sim.Fault{Target: "ece-prod-logs", Path: "/_security/api_key", Kind: sim.FaultStatus, Status: 503}); err != nil {
			t.Fatal(err)
		}
		var res *Result
		if mode == "live" {
			res = tw.pass(ModeApply)
		} else {
			doc, err := plan.Parse(mustJSON(t, tw.pass(ModePlan).SavedPlan()))
			if err != nil {
				t.Fatal(err)
			}
			if res, err = tw.reconciler(false).ApplyPlan(t.Context(), tw.load(), doc); err != nil {
				t.Fatal(err)
			}
		}
		reason := ""
		for _, c := range res.Report(drift.TriggerApply, "").Connections {
			for _, ch := range c.Changes {
				if ch.Resource == drift.ResourceAPIKey && c.Name == "analytics-to-ece-logs" {
					reason = ch.Error
				}
			}
		}
		if want := "invalidate key " + id + " on ece-prod-logs: "; !strings.HasPrefix(reason, want) || !strings.Contains(reason, "503") {
			t.Errorf("%s: the departed key's change says %q; want %q and the remote's 503", mode, reason, want)
		}
	}
}
