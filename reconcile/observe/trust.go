package observe

import (
	"context"
	"fmt"

	"github.com/esremote/esremote/reconcile/cloud"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// TrustFact reads one fact the trust decision asked for
// (decide.TrustQuestion, by its parts): of cluster cl, or, for
// world.FactCAFile, of the trusted environment env. The trust decision
// reads in rounds (decide.TrustPlan.Missing): what it asks next depends on
// what earlier facts said. A deployment is read once per pass
// (Clients.Deployment).
func TrustFact(ctx context.Context, cs Clients, fact world.TrustFact, cl *spec.Cluster, env *spec.TrustedEnvironment) world.TrustAnswer {
	switch fact {
	case world.FactDeployment:
		var r world.DepObs
		if _, r.ClientErr = cs.Cloud(cl); r.ClientErr == nil {
			r.Dep, r.Err = cs.Deployment(ctx, cl)
		}
		return world.TrustAnswer{Dep: r}
	case world.FactOrganizations:
		return world.TrustAnswer{IDs: organizations(ctx, cs, cl)}
	case world.FactLocalRelations:
		return world.TrustAnswer{Rels: relations(ctx, cs, cl, true)}
	case world.FactRelations:
		return world.TrustAnswer{Rels: relations(ctx, cs, cl, false)}
	case world.FactCertificateAuthority:
		return world.TrustAnswer{IDs: certificateAuthority(ctx, cs, cl)}
	case world.FactCAFile:
		b, err := ReadCA(cs.Set, env, env.CAFile)
		return world.TrustAnswer{IDs: world.IDsObs{IDs: []string{string(b)}, Err: err}}
	}
	return world.TrustAnswer{}
}

// organizations are the ids of the organizations cl's control plane
// shows its API key (ECH).
func organizations(ctx context.Context, cs Clients, cl *spec.Cluster) world.IDsObs {
	var r world.IDsObs
	c, err := cs.Cloud(cl)
	if err == nil {
		var orgs []world.Organization
		orgs, err = c.Organizations(ctx)
		for _, org := range orgs {
			r.IDs = append(r.IDs, org.ID)
		}
	}
	r.Err = err
	return r
}

// relations are an ECE control plane's trust relationships: with local,
// the list that carries the local one's CA.
func relations(ctx context.Context, cs Clients, cl *spec.Cluster, local bool) world.RelObs {
	var r world.RelObs
	c, err := cs.Cloud(cl)
	if err == nil {
		r.Rels, err = c.TrustRelationships(ctx, local, local)
	}
	r.Err = err
	return r
}

// certificateAuthority are the CA PEMs of cl's deployment (ECH).
func certificateAuthority(ctx context.Context, cs Clients, cl *spec.Cluster) world.IDsObs {
	var r world.IDsObs
	c, err := cs.Cloud(cl)
	if err == nil {
		var cas []world.CACert
		cas, err = c.CertificateAuthority(ctx, cl.Deployment.ID)
		for _, ca := range cas {
			r.IDs = append(r.IDs, ca.PEM)
		}
	}
	r.Err = err
	return r
}

// ReadTrust reads a deployment's trust again, with its Elasticsearch
// resource (after a trust write's 409: a new observation on purpose, not
// the pass's read-once one).
func ReadTrust(ctx context.Context, client *cloud.Client, cl *spec.Cluster) (*world.Deployment, *world.ESResource, error) {
	dep, err := client.Deployment(ctx, cl.Deployment.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("read trust of %s: %w", cl.Name, err)
	}
	res, err := dep.ES(cl.Deployment.RefID)
	if err != nil {
		return nil, nil, fmt.Errorf("read trust of %s: %w", cl.Name, err)
	}
	if res.TrustRaw == nil {
		return nil, nil, fmt.Errorf("read trust of %s: the deployment came back without settings", cl.Name)
	}
	return dep, res, nil
}
