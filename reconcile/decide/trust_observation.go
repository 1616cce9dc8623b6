package decide

import (
	"fmt"
	"time"

	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// TrustObservation is the Snapshot's part of the trust decision: every
// read the trust rules rely on, by what was read. What the rules need
// depends on what earlier reads returned (a deployment's organization, an
// environment's installation id), so it is observed by demand: planTrust
// first runs the rules against a live reader, which reads each thing once
// and records it, then freezes the record and decides from it alone
// (decideTrust). A frozen observation never reads: a question it has no
// answer for is an error, never a request.
type TrustObservation struct {
	Live TrustReader // nil when frozen

	Deps      map[string]DepObs // deployment GET, by cluster name
	Orgs      map[string]IDsObs // ECH: organizations of the API key, by control plane
	LocalRels map[string]RelObs // ECE: trust relationships with the local one's CA, by control plane
	rels      map[string]RelObs // ECE: every trust relationship, by control plane
	CAs       map[string]IDsObs // ECH: CA PEMs of a deployment, by deployment ID
	caFiles   map[string]IDsObs // a TrustedEnvironment's ca_file (one element: its bytes), by name and path
}

type DepObs struct {
	Dep       *world.Deployment
	ClientErr error // no client for the control plane (credentials, ca_file)
	Err       error
}

type IDsObs struct {
	IDs []string
	Err error
}

type RelObs struct {
	Rels []world.TrustRelationship
	Err  error
}

// TrustReader reads for a trustObservation that is not frozen: each
// question once, the observation records the answer.
type TrustReader interface {
	ReadDeployment(cl *spec.Cluster) DepObs
	ReadOrganizations(cl *spec.Cluster) IDsObs
	ReadRelations(cl *spec.Cluster, local bool) RelObs
	ReadCertificateAuthority(cl *spec.Cluster) IDsObs
	ReadCAFile(te *spec.TrustedEnvironment) IDsObs
}

func NewTrustObservation(live TrustReader) *TrustObservation {
	return &TrustObservation{Live: live, Deps: map[string]DepObs{}, Orgs: map[string]IDsObs{}, LocalRels: map[string]RelObs{},
		rels: map[string]RelObs{}, CAs: map[string]IDsObs{}, caFiles: map[string]IDsObs{}}
}

// ControlPlane is the key of a control plane's reads.
func ControlPlane(cl *spec.Cluster) string {
	return string(cl.Deployment.Platform) + " " + cl.Deployment.API
}

// notObserved is the answer of a frozen observation to a new question.
func notObserved(what string) error {
	return fmt.Errorf("%s was not observed this pass", what)
}

func (o *TrustObservation) Deployment(cl *spec.Cluster) DepObs {
	if r, ok := o.Deps[cl.Name]; ok || o.Live == nil {
		if !ok {
			r.Err = notObserved("deployment of " + cl.Name)
		}
		return r
	}
	r := o.Live.ReadDeployment(cl)
	o.Deps[cl.Name] = r
	return r
}

func (o *TrustObservation) Organizations(cl *spec.Cluster) IDsObs {
	key := ControlPlane(cl)
	if r, ok := o.Orgs[key]; ok || o.Live == nil {
		if !ok {
			r.Err = notObserved("organizations of " + cl.Name)
		}
		return r
	}
	r := o.Live.ReadOrganizations(cl)
	o.Orgs[key] = r
	return r
}

// Relations are an ECE control plane's trust relationships: with
// local, the list that carries the local one's CA (read for the
// environment's identity), else the plain list (for external entries).
func (o *TrustObservation) Relations(cl *spec.Cluster, local bool) RelObs {
	key, m := ControlPlane(cl), o.rels
	if local {
		m = o.LocalRels
	}
	if r, ok := m[key]; ok || o.Live == nil {
		if !ok {
			r.Err = notObserved("trust relationships of " + cl.Name)
		}
		return r
	}
	r := o.Live.ReadRelations(cl, local)
	m[key] = r
	return r
}

func (o *TrustObservation) CertificateAuthority(cl *spec.Cluster) IDsObs {
	id := cl.Deployment.ID
	if r, ok := o.CAs[id]; ok || o.Live == nil {
		if !ok {
			r.Err = notObserved("certificate authority of " + cl.Name)
		}
		return r
	}
	r := o.Live.ReadCertificateAuthority(cl)
	o.CAs[id] = r
	return r
}

func (o *TrustObservation) CAFile(te *spec.TrustedEnvironment) ([]byte, error) {
	key := te.Name + "\x00" + te.CAFile
	r, ok := o.caFiles[key]
	if !ok && o.Live == nil {
		return nil, notObserved("ca_file " + te.CAFile)
	}
	if !ok {
		r = o.Live.ReadCAFile(te)
		o.caFiles[key] = r
	}
	if r.Err != nil {
		return nil, r.Err
	}
	return []byte(r.IDs[0]), nil
}

// trustLedger is the ledger's part of the trust decision.
type trustLedger interface {
	TrustEntries(deployment string) []string
	Trust(deployment, key string) *ledger.Record
}

// TrustInput is everything decideTrust decides from.
type TrustInput struct {
	Set    *spec.Set
	Scoped bool   // a --only pass: no removals, no TrustedEnvironment
	Only   string // the connection a --only pass is restricted to
	Obs    *TrustObservation
	Ledger trustLedger
	Now    time.Time
}
