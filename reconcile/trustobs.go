package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// trustObservation is the Snapshot's part of the trust decision: every
// read the trust rules rely on, by what was read. What the rules need
// depends on what earlier reads returned (a deployment's organization, an
// environment's installation id), so it is observed by demand: planTrust
// first runs the rules against a live reader, which reads each thing once
// and records it, then freezes the record and decides from it alone
// (decideTrust). A frozen observation never reads: a question it has no
// answer for is an error, never a request.
type trustObservation struct {
	live *trustLive // nil when frozen

	deps      map[string]depObs // deployment GET, by cluster name
	orgs      map[string]idsObs // ECH: organizations of the API key, by control plane
	localRels map[string]relObs // ECE: trust relationships with the local one's CA, by control plane
	rels      map[string]relObs // ECE: every trust relationship, by control plane
	cas       map[string]idsObs // ECH: CA PEMs of a deployment, by deployment ID
	caFiles   map[string]idsObs // a TrustedEnvironment's ca_file (one element: its bytes), by name and path
}

type depObs struct {
	dep       *world.Deployment
	clientErr error // no client for the control plane (credentials, ca_file)
	err       error
}

type idsObs struct {
	ids []string
	err error
}

type relObs struct {
	rels []world.TrustRelationship
	err  error
}

// trustLive reads for a trustObservation that is not frozen.
type trustLive struct {
	ps  *passState
	ctx context.Context
}

func newTrustObservation(live *trustLive) *trustObservation {
	return &trustObservation{live: live, deps: map[string]depObs{}, orgs: map[string]idsObs{}, localRels: map[string]relObs{},
		rels: map[string]relObs{}, cas: map[string]idsObs{}, caFiles: map[string]idsObs{}}
}

// controlPlane is the key of a control plane's reads.
func controlPlane(cl *spec.Cluster) string {
	return string(cl.Deployment.Platform) + " " + cl.Deployment.API
}

// notObserved is the answer of a frozen observation to a new question.
func notObserved(what string) error {
	return fmt.Errorf("%s was not observed this pass", what)
}

func (o *trustObservation) deployment(cl *spec.Cluster) depObs {
	if r, ok := o.deps[cl.Name]; ok || o.live == nil {
		if !ok {
			r.err = notObserved("deployment of " + cl.Name)
		}
		return r
	}
	var r depObs
	if _, r.clientErr = o.live.ps.r.CloudClient(o.live.ps.set, cl); r.clientErr == nil {
		r.dep, r.err = o.live.ps.deployment(o.live.ctx, cl)
	}
	o.deps[cl.Name] = r
	return r
}

func (o *trustObservation) organizations(cl *spec.Cluster) idsObs {
	key := controlPlane(cl)
	if r, ok := o.orgs[key]; ok || o.live == nil {
		if !ok {
			r.err = notObserved("organizations of " + cl.Name)
		}
		return r
	}
	var r idsObs
	c, err := o.live.ps.r.CloudClient(o.live.ps.set, cl)
	if err == nil {
		var orgs []world.Organization
		orgs, err = c.Organizations(o.live.ctx)
		for _, org := range orgs {
			r.ids = append(r.ids, org.ID)
		}
	}
	r.err = err
	o.orgs[key] = r
	return r
}

// relations are an ECE control plane's trust relationships: with
// local, the list that carries the local one's CA (read for the
// environment's identity), else the plain list (for external entries).
func (o *trustObservation) relations(cl *spec.Cluster, local bool) relObs {
	key, m := controlPlane(cl), o.rels
	if local {
		m = o.localRels
	}
	if r, ok := m[key]; ok || o.live == nil {
		if !ok {
			r.err = notObserved("trust relationships of " + cl.Name)
		}
		return r
	}
	var r relObs
	c, err := o.live.ps.r.CloudClient(o.live.ps.set, cl)
	if err == nil {
		r.rels, err = c.TrustRelationships(o.live.ctx, local, local)
	}
	r.err = err
	m[key] = r
	return r
}

func (o *trustObservation) certificateAuthority(cl *spec.Cluster) idsObs {
	id := cl.Deployment.ID
	if r, ok := o.cas[id]; ok || o.live == nil {
		if !ok {
			r.err = notObserved("certificate authority of " + cl.Name)
		}
		return r
	}
	var r idsObs
	c, err := o.live.ps.r.CloudClient(o.live.ps.set, cl)
	if err == nil {
		var cas []world.CACert
		cas, err = c.CertificateAuthority(o.live.ctx, id)
		for _, ca := range cas {
			r.ids = append(r.ids, ca.PEM)
		}
	}
	r.err = err
	o.cas[id] = r
	return r
}

func (o *trustObservation) caFile(te *spec.TrustedEnvironment) ([]byte, error) {
	key := te.Name + "\x00" + te.CAFile
	r, ok := o.caFiles[key]
	if !ok && o.live == nil {
		return nil, notObserved("ca_file " + te.CAFile)
	}
	if !ok {
		b, err := readCA(o.live.ps.set, te, te.CAFile)
		r = idsObs{ids: []string{string(b)}, err: err}
		o.caFiles[key] = r
	}
	if r.err != nil {
		return nil, r.err
	}
	return []byte(r.ids[0]), nil
}

// trustLedger is the ledger's part of the trust decision.
type trustLedger interface {
	TrustEntries(deployment string) []string
	Trust(deployment, key string) *Record
}

// trustInput is everything decideTrust decides from.
type trustInput struct {
	set    *spec.Set
	scoped bool   // a --only pass: no removals, no TrustedEnvironment
	only   string // the connection a --only pass is restricted to
	obs    *trustObservation
	ledger trustLedger
	now    time.Time
}
