package reconcile

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/plan"
	"github.com/esremote/esremote/reconcile/sim"
)

// A saved plan round-trips through JSON, validates against its schema,
// holds no secret (a step names the secret it sends: the key a create
// step returns, a hand-made key's credential by its connection), and
// applies only while the world is the one it saw.
func TestSavedPlan(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("conn.yaml", apiKeyConn)
	tw.env["ONPREM_KEY"] = "b25wcmVtLWhhbmQtbWFkZTpzM2NyM3Q="
	tw.write("onprem.yaml", `apiVersion: esremote/v1
kind: Connection
name: analytics-to-onprem
local: ech-analytics
alias: onprem
remote: {proxy_address: "onprem-search.sim:9443", server_name: onprem-search.sim}
security: api_key
api_key:
  managed: false
  credentials: {env: ONPREM_KEY}
`)
	doc := tw.pass(ModePlan).SavedPlan()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]bool{}
	for _, s := range doc.Steps {
		if s.Kind == plan.KindSetKeystore && s.SecretRef != nil {
			refs[s.Connection+" step:"+s.SecretRef.Step+" conn:"+s.SecretRef.Connection] = true
		}
	}
	if len(refs) != 2 || !refs["analytics-to-onprem step: conn:analytics-to-onprem"] {
		t.Fatalf("the keystore steps name their secrets as %v, want the created key's step and the hand-made key's connection", refs)
	}
	for _, secret := range tw.env {
		if strings.Contains(string(b), secret) {
			t.Fatal("the saved plan holds a secret")
		}
	}
	schema, err := jsonschema.UnmarshalJSON(bytes.NewReader(plan.JSONSchema()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("plan.json", schema); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("plan.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("the saved plan does not validate against esremote schema --plan: %v", err)
	}
	saved, err := plan.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(saved.Steps) == 0 {
		t.Fatal("the saved plan has no steps: the test proves nothing")
	}

	// The world changes after the plan: executing it is refused and
	// writes nothing (issue 22: a plan stale anywhere is written
	// nowhere; it used to refuse the cluster alone and write the others).
	if err := tw.srv.World.SetSetting("ech-analytics", "persistent", "cluster.remote.ece-prod-logs.mode", "sniff"); err != nil {
		t.Fatal(err)
	}
	r := tw.reconciler(false)
	tw.srv.World.ResetLog()
	_, err = r.ApplyPlan(t.Context(), tw.load(), saved)
	var stale *StaleError
	if !errors.As(err, &stale) || !strings.Contains(stale.Error(), "cluster.remote.ece-prod-logs.mode") {
		t.Fatalf("apply of a stale plan: %v", err)
	}
	if w := tw.writes(); len(w) != 0 {
		t.Fatalf("a stale plan was written: %v", w)
	}
}

// A saved plan with trust work (a certificate link between two
// deployments) whose other local cluster went stale writes nothing
// anywhere: the trust used to be written before the other cluster was
// even observed (issue 22 point 4). Its steps are executed, and every
// precondition is read before the first write.
func TestSavedPlanStaleElsewhereWritesNoTrust(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("cert.yaml", certConn)
	tw.write("onprem.yaml", `apiVersion: esremote/v1
kind: Connection
name: onprem-to-partner
local: onprem-search
alias: partner
remote: {proxy_address: "partner.example.com:9300", server_name: partner.example.com}
security: certificate
`)
	saved, err := plan.Parse(mustJSON(t, tw.pass(ModePlan).SavedPlan()))
	if err != nil {
		t.Fatal(err)
	}
	if n := savedTrustChanges(saved); n == 0 || !slices.ContainsFunc(saved.Steps, func(s plan.Step) bool { return s.Kind == plan.KindPutTrust }) {
		t.Fatal("the plan has no trust work: the test proves nothing")
	}
	// Someone writes the other cluster's alias after the plan was made.
	if err := tw.srv.World.SetSetting("onprem-search", "persistent", "cluster.remote.partner.mode", "sniff"); err != nil {
		t.Fatal(err)
	}
	r := tw.reconciler(false)
	tw.srv.World.ResetLog()
	_, err = r.ApplyPlan(t.Context(), tw.load(), saved)
	var stale *StaleError
	if !errors.As(err, &stale) || !strings.Contains(stale.Error(), "onprem-search") {
		t.Fatalf("apply of a plan stale on onprem-search: %v", err)
	}
	if w := tw.writes(); len(w) != 0 {
		t.Fatalf("a plan stale on another cluster was partly written: %v", w)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// savedTrustChanges counts the saved plan's trust changes.
func savedTrustChanges(d *plan.Plan) (n int) {
	for _, c := range d.Clusters {
		for _, cd := range c.Connections {
			for _, ch := range cd.Changes {
				if ch.Resource == ResourceTrust {
					n++
				}
			}
		}
	}
	return n
}

// Executing a saved plan does what the pass that planned it would have
// done: after apply --plan, a fresh plan has nothing left to change, for
// each kind of step (a managed key, its keystore entry, settings and a
// role; trust on two deployments; the removal of all of it).
func TestApplyPlanConverges(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	run := func(what string, kinds ...plan.Kind) {
		t.Helper()
		saved, err := plan.Parse(mustJSON(t, tw.pass(ModePlan).SavedPlan()))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range kinds {
			if !slices.ContainsFunc(saved.Steps, func(s plan.Step) bool { return s.Kind == k }) {
				t.Fatalf("%s: the plan has no %s step: %+v", what, k, saved.Steps)
			}
		}
		res, err := tw.reconciler(false).ApplyPlan(t.Context(), tw.load(), saved)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for _, cp := range res.Plan.Clusters {
			for _, p := range cp.Connections {
				for _, ch := range p.Changes {
					if o := res.Outcomes.change(ch); o.Err != nil || !o.Applied {
						t.Errorf("%s: %s %s %s: applied %v, %v", what, ch.Action, ch.Resource, ch.Key, o.Applied, o.Err)
					}
				}
			}
		}
		after := tw.pass(ModePlan)
		if n := after.Plan.Changes(); n != 0 {
			for _, cp := range after.Plan.Clusters {
				for _, p := range cp.Connections {
					for _, ch := range p.Changes {
						t.Logf("left: %s %s %s on %s", ch.Action, ch.Resource, ch.Key, ch.Target)
					}
				}
			}
			t.Fatalf("%s: after apply --plan, a fresh plan still has %d changes", what, n)
		}
	}
	tw.write("conn.yaml", apiKeyConn)
	run("api key", plan.KindCreateKey, plan.KindSetKeystore, plan.KindClusterSettings, plan.KindPutRole)
	tw.write("cert.yaml", strings.Replace(certConn, "alias: ece-prod-logs", "alias: logs-cert", 1))
	run("certificate", plan.KindPutTrust, plan.KindClusterSettings)
	tw.remove("conn.yaml")
	tw.remove("cert.yaml")
	run("removal", plan.KindClusterSettings, plan.KindDeleteRole, plan.KindInvalidateKeys, plan.KindRemoveKeystore, plan.KindPutTrust)
}

// apply --plan reads only what its steps' preconditions name, all of it
// before its first write, each once: no observation (no _remote/info, no
// evidence, no role list, no privileges), and after the first write only
// verification (issue 22 point 4). The topology has managed keys in both
// directions, a certificate link (trust on two deployments) and a role.
func TestApplyPlanReadsOnlyPreconditions(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("links.yaml", bothWays+`roles:
  - name: metrics-reader
    remote_indices: [{names: ["metrics-*"], privileges: [read, read_cross_cluster]}]
`)
	saved, err := plan.Parse(mustJSON(t, tw.pass(ModePlan).SavedPlan()))
	if err != nil {
		t.Fatal(err)
	}
	// What the preconditions name, as the sim's routes.
	named := map[string]bool{}
	for _, s := range saved.Steps {
		p := s.Precondition
		if p == nil {
			continue
		}
		switch p.Read {
		case plan.ReadSettings:
			named[s.Target+" GET /"], named[s.Target+" GET /_cluster/settings"] = true, true
		case plan.ReadKeys:
			named[s.Target+" GET /"], named[s.Target+" GET /_security/api_key"] = true, true
		case plan.ReadCluster:
			named[s.Target+" GET /"] = true
		case plan.ReadRole:
			named[s.Target+" GET /_security/role/{name}"] = true
		case plan.ReadDeployment:
			named["deployment "+p.Name] = true
		}
	}
	for _, k := range []plan.Kind{plan.KindPutTrust, plan.KindCreateKey, plan.KindSetKeystore, plan.KindClusterSettings, plan.KindPutRole} {
		if !slices.ContainsFunc(saved.Steps, func(s plan.Step) bool { return s.Kind == k }) {
			t.Fatalf("the plan has no %s step: the test proves less than it says", k)
		}
	}
	tw.srv.World.ResetLog()
	res, err := tw.reconciler(false).ApplyPlan(t.Context(), tw.load(), saved)
	if err != nil {
		t.Fatal(err)
	}
	if rep := res.Report(drift.TriggerApply, ""); len(rep.Errors) > 0 {
		t.Fatalf("errors: %+v", rep.Errors)
	}
	log := tw.srv.Log()
	first := slices.IndexFunc(log, func(r sim.Request) bool { return r.Method != "GET" && r.Method != "HEAD" })
	if first < 0 {
		t.Fatal("apply --plan wrote nothing")
	}
	seen := map[string]int{}
	for _, r := range log[:first] {
		k := r.Target + " " + r.Endpoint
		if r.Endpoint == "GET /api/v1/deployments/{id}" {
			k = "deployment " + strings.TrimPrefix(r.Path, "/api/v1/deployments/")
		}
		seen[k]++
		if !named[k] {
			t.Errorf("before the first write, a read no precondition names: %s %s", r.Target, r.Path)
		}
	}
	for k, n := range seen {
		if n > 1 && !strings.HasSuffix(k, "GET /_security/role/{name}") && !strings.HasSuffix(k, "GET /_security/api_key") {
			t.Errorf("%s read %d times before the first write", k, n)
		}
	}
	if len(seen) == 0 {
		t.Fatal("no precondition was read before the first write")
	}
	for _, r := range log[first:] {
		if r.Method == "GET" && !verification(r) {
			t.Errorf("a read after the first write that is not verification: %s %s", r.Target, r.Endpoint)
		}
	}
}

// A saved plan keeps the trust work and findings of no single connection
// (a TrustedEnvironment on a deployment no connection is local to), and
// apply --plan reports them as the pass that planned them would have.
func TestApplyPlanKeepsDetachedTrust(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("ca/other.pem", string(shortLivedCA(t, 10*24*time.Hour)))
	tw.write("te.yaml", `apiVersion: esremote/v1
kind: TrustedEnvironment
name: ece-other
deployment: ech-analytics
platform: ece
environment_id: "2000000002"
ca_file: ca/other.pem
trust: ["0123456789abcdef0123456789abcdef"]
`)
	planned := tw.pass(ModePlan)
	if len(planned.Detached.Changes) == 0 || len(planned.Detached.Findings) == 0 {
		t.Fatalf("no detached trust work or finding: the test proves nothing (%+v)", planned.Detached)
	}
	saved, err := plan.Parse(mustJSON(t, planned.SavedPlan()))
	if err != nil {
		t.Fatal(err)
	}
	res, err := tw.reconciler(false).ApplyPlan(t.Context(), tw.load(), saved)
	if err != nil {
		t.Fatal(err)
	}
	c := findConn(t, res.Report(drift.TriggerApply, ""), DetachedTrustName)
	if len(c.Findings) != len(planned.Detached.Findings) || len(c.Changes) == 0 || !c.Changes[0].Applied {
		t.Fatalf("the detached trust as apply --plan reports it: %+v", c)
	}
}
