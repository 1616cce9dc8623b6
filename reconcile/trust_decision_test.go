package reconcile

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/plan"
	"github.com/esremote/esremote/reconcile/sim"
)

// trustedOrg is a TrustedEnvironment on ece-prod-logs trusting an ECH
// organization of no declared Cluster (its CA from ca_file): trust of no
// connection, written whatever the connections decide.
func trustedOrg(name, org string) string {
	return `apiVersion: esremote/v1
kind: TrustedEnvironment
name: ` + name + `
deployment: ece-prod-logs
platform: ech
environment_id: "` + org + `"
ca_file: ca/other.pem
trust: all
`
}

// refusedTrustWorld is a world where the certificate link
// analytics-to-logs-cert is refused as a conflict (its alias was made by
// hand on ech-analytics) while ece-prod-logs, its remote, has trust to
// write all the same: one TrustedEnvironment esremote wrote in an earlier
// pass (org-one) and one new (org-two); organization IDs are lowercase alphanumerics, as the platform requires of scope_id.
func refusedTrustWorld(t *testing.T) *testWorld {
	t.Helper()
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.fast("its subject is the trust decision and its writes, not the platform's delays")
	tw.write("ca/other.pem", string(shortLivedCA(t, 400*24*time.Hour)))
	tw.write("te1.yaml", trustedOrg("org-one", "0rg0ne"))
	tw.pass(ModeApply)
	w := tw.srv.World
	if directOf(trustOf(t, w, "ece-prod-logs"), "ESS", "0rg0ne") == nil {
		t.Fatal("the first pass did not write org-one's trust: the test proves nothing")
	}
	for k, v := range map[string]string{"mode": "sniff", "seeds": "10.0.0.1:9300"} {
		if err := w.SetSetting("ech-analytics", "persistent", "cluster.remote.ece-prod-logs."+k, v); err != nil {
			t.Fatal(err)
		}
	}
	tw.write("conn.yaml", certConn)
	tw.write("te2.yaml", trustedOrg("org-two", "0rgtw0"))
	return tw
}

// The trust of a connection refused as a conflict is held by the
// decision (decide.HoldRefused), the same in the live pass as in
// decide.Decide of its Snapshot: it was held by the execute stage, which
// edited the trust plan after the decision.
func TestRefusedTrustHeldByTheDecision(t *testing.T) {
	tw := refusedTrustWorld(t)
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	for _, mode := range []Mode{ModePlan, ModeApply} {
		ps, _, _ := decidedAt(t, tw, mode, at)
		want := decide.Decide(ps.set, ps.snapshot(), ps.holds, at)
		if !reflect.DeepEqual(ps.trust, want.Trust) {
			t.Errorf("%s: the pass's trust decision is not Decide's", mode)
		}
		var held, written []string
		for _, name := range ps.trust.Order {
			for _, op := range ps.trust.Deps[name].Ops {
				switch {
				case op.Held:
					held = append(held, name+" "+op.Key)
				case op.Enforced:
					written = append(written, name+" "+op.Key)
				}
			}
		}
		if len(held) != 2 || len(written) != 1 || written[0] != "ece-prod-logs "+decide.DirectKey("ESS", "0rgtw0") {
			t.Errorf("%s: held %v, written %v; want both sides of the refused link held and org-two written", mode, held, written)
		}
		// The steps (what a saved plan carries) write what the decision
		// enforces and nothing it holds: one trust PUT, ece-prod-logs',
		// naming org-two and neither organization of the refused link.
		var puts []plan.Step
		for _, st := range want.Steps {
			if st.Kind == plan.KindPutTrust {
				puts = append(puts, st)
			}
		}
		if len(puts) != 1 || puts[0].Target != "ece-prod-logs" || !strings.Contains(string(puts[0].Body), "0rgtw0") {
			t.Fatalf("%s: trust PUTs %s; want ece-prod-logs' alone, with org-two", mode, stepList(puts))
		}
		for _, h := range held {
			if id := h[strings.LastIndex(h, " ")+1:]; strings.Contains(string(puts[0].Body), `"`+id+`"`) {
				t.Errorf("%s: the trust PUT writes %s, which the decision holds", mode, h)
			}
		}
	}
}

