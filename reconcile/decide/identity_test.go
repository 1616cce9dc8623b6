package decide

import (
	"strings"
	"testing"

	"github.com/esremote/esremote/reconcile/world"
)

// One row per identity rule (DESIGN §5: records are about a cluster_uuid):
// which cluster answering for a name may be written.
func TestIdentity(t *testing.T) {
	for _, tc := range []struct {
		name     string
		uuid     string   // what answers for "a"
		recorded string   // the ledger's cluster_uuid for "a"
		same     []string // declared names observed or recorded with uuid
		want     string   // error code, "" for none
	}{
		{"first contact: no record", "U1", "", []string{"a"}, ""},
		{"same cluster as recorded", "U1", "U1", []string{"a"}, ""},
		{"another cluster answers at the name", "U2", "U1", []string{"a"}, CodeIdentityChanged},
		{"two declared names are one cluster", "U1", "", []string{"a", "b"}, CodeDuplicateCluster},
		{"another cluster at the name beats a duplicate", "U2", "U1", []string{"a", "b"}, CodeIdentityChanged},
		{"a cluster that does not say its uuid", "", "U1", []string{"a", "b"}, ""},
	} {
		err := Identity("a", &world.Observed{Local: "a", UUID: tc.uuid}, tc.recorded, tc.same)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: unexpected error: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want+":")):
			t.Errorf("%s: error %v, want %s", tc.name, err, tc.want)
		}
	}
	// The duplicate names every other name, sorted, and not the cluster's own.
	err := Identity("b", &world.Observed{UUID: "U1"}, "", []string{"c", "b", "a"})
	if err == nil || !strings.Contains(err.Error(), "clusters b and a, c are the same cluster") {
		t.Errorf("duplicate: %v", err)
	}
}
