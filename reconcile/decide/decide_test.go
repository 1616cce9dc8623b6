package decide

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// A hand-made key's credential is resolved by the observe stage into the
// Snapshot the decision takes: printed, logged or marshalled in any way,
// the Snapshot never shows its value.
func TestSnapshotNeverShowsASecret(t *testing.T) {
	const value = "c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1wcmludA=="
	snap := &Snapshot{World: &world.Snapshot{Clusters: map[string]*world.ClusterRead{}},
		Secrets: map[string]SecretRead{"c": {Secret: spec.NewSecret(value)}}}
	var logged bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&logged, nil), slog.NewJSONHandler(&logged, nil)} {
		slog.New(h).Info("snapshot", "snap", snap, "secrets", snap.Secrets, "read", snap.Secrets["c"])
	}
	js, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	outs := map[string]string{"json": string(js), "log": logged.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		outs[verb] = fmt.Sprintf(verb, *snap) + fmt.Sprintf(verb, snap.Secrets) + fmt.Sprintf(verb, snap.Secrets["c"])
	}
	for what, out := range outs {
		if strings.Contains(out, value) || !strings.Contains(out, "redacted") && what != "%x" {
			t.Errorf("%s shows the secret or no redaction: %s", what, out)
		}
	}
	if got := snap.Secrets["c"].Secret.Reveal(); got != value {
		t.Fatalf("the secret is %q: the test proves nothing", got)
	}
}

// A cluster's decision fails, writing nothing, when the cluster is not
// declared, was not read, or its read failed; the failure names why and
// fails each of its connections.
func TestClusterFails(t *testing.T) {
	conn := &spec.Connection{Name: "c", Local: "l", Alias: "a", Policy: spec.PolicyEnforce}
	set := &spec.Set{Clusters: []*spec.Cluster{{Name: "l"}}, Connections: []*spec.Connection{conn}}
	for _, tc := range []struct {
		name, local string
		read        *world.ClusterRead
		want        string
	}{
		{"not declared", "x", &world.ClusterRead{Name: "x"}, `cluster "x" is not declared`},
		{"not read", "l", nil, "cluster l was not observed in this pass"},
		{"read failed", "l", &world.ClusterRead{Name: "l", Err: fmt.Errorf("GET /: 503")}, "GET /: 503"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Cluster(ClusterInput{Set: set, Local: tc.local, Conns: []*spec.Connection{conn}, Read: tc.read})
			if d.Cluster != nil || d.Plan.Err == nil || d.Plan.Err.Error() != tc.want {
				t.Fatalf("decision %+v, err %v; want a failure %q", d, d.Plan.Err, tc.want)
			}
			if len(d.Plan.Connections) != 1 || d.Plan.Connections[0].Err == nil || d.Plan.Connections[0].Writes() {
				t.Errorf("its connection: %+v", d.Plan.Connections)
			}
		})
	}
}
