package es

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The answer's shape is RestGetUserPrivilegesAction's (remote_indices
// only when there are some, with clusters per group); the API-key refusal
// is RBACEngine.getUserPrivileges's.
func TestUserPrivileges(t *testing.T) {
	f := newFake(t,
		exchange{method: "GET", path: "/_security/user/_privileges", resp: `{"cluster":["manage","manage_security"],"global":[],
  "indices":[{"names":["esremote-canary-*"],"privileges":["view_index_metadata"],"allow_restricted_indices":false}],
  "applications":[],"run_as":[],
  "remote_indices":[{"names":["esremote-canary-*","logs-*"],"privileges":["read","view_index_metadata"],"allow_restricted_indices":false,"clusters":["ece-*"],
    "query":["{\"term\":{\"a\":1}}"]}]}`},
		exchange{method: "GET", path: "/_security/user/_privileges", status: 400, resp: `{"error":{"root_cause":[{"type":"security_exception","reason":"Cannot retrieve privileges for API keys with assigned role descriptors. Please use the Get API key information API https://ela.st/es-api-get-api-key"}],"type":"security_exception","reason":"Cannot retrieve privileges for API keys with assigned role descriptors. Please use the Get API key information API https://ela.st/es-api-get-api-key"},"status":400}`},
	)
	c := f.client(t)
	got, err := c.UserPrivileges(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := UserPrivileges{Cluster: []string{"manage", "manage_security"}, RunAs: []string{},
		Indices: []PrivilegesGroup{{Names: []string{"esremote-canary-*"}, Privileges: []string{"view_index_metadata"}}},
		RemoteIndices: []PrivilegesGroup{{Names: []string{"esremote-canary-*", "logs-*"}, Privileges: []string{"read", "view_index_metadata"},
			Clusters: []string{"ece-*"}, Query: []byte(`["{\"term\":{\"a\":1}}"]`)}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("UserPrivileges:\n got %+v\nwant %+v", got, want)
	}
	_, err = c.UserPrivileges(context.Background())
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "get user privileges on local-a: 400 bad request: security_exception: Cannot retrieve privileges for API keys") {
		t.Errorf("API key with role descriptors: %v", err)
	}
}
