package decide

import (
	"errors"
	"strings"
	"testing"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/reconcile/plan"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// TestCheckRemote is the remote identity rule's table: a remote's keys are
// used as read unless the cluster answering is not the one the ledger's
// records are about; then they are not used, and the error names
// identity_changed.
func TestCheckRemote(t *testing.T) {
	keys := []world.APIKey{{ID: "k1", Name: "esremote-c"}}
	read := func(uuid string) *world.KeysRead {
		return &world.KeysRead{Info: world.Info{ClusterUUID: uuid}, Keys: keys}
	}
	failed := &world.KeysRead{Err: errors.New("GET /: 503")}
	for _, tc := range []struct {
		name     string
		recorded string
		in       *world.KeysRead
		wantErr  string // "" keeps the read as it is
	}{
		{name: "not read"},
		{name: "read failed", recorded: "U1", in: failed},
		{name: "no record", in: read("U1")},
		{name: "the recorded cluster", recorded: "U1", in: read("U1")},
		{name: "a cluster too old to say", recorded: "U1", in: read("")},
		{name: "another cluster", recorded: "U1", in: read("U2"), wantErr: string(CodeIdentityChanged) + ": cluster r now answers with cluster_uuid U2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			led, _ := ledger.Open("")
			if tc.recorded != "" {
				if err := led.SetClusterUUID("r", tc.recorded); err != nil {
					t.Fatal(err)
				}
			}
			got := CheckRemote("r", tc.in, led)
			if tc.wantErr == "" {
				if got != tc.in {
					t.Fatalf("got %+v, want the read as it is", got)
				}
				return
			}
			if got == nil || got.Err == nil || !strings.HasPrefix(got.Err.Error(), tc.wantErr) || len(got.Keys) != 0 {
				t.Fatalf("got %+v, want no keys and an error %q", got, tc.wantErr)
			}
		})
	}
}

// A departed connection's key is invalidated on its remote only when the
// remote read is the cluster the ledger's records are about.
func TestStepsDepartedKeyIdentity(t *testing.T) {
	for _, tc := range []struct {
		name  string
		uuid  string
		steps int
	}{{"the recorded cluster", "U1", 1}, {"another cluster", "U2", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			led, _ := ledger.Open("")
			if err := led.SetClusterUUID("r", "U1"); err != nil {
				t.Fatal(err)
			}
			rec := &ledger.KeyRecord{Local: "gone", Alias: "a", Remote: "r", ID: "k1", Name: "esremote-c"}
			cp := &ClusterPlan{Local: "gone", Deletions: []*AliasDeletion{{Connection: "c", Key: rec,
				Changes: []*Change{{Resource: drift.ResourceAPIKey, Target: "r", Action: drift.ActionDelete}}}}}
			b := &StepBuilder{Set: &spec.Set{Clusters: []*spec.Cluster{{Name: "r"}}}, Ledger: led,
				Remotes: map[string]*world.KeysRead{"r": {Info: world.Info{ClusterUUID: tc.uuid}, Keys: []world.APIKey{{ID: "k1", Name: "esremote-c"}}}}}
			b.Departed(cp)
			if len(b.Steps) != tc.steps {
				t.Fatalf("%d steps, want %d: %+v", len(b.Steps), tc.steps, b.Steps)
			}
			if tc.steps > 0 && (b.Steps[0].Kind != plan.KindInvalidateKeys || b.Steps[0].Precondition == nil || b.Steps[0].Precondition.UUID != "U1") {
				t.Errorf("step %+v", b.Steps[0])
			}
		})
	}
}
