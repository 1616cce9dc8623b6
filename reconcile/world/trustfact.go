package world

// TrustFact is a fact the trust decision asks the observe stage for
// (decide.TrustQuestion): what is read, of which cluster or trusted
// environment the question says.
type TrustFact string

// The facts the trust rules ask for.
const (
	FactDeployment           TrustFact = "deployment"            // GET /deployments/{id} of Cluster
	FactOrganizations        TrustFact = "organizations"         // ECH: GET /organizations of Cluster's control plane
	FactLocalRelations       TrustFact = "local_relations"       // ECE: this environment's trust relationship, with its CA
	FactRelations            TrustFact = "relations"             // ECE: every trust relationship
	FactCertificateAuthority TrustFact = "certificate_authority" // ECH: the deployment's CAs
	FactCAFile               TrustFact = "ca_file"               // a TrustedEnvironment's ca_file (Env)
)

// TrustAnswer is what reading a trust fact gave: Dep for FactDeployment,
// Rels for the relations, IDs for the others.
type TrustAnswer struct {
	Dep  DepObs
	IDs  IDsObs
	Rels RelObs
}

// DepObs is a deployment as read, or why it could not be.
type DepObs struct {
	Dep       *Deployment
	ClientErr error // no client for the control plane (credentials, ca_file)
	Err       error
}

// IDsObs is a list of identifiers or PEMs as read, or why it could not be.
type IDsObs struct {
	IDs []string
	Err error
}

// RelObs is an ECE control plane's trust relationships as read.
type RelObs struct {
	Rels []TrustRelationship
	Err  error
}
