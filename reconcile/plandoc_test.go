package reconcile

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// A saved plan round-trips through JSON, validates against its schema,
// holds no secret, and applies only while the world is the one it saw:
// the apply pass itself re-checks each cluster right before writing.
func TestSavedPlan(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("conn.yaml", apiKeyConn)
	doc := tw.pass(ModePlan).Doc()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range tw.env {
		if strings.Contains(string(b), secret) {
			t.Fatal("the saved plan holds a secret")
		}
	}
	schema, err := jsonschema.UnmarshalJSON(bytes.NewReader(PlanJSONSchema()))
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
	saved, err := ParsePlanDoc(b)
	if err != nil {
		t.Fatal(err)
	}
	if why := saved.Stale(tw.pass(ModePlan).Doc()); len(why) != 0 {
		t.Fatalf("a fresh plan of an unchanged world is stale: %v", why)
	}

	// The world changes after the check: the apply pass refuses the
	// cluster and writes nothing there.
	if err := tw.srv.World.SetSetting("ech-analytics", "persistent", "cluster.remote.ece-prod-logs.mode", "sniff"); err != nil {
		t.Fatal(err)
	}
	r := tw.reconciler(false)
	r.opts.Expect = saved
	tw.srv.World.ResetLog()
	res, err := r.Pass(t.Context(), tw.load(), ModeApply, "")
	if err != nil {
		t.Fatal(err)
	}
	var stale *StaleError
	if !errors.As(res.Plan.Clusters[0].Err, &stale) || !strings.Contains(stale.Error(), "cluster.remote.ece-prod-logs.mode") {
		t.Fatalf("apply of a stale plan: %v", res.Plan.Clusters[0].Err)
	}
	if w := tw.writes(); len(w) != 0 {
		t.Fatalf("a stale plan was written: %v", w)
	}
	if rep := res.Report(drift.TriggerApply, ""); len(rep.Errors) == 0 {
		t.Fatal("no report error for the stale plan")
	}
}
