package doctor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/esremote/esremote/reconcile/cloud"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/spec"
)

// Engine is what the doctor needs of the engine; *reconcile.Reconciler
// implements it. The doctor only reads through it.
type Engine interface {
	// ESClient and CloudClient return the clients of a declared Cluster
	// (its Elasticsearch and its deployment's control plane).
	ESClient(set *spec.Set, cl *spec.Cluster) (*es.Client, error)
	CloudClient(set *spec.Set, cl *spec.Cluster) (*cloud.Client, error)
	// DesiredSettings returns the flat cluster.remote.<alias>.* settings
	// the spec wants for c, the remote's endpoint resolved.
	DesiredSettings(ctx context.Context, set *spec.Set, c *spec.Connection) (map[string]string, error)
	// ManagedKeyID is the ID of the cross-cluster key the ledger records
	// for the connection ("" when none).
	ManagedKeyID(connection string) string
	// Getenv resolves secret references; Now is the clock.
	Getenv(key string) string
	Now() time.Time
	// CanaryPrivileges checks whether the credential esremote uses on c's
	// local cluster (local) may make c's evidence request: missing is
	// false with what it has as evidence, or true with what it lacks and
	// the role to add as fix.
	CanaryPrivileges(ctx context.Context, local *es.Client, c *spec.Connection) (missing bool, evidence, fix string, err error)
}

// Options configure [Run].
type Options struct {
	// Network is how the DNS, TCP and TLS probes reach the remote (zero
	// value: the real network and the system roots). The probes always
	// run: a host is never guessed to be unreachable on purpose.
	Network Network
}

// Run diagnoses the connection called name step by step (see the Step
// names for the steps and their order). It reads only: nothing is
// written, not even the ledger. The error is non-nil only when the
// diagnosis could not start (no such connection); everything the checks
// find is in the report.
func Run(ctx context.Context, r Engine, set *spec.Set, name string, opts Options) (*Report, error) {
	c := set.Connection(name)
	if c == nil {
		return nil, fmt.Errorf("no connection named %q in %s", name, set.Dir)
	}
	rep := &Report{Connection: c.Name, Local: c.Local, Alias: c.Alias, Security: string(c.Security)}
	rep.Add(Step{Name: StepSpec, Status: OK,
		Evidence: fmt.Sprintf("%d connections and %d clusters load without errors", len(set.Connections), len(set.Clusters))})

	skipRest := func(from string, why string) {
		for _, s := range stepsAfter(from, c.Security) {
			rep.Add(Step{Name: s, Status: Skipped, Evidence: why})
		}
	}
	cl := set.Cluster(c.Local)
	client, err := r.ESClient(set, cl)
	if err != nil {
		rep.Add(Step{Name: StepLocal, Status: Problem, Cause: CauseLocalUnreachable,
			Evidence: err.Error(), Fix: "make the credential of cluster " + c.Local + " readable (see its elasticsearch.auth)"})
		skipRest(StepLocal, "the local cluster cannot be asked")
		return rep, nil
	}
	info, err := client.Info(ctx)
	if err == nil && c.Security == spec.SecurityAPIKey && !info.Version.AtLeast(8, 14, 0) {
		rep.Add(Step{Name: StepLocal, Status: Problem, Cause: CauseVersion,
			Evidence: fmt.Sprintf("%s runs Elasticsearch %s; the API-key model needs 8.14 or later", c.Local, info.Version),
			Fix:      "upgrade " + c.Local + " to 8.14 or later, or use the certificate model"})
	} else if err == nil {
		rep.Add(Step{Name: StepLocal, Status: OK,
			Evidence: fmt.Sprintf("%s answers: Elasticsearch %s, cluster %s (license level not read)", c.Local, info.Version, info.ClusterName)})
	}
	var ri map[string]es.RemoteInfo
	if err == nil {
		ri, err = client.RemoteInfo(ctx)
	}
	if err != nil {
		rep.Add(Step{Name: StepLocal, Status: Problem, Cause: CauseLocalUnreachable,
			Evidence: err.Error(), Fix: localFix(c.Local, err)})
		skipRest(StepLocal, "the local cluster cannot be asked")
		return rep, nil
	}

	want, werr := r.DesiredSettings(ctx, set, c)
	ck := &Checkup{Set: set, Conn: c, Local: client, Want: want, WantErr: werr, Report: rep, Now: r.Now(),
		Getenv: r.Getenv, KeyID: r.ManagedKeyID(c.Name),
		Remote: func(ctx context.Context, rcl *spec.Cluster) (*es.Client, error) { return r.ESClient(set, rcl) },
		Deployment: func(ctx context.Context, cl *spec.Cluster) (*cloud.Deployment, error) {
			cc, err := r.CloudClient(set, cl)
			if err != nil {
				return nil, err
			}
			return cc.Deployment(ctx, cl.Deployment.ID)
		}}
	ck.Live, ck.Configured = ri[c.Alias]
	ck.Parameters()

	addr, serverName := ck.address()
	switch {
	case addr == "":
		for _, s := range []string{StepDNS, StepTCP, StepTLS} {
			rep.Add(Step{Name: s, Status: Skipped, Evidence: "no address to probe"})
		}
	default:
		n := opts.Network
		if n.Now == nil {
			n.Now = r.Now
		}
		dns := n.ProbeDNS(ctx, addr)
		rep.Add(dns)
		tcp := Step{Name: StepTCP, Status: Skipped, Evidence: "the host does not resolve"}
		if dns.Status == OK {
			tcp = n.ProbeTCP(ctx, addr)
		}
		rep.Add(tcp)
		if tcp.Status == OK {
			rep.Add(n.ProbeTLS(ctx, addr, serverName, string(c.Security)))
		} else {
			rep.Add(Step{Name: StepTLS, Status: Skipped, Evidence: "no TCP connection"})
		}
	}
	if c.Security == spec.SecurityAPIKey {
		ck.Keystore()
		ck.APIKey(ctx)
	} else {
		ck.trust(ctx)
	}
	ck.privileges(ctx, r)
	ck.remoteInfo()
	ck.resolve(ctx)
	ck.canary(ctx)
	ck.probesFromHere()
	return rep, nil
}

