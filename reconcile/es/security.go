package es

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// SecretString holds a secret (the encoded cross-cluster API key) and
// redacts itself everywhere it could be printed or serialised: fmt verbs,
// JSON, text marshalling and slog. Only Reveal returns the value.
type SecretString struct{ s string }

// NewSecretString wraps s.
func NewSecretString(s string) SecretString { return SecretString{s: s} }

const redacted = "<redacted>"

// Reveal returns the secret itself. Call it only where the value is handed
// to its one destination (a keystore write).
func (s SecretString) Reveal() string { return s.s }

// IsZero reports whether no secret is held.
func (s SecretString) IsZero() bool { return s.s == "" }

// String returns "<redacted>".
func (s SecretString) String() string { return redacted }

// GoString returns "<redacted>", for %#v.
func (s SecretString) GoString() string { return redacted }

// Format prints "<redacted>" for every verb.
func (s SecretString) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalJSON writes "<redacted>".
func (s SecretString) MarshalJSON() ([]byte, error) { return json.Marshal(redacted) }

// MarshalText writes "<redacted>" (YAML and other text encoders).
func (s SecretString) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue logs "<redacted>".
func (s SecretString) LogValue() slog.Value { return slog.StringValue(redacted) }

// CrossClusterKeyRequest creates a cross-cluster API key.
type CrossClusterKeyRequest struct {
	Name       string
	Access     CrossClusterAccess
	Expiration string         // e.g. "90d"; empty: never expires
	Metadata   map[string]any // keys must not start with "_"
}

// CreatedKey is a newly created cross-cluster API key.
type CreatedKey struct {
	ID   string
	Name string
	// Encoded is base64("id:api_key"), the value for the keystore setting
	// cluster.remote.<alias>.credentials. Elasticsearch returns it once;
	// it cannot be read again.
	Encoded    SecretString
	Expiration time.Time // zero when the key never expires
}

// CreateCrossClusterAPIKey runs POST /_security/cross_cluster/api_key
// (privilege manage_security; the client must authenticate as a user, not
// with an API key, or Elasticsearch answers 400).
func (c *Client) CreateCrossClusterAPIKey(ctx context.Context, req CrossClusterKeyRequest) (CreatedKey, error) {
	op := "create cross-cluster api key " + req.Name
	body := map[string]any{"name": req.Name, "access": req.Access}
	if req.Expiration != "" {
		body["expiration"] = req.Expiration
	}
	if req.Metadata != nil {
		body["metadata"] = req.Metadata
	}
	b, err := json.Marshal(body)
	if err != nil {
		return CreatedKey{}, fmt.Errorf("%s on %s: %w", op, c.name, err)
	}
	r, err := c.send(ctx, op, func(ctx context.Context) (*esapi.Response, error) {
		return c.es.Security.CreateCrossClusterAPIKey(bytes.NewReader(b),
			c.es.Security.CreateCrossClusterAPIKey.WithContext(ctx))
	})
	if err != nil {
		return CreatedKey{}, err
	}
	var res struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		APIKey     string `json:"api_key"`
		Encoded    string `json:"encoded"`
		Expiration *int64 `json:"expiration"`
	}
	if err := c.decode(op, r, &res); err != nil {
		return CreatedKey{}, err
	}
	if res.ID == "" || (res.Encoded == "" && res.APIKey == "") {
		return CreatedKey{}, &Error{Op: op, Target: c.name, Kind: ErrBadResponse, Status: r.status,
			Reason: "response has no key id or secret"}
	}
	if res.Encoded == "" {
		res.Encoded = base64.StdEncoding.EncodeToString([]byte(res.ID + ":" + res.APIKey))
	}
	return CreatedKey{ID: res.ID, Name: res.Name, Encoded: NewSecretString(res.Encoded),
		Expiration: millis(res.Expiration)}, nil
}

// CrossClusterKeyUpdate changes a cross-cluster API key. Access and
// Metadata each replace the whole field when non-nil (an empty, non-nil
// Metadata clears it); at least one must be set. Expiration ("30d") is
// only sent when non-empty and needs 8.13+.
type CrossClusterKeyUpdate struct {
	Access     *CrossClusterAccess
	Metadata   map[string]any
	Expiration string
}

// UpdateCrossClusterAPIKey runs PUT /_security/cross_cluster/api_key/{id}
// (privilege manage_security, owner only; expired or invalidated keys
// cannot be updated). updated is false when nothing changed. Unlike the
// typed client, a metadata-only update does not send an empty access.
func (c *Client) UpdateCrossClusterAPIKey(ctx context.Context, id string, upd CrossClusterKeyUpdate) (updated bool, err error) {
	op := "update cross-cluster api key " + id
	if upd.Access == nil && upd.Metadata == nil {
		return false, fmt.Errorf("%s on %s: nothing to update: set access or metadata", op, c.name)
	}
	body := map[string]any{}
	if upd.Access != nil {
		body["access"] = upd.Access
	}
	if upd.Metadata != nil {
		body["metadata"] = upd.Metadata
	}
	if upd.Expiration != "" {
		body["expiration"] = upd.Expiration
	}
	b, err := json.Marshal(body)
	if err != nil {
		return false, fmt.Errorf("%s on %s: %w", op, c.name, err)
	}
	r, err := c.send(ctx, op, func(ctx context.Context) (*esapi.Response, error) {
		return c.es.Security.UpdateCrossClusterAPIKey(id, bytes.NewReader(b),
			c.es.Security.UpdateCrossClusterAPIKey.WithContext(ctx))
	})
	if err != nil {
		return false, err
	}
	var res struct {
		Updated bool `json:"updated"`
	}
	if err := c.decode(op, r, &res); err != nil {
		return false, err
	}
	return res.Updated, nil
}

