package es

import (
	"context"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

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
