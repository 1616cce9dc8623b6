package sim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// apiKey is one API key of a cluster: the admin REST key or a
// cross-cluster key created over the API.
type apiKey struct {
	ID              string
	Name            string
	Type            string // rest | cross_cluster
	secret          string
	Creation        time.Time
	Expiration      *time.Time
	Invalidated     bool
	Invalidation    *time.Time
	Username        string
	Metadata        map[string]any
	Access          map[string]any // cross_cluster only, as §5.4 renders it
	RoleDescriptors map[string]any
}

func (c *cluster) addKey(k *apiKey) {
	c.keys[k.ID] = k
	c.keyOrder = append(c.keyOrder, k.ID)
}

func (k *apiKey) encoded() string {
	return base64.StdEncoding.EncodeToString([]byte(k.ID + ":" + k.secret))
}

func (k *apiKey) active(now time.Time) bool {
	return !k.Invalidated && (k.Expiration == nil || now.Before(*k.Expiration))
}

// view is the GET /_security/api_key item (es-api.md §5.4).
func (k *apiKey) view(withLimitedBy bool) map[string]any {
	v := map[string]any{
		"id": k.ID, "name": k.Name, "type": k.Type,
		"creation":         k.Creation.UnixMilli(),
		"invalidated":      k.Invalidated,
		"username":         k.Username,
		"realm":            "default_native",
		"realm_type":       "native",
		"metadata":         k.Metadata,
		"role_descriptors": k.RoleDescriptors,
	}
	if k.Expiration != nil {
		v["expiration"] = k.Expiration.UnixMilli()
	}
	if k.Invalidation != nil {
		v["invalidation"] = k.Invalidation.UnixMilli()
	}
	if k.Type == "cross_cluster" {
		v["access"] = k.Access
	} else if withLimitedBy {
		v["limited_by"] = []any{map[string]any{"superuser": map[string]any{
			"cluster": []any{"all"}, "indices": []any{}, "applications": []any{}, "run_as": []any{"*"},
			"metadata": map[string]any{}, "transient_metadata": map[string]any{"enabled": true},
		}}}
	}
	return v
}

// ccsRequest is the body of create/update cross-cluster API key.
type ccsRequest struct {
	Name       *string
	Access     map[string]any
	accessSet  bool
	Metadata   map[string]any
	metaSet    bool
	Expiration *time.Duration
}

// parseCCSRequest is the strict parser of RestCreateCrossClusterApiKeyAction
// (and of the update request when update is true).
func parseCCSRequest(body []byte, update bool) (*ccsRequest, *esError) {
	parser := "cross_cluster_api_key_request"
	if update {
		parser = "update_cross_cluster_api_key_request"
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, &esError{status: 400, typ: "parse_exception", reason: "request body is required"}
	}
	var raw map[string]any
	if err := decodeJSON(body, &raw); err != nil {
		return nil, &esError{status: 400, typ: "x_content_parse_exception", reason: "failed to parse request body: " + err.Error()}
	}
	req := &ccsRequest{}
	for k, v := range raw {
		switch k {
		case "name":
			if update {
				return nil, &esError{status: 400, typ: "x_content_parse_exception", reason: fmt.Sprintf("[%s] unknown field [name]", parser)}
			}
			s, ok := v.(string)
			if !ok {
				return nil, &esError{status: 400, typ: "x_content_parse_exception", reason: fmt.Sprintf("[%s] failed to parse field [name]", parser)}
			}
			req.Name = &s
		case "access":
			if v == nil {
				return nil, &esError{status: 400, typ: "x_content_parse_exception", reason: "access doesn't support values of type: VALUE_NULL"}
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil, &esError{status: 400, typ: "x_content_parse_exception", reason: fmt.Sprintf("[%s] failed to parse field [access]", parser)}
			}
			req.Access, req.accessSet = m, true
		case "metadata":
			m, ok := v.(map[string]any)
			if !ok {
				return nil, &esError{status: 400, typ: "x_content_parse_exception", reason: fmt.Sprintf("[%s] failed to parse field [metadata]", parser)}
			}
			req.Metadata, req.metaSet = m, true
		case "expiration":
			s, _ := v.(string)
			if v == nil {
				return nil, badRequest("[%s] expiration doesn't support values of type: VALUE_NULL", parser)
			}
			ms, err := parseTimeValue(s)
			if err != nil {
				return nil, badRequest("failed to parse setting [expiration] with value [%v] as a time value: unit is missing or unrecognized", v)
			}
			d := time.Duration(ms) * time.Millisecond
			req.Expiration = &d
		default:
			return nil, &esError{status: 400, typ: "x_content_parse_exception", reason: fmt.Sprintf("[%s] unknown field [%s]", parser, k)}
		}
	}
	if !update {
		if req.Name == nil {
			return nil, badRequest("Required [name]")
		}
		if !req.accessSet {
			return nil, badRequest("Required [access]")
		}
	} else if !req.accessSet && !req.metaSet {
		return nil, &esError{status: 400, typ: "action_request_validation_exception",
			reason: "Validation Failed: 1: must update either [access] or [metadata] for cross-cluster API keys;"}
	}
	for k := range req.Metadata {
		if strings.HasPrefix(k, "_") {
			return nil, &esError{status: 400, typ: "action_request_validation_exception",
				reason: "Validation Failed: 1: API key metadata keys may not start with [_];"}
		}
	}
	return req, nil
}

