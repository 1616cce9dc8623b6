package doctor

import (
	"testing"

	"github.com/esremote/esremote/spec"
)

// A disconnected alias names the problem above it to fix first, and only
// when there is one: as the first problem, it points below instead of at
// a problem that does not exist.
func TestRemoteInfoFixNamesTheProblemAbove(t *testing.T) {
	for _, tc := range []struct {
		name  string
		above []Step
		want  string
	}{
		{"first problem", []Step{{Name: StepSpec, Status: OK}, {Name: "keystore", Status: OK}},
			"no step above explains it: the steps below and the local cluster's log (RemoteClusterService lines about logs) say why; Elasticsearch retries the connection by itself"},
		{"after a problem", []Step{{Name: StepSpec, Status: OK}, {Name: "parameters", Status: Problem}, {Name: "keystore", Status: Problem}},
			"fix the parameters problem above first; Elasticsearch retries the connection by itself"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ck := &Checkup{Conn: &spec.Connection{Alias: "logs"}, Configured: true, Report: &Report{Steps: tc.above}}
			ck.remoteInfo()
			got := ck.Report.Steps[len(ck.Report.Steps)-1]
			if got.Name != StepRemoteInfo || got.Status != Problem || got.Fix != tc.want {
				t.Errorf("remote_info step = %+v, want fix %q", got, tc.want)
			}
		})
	}
}
