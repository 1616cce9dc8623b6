package sim

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// cloudHandler serves one simulated control plane (ECH or ECE).
type cloudHandler struct {
	w        *World
	platform string
}

// cloudError is a BasicFailedReply (cloud-api.md §8.1).
func writeCloudError(rw http.ResponseWriter, status int, code, message string, fields ...string) {
	rw.Header().Set("x-cloud-error-codes", code)
	var f any
	if len(fields) > 0 {
		f = fields
	}
	writeJSON(rw, status, map[string]any{"errors": []any{map[string]any{"code": code, "message": message, "fields": f}}})
}

func (h *cloudHandler) routes(add func(pattern string, fn http.HandlerFunc)) {
	add("GET /api/v1/deployments/{id}", h.auth(h.getDeployment))
	add("PUT /api/v1/deployments/{id}", h.auth(h.putDeployment))
	add("GET /api/v1/deployments/{id}/elasticsearch/{ref}/keystore", h.auth(h.getKeystore))
	add("PATCH /api/v1/deployments/{id}/elasticsearch/{ref}/keystore", h.auth(h.patchKeystore))
	add("GET /api/v1/deployments/{id}/certificate-authority", h.auth(h.getCA))
	add("GET /api/v1/deployments/{id}/elasticsearch/{ref}/remote-clusters", h.auth(h.getRemoteClusters))
	add("GET /api/v1/trusted-environments", h.auth(h.getTrustedEnvironments))
	if h.platform == PlatformECE {
		add("GET /api/v1/platform/configuration/trust-relationships", h.auth(h.listTrustRelationships))
		add("GET /api/v1/regions/{region}/platform/configuration/trust-relationships", h.auth(h.listTrustRelationships))
		add("GET /api/v1/platform/configuration/trust-relationships/{tr}", h.auth(h.getTrustRelationship))
		add("GET /api/v1/regions/{region}/platform/configuration/trust-relationships/{tr}", h.auth(h.getTrustRelationship))
	} else {
		add("GET /api/v1/organizations", h.auth(h.organizations))
	}
	add("/", h.auth(func(rw http.ResponseWriter, r *http.Request, _ *controlPlane) {
		writeCloudError(rw, 404, "root.resource_not_found", "The requested resource could not be found")
	}))
}

type cloudFunc func(rw http.ResponseWriter, r *http.Request, cp *controlPlane)

// auth checks the Cloud API key (and Basic on ECE), counts the request
// against the rate limit and runs fn with the world locked.
func (h *cloudHandler) auth(fn cloudFunc) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		h.w.mu.Lock()
		defer h.w.mu.Unlock()
		cp := h.w.controlPlanes[h.platform]
		if h.platform == PlatformECH {
			now := h.w.now()
			if now.Sub(cp.windowStart) >= cp.rateInterval {
				cp.windowStart, cp.used = now, 0
			}
			cp.used++
			remaining := max(cp.spec.RateLimit-cp.used, 0)
			if requestFault(r).rateLimited {
				remaining = 0
			}
			rw.Header().Set("x-ratelimit-limit", strconv.Itoa(cp.spec.RateLimit))
			rw.Header().Set("x-ratelimit-remaining", strconv.Itoa(remaining))
			rw.Header().Set("x-ratelimit-interval", cp.rateInterval.String())
			if cp.used > cp.spec.RateLimit {
				writeCloudError(rw, 429, "root.rate_limited", "Too many requests. Please retry later.")
				return
			}
		}
		if !h.authorized(cp, r) {
			writeCloudError(rw, 401, "root.unauthorized", "Credentials were invalid.")
			return
		}
		fn(rw, r, cp)
	}
}

func (h *cloudHandler) authorized(cp *controlPlane, r *http.Request) bool {
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	switch strings.ToLower(scheme) {
	case "apikey":
		return subtle.ConstantTimeCompare([]byte(cred), []byte(cp.spec.APIKey)) == 1
	case "basic":
		if h.platform != PlatformECE || cp.spec.Username == "" {
			return false
		}
		raw, err := base64.StdEncoding.DecodeString(cred)
		return err == nil && string(raw) == cp.spec.Username+":"+cp.spec.Password
	}
	return false
}

