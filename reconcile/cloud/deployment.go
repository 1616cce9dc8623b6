package cloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// deploymentResponse is the part of DeploymentGetResponse esremote reads.
type deploymentResponse struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Healthy  bool   `json:"healthy"`
	Metadata struct {
		OrganizationID string `json:"organization_id"`
	} `json:"metadata"`
	Resources struct {
		Elasticsearch []struct {
			RefID  string `json:"ref_id"`
			ID     string `json:"id"`
			Region string `json:"region"`
			Info   struct {
				ClusterID string `json:"cluster_id"`
				Healthy   bool   `json:"healthy"`
				Status    string `json:"status"`
				Metadata  struct {
					Endpoint   string `json:"endpoint"`
					ServiceURL string `json:"service_url"`
					Ports      struct {
						TransportPassthrough int `json:"transport_passthrough"`
					} `json:"ports"`
				} `json:"metadata"`
				PlanInfo struct {
					Current struct {
						Plan json.RawMessage `json:"plan"`
					} `json:"current"`
					Pending json.RawMessage `json:"pending"`
				} `json:"plan_info"`
				Settings struct {
					Trust    json.RawMessage `json:"trust"`
					Metadata struct {
						OrganizationID string `json:"organization_id"`
					} `json:"metadata"`
				} `json:"settings"`
			} `json:"info"`
		} `json:"elasticsearch"`
	} `json:"resources"`
}

// Deployment reads a deployment with its settings (trust), plans and
// metadata (endpoint). clear_transient=true makes the plan safe to send
// back in an update.
func (c *Client) Deployment(ctx context.Context, id string) (*Deployment, error) {
	if id == "" {
		return nil, errors.New("get deployment: empty id")
	}
	var raw json.RawMessage
	hdr, err := c.do(ctx, request{
		method: http.MethodGet,
		path:   "/deployments/" + pathEscape(id),
		query: url.Values{
			"show_settings":   {"true"},
			"show_plans":      {"true"},
			"show_metadata":   {"true"},
			"clear_transient": {"true"},
		},
		out: &raw,
	})
	if err != nil {
		return nil, fmt.Errorf("get deployment %s: %w", id, err)
	}
	d, err := parseDeployment(raw)
	if err != nil {
		return nil, fmt.Errorf("get deployment %s: %w", id, err)
	}
	d.ResourceVersion = hdr.Get("x-cloud-resource-version")
	return d, nil
}

// parseDeployment decodes a DeploymentGetResponse body.
func parseDeployment(raw json.RawMessage) (*Deployment, error) {
	var r deploymentResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("decode deployment: %w", err)
	}
	d := &Deployment{ID: r.ID, Name: r.Name, Healthy: r.Healthy, OrganizationID: r.Metadata.OrganizationID, Raw: raw}
	for i, es := range r.Resources.Elasticsearch {
		res := ESResource{
			RefID:          es.RefID,
			Region:         es.Region,
			ClusterID:      es.Info.ClusterID,
			Endpoint:       es.Info.Metadata.Endpoint,
			ServiceURL:     es.Info.Metadata.ServiceURL,
			TransportPort:  es.Info.Metadata.Ports.TransportPassthrough,
			Status:         es.Info.Status,
			Healthy:        es.Info.Healthy,
			PendingPlan:    present(es.Info.PlanInfo.Pending),
			OrganizationID: es.Info.Settings.Metadata.OrganizationID,
		}
		if res.ClusterID == "" {
			res.ClusterID = es.ID
		}
		if present(es.Info.PlanInfo.Current.Plan) {
			res.PlanRaw = es.Info.PlanInfo.Current.Plan
			var p struct {
				Elasticsearch struct {
					Version string `json:"version"`
				} `json:"elasticsearch"`
			}
			if err := json.Unmarshal(res.PlanRaw, &p); err != nil {
				return nil, fmt.Errorf("elasticsearch %s: decode plan: %w", es.RefID, err)
			}
			res.Version = p.Elasticsearch.Version
		}
		if present(es.Info.Settings.Trust) {
			res.TrustRaw = es.Info.Settings.Trust
			t, err := ParseTrust(res.TrustRaw)
			if err != nil {
				return nil, fmt.Errorf("elasticsearch %s: %w", es.RefID, err)
			}
			res.Trust = t
		}
		if res.RefID == "" {
			return nil, fmt.Errorf("elasticsearch resource %d has no ref_id", i)
		}
		d.Elasticsearch = append(d.Elasticsearch, res)
	}
	return d, nil
}

