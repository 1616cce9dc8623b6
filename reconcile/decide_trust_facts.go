package reconcile

// The decide stage for trust: the facts the trust rules ask for (a
// deployment, its organization or environment, its CAs), from the frozen
// observation once decideTrust runs on it.

import (
	"context"
	"fmt"

	"github.com/esremote/esremote/reconcile/cloud"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// dep observes a deployment once per pass.
func (tb *trustBuilder) dep(cl *spec.Cluster) *trustDeployment {
	if d := tb.tp.deps[cl.Name]; d != nil {
		return d
	}
	d := &trustDeployment{cl: cl, entries: map[string]*trustEntry{}}
	tb.tp.deps[cl.Name] = d
	o := tb.in.obs.deployment(cl)
	if o.clientErr != nil {
		d.err = o.clientErr
		return d
	}
	d.err = d.use(o.dep, o.err)
	return d
}

// use takes a deployment the pass read (its read-once cache).
func (d *trustDeployment) use(dep *world.Deployment, err error) error {
	if err != nil {
		return fmt.Errorf("read trust of %s: %w", d.cl.Name, err)
	}
	res, err := dep.ES(d.cl.Deployment.RefID)
	if err != nil {
		return fmt.Errorf("read trust of %s: %w", d.cl.Name, err)
	}
	if res.TrustRaw == nil {
		return fmt.Errorf("read trust of %s: the deployment came back without settings", d.cl.Name)
	}
	d.dep, d.res = dep, res
	return nil
}

// read re-reads the deployment and its Elasticsearch resource (after a
// 409: a new observation on purpose).
func (d *trustDeployment) read(ctx context.Context, client *cloud.Client) error {
	dep, err := client.Deployment(ctx, d.id())
	if err != nil {
		return fmt.Errorf("read trust of %s: %w", d.cl.Name, err)
	}
	res, err := dep.ES(d.cl.Deployment.RefID)
	if err != nil {
		return fmt.Errorf("read trust of %s: %w", d.cl.Name, err)
	}
	if res.TrustRaw == nil {
		return fmt.Errorf("read trust of %s: the deployment came back without settings", d.cl.Name)
	}
	d.dep, d.res = dep, res
	return nil
}

// facts is what the observation says of a cluster's control plane.
func (tb *trustBuilder) facts(cl *spec.Cluster) *apiFacts {
	f := &apiFacts{}
	switch cl.Deployment.Platform {
	case spec.PlatformECH:
		o := tb.in.obs.organizations(cl)
		f.orgs, f.err = o.ids, o.err
	case spec.PlatformECE:
		o := tb.in.obs.relations(cl, true)
		if o.err != nil {
			f.err = o.err
			return f
		}
		for i := range o.rels {
			if o.rels[i].Local {
				f.local = &o.rels[i]
			}
		}
		if f.local == nil {
			f.err = fmt.Errorf("the ECE API of %s lists no local trust relationship", cl.Name)
		}
	}
	return f
}

// relations are an ECE control plane's trust relationships (for external
// entries).
func (tb *trustBuilder) relations(cl *spec.Cluster) ([]world.TrustRelationship, error) {
	o := tb.in.obs.relations(cl, false)
	return o.rels, o.err
}

// envOf is the environment a declared deployment cluster belongs to.
func (tb *trustBuilder) envOf(cl *spec.Cluster) (envRef, error) {
	env := envRef{platform: cl.Deployment.Platform}
	if cl.Deployment.Platform == spec.PlatformECH {
		if d := tb.tp.deps[cl.Name]; d != nil && d.err == nil {
			env.id = cmpOr(d.dep.OrganizationID, d.res.OrganizationID)
		}
		if env.id == "" {
			f := tb.facts(cl)
			if f.err != nil {
				return env, fmt.Errorf("organization of %s: %w", cl.Name, f.err)
			}
			if len(f.orgs) == 0 {
				return env, fmt.Errorf("organization of %s: the API lists none", cl.Name)
			}
			env.id = f.orgs[0]
		}
		return env, nil
	}
	f := tb.facts(cl)
	if f.err != nil {
		return env, fmt.Errorf("environment of %s: %w", cl.Name, f.err)
	}
	env.id = f.local.InstallationID
	if env.id == "" {
		return env, fmt.Errorf("environment of %s: the local trust relationship has no installation_id", cl.Name)
	}
	return env, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// certsOf are the CAs that sign a declared deployment's clusters: the ECE
// environment CA, or every CA of the ECH deployment (CAs rotate).
func (tb *trustBuilder) certsOf(cl *spec.Cluster) ([]string, error) {
	if cl.Deployment.Platform == spec.PlatformECE {
		f := tb.facts(cl)
		if f.err != nil {
			return nil, f.err
		}
		if f.local.PublicCACert == "" {
			return nil, fmt.Errorf("the ECE API of %s gave no environment CA", cl.Name)
		}
		return []string{f.local.PublicCACert}, nil
	}
	o := tb.in.obs.certificateAuthority(cl)
	if o.err == nil && len(o.ids) == 0 {
		return nil, fmt.Errorf("deployment of %s lists no CA", cl.Name)
	}
	return o.ids, o.err
}
