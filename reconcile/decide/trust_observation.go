package decide

import (
	"fmt"
	"time"

	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// TrustObservation is the Snapshot's part of the trust decision: every
// fact the trust rules rely on, by what was read. It is plain data, and
// DecideTrust never reads: a question it has no answer for is an error in
// the decision and a TrustQuestion in the plan's Missing. What the rules
// need depends on what earlier facts said (a deployment's organization, an
// environment's installation id), so the observe stage reads in rounds: it
// decides from what it has, reads what the plan says is Missing, records
// the answers (Record) and decides again, until nothing is missing.
type TrustObservation struct {
	Deps      map[string]DepObs // deployment GET, by cluster name
	Orgs      map[string]IDsObs // ECH: organizations of the API key, by control plane
	LocalRels map[string]RelObs // ECE: trust relationships with the local one's CA, by control plane
	Rels      map[string]RelObs // ECE: every trust relationship, by control plane
	CAs       map[string]IDsObs // ECH: CA PEMs of a deployment, by deployment ID
	CAFiles   map[string]IDsObs // a TrustedEnvironment's ca_file (one element: its bytes), by name and path
}

// The trust facts as read are package world's: the observe stage reads
// them (observe.TrustFact) without this package.
type (
	DepObs      = world.DepObs
	IDsObs      = world.IDsObs
	RelObs      = world.RelObs
	TrustFact   = world.TrustFact
	TrustAnswer = world.TrustAnswer
)

// The facts the trust rules ask for (world's).
const (
	FactDeployment           = world.FactDeployment
	FactOrganizations        = world.FactOrganizations
	FactLocalRelations       = world.FactLocalRelations
	FactRelations            = world.FactRelations
	FactCertificateAuthority = world.FactCertificateAuthority
	FactCAFile               = world.FactCAFile
)

// TrustQuestion is a fact the trust decision asked for and the
// observation did not hold. It stays here, not in world: it names the
// spec's clusters and environments, which world does not know; the
// observe stage reads it by its parts (observe.TrustFact).
type TrustQuestion struct {
	Fact    TrustFact
	Cluster *spec.Cluster            // every fact but FactCAFile
	Env     *spec.TrustedEnvironment // FactCAFile
}

// key is where the answer to q is kept.
func (q TrustQuestion) key() string {
	switch q.Fact {
	case FactDeployment:
		return q.Cluster.Name
	case FactCertificateAuthority:
		return q.Cluster.Deployment.ID
	case FactCAFile:
		return q.Env.Name + "\x00" + q.Env.CAFile
	}
	return ControlPlane(q.Cluster)
}

// NewTrustObservation returns an observation that holds nothing yet.
func NewTrustObservation() *TrustObservation {
	return &TrustObservation{Deps: map[string]DepObs{}, Orgs: map[string]IDsObs{}, LocalRels: map[string]RelObs{},
		Rels: map[string]RelObs{}, CAs: map[string]IDsObs{}, CAFiles: map[string]IDsObs{}}
}

// Record keeps the answer to q.
func (o *TrustObservation) Record(q TrustQuestion, a TrustAnswer) {
	k := q.key()
	switch q.Fact {
	case FactDeployment:
		o.Deps[k] = a.Dep
	case FactOrganizations:
		o.Orgs[k] = a.IDs
	case FactLocalRelations:
		o.LocalRels[k] = a.Rels
	case FactRelations:
		o.Rels[k] = a.Rels
	case FactCertificateAuthority:
		o.CAs[k] = a.IDs
	case FactCAFile:
		o.CAFiles[k] = a.IDs
	}
}

// holds reports whether the observation answers q.
func (o *TrustObservation) holds(q TrustQuestion) bool {
	var ok bool
	k := q.key()
	switch q.Fact {
	case FactDeployment:
		_, ok = o.Deps[k]
	case FactOrganizations:
		_, ok = o.Orgs[k]
	case FactLocalRelations:
		_, ok = o.LocalRels[k]
	case FactRelations:
		_, ok = o.Rels[k]
	case FactCertificateAuthority:
		_, ok = o.CAs[k]
	case FactCAFile:
		_, ok = o.CAFiles[k]
	}
	return ok
}

// ControlPlane is the key of a control plane's reads.
func ControlPlane(cl *spec.Cluster) string {
	return string(cl.Deployment.Platform) + " " + cl.Deployment.API
}

// notObserved is the answer of the observation to a question it holds no
// answer for.
func notObserved(what string) error {
	return fmt.Errorf("%s was not observed this pass", what)
}

// Deployment is the deployment of cl as read.
func (o *TrustObservation) Deployment(cl *spec.Cluster) DepObs {
	r, ok := o.Deps[cl.Name]
	if !ok {
		r.Err = notObserved("deployment of " + cl.Name)
	}
	return r
}

// Organizations are the organizations of cl's control plane (ECH).
func (o *TrustObservation) Organizations(cl *spec.Cluster) IDsObs {
	r, ok := o.Orgs[ControlPlane(cl)]
	if !ok {
		r.Err = notObserved("organizations of " + cl.Name)
	}
	return r
}

// Relations are an ECE control plane's trust relationships: with
// local, the list that carries the local one's CA (read for the
// environment's identity), else the plain list (for external entries).
func (o *TrustObservation) Relations(cl *spec.Cluster, local bool) RelObs {
	m := o.Rels
	if local {
		m = o.LocalRels
	}
	r, ok := m[ControlPlane(cl)]
	if !ok {
		r.Err = notObserved("trust relationships of " + cl.Name)
	}
	return r
}

// CertificateAuthority are the CA PEMs of cl's deployment (ECH).
func (o *TrustObservation) CertificateAuthority(cl *spec.Cluster) IDsObs {
	r, ok := o.CAs[cl.Deployment.ID]
	if !ok {
		r.Err = notObserved("certificate authority of " + cl.Name)
	}
	return r
}

// CAFile is the content of a TrustedEnvironment's ca_file.
func (o *TrustObservation) CAFile(te *spec.TrustedEnvironment) ([]byte, error) {
	r, ok := o.CAFiles[te.Name+"\x00"+te.CAFile]
	if !ok {
		return nil, notObserved("ca_file " + te.CAFile)
	}
	if r.Err != nil {
		return nil, r.Err
	}
	return []byte(r.IDs[0]), nil
}

// ask notes q as Missing when the observation does not hold it: what the
// observe stage reads next.
func (tb *TrustBuilder) ask(q TrustQuestion) {
	if tb.Input.Obs.holds(q) {
		return
	}
	k := string(q.Fact) + " " + q.key()
	if tb.asked[k] {
		return
	}
	if tb.asked == nil {
		tb.asked = map[string]bool{}
	}
	tb.asked[k] = true
	tb.Plan.Missing = append(tb.Plan.Missing, q)
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