// buildAccess validates access (CrossClusterApiKeyRoleDescriptorBuilder)
// and returns the rendered access and the role descriptor.
func buildAccess(access map[string]any, version string) (rendered, descriptor map[string]any, err *esError) {
	search, _ := access["search"].([]any)
	replication, _ := access["replication"].([]any)
	for k := range access {
		if k != "search" && k != "replication" {
			return nil, nil, &esError{status: 400, typ: "x_content_parse_exception", reason: fmt.Sprintf("[cross_cluster_api_key_request_access] unknown field [%s]", k)}
		}
	}
	if len(search) == 0 && len(replication) == 0 {
		return nil, nil, badRequest("must specify non-empty access for either [search] or [replication]")
	}
	render := func(entries []any, allowDLS bool, what string) ([]any, []any, *esError) {
		var out, idx []any
		for _, e := range entries {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, nil, badRequest("[cross_cluster_api_key_request_access] failed to parse field [%s]", what)
			}
			names := listValue(toStrings(m["names"]))
			if len(names) == 0 {
				return nil, nil, badRequest("Required [names]")
			}
			r := map[string]any{"names": names, "allow_restricted_indices": false}
			if b, ok := m["allow_restricted_indices"].(bool); ok {
				r["allow_restricted_indices"] = b
			}
			for k, v := range m {
				switch k {
				case "names", "allow_restricted_indices":
				case "query", "field_security":
					if what == "replication" {
						return nil, nil, badRequest("replication does not support document or field level security")
					}
					if !allowDLS {
						return nil, nil, badRequest("search does not support document or field level security if replication is assigned")
					}
					if k == "query" {
						if q, ok := v.(string); ok {
							r["query"] = q
						} else {
							b, _ := json.Marshal(v)
							r["query"] = string(b)
						}
					} else {
						r[k] = v
					}
				default:
					return nil, nil, &esError{status: 400, typ: "x_content_parse_exception", reason: fmt.Sprintf("[%s] unknown field [%s]", what, k)}
				}
			}
			out = append(out, r)
			privs := []any{"read", "read_cross_cluster", "view_index_metadata"}
			if what == "replication" {
				privs = []any{"cross_cluster_replication", "cross_cluster_replication_internal"}
			}
			ix := map[string]any{"names": names, "privileges": privs, "allow_restricted_indices": r["allow_restricted_indices"]}
			if q, ok := r["query"]; ok {
				ix["query"] = q
			}
			if fs, ok := r["field_security"]; ok {
				ix["field_security"] = fs
			}
			idx = append(idx, ix)
		}
		return out, idx, nil
	}
	rendered = map[string]any{}
	var cluster, indices []any
	if len(search) > 0 {
		out, idx, e := render(search, len(replication) == 0, "search")
		if e != nil {
			return nil, nil, e
		}
		rendered["search"] = out
		indices = append(indices, idx...)
		cluster = append(cluster, "cross_cluster_search")
		if keyMonitorEnrich(parseVersion(version)) {
			cluster = append(cluster, "monitor_enrich")
		}
	}
	if len(replication) > 0 {
		out, idx, e := render(replication, false, "replication")
		if e != nil {
			return nil, nil, e
		}
		rendered["replication"] = out
		indices = append(indices, idx...)
		cluster = append(cluster, "cross_cluster_replication")
	}
	descriptor = map[string]any{"cross_cluster": map[string]any{
		"cluster": cluster, "indices": indices, "applications": []any{}, "run_as": []any{},
		"metadata": map[string]any{}, "transient_metadata": map[string]any{"enabled": true},
	}}
	return rendered, descriptor, nil
}

func toStrings(v any) any {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// canonical compares JSON-ish values by their encoding.
func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return reflect.DeepEqual(ja, jb)
}

// invalidateRequest is the body of DELETE /_security/api_key.
type invalidateRequest struct {
	IDs       []string
	Name      string
	Owner     bool
	RealmName string
	Username  string
}

