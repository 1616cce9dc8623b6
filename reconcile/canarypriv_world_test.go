package reconcile

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// privilegeWorld is ech-analytics (whose admin holds role esremote_admin,
// defined by role) and ece-prod-logs.
func privilegeWorld(t *testing.T, role map[string]any, clock *clockOffset) *testWorld {
	t.Helper()
	w, err := sim.NewWorld(sim.WorldSpec{
		ControlPlanes: map[string]sim.ControlPlaneSpec{sim.PlatformECH: {}, sim.PlatformECE: {}},
		Clusters: []sim.ClusterSpec{
			{Name: "ech-analytics", Version: "8.19.3", Platform: sim.PlatformECH, Username: "admin",
				Roles: map[string]any{"esremote_admin": role}, AdminRoles: []string{"esremote_admin"}},
			{Name: "ece-prod-logs", Version: "8.19.3", Platform: sim.PlatformECE, Indices: []string{"logs-app-2026.11.25"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Now = clock.Now
	tw := newTestWorld(t, w)
	tw.fast("asserts the link connected by the apply that wrote its key; the platform's keystore load delay is the subject of TestRotationByProofWithKeystoreReloadDelay and TestKeystoreLoadingIsReportedAsLoading")
	tw.write("conn.yaml", apiKeyConn)
	return tw
}

// readmeAdminRole is what the README asked of the local credential before
// issue 23: manage and manage_security.
var readmeAdminRole = map[string]any{"cluster": []any{"manage", "manage_security"}}

func canaryFinding(c drift.Connection) *drift.Finding {
	for _, f := range c.Findings {
		if f.Code == CodeCanaryPrivilegeMissing {
			return &f
		}
	}
	return nil
}

// A local admin with manage and manage_security only: plan and apply name
// the missing privileges with the role to add; the link is unknown, never
// unauthorized; passes past the keystore grace make no second key.
func TestCanaryPrivilegeMissing(t *testing.T) {
	clock := &clockOffset{}
	tw := privilegeWorld(t, readmeAdminRole, clock)
	rec := clock.rec(tw)
	rec.opts.VerifyTimeout = 300 * time.Millisecond

	plan, err := rec.Pass(context.Background(), tw.load(), ModePlan, "")
	if err != nil {
		t.Fatal(err)
	}
	c := findConn(t, plan.Report(drift.TriggerPlan, ""), "analytics-to-ece-logs")
	f := canaryFinding(c)
	if f == nil || f.Severity != drift.SeverityError {
		t.Fatalf("first plan: no canary finding: %+v", c.Findings)
	}
	for _, want := range []string{"lacks a local index privilege granting indices:admin/resolve/cluster", "remote_indices on alias ece-prod-logs covering esremote-canary-*"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("message %q lacks %q", f.Message, want)
		}
	}
	if !strings.Contains(f.Fix, `PUT /_security/role/esremote_canary {"indices":[{"names":["esremote-canary-*"],"privileges":["view_index_metadata"]}],"remote_indices":[{"clusters":["ece-prod-logs"],"names":["esremote-canary-*"],"privileges":["view_index_metadata"]}]}`) {
		t.Errorf("fix: %s", f.Fix)
	}

	for i := range 3 {
		res, err := rec.Pass(context.Background(), tw.load(), ModeApply, "")
		if err != nil {
			t.Fatal(err)
		}
		c = findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
		if c.Health == drift.HealthUnauthorized || c.Health == drift.HealthConnected || canaryFinding(c) == nil {
			t.Fatalf("apply %d: health %s, findings %+v", i, c.Health, c.Findings)
		}
		clock.Add(2 * rec.opts.KeystoreLoadGrace)
	}
	if n := tw.srv.World.CountRequests("ece-prod-logs", "POST /_security/cross_cluster/api_key"); n != 1 {
		t.Errorf("%d keys created; a refusal by the local credential is no reason for a new key", n)
	}
}

// With local index privileges but no remote_indices, the local cluster
// refuses the alias itself ("no remote indices privileges apply"): the
// link is not unauthorized, the finding asks for remote_indices only.
func TestCanaryRefusedLocallyIsNotTheKeys(t *testing.T) {
	clock := &clockOffset{}
	role := map[string]any{"cluster": []any{"manage", "manage_security"},
		"indices": []any{map[string]any{"names": []any{"esremote-canary-*"}, "privileges": []any{"view_index_metadata"}}}}
	tw := privilegeWorld(t, role, clock)
	rec := clock.rec(tw)
	rec.opts.VerifyTimeout = 300 * time.Millisecond
	for i := range 2 {
		res, err := rec.Pass(context.Background(), tw.load(), ModeApply, "")
		if err != nil {
			t.Fatal(err)
		}
		c := findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
		f := canaryFinding(c)
		if c.Health != drift.HealthUnknown || f == nil {
			t.Fatalf("apply %d: health %s, findings %+v", i, c.Health, c.Findings)
		}
		if strings.Contains(f.Message, "local index privilege") || !strings.Contains(f.Fix, `{"remote_indices":[{"clusters":["ece-prod-logs"],"names":["esremote-canary-*"],"privileges":["view_index_metadata"]}]}`) {
			t.Errorf("apply %d: %s / %s", i, f.Message, f.Fix)
		}
		if c.Evidence == nil || !strings.Contains(c.Evidence.Answer, "no remote indices privileges apply for the target cluster") {
			t.Errorf("apply %d: evidence %+v", i, c.Evidence)
		}
		for _, other := range c.Findings {
			if other.Code == CodeDisconnected {
				t.Errorf("apply %d: the link is diagnosed as refused: %+v", i, other)
			}
		}
		clock.Add(2 * rec.opts.KeystoreLoadGrace)
	}
	if n := tw.srv.World.CountRequests("ece-prod-logs", "POST /_security/cross_cluster/api_key"); n != 1 {
		t.Errorf("%d keys created", n)
	}
}

// Granted what the finding asks: no finding, and the canary proves the key.
func TestCanaryPrivilegeGranted(t *testing.T) {
	clock := &clockOffset{}
	role := map[string]any{"cluster": []any{"manage", "manage_security"},
		"indices":        []any{map[string]any{"names": []any{"esremote-canary-*"}, "privileges": []any{"view_index_metadata"}}},
		"remote_indices": []any{map[string]any{"clusters": []any{"ece-prod-logs"}, "names": []any{"esremote-canary-*"}, "privileges": []any{"view_index_metadata"}}}}
	tw := privilegeWorld(t, role, clock)
	rec := clock.rec(tw)
	res, err := rec.Pass(context.Background(), tw.load(), ModeApply, "")
	if err != nil {
		t.Fatal(err)
	}
	c := findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
	if c.Health != drift.HealthConnected || canaryFinding(c) != nil {
		t.Fatalf("granted: health %s evidence %+v findings %+v", c.Health, c.Evidence, c.Findings)
	}
	if !strings.Contains(c.Evidence.Answer, "so the local cluster uses key "+rec.Ledger().Key("analytics-to-ece-logs").ID) {
		t.Errorf("not proven by the canary: %+v", c.Evidence)
	}
	plan, err := rec.Pass(context.Background(), tw.load(), ModePlan, "")
	if err != nil {
		t.Fatal(err)
	}
	if c := findConn(t, plan.Report(drift.TriggerPlan, ""), "analytics-to-ece-logs"); canaryFinding(c) != nil || c.Health != drift.HealthConnected {
		t.Errorf("plan after: %s %+v", c.Health, c.Findings)
	}
}

// remote_indices on the alias that miss the canary: the remote's denial
// names the key but is the credential's (unknown, no new key); a key that
// is then invalidated is still replaced: the finding holds back nothing
// the key itself is at fault for (the refusal's side of it is
// TestDecideCanaryPrivileges's authentication-failure case).
func TestCanaryPrivilegeDoesNotExcuseABadKey(t *testing.T) {
	clock := &clockOffset{}
	role := map[string]any{"cluster": []any{"manage", "manage_security"},
		"indices":        []any{map[string]any{"names": []any{"esremote-canary-*"}, "privileges": []any{"view_index_metadata"}}},
		"remote_indices": []any{map[string]any{"clusters": []any{"ece-prod-logs"}, "names": []any{"logs-*"}, "privileges": []any{"read", "view_index_metadata"}}}}
	tw := privilegeWorld(t, role, clock)
	rec := clock.rec(tw)
	rec.opts.VerifyTimeout = 300 * time.Millisecond
	apply := func() drift.Connection {
		t.Helper()
		res, err := rec.Pass(context.Background(), tw.load(), ModeApply, "")
		if err != nil {
			t.Fatal(err)
		}
		return findConn(t, res.Report(drift.TriggerApply, ""), "analytics-to-ece-logs")
	}
	for i := range 2 {
		if c := apply(); c.Health != drift.HealthUnknown || canaryFinding(c) == nil {
			t.Fatalf("apply %d: %s %+v", i, c.Health, c.Findings)
		}
		clock.Add(2 * rec.opts.KeystoreLoadGrace)
	}
	if n := tw.srv.World.CountRequests("ece-prod-logs", "POST /_security/cross_cluster/api_key"); n != 1 {
		t.Fatalf("%d keys made before the invalidation", n)
	}
	if err := tw.srv.World.InvalidateKey("ece-prod-logs", rec.Ledger().Key("analytics-to-ece-logs").ID); err != nil {
		t.Fatal(err)
	}
	clock.Add(EvidenceFresh)
	apply()
	if n := tw.srv.World.CountRequests("ece-prod-logs", "POST /_security/cross_cluster/api_key"); n != 2 {
		t.Errorf("%d keys made: an invalidated key is replaced whatever the privileges", n)
	}
}