// KeyQuery selects API keys. ID and Name (which allows a trailing "*")
// narrow the result; Owner limits it to the caller's own keys; ActiveOnly
// leaves out expired and invalidated keys.
type KeyQuery struct {
	ID         string
	Name       string
	Owner      bool
	ActiveOnly bool
}

// APIKeys runs GET /_security/api_key. Names are not unique, so a name
// query may return several keys, invalidated and expired ones included
// unless ActiveOnly. A key id that matches nothing gives an empty result
// and no error (Elasticsearch answers 404 there).
func (c *Client) APIKeys(ctx context.Context, q KeyQuery) ([]APIKey, error) {
	const op = "get api keys"
	r, err := c.send(ctx, op, func(ctx context.Context) (*esapi.Response, error) {
		g := c.es.Security.GetAPIKey
		opts := []func(*esapi.SecurityGetAPIKeyRequest){g.WithContext(ctx)}
		if q.ID != "" {
			opts = append(opts, g.WithID(q.ID))
		}
		if q.Name != "" {
			opts = append(opts, g.WithName(q.Name))
		}
		if q.Owner {
			opts = append(opts, g.WithOwner(true))
		}
		if q.ActiveOnly {
			opts = append(opts, g.WithActiveOnly(true))
		}
		return g(opts...)
	})
	if err != nil {
		return nil, err
	}
	if r.status == http.StatusNotFound && q.ID != "" {
		return []APIKey{}, nil
	}
	var res struct {
		APIKeys []struct {
			ID              string                     `json:"id"`
			Name            string                     `json:"name"`
			Type            string                     `json:"type"`
			Creation        *int64                     `json:"creation"`
			Expiration      *int64                     `json:"expiration"`
			Invalidated     bool                       `json:"invalidated"`
			Invalidation    *int64                     `json:"invalidation"`
			Username        string                     `json:"username"`
			Realm           string                     `json:"realm"`
			Metadata        map[string]any             `json:"metadata"`
			RoleDescriptors map[string]json.RawMessage `json:"role_descriptors"`
			Access          *CrossClusterAccess        `json:"access"`
		} `json:"api_keys"`
	}
	if err := c.decode(op, r, &res); err != nil {
		return nil, err
	}
	keys := make([]APIKey, 0, len(res.APIKeys))
	for _, k := range res.APIKeys {
		if k.Metadata == nil {
			k.Metadata = map[string]any{}
		}
		keys = append(keys, APIKey{ID: k.ID, Name: k.Name, Type: k.Type, Creation: millis(k.Creation),
			Expiration: millis(k.Expiration), Invalidated: k.Invalidated, Invalidation: millis(k.Invalidation),
			Username: k.Username, Realm: k.Realm, Metadata: k.Metadata, RoleDescriptors: k.RoleDescriptors,
			Access: k.Access})
	}
	return keys, nil
}

// InvalidateAPIKeys runs DELETE /_security/api_key with {"ids": ids}
// (privilege manage_security for cross-cluster keys). invalidated lists
// the ids that are now invalid, including ones that already were, so
// repeating the call is harmless. Per-key failures (error_count > 0) are
// an ErrInvalid error naming them. No ids sends nothing.
func (c *Client) InvalidateAPIKeys(ctx context.Context, ids ...string) (invalidated []string, err error) {
	const op = "invalidate api keys"
	if len(ids) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(map[string][]string{"ids": ids})
	if err != nil {
		return nil, fmt.Errorf("%s on %s: %w", op, c.name, err)
	}
	r, err := c.send(ctx, op, func(ctx context.Context) (*esapi.Response, error) {
		return c.es.Security.InvalidateAPIKey(bytes.NewReader(b), c.es.Security.InvalidateAPIKey.WithContext(ctx))
	})
	if err != nil {
		return nil, err
	}
	var res struct {
		Invalidated           []string `json:"invalidated_api_keys"`
		PreviouslyInvalidated []string `json:"previously_invalidated_api_keys"`
		ErrorCount            int      `json:"error_count"`
		ErrorDetails          []Cause  `json:"error_details"`
	}
	if err := c.decode(op, r, &res); err != nil {
		return nil, err
	}
	out := append(append([]string{}, res.Invalidated...), res.PreviouslyInvalidated...)
	if res.ErrorCount > 0 {
		e := &Error{Op: op, Target: c.name, Kind: ErrInvalid, Status: r.status, RootCause: res.ErrorDetails,
			Reason: fmt.Sprintf("%d of %d keys not invalidated", res.ErrorCount, len(ids))}
		if len(res.ErrorDetails) > 0 {
			e.Type = res.ErrorDetails[0].Type
			e.Reason += ": " + res.ErrorDetails[0].Reason
		}
		return out, e
	}
	return out, nil
}

