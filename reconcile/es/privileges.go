package es

import (
	"context"
	"encoding/json"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// UserPrivileges is GET /_security/user/_privileges: what the credential
// esremote uses may do, its roles merged (RBACEngine
// .buildUserPrivilegesResponseObject). It is how esremote checks the
// privileges of its own canary request: _has_privileges cannot be asked
// about remote_indices (RoleDescriptor.parsePrivilegesToCheck knows
// cluster, index and application only, up to 9.x), and this answer lists
// them.
type UserPrivileges struct {
	Cluster []string          `json:"cluster"`
	Indices []PrivilegesGroup `json:"indices"`
	// RemoteIndices is left out by Elasticsearch when there is none
	// (RestGetUserPrivilegesAction); each group carries its clusters.
	RemoteIndices []PrivilegesGroup `json:"remote_indices,omitempty"`
	RunAs         []string          `json:"run_as"`
}

// PrivilegesGroup is one group of index privileges in a UserPrivileges
// answer (GetUserPrivilegesResponse.Indices, RemoteIndices): names,
// privileges and, for remote indices, the cluster aliases. Document and
// field security come as lists (one per role that set them) and are kept
// raw.
type PrivilegesGroup struct {
	Names                  []string        `json:"names"`
	Privileges             []string        `json:"privileges"`
	Clusters               []string        `json:"clusters,omitempty"`
	AllowRestrictedIndices bool            `json:"allow_restricted_indices"`
	Query                  json.RawMessage `json:"query,omitempty"`
	FieldSecurity          json.RawMessage `json:"field_security,omitempty"`
}

// UserPrivileges runs GET /_security/user/_privileges for the client's own
// credential. An API key with role descriptors of its own is answered 400
// by Elasticsearch ("Cannot retrieve privileges for API keys with assigned
// role descriptors"); that comes back as an *Error (ErrInvalid).
func (c *Client) UserPrivileges(ctx context.Context) (UserPrivileges, error) {
	const op = "get user privileges"
	r, err := c.send(ctx, op, func(ctx context.Context) (*esapi.Response, error) {
		return c.es.Security.GetUserPrivileges(c.es.Security.GetUserPrivileges.WithContext(ctx))
	})
	if err != nil {
		return UserPrivileges{}, err
	}
	var out UserPrivileges
	if err := c.decode(op, r, &out); err != nil {
		return UserPrivileges{}, err
	}
	return out, nil
}
