package observe

import (
	"context"
	"fmt"

	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// Endpoints resolves the endpoint of every remote Cluster the connections
// name (only: of that connection alone), by cluster name: a deployment's
// metadata.endpoint through its control plane (Clients.Deployment: once
// per pass), else the host of its Elasticsearch URL (world.URLEndpoint).
// A remote that is not declared, or whose deployment cannot be read, has
// its error instead.
func Endpoints(ctx context.Context, cs Clients, only string) map[string]world.EndpointRead {
	out := map[string]world.EndpointRead{}
	for _, c := range cs.Set.Connections {
		if only != "" && c.Name != only {
			continue
		}
		name := c.Remote.Cluster
		if name == "" {
			continue
		}
		if _, done := out[name]; done {
			continue
		}
		cl := cs.Set.Cluster(name)
		switch {
		case cl == nil:
			out[name] = world.EndpointRead{Err: fmt.Errorf("remote cluster %q is not declared", name)}
		case cl.Deployment == nil:
			out[name] = world.EndpointRead{Endpoint: world.URLEndpoint(cl.Elasticsearch.URL)}
		default:
			d, err := cs.Deployment(ctx, cl)
			if err != nil {
				out[name] = world.EndpointRead{Err: fmt.Errorf("read deployment of %s: %w", cl.Name, err)}
				continue
			}
			ep, err := endpointOf(d, cl)
			out[name] = world.EndpointRead{Endpoint: ep, Err: err}
		}
	}
	return out
}

// DeploymentEndpoint reads a deployment-backed Cluster's Elasticsearch
// endpoint from its control plane (the host other clusters dial).
func DeploymentEndpoint(ctx context.Context, cs Clients, cl *spec.Cluster) (world.Endpoint, error) {
	c, err := cs.Cloud(cl)
	if err != nil {
		return world.Endpoint{}, err
	}
	d, err := c.Deployment(ctx, cl.Deployment.ID)
	if err != nil {
		return world.Endpoint{}, fmt.Errorf("read deployment of %s: %w", cl.Name, err)
	}
	return endpointOf(d, cl)
}

// endpointOf is the Elasticsearch endpoint of a deployment as read.
func endpointOf(d *world.Deployment, cl *spec.Cluster) (world.Endpoint, error) {
	res, err := d.ES(cl.Deployment.RefID)
	if err != nil {
		return world.Endpoint{}, fmt.Errorf("deployment of %s: %w", cl.Name, err)
	}
	if res.Endpoint == "" {
		return world.Endpoint{}, fmt.Errorf("deployment %s of %s has no Elasticsearch resource %q with an endpoint", cl.Deployment.ID, cl.Name, cl.Deployment.RefID)
	}
	return world.Endpoint{Host: res.Endpoint, ServerName: res.Endpoint}, nil
}
