package doctor_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/esremote/esremote/reconcile/doctor"
)

// With the network probes pointed at a TLS server that presents a
// certificate for the remote's server name, issued by a CA the local side
// trusts, a healthy link passes every step of the doctor, DNS, TCP and TLS
// included: nothing is skipped.
func TestDoctorHealthyEveryStepOK(t *testing.T) {
	tw := connectedAPIKeyWorld(t)
	ece, _ := tw.Srv.World.Cluster("ece-prod-logs")
	rep, err := doctor.Run(t.Context(), tw.Reconciler(true), tw.Load(), "analytics-to-ece-logs", doctor.Options{Network: doctor.RemoteNetwork(t, ece.Endpoint)})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Steps {
		if s.Status != doctor.OK {
			t.Errorf("step %s: %s (%s)", s.Name, s.Status, s.Evidence)
		}
	}
	if !rep.Healthy() {
		t.Fatal("not healthy")
	}
}

// The probes run from this host, not from the local cluster's nodes: a
// name this host cannot resolve (a split-horizon DNS, a tunnel) is not the
// link's problem when the local cluster proves the link works. Nothing
// is guessed from the host name: every probe runs.
func TestDoctorProbeFailureHereIsNotTheLinksProblem(t *testing.T) {
	tw := connectedAPIKeyWorld(t)
	rep, err := doctor.Run(t.Context(), tw.Reconciler(true), tw.Load(), "analytics-to-ece-logs",
		doctor.Options{Network: doctor.Network{Resolver: noResolver{}}})
	if err != nil {
		t.Fatal(err)
	}
	s := wantStep(t, rep, doctor.StepDNS, doctor.Skipped, "")
	if !strings.Contains(s.Evidence, "does not resolve") || !strings.Contains(s.Evidence, "seen from this host only") {
		t.Errorf("dns: %+v", s)
	}
	if !rep.Healthy() {
		t.Errorf("first problem %+v", rep.FirstProblem())
	}
}

// When the local cluster finds the remote unavailable (no error body:
// _resolve/cluster sends none for an unreachable remote), the cause comes
// from the checks before it (here the drifted address) and the probes show
// the address does not resolve; nothing is read from a simulated text.
func TestDoctorUnavailableCauseFromProbes(t *testing.T) {
	tw := connectedAPIKeyWorld(t)
	if err := tw.Srv.World.SetSetting("ech-analytics", "persistent", "cluster.remote.ece-prod-logs.proxy_address", "gone.example.com:9443"); err != nil {
		t.Fatal(err)
	}
	rep, err := doctor.Run(t.Context(), tw.Reconciler(true), tw.Load(), "analytics-to-ece-logs",
		doctor.Options{Network: doctor.Network{Resolver: noResolver{}}})
	if err != nil {
		t.Fatal(err)
	}
	wantStep(t, rep, doctor.StepParameters, doctor.Problem, doctor.CauseSettingsDrift)
	if s := wantStep(t, rep, doctor.StepDNS, doctor.Problem, doctor.CauseDNS); !strings.Contains(s.Evidence, "gone.example.com does not resolve") {
		t.Errorf("dns: %+v", s)
	}
	s := wantStep(t, rep, doctor.StepResolveCluster, doctor.Problem, doctor.CauseSettingsDrift)
	if !strings.Contains(s.Evidence, "unavailable (connected: false, no error)") {
		t.Errorf("resolve: %+v", s)
	}
}

// noResolver resolves nothing, like a host outside the remote's DNS.
type noResolver struct{}

func (noResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}