// parseInvalidateRequest follows RestInvalidateApiKeyAction's parser and
// InvalidateApiKeyRequest.validate (es-api.md §5.5): id and ids are
// exclusive, and one criterion is needed unless owner is set.
func parseInvalidateRequest(body []byte) (invalidateRequest, *esError) {
	var raw struct {
		ID        *string  `json:"id"`
		IDs       []string `json:"ids"`
		Name      string   `json:"name"`
		Owner     bool     `json:"owner"`
		RealmName string   `json:"realm_name"`
		Username  string   `json:"username"`
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := decodeJSON(body, &raw); err != nil {
			return invalidateRequest{}, &esError{status: 400, typ: "x_content_parse_exception", reason: "failed to parse request body: " + err.Error()}
		}
	}
	req := invalidateRequest{IDs: raw.IDs, Name: raw.Name, Owner: raw.Owner, RealmName: raw.RealmName, Username: raw.Username}
	if raw.ID != nil {
		if raw.IDs != nil {
			return req, badRequest("Must use either [id] or [ids], not both at the same time")
		}
		req.IDs = []string{*raw.ID}
	}
	if len(req.IDs) == 0 && req.Name == "" && req.Username == "" && req.RealmName == "" && !req.Owner {
		return req, &esError{status: 400, typ: "action_request_validation_exception",
			reason: "Validation Failed: 1: One of [api key id(s), api key name, username, realm name] must be specified if [owner] flag is false;"}
	}
	return req, nil
}

// invalidateKeys invalidates the keys a request names, as
// ApiKeyService.invalidateApiKeys does (x-pack/plugin/security/…/authc/
// ApiKeyService.java, read at main; same rule since 7.x):
// findApiKeysForUserRealmApiKeyIdAndNameCombination searches with
// filterOutInvalidatedKeys=true and filterOutExpiredKeys=false, so a key
// that is already invalidated is not found at all: invalidating it again
// answers an empty invalidated_api_keys AND an empty
// previously_invalidated_api_keys (InvalidateApiKeyResponse.emptyResponse;
// ApiKeyServiceTests.testInvalidateApiKeys pins the query). An expired key
// is found and invalidated. previously_invalidated_api_keys is filled only
// when the bulk update of a found key is a NOOP, a race the sim has no room
// for. The name filter is exact, "*" for all, or a prefix ending in "*".
//
// Cross-cluster keys are invalidated only for a caller with the
// manage_security cluster privilege (TransportInvalidateApiKeyAction
// .checkHasManageSecurityPrivilege, read at main; ApiKeyService
// .indexInvalidation): for anyone else each one found is skipped and
// reported in error_details as a security_exception "Cannot invalidate
// cross-cluster API key [<id>]. This requires [manage_security] cluster
// privilege or higher", counted in error_count; the answer is still 200.
func (c *cluster) invalidateKeys(req invalidateRequest, p principal, now time.Time) map[string]any {
	if req.Owner {
		req.Username = p.username
	}
	manageSecurity := c.hasClusterPrivilege(p, "manage_security")
	var details []any
	inv := []string{}
	for _, kid := range c.keyOrder {
		k := c.keys[kid]
		switch {
		case k.Invalidated:
			continue
		case len(req.IDs) > 0 && !slices.Contains(req.IDs, k.ID):
			continue
		case req.Name != "" && !keyNameMatches(req.Name, k.Name):
			continue
		case req.Username != "" && k.Username != req.Username:
			continue
		case req.RealmName != "" && req.RealmName != "default_native":
			continue
		case k.Type == "cross_cluster" && !manageSecurity:
			details = append(details, map[string]any{"type": "security_exception",
				"reason": "Cannot invalidate cross-cluster API key [" + k.ID + "]. This requires [manage_security] cluster privilege or higher"})
			continue
		}
		k.Invalidated = true
		t := now
		k.Invalidation = &t
		inv = append(inv, k.ID)
	}
	out := map[string]any{"invalidated_api_keys": inv, "previously_invalidated_api_keys": []string{}, "error_count": len(details)}
	if len(details) > 0 {
		out["error_details"] = details
	}
	return out
}

// hasClusterPrivilege reports whether the caller's roles grant a cluster
// privilege (as _has_privileges answers it: clusterGranted).
func (c *cluster) hasClusterPrivilege(p principal, priv string) bool {
	_, ds := c.descriptors(c.subjectOf(p))
	have := map[string]bool{}
	for _, d := range ds {
		for _, cp := range stringsOf(d["cluster"]) {
			have[cp] = true
		}
	}
	return clusterGranted(have, priv)
}

// keyNameMatches is the name filter of
// ApiKeyService.findApiKeysForUserRealmApiKeyIdAndNameCombination: "*"
// matches all, a trailing "*" is a prefix query, anything else a term.
func keyNameMatches(filter, name string) bool {
	if filter == "*" {
		return true
	}
	if prefix, ok := strings.CutSuffix(filter, "*"); ok {
		return strings.HasPrefix(name, prefix)
	}
	return filter == name
}
