package reconcile

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/cloud"
	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/sim"
)

const certConn = `apiVersion: esremote/v1
kind: Connection
name: analytics-to-logs-cert
local: ech-analytics
alias: ece-prod-logs
remote:
  cluster: ece-prod-logs
security: certificate
settings:
  skip_unavailable: true
`

// clusterIDs returns the ES cluster IDs of the default world's deployments.
func clusterIDs(t *testing.T, w *sim.World) (ech, ece string) {
	t.Helper()
	a, _ := w.Cluster("ech-analytics")
	b, _ := w.Cluster("ece-prod-logs")
	return a.ClusterID, b.ClusterID
}

func trustOf(t *testing.T, w *sim.World, cluster string) *sim.Trust {
	t.Helper()
	tr, err := w.Trust(cluster)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func directOf(tr *sim.Trust, typ, scope string) *sim.DirectTrust {
	for i := range tr.Direct {
		if tr.Direct[i].Type == typ && tr.Direct[i].ScopeID == scope {
			return &tr.Direct[i]
		}
	}
	return nil
}

func trustChanges(c drift.Connection) []drift.Change {
	var out []drift.Change
	for _, ch := range c.Changes {
		if ch.Resource == drift.ResourceTrust {
			out = append(out, ch)
		}
	}
	return out
}

func TestCertificateLinkEndToEnd(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	w := tw.srv.World
	echID, eceID := clusterIDs(t, w)
	_, env, _ := w.ControlPlaneCA(sim.PlatformECE)
	_, org, _ := w.ControlPlaneCA(sim.PlatformECH)
	tw.write("conn.yaml", certConn)

	rep := tw.pass(ModeApply).Report(drift.TriggerApply, "")
	c := findConn(t, rep, "analytics-to-logs-cert")
	if c.Sync != drift.SyncCorrected || c.Health != drift.HealthConnected {
		t.Fatalf("first apply: sync %s health %s error %q\n%+v\n%+v", c.Sync, c.Health, c.Error, c.Changes, c.Findings)
	}
	if st := w.LinkStatus("ech-analytics", "ece-prod-logs"); !st.Connected {
		t.Fatalf("sim says not connected: %+v", st)
	}
	if n := len(trustChanges(c)); n != 2 {
		t.Fatalf("want 2 trust changes (one per side), got %d: %+v", n, c.Changes)
	}
	// ECH trusts the ECE environment, restricted to the remote cluster.
	e := directOf(trustOf(t, w, "ech-analytics"), "ECE", env)
	if e == nil || e.TrustAll || !slices.Equal(e.TrustAllowlist, []string{eceID}) || len(e.Certificates) != 1 {
		t.Fatalf("ech-analytics direct ECE entry: %+v", e)
	}
	// ECE trusts the ECH organization back, restricted to the local cluster.
	e = directOf(trustOf(t, w, "ece-prod-logs"), "ESS", org)
	if e == nil || e.TrustAll || !slices.Equal(e.TrustAllowlist, []string{echID}) || len(e.Certificates) == 0 {
		t.Fatalf("ece-prod-logs direct ESS entry: %+v", e)
	}
	// Order: trust on the local, then the remote, then the settings.
	var order []string
	for _, r := range tw.srv.Log() {
		if r.Method == "PUT" {
			order = append(order, r.Target+" "+r.Endpoint)
		}
	}
	if len(order) < 3 || order[0] != "ech PUT /api/v1/deployments/{id}" || order[1] != "ece PUT /api/v1/deployments/{id}" ||
		!strings.Contains(order[2], "_cluster/settings") {
		t.Fatalf("write order: %v", order)
	}
	set := tw.load()
	if got := set.Connections[0].Remote; got.ProxyAddress != "" {
		t.Fatalf("spec changed: %+v", got)
	}

	// Steady state: no changes, no writes.
	w.ResetLog()
	rep = tw.pass(ModePlan).Report(drift.TriggerPlan, "")
	if rep.PendingChanges() != 0 {
		t.Fatalf("second plan has changes: %+v", findConn(t, rep, "analytics-to-logs-cert").Changes)
	}
	if n := len(tw.writes()); n != 0 {
		t.Fatalf("plan wrote: %v", tw.writes())
	}
	tw.pass(ModeApply)
	if n := len(tw.writes()); n != 0 {
		t.Fatalf("steady-state apply wrote: %v", tw.writes())
	}

	// Trust removed out of band on the remote side: external, disconnected.
	tr := trustOf(t, w, "ece-prod-logs")
	tr.Direct = nil
	if err := w.SetTrust("ece-prod-logs", *tr); err != nil {
		t.Fatal(err)
	}
	rep = tw.pass(ModePlan).Report(drift.TriggerPlan, "")
	c = findConn(t, rep, "analytics-to-logs-cert")
	tc := trustChanges(c)
	if c.Health != drift.HealthDisconnected || len(tc) != 1 || tc[0].Origin != drift.OriginExternal ||
		tc[0].Target != "ece-prod-logs" || tc[0].Action != drift.ActionCreate {
		t.Fatalf("out-of-band removal: health %s changes %+v", c.Health, c.Changes)
	}
	if !hasFinding(c, CodeTrustOneSided) {
		t.Fatalf("no one-sided finding: %+v", c.Findings)
	}
	rep = tw.pass(ModeApply).Report(drift.TriggerApply, "")
	c = findConn(t, rep, "analytics-to-logs-cert")
	if c.Sync != drift.SyncCorrected || c.Health != drift.HealthConnected || hasFinding(c, CodeTrustOneSided) {
		t.Fatalf("not corrected: %s %s %+v %+v", c.Sync, c.Health, c.Changes, c.Findings)
	}

	// Someone edits esremote's entry: external update, corrected.
	tr = trustOf(t, w, "ech-analytics")
	directOf(tr, "ECE", env).TrustAllowlist = []string{"0123456789abcdef0123456789abcdef"}
	if err := w.SetTrust("ech-analytics", *tr); err != nil {
		t.Fatal(err)
	}
	rep = tw.pass(ModeApply).Report(drift.TriggerApply, "")
	c = findConn(t, rep, "analytics-to-logs-cert")
	tc = trustChanges(c)
	if len(tc) != 1 || tc[0].Action != drift.ActionUpdate || tc[0].Origin != drift.OriginExternal || c.Health != drift.HealthConnected {
		t.Fatalf("edited entry: %s %+v", c.Health, c.Changes)
	}

	// The connection leaves the specs: esremote removes the entries it owns.
	tw.remove("conn.yaml")
	tw.pass(ModeApply)
	if e := directOf(trustOf(t, w, "ech-analytics"), "ECE", env); e != nil {
		t.Fatalf("owned entry not removed: %+v", e)
	}
	if e := directOf(trustOf(t, w, "ece-prod-logs"), "ESS", org); e != nil {
		t.Fatalf("owned entry not removed: %+v", e)
	}
	if n := len(tw.reconciler(true).Ledger().TrustEntries(cloudID(t, tw, "ech-analytics"))); n != 0 {
		t.Fatalf("ledger still holds %d entries", n)
	}
}

func cloudID(t *testing.T, tw *testWorld, name string) string {
	t.Helper()
	c, _ := tw.srv.World.Cluster(name)
	return c.DeploymentID
}

func hasFinding(c drift.Connection, code string) bool {
	return slices.ContainsFunc(c.Findings, func(f drift.Finding) bool { return f.Code == code })
}

// handMade puts entries esremote does not own on both deployments: the
// default account trust (renamed), an allowlisted account, an external
// and a direct entry of another scope.
func handMade(t *testing.T, w *sim.World) {
	t.Helper()
	ca, _, _ := w.ControlPlaneCA(sim.PlatformECH)
	for _, n := range []string{"ech-analytics", "ece-prod-logs"} {
		tr := trustOf(t, w, n)
		tr.Accounts[0].Name = "Default trust, renamed by hand"
		tr.Accounts = append(tr.Accounts, sim.AccountTrust{AccountID: "777000111", Name: "partner org", TrustAllowlist: []string{"aaaabbbbccccddddeeeeffff00001111"}})
		tr.Direct = append(tr.Direct, sim.DirectTrust{Name: "hand-made", Type: "generic", ScopeID: "othercorp1",
			TrustAllowlist: []string{"11112222333344445555666677778888"}, Certificates: []sim.TrustedCertificate{{PEM: ca}}})
		if n == "ece-prod-logs" {
			tr.External = append(tr.External, sim.ExternalTrust{TrustRelationshipID: "83a7b03f2a4343fe99f09bd27ca3d9ec", TrustAllowlist: []string{"99990000999900009999000099990000"}})
		}
		if err := w.SetTrust(n, *tr); err != nil {
			t.Fatal(err)
		}
	}
}

// foreignEntries is the JSON of every entry esremote does not manage.
func foreignEntries(t *testing.T, w *sim.World, cluster string) string {
	t.Helper()
	tr := trustOf(t, w, cluster)
	tr.Direct = slices.DeleteFunc(tr.Direct, func(d sim.DirectTrust) bool { return d.Type == "ECE" || d.Type == "ESS" })
	// esremote sends empty lists as [] (never null): the same for the
	// platform, so compare them as one.
	for _, l := range []*[]sim.ExternalTrust{&tr.External} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	if len(tr.Direct) == 0 {
		tr.Direct = nil
	}
	b, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCertificateTrustKeepsWhatOthersSet(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	w := tw.srv.World
	handMade(t, w)
	before := map[string]string{}
	for _, n := range []string{"ech-analytics", "ece-prod-logs"} {
		before[n] = foreignEntries(t, w, n)
	}
	check := func(when string) {
		t.Helper()
		for n, want := range before {
			if got := foreignEntries(t, w, n); got != want {
				t.Fatalf("%s: entries esremote does not own changed on %s:\nbefore %s\nafter  %s", when, n, want, got)
			}
		}
	}
	tw.write("conn.yaml", certConn)
	c := findConn(t, tw.pass(ModeApply).Report(drift.TriggerApply, ""), "analytics-to-logs-cert")
	if c.Health != drift.HealthConnected {
		t.Fatalf("not connected: %+v", c)
	}
	check("first apply")
	if tr := trustOf(t, w, "ech-analytics"); tr.Accounts[0].Name != "Default trust, renamed by hand" || !tr.Accounts[0].TrustAll {
		t.Fatalf("default account trust lost: %+v", tr.Accounts)
	}
	tw.pass(ModeApply)
	check("second apply")

	// Out-of-band removal of esremote's entry, then correction.
	tr := trustOf(t, w, "ech-analytics")
	tr.Direct = slices.DeleteFunc(tr.Direct, func(d sim.DirectTrust) bool { return d.Type == "ECE" })
	if err := w.SetTrust("ech-analytics", *tr); err != nil {
		t.Fatal(err)
	}
	tw.pass(ModeApply)
	check("correction")
	tw.remove("conn.yaml")
	tw.pass(ModeApply)
	check("removal")
	if got := len(trustOf(t, w, "ech-analytics").Direct); got != 1 {
		t.Fatalf("after removal ech-analytics has %d direct entries, want the hand-made one", got)
	}
}

func TestCertificateTrustConflictRetried(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	w := tw.srv.World
	tw.write("conn.yaml", certConn)
	// A 409 from the platform: re-read, retry.
	if _, err := w.AddFault(sim.Fault{Target: "ech", Method: "PUT", Path: "/api/v1/deployments/*", Kind: sim.FaultStatus, Status: 409, Times: 1}); err != nil {
		t.Fatal(err)
	}
	c := findConn(t, tw.pass(ModeApply).Report(drift.TriggerApply, ""), "analytics-to-logs-cert")
	if c.Sync != drift.SyncCorrected || c.Health != drift.HealthConnected {
		t.Fatalf("after a 409: %s %s %+v", c.Sync, c.Health, c.Changes)
	}
	if n := w.CountRequests("ech", "PUT /api/v1/deployments/{id}"); n != 2 {
		t.Fatalf("ech deployment PUTs: %d, want 2 (409, retry)", n)
	}
}

// TestCertificateTrustConcurrentEdit changes a deployment between the
// pass's GET and its PUT: the stale version is refused, esremote reads
// again, keeps the operator's edit and converges.
func TestCertificateTrustConcurrentEdit(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	w := tw.srv.World
	tw.write("conn.yaml", certConn)
	r := tw.reconciler(false)
	set := tw.load()
	ps := &passState{r: r, ledger: r.ledger.Copy(), now: r.opts.Now(), set: set, mode: ModeApply, snap: newSnapshot()}
	ctx := context.Background()
	ps.endpoints = r.resolveEndpoints(ctx, set, "")
	ps.planTrust(ctx)

	ca, _, _ := w.ControlPlaneCA(sim.PlatformECH)
	tr := trustOf(t, w, "ech-analytics")
	tr.Direct = append(tr.Direct, sim.DirectTrust{Name: "added meanwhile", ScopeID: "meanwhile1", TrustAll: true, Certificates: []sim.TrustedCertificate{{PEM: ca}}})
	if err := w.SetTrust("ech-analytics", *tr); err != nil {
		t.Fatal(err)
	}
	ps.applyTrust(ctx)

	got := trustOf(t, w, "ech-analytics")
	if directOf(got, "", "meanwhile1") == nil {
		t.Fatalf("the concurrent edit was lost: %+v", got.Direct)
	}
	_, env, _ := w.ControlPlaneCA(sim.PlatformECE)
	if directOf(got, "ECE", env) == nil {
		t.Fatalf("esremote's entry not written after the conflict: %+v", got.Direct)
	}
	if n := w.CountRequests("ech", "PUT /api/v1/deployments/{id}"); n != 2 {
		t.Fatalf("ech deployment PUTs: %d, want 2", n)
	}
	for _, ch := range ps.trust.ByConn["analytics-to-logs-cert"].Changes {
		if o := ps.changeOutcome(ch); !o.Applied || o.Err != nil {
			t.Fatalf("change not applied: %+v: %+v", ch, o)
		}
	}
}

func TestCertificateTrustPlanAndReportNeverWrite(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("conn.yaml", certConn)
	rep := tw.pass(ModePlan).Report(drift.TriggerPlan, "")
	c := findConn(t, rep, "analytics-to-logs-cert")
	if len(trustChanges(c)) != 2 || c.Sync != drift.SyncDrifted {
		t.Fatalf("plan: %s %+v", c.Sync, c.Changes)
	}
	if n := len(tw.writes()); n != 0 {
		t.Fatalf("plan wrote: %v", tw.writes())
	}
	tw.write("conn.yaml", certConn+"policy: report\n")
	c = findConn(t, tw.pass(ModeApply).Report(drift.TriggerApply, ""), "analytics-to-logs-cert")
	if len(trustChanges(c)) != 2 || c.Sync != drift.SyncDrifted {
		t.Fatalf("report policy: %s %+v", c.Sync, c.Changes)
	}
	if n := len(tw.writes()); n != 0 {
		t.Fatalf("report policy wrote: %v", tw.writes())
	}
	if n := len(tw.reconciler(true).Ledger().TrustEntries(cloudID(t, tw, "ech-analytics"))); n != 0 {
		t.Fatalf("report policy recorded %d trust entries", n)
	}
	// A TrustedEnvironment whose deployment only has report connections
	// is reported, not written.
	tw.write("te.yaml", `apiVersion: esremote/v1
kind: TrustedEnvironment
name: ece-prod
deployment: ech-analytics
platform: ece
environment_id: "1053523734"
trust: all
`)
	tw.pass(ModeApply)
	if n := len(tw.writes()); n != 0 {
		t.Fatalf("report-governed trusted environment wrote: %v", tw.writes())
	}
}

func TestTrustedEnvironment(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	w := tw.srv.World
	_, env, _ := w.ControlPlaneCA(sim.PlatformECE)
	eceCA, _, _ := w.ControlPlaneCA(sim.PlatformECE)
	// Trust all of the ECE environment (CA from its API), and a second
	// environment known only from its ca_file, whose CA expires soon.
	tw.write("ca/other.pem", string(shortLivedCA(t, 10*24*time.Hour)))
	tw.write("te.yaml", `apiVersion: esremote/v1
kind: TrustedEnvironment
name: ece-prod
deployment: ech-analytics
platform: ece
environment_id: "`+env+`"
trust: all
---
apiVersion: esremote/v1
kind: TrustedEnvironment
name: ece-other
deployment: ech-analytics
platform: ece
environment_id: "2000000002"
ca_file: ca/other.pem
trust: ["0123456789abcdef0123456789abcdef"]
`)
	tw.write("conn.yaml", certConn)
	rep := tw.pass(ModeApply).Report(drift.TriggerApply, "")
	c := findConn(t, rep, "analytics-to-logs-cert")
	if c.Health != drift.HealthConnected {
		t.Fatalf("not connected: %+v", c)
	}
	tr := trustOf(t, w, "ech-analytics")
	e := directOf(tr, "ECE", env)
	if e == nil || !e.TrustAll || e.Name != "ece-prod" || decide.NormPEM(e.Certificates[0].PEM) != decide.NormPEM(eceCA) {
		t.Fatalf("merged entry: %+v", e)
	}
	if o := directOf(tr, "ECE", "2000000002"); o == nil || o.Name != "ece-other" || len(o.TrustAllowlist) != 1 {
		t.Fatalf("ca_file entry: %+v", o)
	}
	// The trusted environments' changes show on the connection whose
	// local is their deployment, with the expiring CA.
	if len(trustChanges(c)) != 3 || !hasFinding(c, CodeCAExpiresSoon) {
		t.Fatalf("changes %+v findings %+v", c.Changes, c.Findings)
	}
}

func TestCertificateModelDeprecatedOn9(t *testing.T) {
	w, err := sim.NewWorld(sim.WorldSpec{
		ControlPlanes: map[string]sim.ControlPlaneSpec{sim.PlatformECH: {}, sim.PlatformECE: {}},
		Clusters: []sim.ClusterSpec{
			{Name: "ech-analytics", Version: "9.1.0", Platform: sim.PlatformECH},
			{Name: "ece-prod-logs", Version: "9.1.0", Platform: sim.PlatformECE},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tw := newTestWorld(t, w)
	tw.write("conn.yaml", certConn)
	c := findConn(t, tw.pass(ModePlan).Report(drift.TriggerPlan, ""), "analytics-to-logs-cert")
	if !hasFinding(c, CodeCertificateModel) {
		t.Fatalf("no deprecation finding: %+v", c.Findings)
	}
}

func TestBuildTrustKeepsRawEntries(t *testing.T) {
	raw := `{"accounts":[{"account_id":"554443047","name":"Default trust for own organization","trust_all":true,"trust_allowlist":null,"extra":1}],
"direct":[{"uid":"u1","name":"mine","type":"ECE","scope_id":"1053523734","trust_all":false,"trust_allowlist":["a"],"certificates":[{"pem":"P","metadata":{"fingerprint":"f"}}]}],"external":null}`
	live, err := cloud.ParseTrust(json.RawMessage(raw))
	if err != nil {
		t.Fatal(err)
	}
	e := &decide.TrustEntry{Key: decide.DirectKey("ECE", "1053523734"), Kind: decide.TrustDirect, Type: "ECE", ID: "1053523734",
		Sources: []decide.TrustSource{{Enforced: true, IDs: []string{"a", "b"}, Certs: []string{"P"}}}}
	op := &decide.TrustOp{Key: e.Key, Kind: decide.TrustDirect, Write: e.View(nil, true)}
	got, err := decide.BuildTrust(live, []*decide.TrustOp{op})
	if err != nil {
		t.Fatal(err)
	}
	b, err := got.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"extra":1`, `"uid":"u1"`, `"trust_allowlist":["a","b"]`, `"external":[]`, `"fingerprint":"f"`} {
		if !strings.Contains(s, want) {
			t.Errorf("built trust lacks %s:\n%s", want, s)
		}
	}
}

// shortLivedCA is a self-signed CA PEM valid for d.
func shortLivedCA(t *testing.T, d time.Duration) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "other env CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(d), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// trustPass runs only the trust phase of a pass, so a test can look at
// what concerns no connection.
func trustPass(t *testing.T, tw *testWorld, mode Mode) *passState {
	t.Helper()
	r := tw.reconciler(mode == ModePlan)
	set := tw.load()
	ctx := context.Background()
	ps := &passState{r: r, ledger: r.ledger.Copy(), now: r.opts.Now(), set: set, mode: mode, snap: newSnapshot()}
	ps.endpoints = r.resolveEndpoints(ctx, set, "")
	ps.planTrust(ctx)
	if mode != ModePlan {
		ps.applyTrust(ctx)
	}
	return ps
}

func TestCertificateTrustForeignAndNotOwned(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	w := tw.srv.World
	_, env, _ := w.ControlPlaneCA(sim.PlatformECE)
	_, org, _ := w.ControlPlaneCA(sim.PlatformECH)
	tw.write("conn.yaml", certConn)
	tw.pass(ModeApply)

	// esremote's entry on ece-prod-logs is edited by hand, then the
	// connection leaves the specs: the edited entry is foreign, kept.
	tr := trustOf(t, w, "ece-prod-logs")
	directOf(tr, "ESS", org).Name = "now someone else's"
	if err := w.SetTrust("ece-prod-logs", *tr); err != nil {
		t.Fatal(err)
	}
	tw.remove("conn.yaml")
	ps := trustPass(t, tw, ModeApply)
	if directOf(trustOf(t, w, "ece-prod-logs"), "ESS", org) == nil {
		t.Fatal("a foreign entry was deleted")
	}
	if directOf(trustOf(t, w, "ech-analytics"), "ECE", env) != nil {
		t.Fatal("the untouched owned entry was not removed")
	}
	u := ps.trustDetached().Unmanaged
	if len(u) != 1 || u[0].Target != "ece-prod-logs" || u[0].Reason != "foreign" || u[0].Kind != "trust" {
		t.Fatalf("unmanaged: %+v", u)
	}

	// A hand-made entry for the same environment that does not grant the
	// link: left alone, with a finding.
	ca, _, _ := w.ControlPlaneCA(sim.PlatformECE)
	tr = trustOf(t, w, "ech-analytics")
	tr.Direct = append(tr.Direct, sim.DirectTrust{Name: "by hand", Type: "ECE", ScopeID: env,
		TrustAllowlist: []string{"0123456789abcdef0123456789abcdef"}, Certificates: []sim.TrustedCertificate{{PEM: ca}}})
	if err := w.SetTrust("ech-analytics", *tr); err != nil {
		t.Fatal(err)
	}
	before := foreignEntries(t, w, "ech-analytics")
	beforeECE := directOf(trustOf(t, w, "ech-analytics"), "ECE", env)
	tw.write("conn.yaml", certConn)
	c := findConn(t, tw.pass(ModeApply).Report(drift.TriggerApply, ""), "analytics-to-logs-cert")
	if !hasFinding(c, CodeTrustNotOwned) || c.Health == drift.HealthConnected {
		t.Fatalf("not-owned entry: health %s findings %+v", c.Health, c.Findings)
	}
	if got := directOf(trustOf(t, w, "ech-analytics"), "ECE", env); !slices.Equal(got.TrustAllowlist, beforeECE.TrustAllowlist) || got.Name != "by hand" {
		t.Fatalf("the hand-made entry was changed: %+v", got)
	}
	if got := foreignEntries(t, w, "ech-analytics"); got != before {
		t.Fatalf("entries changed:\n%s\n%s", before, got)
	}
}

func TestCertificateTrustPlanPending(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	w := tw.srv.World
	tw.write("conn.yaml", certConn)
	if _, err := w.AddFault(sim.Fault{Target: "ece", Method: "PUT", Path: "/api/v1/deployments/*", Kind: sim.FaultStatus, Status: 412, Times: 1}); err != nil {
		t.Fatal(err)
	}
	c := findConn(t, tw.pass(ModeApply).Report(drift.TriggerApply, ""), "analytics-to-logs-cert")
	if c.Sync != drift.SyncFailed || !hasFinding(c, CodeTrustPending) || !hasFinding(c, CodeTrustOneSided) {
		t.Fatalf("plan pending: %s %+v %+v", c.Sync, c.Changes, c.Findings)
	}
	if n := len(tw.reconciler(true).Ledger().TrustEntries(cloudID(t, tw, "ece-prod-logs"))); n != 0 {
		t.Fatalf("a refused write left %d ledger records", n)
	}
	c = findConn(t, tw.pass(ModeApply).Report(drift.TriggerApply, ""), "analytics-to-logs-cert")
	if c.Sync != drift.SyncCorrected || c.Health != drift.HealthConnected {
		t.Fatalf("next pass: %s %s %+v", c.Sync, c.Health, c.Changes)
	}
}

// TestCertificateTrustSamePlatform: within one ECH organization or one ECE
// environment the default account trust carries the link; esremote adds
// nothing, and reports when that trust was taken away.
func TestCertificateTrustSamePlatform(t *testing.T) {
	w, err := sim.NewWorld(sim.WorldSpec{
		ControlPlanes: map[string]sim.ControlPlaneSpec{sim.PlatformECH: {}, sim.PlatformECE: {}},
		Clusters: []sim.ClusterSpec{
			{Name: "ech-a", Platform: sim.PlatformECH}, {Name: "ech-b", Platform: sim.PlatformECH, Region: "gcp-europe-west1"},
			{Name: "ece-a", Platform: sim.PlatformECE}, {Name: "ece-b", Platform: sim.PlatformECE},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tw := newTestWorld(t, w)
	conn := func(name, local, remote string) string {
		return "---\napiVersion: esremote/v1\nkind: Connection\nname: " + name + "\nlocal: " + local + "\nalias: " + remote +
			"\nremote:\n  cluster: " + remote + "\nsecurity: certificate\n"
	}
	tw.write("conn.yaml", conn("ech-ab", "ech-a", "ech-b")+conn("ece-ab", "ece-a", "ece-b"))
	rep := tw.pass(ModeApply).Report(drift.TriggerApply, "")
	for _, n := range []string{"ech-ab", "ece-ab"} {
		c := findConn(t, rep, n)
		if c.Health != drift.HealthConnected || len(trustChanges(c)) != 0 || c.Error != "" {
			t.Fatalf("%s: %s %q %+v %+v", n, c.Health, c.Error, c.Changes, c.Findings)
		}
	}
	// ech-b stops trusting its own organization: esremote will not touch
	// the default entry, and says why the link cannot connect.
	tr := trustOf(t, w, "ech-b")
	tr.Accounts[0].TrustAll = false
	if err := w.SetTrust("ech-b", *tr); err != nil {
		t.Fatal(err)
	}
	c := findConn(t, tw.pass(ModeApply).Report(drift.TriggerApply, ""), "ech-ab")
	if !hasFinding(c, CodeTrustNotOwned) || !hasFinding(c, CodeTrustOneSided) || len(trustChanges(c)) != 0 {
		t.Fatalf("default trust removed: %+v %+v", c.Changes, c.Findings)
	}
	if got := trustOf(t, w, "ech-b"); got.Accounts[0].TrustAll {
		t.Fatal("esremote changed the default account trust")
	}
}

// The expiry of the CAs a certificate link relies on reaches the pass
// result, for the daemon's esremote_ca_expiry_timestamp_seconds.
func TestCAExpiryExposed(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("conn.yaml", certConn)
	res := tw.pass(ModePlan)
	exp := res.CAExpirations()
	var name string
	for n := range exp {
		name = n
	}
	if len(exp) != 1 || exp[name].Before(time.Now()) {
		t.Fatalf("CA expirations: %v, want one future time for the certificate connection", exp)
	}
}
