package doctor

import (
	"strings"
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

// A remote the local cluster finds unavailable, with no error body, gets
// its cause from an earlier check, else from a failed probe, else it is
// the path from the nodes (the probes from here pass).
func TestUnavailableCause(t *testing.T) {
	conn := &spec.Connection{Alias: "logs"}
	for _, tc := range []struct {
		name  string
		steps []Step
		cause string
		text  string
	}{
		{"earlier check", []Step{{Name: StepDNS, Status: Problem, Cause: CauseDNS}, {Name: StepKeystore, Status: Problem, Cause: CauseNoCredentials},
			{Name: StepRemoteInfo, Status: Problem, Cause: CauseDisconnected}}, CauseNoCredentials, "follows from the keystore problem"},
		{"probe", []Step{{Name: StepDNS, Status: OK}, {Name: StepTCP, Status: Problem, Cause: CauseUnreachable, Evidence: "connect: refused", Fix: "open the port"},
			{Name: StepRemoteInfo, Status: Problem, Cause: CauseDisconnected}}, CauseUnreachable, "the tcp probe from this host failed too: connect: refused"},
		{"nodes' path", []Step{{Name: StepDNS, Status: OK}, {Name: StepTCP, Status: OK}, {Name: StepTLS, Status: OK}}, CauseUnreachable, "look at the path from the local cluster's nodes"},
	} {
		ck := &Checkup{Conn: conn, Report: &Report{Steps: tc.steps}}
		ck.unavailable(StepResolveCluster, "unavailable")
		s := ck.Report.Step(StepResolveCluster)
		if s.Status != Problem || s.Cause != tc.cause || !strings.Contains(s.Evidence, tc.text) || s.Fix == "" {
			t.Errorf("%s: %+v", tc.name, s)
		}
	}
}
