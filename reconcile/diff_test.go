package reconcile

import (
	"strings"
	"testing"

	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// One row per identity rule: the ledger's cluster_uuid for the name, the
// other clusters observed in the pass, what the cluster answers.
func TestIdentityRules(t *testing.T) {
	for _, tc := range []struct {
		name     string
		recorded map[string]string // ledger: name → uuid
		observed map[string]string // pass: name → uuid
		declared []string
		want     string // error code, "" for none
	}{
		{name: "first contact: no record", observed: map[string]string{"a": "U1"}, declared: []string{"a"}},
		{name: "same cluster as recorded", recorded: map[string]string{"a": "U1"}, observed: map[string]string{"a": "U1"}, declared: []string{"a"}},
		{name: "another cluster answers at the name", recorded: map[string]string{"a": "U1"}, observed: map[string]string{"a": "U2"}, declared: []string{"a"}, want: CodeIdentityChanged},
		{name: "two Clusters in the pass are one cluster", observed: map[string]string{"a": "U1", "b": "U1"}, declared: []string{"a", "b"}, want: CodeDuplicateCluster},
		{name: "another declared name was recorded with this uuid", recorded: map[string]string{"b": "U1"}, observed: map[string]string{"a": "U1"}, declared: []string{"a", "b"}, want: CodeDuplicateCluster},
		{name: "a departed name once had this uuid: fine", recorded: map[string]string{"old": "U1"}, observed: map[string]string{"a": "U1"}, declared: []string{"a"}},
		{name: "a cluster that does not say its uuid", recorded: map[string]string{"a": "U1"}, observed: map[string]string{"a": ""}, declared: []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			led, _ := OpenLedger("")
			for n, u := range tc.recorded {
				led.SetClusterUUID(n, u)
			}
			set := &spec.Set{}
			for _, n := range tc.declared {
				set.Clusters = append(set.Clusters, &spec.Cluster{Name: n})
			}
			clusters := map[string]*world.ClusterRead{}
			for n, u := range tc.observed {
				clusters[n] = &world.ClusterRead{Name: n, Observed: &Observed{Local: n, UUID: u}}
			}
			d := &decide.ClusterDecision{Plan: &ClusterPlan{Local: "a"}, Cluster: set.Cluster("a"), Seen: clusters["a"].Observed}
			err := decide.CheckIdentity(d, led, decide.NamesByUUID(set, clusters, led)).Plan.Err
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want+":")):
				t.Errorf("error %v, want %s", err, tc.want)
			}
		})
	}
}

// Only keys that carry this installation's id can be orphans; DeliveredKeyID
// names the key the keystore holds while a new one is pending.
func TestDeliveredKeyID(t *testing.T) {
	for _, tc := range []struct {
		rec  *KeyRecord
		want string
	}{
		{nil, ""},
		{&KeyRecord{ID: "new"}, "new"},
		{&KeyRecord{ID: "new", Pending: true}, ""},
		{&KeyRecord{ID: "new", Pending: true, Delivered: "old"}, "old"},
	} {
		if got := tc.rec.DeliveredKeyID(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.rec, got, tc.want)
		}
	}
}
