package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// KeystoreEntry is one key of an Elasticsearch keystore as the API lists
// it. Values are never returned.
type KeystoreEntry struct {
	AsFile bool `json:"as_file"`
}

func keystorePath(deploymentID, refID string) string {
	if refID == "" {
		refID = "_main"
	}
	return "/deployments/" + pathEscape(deploymentID) + "/elasticsearch/" + pathEscape(refID) + "/keystore"
}

// Keystore lists the keys of an Elasticsearch resource's keystore. refID
// may be "_main" (or "") when the deployment has one Elasticsearch resource.
func (c *Client) Keystore(ctx context.Context, deploymentID, refID string) (map[string]KeystoreEntry, error) {
	var out struct {
		Secrets map[string]*KeystoreEntry `json:"secrets"`
	}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: keystorePath(deploymentID, refID), out: &out}); err != nil {
		return nil, fmt.Errorf("get keystore of %s/%s: %w", deploymentID, refID, err)
	}
	m := make(map[string]KeystoreEntry, len(out.Secrets))
	for k, v := range out.Secrets {
		if v == nil {
			v = &KeystoreEntry{}
		}
		m[k] = *v
	}
	return m, nil
}

// SetKeystore changes an Elasticsearch resource's keystore incrementally:
// each key of set gets its value (as a string, as_file false) and each key
// of remove is deleted (sent as {}); keys not named stay as they are. The
// values are secrets: they are never logged and never appear in errors,
// even when the server echoes them. A key in both set and remove is an
// error; an empty change sends nothing.
func (c *Client) SetKeystore(ctx context.Context, deploymentID, refID string, set map[string]string, remove []string) error {
	if len(set) == 0 && len(remove) == 0 {
		return nil
	}
	secrets := make(map[string]json.RawMessage, len(set)+len(remove))
	values := make([]string, 0, len(set))
	for k, v := range set {
		if k == "" {
			return errors.New("set keystore: empty key")
		}
		b, err := marshal(struct {
			Value  string `json:"value"`
			AsFile bool   `json:"as_file"`
		}{Value: v})
		if err != nil {
			return fmt.Errorf("set keystore: encode %s: %w", k, err)
		}
		secrets[k] = b
		values = append(values, v)
	}
	for _, k := range remove {
		if _, ok := set[k]; ok {
			return fmt.Errorf("set keystore: %s is both set and removed", k)
		}
		secrets[k] = json.RawMessage(`{}`)
	}
	body, err := marshal(struct {
		Secrets map[string]json.RawMessage `json:"secrets"`
	}{secrets})
	if err != nil {
		return fmt.Errorf("set keystore: %w", err)
	}
	keys := make([]string, 0, len(secrets))
	for k := range secrets {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	_, err = c.do(ctx, request{method: http.MethodPatch, path: keystorePath(deploymentID, refID), body: body, out: &json.RawMessage{}})
	if err != nil {
		return fmt.Errorf("set keystore of %s/%s (keys %s): %w", deploymentID, refID, strings.Join(keys, ", "), redactError(err, values))
	}
	return nil
}