// present reports whether a raw member was there and not null.
func present(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && string(raw) != "null"
}

// UpdateTrust replaces settings.trust of one Elasticsearch resource of d
// with trust, and nothing else:
//
//	PUT /deployments/{id}?version=<d.ResourceVersion>
//	{"prune_orphans":false,"resources":{"elasticsearch":[{"ref_id":…,"region":…,
//	  "plan":<current plan verbatim>,"settings":{"trust":<trust>}}]}}
//
// d must come from Deployment (it supplies the version, region and plan).
// The plan and every trust entry the caller left unchanged are sent
// byte-for-byte as read; see Trust for how entries are encoded. Other
// resources and other settings are left out, which the API keeps as they
// are.
//
// Errors: ErrPlanPending (wrapped) when d shows a plan change in progress;
// an *Error for which IsConflict is true when the deployment changed since
// d was read (re-read and try again). The call is idempotent. Transient
// failures are retried with the same version; if a first attempt was
// applied but its answer lost, the retry sees a conflict, and the re-read
// shows the trust already in place.
func (c *Client) UpdateTrust(ctx context.Context, d *Deployment, refID string, trust Trust) error {
	if d == nil {
		return errors.New("update trust: nil deployment")
	}
	res, err := d.ES(refID)
	if err != nil {
		return fmt.Errorf("update trust: %w", err)
	}
	if res.PendingPlan {
		return fmt.Errorf("update trust of deployment %s/%s: %w", d.ID, res.RefID, ErrPlanPending)
	}
	if d.ResourceVersion == "" {
		return fmt.Errorf("update trust of deployment %s/%s: the deployment was read without x-cloud-resource-version; refusing to write without concurrency control", d.ID, res.RefID)
	}
	if !present(res.PlanRaw) {
		return fmt.Errorf("update trust of deployment %s/%s: no current plan to send back", d.ID, res.RefID)
	}
	if res.Region == "" {
		return fmt.Errorf("update trust of deployment %s/%s: the resource has no region", d.ID, res.RefID)
	}
	body, err := updateTrustBody(res, trust)
	if err != nil {
		return fmt.Errorf("update trust of deployment %s/%s: %w", d.ID, res.RefID, err)
	}
	_, err = c.do(ctx, request{
		method: http.MethodPut,
		path:   "/deployments/" + pathEscape(d.ID),
		query:  url.Values{"version": {d.ResourceVersion}},
		body:   body,
		out:    &json.RawMessage{},
	})
	if err != nil {
		return fmt.Errorf("update trust of deployment %s/%s: %w", d.ID, res.RefID, err)
	}
	return nil
}

// updateTrustBody builds the DeploymentUpdateRequest by hand so that the
// plan and the unchanged entries keep their exact bytes.
func updateTrustBody(res *ESResource, trust Trust) ([]byte, error) {
	t, err := trust.MarshalJSON()
	if err != nil {
		return nil, err
	}
	ref, _ := marshal(res.RefID)
	region, _ := marshal(res.Region)
	var b bytes.Buffer
	b.WriteString(`{"prune_orphans":false,"resources":{"elasticsearch":[{"ref_id":`)
	b.Write(ref)
	b.WriteString(`,"region":`)
	b.Write(region)
	b.WriteString(`,"plan":`)
	b.Write(bytes.TrimSpace(res.PlanRaw))
	b.WriteString(`,"settings":{"trust":`)
	b.Write(t)
	b.WriteString(`}}]}}`)
	if !json.Valid(b.Bytes()) {
		return nil, errors.New("built an invalid request body")
	}
	return b.Bytes(), nil
}
