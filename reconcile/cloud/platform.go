package cloud

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// CertificateAuthority lists the CA certificates of a deployment
// (GET /deployments/{id}/certificate-authority, the same path on ECH and
// ECE). For ECE trusting ECH, every PEM belongs in the direct entry, since
// CAs rotate. On ECE the environment CA for ECH trust is better taken from
// TrustRelationships(ctx, true, true) (cloud-api.md §4.2).
func (c *Client) CertificateAuthority(ctx context.Context, deploymentID string) ([]CACert, error) {
	var out struct {
		PublicCertificates []CACert `json:"public_certificates"`
	}
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/deployments/" + pathEscape(deploymentID) + "/certificate-authority", out: &out})
	if err != nil {
		return nil, fmt.Errorf("get certificate authority of deployment %s: %w", deploymentID, err)
	}
	return out.PublicCertificates, nil
}

// TrustRelationships lists the ECE platform trust relationships
// (GET /regions/{region}/platform/configuration/trust-relationships).
// localOnly asks for this environment's own entry (filter=local);
// includeCertificate asks for public_ca_cert. ECE only.
func (c *Client) TrustRelationships(ctx context.Context, localOnly, includeCertificate bool) ([]TrustRelationship, error) {
	if c.platform != ECE {
		return nil, errors.New("list trust relationships: only ECE has platform trust relationships")
	}
	filter := "all"
	if localOnly {
		filter = "local"
	}
	var out struct {
		TrustRelationships []TrustRelationship `json:"trust_relationships"`
	}
	_, err := c.do(ctx, request{
		method: http.MethodGet,
		path:   "/regions/" + pathEscape(c.region) + "/platform/configuration/trust-relationships",
		query:  url.Values{"filter": {filter}, "include_certificate": {strconv.FormatBool(includeCertificate)}},
		out:    &out,
	})
	if err != nil {
		return nil, fmt.Errorf("list trust relationships: %w", err)
	}
	return out.TrustRelationships, nil
}

// Organizations lists the organizations the API key belongs to (GET
// /organizations; only the first page). ECH only.
func (c *Client) Organizations(ctx context.Context) ([]Organization, error) {
	if c.platform != ECH {
		return nil, errors.New("list organizations: only ECH has organizations")
	}
	var out struct {
		Organizations []Organization `json:"organizations"`
	}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/organizations", out: &out}); err != nil {
		return nil, fmt.Errorf("list organizations: %w", err)
	}
	return out.Organizations, nil
}

// RemoteCluster is one entry of a deployment's Cloud-API remote clusters
// (same-environment certificate links only; cross-environment links live
// in the cluster settings).
type RemoteCluster struct {
	Alias              string             `json:"alias"`
	DeploymentID       string             `json:"deployment_id"`
	ElasticsearchRefID string             `json:"elasticsearch_ref_id"`
	SkipUnavailable    bool               `json:"skip_unavailable"`
	Info               *RemoteClusterInfo `json:"info,omitempty"`
}

// RemoteClusterInfo is the read-only state of a RemoteCluster.
type RemoteClusterInfo struct {
	Healthy     bool `json:"healthy"`
	Connected   bool `json:"connected"`
	Compatible  bool `json:"compatible"`
	Trusted     bool `json:"trusted"`
	TrustedBack bool `json:"trusted_back"`
}

// RemoteClusters reads GET /deployments/{id}/elasticsearch/{ref_id}/remote-clusters.
// There is deliberately no write: its PUT replaces the whole list.
func (c *Client) RemoteClusters(ctx context.Context, deploymentID, refID string) ([]RemoteCluster, error) {
	if refID == "" {
		refID = "_main"
	}
	var out struct {
		Resources []RemoteCluster `json:"resources"`
	}
	path := "/deployments/" + pathEscape(deploymentID) + "/elasticsearch/" + pathEscape(refID) + "/remote-clusters"
	if _, err := c.do(ctx, request{method: http.MethodGet, path: path, out: &out}); err != nil {
		return nil, fmt.Errorf("get remote clusters of %s/%s: %w", deploymentID, refID, err)
	}
	return out.Resources, nil
}
