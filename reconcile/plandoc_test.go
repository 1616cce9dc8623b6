package reconcile

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/esremote/esremote/reconcile/plan"
	"github.com/esremote/esremote/reconcile/sim"
)

// A saved plan round-trips through JSON, validates against its schema,
// holds no secret, and applies only while the world is the one it saw:
// the apply pass itself re-checks each cluster right before writing.
func TestSavedPlan(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("conn.yaml", apiKeyConn)
	doc := tw.pass(ModePlan).SavedPlan()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
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
	if why := saved.Stale(tw.pass(ModePlan).SavedPlan()); len(why) != 0 {
		t.Fatalf("a fresh plan of an unchanged world is stale: %v", why)
	}

	// The world changes after the check: the apply pass refuses the
	// plan and writes nothing (issue 22: a plan stale anywhere is written
	// nowhere; it used to refuse the cluster alone and write the others).
	if err := tw.srv.World.SetSetting("ech-analytics", "persistent", "cluster.remote.ece-prod-logs.mode", "sniff"); err != nil {
		t.Fatal(err)
	}
	r := tw.reconciler(false)
	r.opts.Expect = saved
	tw.srv.World.ResetLog()
	_, err = r.Pass(t.Context(), tw.load(), ModeApply, "")
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
// anywhere: the trust was written before the other cluster was even
// observed (issue 22 point 4).
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
	if n := savedTrustChanges(saved); n == 0 {
		t.Fatal("the plan has no trust work: the test proves nothing")
	}
	// Someone writes the other cluster's alias after the plan was made.
	if err := tw.srv.World.SetSetting("onprem-search", "persistent", "cluster.remote.partner.mode", "sniff"); err != nil {
		t.Fatal(err)
	}
	r := tw.reconciler(false)
	r.opts.Expect = saved
	tw.srv.World.ResetLog()
	_, err = r.Pass(t.Context(), tw.load(), ModeApply, "")
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
