package decide

import (
	"fmt"

	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// The decide stage for trust: the facts the trust rules ask for (a
// deployment, its organization or environment, its CAs), from the frozen
// observation once decideTrust runs on it.

// dep observes a deployment once per pass.
func (tb *TrustBuilder) dep(cl *spec.Cluster) *TrustDeployment {
	if d := tb.Plan.Deps[cl.Name]; d != nil {
		return d
	}
	d := &TrustDeployment{Cluster: cl, entries: map[string]*TrustEntry{}}
	tb.Plan.Deps[cl.Name] = d
	tb.ask(TrustQuestion{Fact: FactDeployment, Cluster: cl})
	o := tb.Input.Obs.Deployment(cl)
	if o.ClientErr != nil {
		d.Err = o.ClientErr
		return d
	}
	d.Err = d.use(o.Dep, o.Err)
	return d
}

// use takes a deployment the pass read (its read-once cache).
func (d *TrustDeployment) use(dep *world.Deployment, err error) error {
	if err != nil {
		return fmt.Errorf("read trust of %s: %w", d.Cluster.Name, err)
	}
	res, err := dep.ES(d.Cluster.Deployment.RefID)
	if err != nil {
		return fmt.Errorf("read trust of %s: %w", d.Cluster.Name, err)
	}
	if res.TrustRaw == nil {
		return fmt.Errorf("read trust of %s: the deployment came back without settings", d.Cluster.Name)
	}
	d.Dep, d.Res = dep, res
	return nil
}

// facts is what the observation says of a cluster's control plane.
func (tb *TrustBuilder) facts(cl *spec.Cluster) *apiFacts {
	f := &apiFacts{}
	switch cl.Deployment.Platform {
	case spec.PlatformECH:
		tb.ask(TrustQuestion{Fact: FactOrganizations, Cluster: cl})
		o := tb.Input.Obs.Organizations(cl)
		f.orgs, f.err = o.IDs, o.Err
	case spec.PlatformECE:
		tb.ask(TrustQuestion{Fact: FactLocalRelations, Cluster: cl})
		o := tb.Input.Obs.Relations(cl, true)
		if o.Err != nil {
			f.err = o.Err
			return f
		}
		for i := range o.Rels {
			if o.Rels[i].Local {
				f.local = &o.Rels[i]
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
func (tb *TrustBuilder) relations(cl *spec.Cluster) ([]world.TrustRelationship, error) {
	tb.ask(TrustQuestion{Fact: FactRelations, Cluster: cl})
	o := tb.Input.Obs.Relations(cl, false)
	return o.Rels, o.Err
}

// envOf is the environment a declared deployment cluster belongs to.
func (tb *TrustBuilder) envOf(cl *spec.Cluster) (envRef, error) {
	env := envRef{platform: cl.Deployment.Platform}
	if cl.Deployment.Platform == spec.PlatformECH {
		if d := tb.Plan.Deps[cl.Name]; d != nil && d.Err == nil {
			env.id = cmpOr(d.Dep.OrganizationID, d.Res.OrganizationID)
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
func (tb *TrustBuilder) certsOf(cl *spec.Cluster) ([]string, error) {
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
	tb.ask(TrustQuestion{Fact: FactCertificateAuthority, Cluster: cl})
	o := tb.Input.Obs.CertificateAuthority(cl)
	if o.Err == nil && len(o.IDs) == 0 {
		return nil, fmt.Errorf("deployment of %s lists no CA", cl.Name)
	}
	return o.IDs, o.Err
}