func (h *cloudHandler) deployment(rw http.ResponseWriter, r *http.Request) *cluster {
	id := r.PathValue("id")
	c := h.w.clusterByDeployment(h.platform, id)
	if c == nil {
		writeCloudError(rw, 404, "deployments.deployment_not_found", fmt.Sprintf("No Deployment with id [%s] could be found", id))
	}
	return c
}

func (h *cloudHandler) resource(rw http.ResponseWriter, r *http.Request) *cluster {
	c := h.deployment(rw, r)
	if c == nil {
		return nil
	}
	if ref := r.PathValue("ref"); ref != c.RefID && ref != "_main" {
		writeCloudError(rw, 404, "deployments.deployment_resource_not_found",
			fmt.Sprintf("Deployment [%s] has no elasticsearch resource with ref_id [%s]", c.DeploymentID, ref))
		return nil
	}
	return c
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func setResourceHeaders(rw http.ResponseWriter, c *cluster) {
	rw.Header().Set("x-cloud-resource-version", strconv.Itoa(c.resourceVersion))
	rw.Header().Set("x-cloud-resource-created", stamp(c.lastModified))
	rw.Header().Set("x-cloud-resource-last-modified", stamp(c.lastModified))
}

func defaultPlan(version, platform string) json.RawMessage {
	ic := "aws.es.datahot.i3"
	if platform == PlatformECE {
		ic = "data.default"
	}
	plan := map[string]any{
		"autoscaling_enabled": false,
		"cluster_topology": []any{map[string]any{
			"id": "hot_content", "instance_configuration_id": ic, "instance_configuration_version": 1,
			"node_roles":    []any{"master", "ingest", "transform", "data_hot", "remote_cluster_client", "data_content"},
			"size":          map[string]any{"resource": "memory", "value": 8192},
			"zone_count":    2,
			"elasticsearch": map[string]any{"node_attributes": map[string]any{"data": "hot"}},
		}},
		"deployment_template": map[string]any{"id": "aws-storage-optimized"},
		"elasticsearch":       map[string]any{"version": version},
	}
	b, _ := json.Marshal(plan)
	return b
}

// deploymentView renders DeploymentGetResponse (cloud-api.md §2.1) with
// the same shape as fixtures/cloud-api/deployment-get-ech.json.
func (h *cloudHandler) deploymentView(c *cluster, cp *controlPlane, showSettings, showPlans bool) map[string]any {
	https := 443
	if c.Platform == PlatformECE {
		https = 9243
	}
	owner := derivedHex("owner", cp.scope())[:9]
	info := map[string]any{
		"cluster_id": c.ClusterID, "cluster_name": c.Name, "deployment_id": c.DeploymentID,
		"healthy": true, "status": "started", "locked": false, "region": c.Region,
		"associated_apm_clusters": []any{}, "associated_appsearch_clusters": []any{},
		"associated_enterprise_search_clusters": []any{}, "associated_kibana_clusters": []any{},
		"external_links": []any{},
		"elasticsearch": map[string]any{"healthy": true, "shards_status": map[string]any{"status": "green"},
			"master_info": map[string]any{"healthy": true, "instances_with_no_master": []any{}, "masters": []any{}}},
		"metadata": map[string]any{
			"endpoint":         c.endpoint,
			"aliased_endpoint": c.Name + "." + strings.TrimPrefix(c.endpoint, c.ClusterID+"."),
			"aliased_url":      "https://" + c.Name + "." + strings.TrimPrefix(c.endpoint, c.ClusterID+"."),
			"service_url":      "https://" + c.endpoint,
			"cloud_id":         c.Name + ":" + base64.StdEncoding.EncodeToString([]byte(strings.TrimPrefix(c.endpoint, c.ClusterID+".")+":443$"+c.ClusterID+"$"+derivedHex("kibana", c.Name))),
			"ports":            map[string]any{"http": 9200, "https": https, "transport_passthrough": PortProxyCertificate},
			"services_urls":    nil,
			"version":          c.resourceVersion,
			"last_modified":    stamp(c.lastModified),
		},
	}
	if showPlans {
		info["plan_info"] = map[string]any{
			"healthy": true, "history": []any{},
			"current": map[string]any{
				"plan": c.plan, "healthy": true, "plan_attempt_id": derivedHex("attempt", fmt.Sprint(c.Name, c.resourceVersion)),
				"attempt_start_time": stamp(c.lastModified), "attempt_end_time": stamp(c.lastModified),
				"plan_end_time": "0001-01-01T00:00:00.000Z", "plan_attempt_log": []any{}, "warnings": []any{},
				"source": map[string]any{"action": "deployments.update-deployment", "date": stamp(c.lastModified),
					"facilitator": "adminconsole", "remote_addresses": []any{}, "user_id": owner},
			},
		}
	}
	if showSettings {
		meta := map[string]any{"name": c.Name, "owner_id": owner, "hidden": false,
			"subscription_level": "standard", "system_owned": false}
		if c.Platform == PlatformECH {
			meta["organization_id"] = cp.spec.OrganizationID
		}
		info["settings"] = map[string]any{
			"metadata": meta, "trust": c.trust, "dedicated_masters_threshold": 6,
			"curation": map[string]any{"specs": []any{}},
			"snapshot": map[string]any{"enabled": true, "slm": true, "suspended": []any{}},
		}
	}
	dmeta := map[string]any{
		"hidden": false, "last_modified": stamp(c.lastModified), "last_resource_plan_modified": stamp(c.lastModified),
		"owner_id": owner, "subscription_level": "standard", "system_owned": false, "tags": nil,
	}
	if c.Platform == PlatformECH {
		dmeta["organization_id"] = cp.spec.OrganizationID
	}
	return map[string]any{
		"id": c.DeploymentID, "name": c.Name, "alias": c.Name, "healthy": true, "metadata": dmeta,
		"resources": map[string]any{
			"elasticsearch": []any{map[string]any{"id": c.ClusterID, "ref_id": c.RefID, "region": c.Region, "info": info}},
			"kibana":        []any{}, "apm": []any{}, "appsearch": []any{}, "enterprise_search": []any{}, "integrations_server": []any{},
		},
	}
}

func (h *cloudHandler) getDeployment(rw http.ResponseWriter, r *http.Request, cp *controlPlane) {
	c := h.deployment(rw, r)
	if c == nil {
		return
	}
	showPlans := r.URL.Query().Get("show_plans") != "false"
	setResourceHeaders(rw, c)
	writeJSON(rw, 200, h.deploymentView(c, cp, boolParam(r, "show_settings"), showPlans))
}

// putDeployment is update-deployment (cloud-api.md §3.1): prune_orphans
// and the ES plan are required, trust is replaced whole, and a stale
// ?version= gets 409 (the code is not documented; see README.md).
func (h *cloudHandler) putDeployment(rw http.ResponseWriter, r *http.Request, cp *controlPlane) {
	c := h.deployment(rw, r)
	if c == nil {
		return
	}
	if v := r.URL.Query().Get("version"); v != "" && v != strconv.Itoa(c.resourceVersion) {
		writeCloudError(rw, 409, "deployments.version_conflict",
			fmt.Sprintf("The deployment version [%s] does not match the current version [%d]", v, c.resourceVersion))
		return
	}
	invalid := func(field, msg string) {
		writeCloudError(rw, 400, "root.invalid_json_request", "JSON request does not comply with schema: "+msg, field)
	}
	body, _ := io.ReadAll(r.Body)
	var req struct {
		PruneOrphans *bool `json:"prune_orphans"`
		Resources    *struct {
			Elasticsearch []struct {
				RefID    string                     `json:"ref_id"`
				Region   string                     `json:"region"`
				Plan     json.RawMessage            `json:"plan"`
				Settings map[string]json.RawMessage `json:"settings"`
			} `json:"elasticsearch"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		invalid("body", err.Error())
		return
	}
	if req.PruneOrphans == nil {
		invalid("body.prune_orphans", "[prune_orphans] is required")
		return
	}
	if req.Resources == nil || len(req.Resources.Elasticsearch) == 0 {
		if *req.PruneOrphans {
			invalid("body.resources.elasticsearch", "the elasticsearch resource would be pruned: it must be in the request when prune_orphans is true")
			return
		}
		writeJSON(rw, 200, h.updateResponse(c))
		return
	}
	es := req.Resources.Elasticsearch[0]
	switch {
	case es.RefID == "":
		invalid("body.resources.elasticsearch[0].ref_id", "[ref_id] is required")
		return
	case es.RefID != c.RefID:
		writeCloudError(rw, 404, "deployments.deployment_resource_not_found",
			fmt.Sprintf("Deployment [%s] has no elasticsearch resource with ref_id [%s]", c.DeploymentID, es.RefID))
		return
	case es.Region == "":
		invalid("body.resources.elasticsearch[0].region", "[region] is required")
		return
	case es.Region != c.Region:
		invalid("body.resources.elasticsearch[0].region", fmt.Sprintf("region [%s] does not match the resource's region [%s]", es.Region, c.Region))
		return
	}
	var plan struct {
		ClusterTopology []any `json:"cluster_topology"`
		Elasticsearch   *struct {
			Version string `json:"version"`
		} `json:"elasticsearch"`
	}
	if len(es.Plan) == 0 || string(es.Plan) == "null" || json.Unmarshal(es.Plan, &plan) != nil ||
		plan.ClusterTopology == nil || plan.Elasticsearch == nil {
		invalid("body.resources.elasticsearch[0].plan", "[plan] is required, with [cluster_topology] and [elasticsearch]")
		return
	}
	var newTrust *Trust
	rawTrust, hasTrust := es.Settings["trust"]
	if hasTrust {
		if string(rawTrust) == "null" {
			newTrust = cp.defaultTrust()
		} else {
			var t Trust
			dec := json.NewDecoder(bytes.NewReader(rawTrust))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&t); err != nil {
				invalid("body.resources.elasticsearch[0].settings.trust", err.Error())
				return
			}
			if field, msg := validateTrust(&t); field != "" {
				invalid(field, msg)
				return
			}
			for i := range t.Direct {
				if t.Direct[i].UID == "" {
					t.Direct[i].UID = randomHex32()
				}
				for j := range t.Direct[i].Certificates {
					t.Direct[i].Certificates[j].Metadata = nil
				}
			}
			newTrust = &t
		}
	}
	if boolParam(r, "validate_only") {
		writeJSON(rw, 200, h.updateResponse(c))
		return
	}
	if newTrust != nil {
		c.trust = newTrust
		h.w.restartLinks(c)
	}
	c.plan = append(json.RawMessage(nil), es.Plan...)
	if v := plan.Elasticsearch.Version; semverRe.MatchString(v) {
		c.Version = v
	}
	c.resourceVersion++
	c.lastModified = h.w.now()
	setResourceHeaders(rw, c)
	writeJSON(rw, 200, h.updateResponse(c))
}

func randomHex32() string {
	return derivedHex("uid", randomString(16))
}

func (h *cloudHandler) updateResponse(c *cluster) map[string]any {
	empty := map[string]any{"elasticsearch": []any{}, "kibana": []any{}, "apm": []any{}, "appsearch": []any{},
		"enterprise_search": []any{}, "integrations_server": []any{}}
	return map[string]any{
		"id": c.DeploymentID, "name": c.Name, "alias": c.Name,
		"resources": []any{map[string]any{"ref_id": c.RefID, "id": c.ClusterID, "kind": "elasticsearch",
			"region": c.Region, "cloud_id": c.Name + ":" + base64.StdEncoding.EncodeToString([]byte(c.endpoint)), "warnings": []any{}}},
		"shutdown_resources": empty,
	}
}

func keystoreView(c *cluster) map[string]any {
	secrets := map[string]any{}
	for k := range c.keystore {
		secrets[k] = map[string]any{"as_file": c.asFile[k]}
	}
	return map[string]any{"secrets": secrets}
}

func (h *cloudHandler) getKeystore(rw http.ResponseWriter, r *http.Request, _ *controlPlane) {
	c := h.resource(rw, r)
	if c == nil {
		return
	}
	writeJSON(rw, 200, keystoreView(c))
}

// patchKeystore is set-deployment-es-resource-keystore (cloud-api.md §5):
// incremental; null, {} or an entry without value removes the key. The
// platform reloads the secure settings itself (8.14+ reload, older
// versions restart) on its own schedule, after the answer: the change is
// in effect keystore_reload_delay later (World.scheduleLoad).
func (h *cloudHandler) patchKeystore(rw http.ResponseWriter, r *http.Request, _ *controlPlane) {
	c := h.resource(rw, r)
	if c == nil {
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req struct {
		Secrets map[string]*struct {
			Value  json.RawMessage `json:"value"`
			AsFile *bool           `json:"as_file"`
		} `json:"secrets"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Secrets == nil {
		writeCloudError(rw, 400, "root.invalid_json_request", "JSON request does not comply with schema: [secrets] is required", "body.secrets")
		return
	}
	for _, name := range slices.Sorted(maps.Keys(req.Secrets)) {
		s := req.Secrets[name]
		if s == nil || len(s.Value) == 0 || string(s.Value) == "null" {
			delete(c.keystore, name)
			delete(c.asFile, name)
			continue
		}
		var str string
		asFile := false
		if err := json.Unmarshal(s.Value, &str); err != nil {
			str, asFile = string(s.Value), true // an object is stored as a JSON string
		}
		if s.AsFile != nil {
			asFile = *s.AsFile
		}
		c.keystore[name] = str
		c.asFile[name] = asFile
	}
	h.w.scheduleLoad(c)
	writeJSON(rw, 200, keystoreView(c))
}

func (h *cloudHandler) getCA(rw http.ResponseWriter, r *http.Request, cp *controlPlane) {
	c := h.deployment(rw, r)
	if c == nil {
		return
	}
	writeJSON(rw, 200, map[string]any{
		"recommended_trust_restriction": fmt.Sprintf("*.node.%s.cluster.%s.account", c.ClusterID, cp.scope()),
		"public_certificates": []any{map[string]any{
			"active": true, "pem": cp.caPEM,
			"metadata": map[string]any{"fingerprint": cp.caSum, "valid_from": stamp(cp.caNotBefore),
				"valid_to": stamp(cp.caNotAfter), "also_trusted_by": []any{}},
		}},
	})
}

func (tr *trustRelationship) view(withCert bool) map[string]any {
	v := map[string]any{"id": tr.ID, "name": tr.Name, "trust_by_default": tr.TrustByDefault,
		"account_ids": tr.AccountIDs, "local": tr.Local, "last_modified": tr.LastModified}
	if tr.InstallationID != "" {
		v["installation_id"] = tr.InstallationID
	}
	if withCert {
		v["public_ca_cert"] = tr.publicCACert
	}
	return v
}

func (h *cloudHandler) listTrustRelationships(rw http.ResponseWriter, r *http.Request, cp *controlPlane) {
	filter := r.URL.Query().Get("filter")
	out := []any{}
	for _, tr := range cp.relations {
		if (filter == "local" && !tr.Local) || (filter == "non-local" && tr.Local) {
			continue
		}
		out = append(out, tr.view(boolParam(r, "include_certificate")))
	}
	writeJSON(rw, 200, map[string]any{"trust_relationships": out})
}

func (h *cloudHandler) getTrustRelationship(rw http.ResponseWriter, r *http.Request, cp *controlPlane) {
	id := r.PathValue("tr")
	for _, tr := range cp.relations {
		if tr.ID == id || (id == "local" && tr.Local) {
			rw.Header().Set("x-cloud-resource-version", "1")
			writeJSON(rw, 200, tr.view(boolParam(r, "include_certificate")))
			return
		}
	}
	writeCloudError(rw, 404, "trust_relationships.not_found", fmt.Sprintf("Trust relationship [%s] could not be found", id))
}

func (h *cloudHandler) organizations(rw http.ResponseWriter, r *http.Request, cp *controlPlane) {
	writeJSON(rw, 200, map[string]any{"organizations": []any{map[string]any{
		"id": cp.spec.OrganizationID, "name": "Simulated organization",
	}}})
}