// Roles runs GET /_security/role: every role, reserved ones included.
func (c *Client) Roles(ctx context.Context) (map[string]Role, error) {
	const op = "get roles"
	r, err := c.send(ctx, op, func(ctx context.Context) (*esapi.Response, error) {
		return c.es.Security.GetRole(c.es.Security.GetRole.WithContext(ctx))
	})
	if err != nil {
		return nil, err
	}
	out := map[string]Role{}
	if err := c.decode(op, r, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Role runs GET /_security/role/{name}. A missing role is nil, nil.
func (c *Client) Role(ctx context.Context, name string) (*Role, error) {
	op := "get role " + name
	r, err := c.send(ctx, op, func(ctx context.Context) (*esapi.Response, error) {
		return c.es.Security.GetRole(c.es.Security.GetRole.WithContext(ctx), c.es.Security.GetRole.WithName(name))
	})
	if err != nil {
		return nil, err
	}
	if r.status == http.StatusNotFound {
		return nil, nil
	}
	out := map[string]Role{}
	if err := c.decode(op, r, &out); err != nil {
		return nil, err
	}
	role, ok := out[name]
	if !ok {
		return nil, nil
	}
	return &role, nil
}

// PutRole runs PUT /_security/role/{name} (privilege manage_security),
// creating or replacing the role.
func (c *Client) PutRole(ctx context.Context, name string, role Role) error {
	op := "put role " + name
	role.TransientMetadata = nil
	b, err := json.Marshal(role)
	if err != nil {
		return fmt.Errorf("%s on %s: %w", op, c.name, err)
	}
	r, err := c.send(ctx, op, func(ctx context.Context) (*esapi.Response, error) {
		return c.es.Security.PutRole(name, bytes.NewReader(b), c.es.Security.PutRole.WithContext(ctx))
	})
	if err != nil {
		return err
	}
	return c.decode(op, r, nil)
}

// DeleteRole runs DELETE /_security/role/{name}. Deleting a role that does
// not exist succeeds, so the call is idempotent.
func (c *Client) DeleteRole(ctx context.Context, name string) error {
	op := "delete role " + name
	r, err := c.send(ctx, op, func(ctx context.Context) (*esapi.Response, error) {
		return c.es.Security.DeleteRole(name, c.es.Security.DeleteRole.WithContext(ctx))
	})
	if err != nil {
		return err
	}
	if r.status == http.StatusNotFound {
		return nil
	}
	return c.decode(op, r, nil)
}

// NodeReloadError is a node that failed to reload its secure settings.
type NodeReloadError struct {
	NodeID string // empty when Elasticsearch did not name it
	Name   string
	Cause  Cause
}

// String describes the failure, e.g. "node node-2 (GXtq…): illegal_state_exception: Keystore is missing".
func (e NodeReloadError) String() string {
	who := e.Name
	if who == "" {
		who = e.NodeID
	} else if e.NodeID != "" {
		who += " (" + e.NodeID + ")"
	}
	return fmt.Sprintf("node %s: %s: %s", who, e.Cause.Type, e.Cause.Reason)
}

// ReloadSecureSettings runs POST /_nodes/reload_secure_settings on every
// node (privilege manage). A node that fails still gives HTTP 200, so its
// failure comes back in the list, sorted by node id, with a nil error; the
// error is for the request itself.
func (c *Client) ReloadSecureSettings(ctx context.Context) ([]NodeReloadError, error) {
	const op = "reload secure settings"
	r, err := c.send(ctx, op, func(ctx context.Context) (*esapi.Response, error) {
		return c.es.Nodes.ReloadSecureSettings(c.es.Nodes.ReloadSecureSettings.WithContext(ctx))
	})
	if err != nil {
		return nil, err
	}
	var res struct {
		NodeStats struct {
			Failures []struct {
				Cause
				NodeID string `json:"node_id"`
			} `json:"failures"`
		} `json:"_nodes"`
		Nodes map[string]struct {
			Name            string `json:"name"`
			ReloadException *Cause `json:"reload_exception"`
		} `json:"nodes"`
	}
	if err := c.decode(op, r, &res); err != nil {
		return nil, err
	}
	var out []NodeReloadError
	for id, n := range res.Nodes {
		if n.ReloadException != nil {
			out = append(out, NodeReloadError{NodeID: id, Name: n.Name, Cause: *n.ReloadException})
		}
	}
	for _, f := range res.NodeStats.Failures {
		out = append(out, NodeReloadError{NodeID: f.NodeID, Cause: f.Cause})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NodeID < out[j].NodeID })
	return out, nil
}

// millis converts optional epoch milliseconds to a time (zero when absent).
func millis(ms *int64) time.Time {
	if ms == nil {
		return time.Time{}
	}
	return time.UnixMilli(*ms).UTC()
}
