package observe

import (
	"context"
	"strings"
	"testing"

	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// Each remote the connections name gets its endpoint once: a deployment's
// through its control plane, its read shared with the trust facts of the
// same pass; a self-managed one's from its URL; an undeclared one an
// error. only restricts the resolution to one connection's remote.
func TestEndpoints(t *testing.T) {
	gets, cl := fakeCloud(t)
	selfManaged := &spec.Cluster{Name: "onprem", Elasticsearch: spec.Elasticsearch{URL: "https://es.example.net:9243"}}
	conn := func(name, remote string) *spec.Connection {
		return &spec.Connection{Name: name, Local: "hub", Alias: name, Remote: spec.Remote{Cluster: remote}}
	}
	set := &spec.Set{Clusters: []*spec.Cluster{hosted, selfManaged},
		Connections: []*spec.Connection{conn("a", "hosted"), conn("b", "hosted"), conn("c", "onprem"), conn("d", "gone"), conn("e", "")}}
	cs := Clients{Set: set, Cloud: cl, Reads: NewReads()}
	ctx := context.Background()
	got := Endpoints(ctx, cs, "")
	if len(got) != 3 {
		t.Errorf("endpoints %v; want hosted, onprem and gone", got)
	}
	if ep := got["hosted"]; ep.Err != nil || ep.Host == "" || ep.Host != ep.ServerName || strings.Contains(ep.Host, "/") {
		t.Errorf("hosted: %+v; want the deployment's metadata endpoint", ep)
	}
	if ep := got["onprem"]; ep.Err != nil || ep.Endpoint != (world.Endpoint{Host: "es.example.net", ServerName: "es.example.net"}) {
		t.Errorf("onprem: %+v; want the URL's host", ep)
	}
	if ep := got["gone"]; ep.Err == nil || !strings.Contains(ep.Err.Error(), `"gone" is not declared`) {
		t.Errorf("gone: %+v; want not declared", ep)
	}
	if a := TrustFact(ctx, cs, world.FactDeployment, hosted, nil); a.Dep.Dep == nil || gets.Load() != 1 {
		t.Errorf("the deployment was read %d times for two connections and the trust facts, want once (%+v)", gets.Load(), a.Dep)
	}
	if only := Endpoints(ctx, cs, "c"); len(only) != 1 || only["onprem"].Host != "es.example.net" {
		t.Errorf("only c: %v; want onprem alone", only)
	}
	ep, err := DeploymentEndpoint(ctx, Clients{Set: set, Cloud: cl}, hosted)
	if err != nil || ep != got["hosted"].Endpoint || gets.Load() != 2 {
		t.Errorf("DeploymentEndpoint %+v, %v after %d reads; want the same endpoint, read again outside the pass", ep, err, gets.Load())
	}
}