// A 409 on the trust write of the refused link's remote makes the pass
// read that deployment again and decide its trust again
// (TrustBuilder.Diff): the re-decision holds what the decision held, so
// the deployment ends with the same trust as without the 409. The
// re-diff once decided afresh and wrote the refused link's entry.
func TestRefusedTrustHeldAfterAConflict(t *testing.T) {
	direct := func(conflict bool) []string {
		tw := refusedTrustWorld(t)
		w := tw.srv.World
		if conflict {
			if _, err := w.AddFault(sim.Fault{Target: "ece", Method: "PUT", Path: "/api/v1/deployments/*", Kind: sim.FaultStatus, Status: 409, Times: 1}); err != nil {
				t.Fatal(err)
			}
		}
		before := w.CountRequests("ece", "PUT /api/v1/deployments/{id}")
		tw.pass(ModeApply)
		if n := w.CountRequests("ece", "PUT /api/v1/deployments/{id}") - before; conflict && n != 2 {
			t.Fatalf("ece deployment PUTs: %d, want 2 (409, retry): the test proves nothing", n)
		}
		var out []string
		for _, d := range trustOf(t, w, "ece-prod-logs").Direct {
			out = append(out, d.Type+" "+d.ScopeID)
		}
		return out
	}
	want, got := direct(false), direct(true)
	if !slices.Contains(want, "ESS 0rgtw0") {
		t.Fatalf("without a 409, org-two was not written: %v", want)
	}
	if !slices.Equal(got, want) {
		t.Errorf("after a 409, ece-prod-logs trusts %v; without one %v: the re-decision wrote what the decision held", got, want)
	}
}

// The trust writes leave the trust decision as decided: they run on a
// copy (decide.TrustPlan.Clone, ps.trustAfter), where a re-read after a
// 409 and the trust written are recorded, so decide.Decide of the pass's
// Snapshot still equals the pass's decision after them. The writes once
// ran on the decision itself: its deployments' final trust and ops, and
// its connections' findings, changed under it.
func TestTrustWritesLeaveTheDecision(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.fast("its subject is the trust decision and its writes, not the platform's delays")
	w := tw.srv.World
	tw.write("conn.yaml", certConn)
	// A 409 on the first PUT: the pass reads ech-analytics again and
	// decides its trust again, on the copy.
	if _, err := w.AddFault(sim.Fault{Target: "ech", Method: "PUT", Path: "/api/v1/deployments/*", Kind: sim.FaultStatus, Status: 409, Times: 1}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	ps, _, _ := decidedAt(t, tw, ModeApply, at)
	ps.applyTrust(t.Context())
	if n := w.CountRequests("ech", "PUT /api/v1/deployments/{id}"); n != 2 {
		t.Fatalf("ech deployment PUTs: %d, want 2 (409, retry): the test proves nothing", n)
	}
	want := decide.Decide(ps.set, ps.snapshot(), ps.holds, at)
	if !reflect.DeepEqual(ps.trust, want.Trust) {
		t.Error("after the trust writes, the pass's trust decision is no longer decide.Decide's of its Snapshot")
	}
	if ps.trustAfter == nil || reflect.DeepEqual(ps.trustAfter, ps.trust) {
		t.Fatal("the writes recorded nothing on their copy")
	}
	for _, name := range ps.trust.Order {
		if before, after := ps.trust.Deps[name], ps.trustAfter.Deps[name]; len(before.Ops) > 0 && reflect.DeepEqual(before.Final, after.Final) {
			t.Errorf("%s: the copy does not hold the trust written", name)
		}
	}
}