// probesFromHere weighs the network probes against the link's evidence.
// They run from this host, not from the local cluster's nodes: when the
// local cluster proves the link works (resolve_cluster connected), a probe
// that fails here says something about this host's network, not about the
// link, and is not the link's problem.
func (ck *Checkup) probesFromHere() {
	rc := ck.Report.Step(StepResolveCluster)
	if rc == nil || (rc.Status != OK && !reachedRemote[rc.Cause]) {
		return
	}
	for _, name := range []string{StepDNS, StepTCP, StepTLS} {
		if s := ck.Report.Step(name); s != nil && s.Status == Problem {
			s.Status, s.Cause, s.Fix = Skipped, "", ""
			s.Evidence += " (seen from this host only: the local cluster reaches the remote, see resolve_cluster)"
		}
	}
}

// stepsAfter lists the steps that follow step for a security model.
func stepsAfter(step string, sec spec.Security) []string {
	all := []string{StepLocal, StepParameters, StepDNS, StepTCP, StepTLS}
	if sec == spec.SecurityAPIKey {
		all = append(all, StepKeystore, StepAPIKey)
	} else {
		all = append(all, StepTrust)
	}
	all = append(all, StepPrivileges, StepRemoteInfo, StepResolveCluster, StepCanary)
	i := slices.Index(all, step)
	return all[i+1:]
}

func localFix(name string, err error) string {
	switch {
	case errors.Is(err, es.ErrAuth):
		return "check the credentials of cluster " + name + " (elasticsearch.auth) and that they may read cluster settings (monitor)"
	case errors.Is(err, es.ErrTLS):
		return "give the CA of cluster " + name + " in elasticsearch.ca_file"
	case errors.Is(err, es.ErrNotElasticsearch):
		return "point elasticsearch.url of cluster " + name + " at Elasticsearch itself, not a proxy or Kibana"
	}
	return "check elasticsearch.url of cluster " + name + " and that the cluster is up and reachable from this host"
}
