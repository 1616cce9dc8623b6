package es

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
)

// §5.2: the spec's request and jakelandis' real response, plus expiration.
func TestCreateCrossClusterAPIKey(t *testing.T) {
	const encoded = "NTNqdW5Za0IxNTNwUlRHbXlNREY6M3FRcm1UTWNTdFNINlJwb2tEbUUxUQ=="
	f := newFake(t, exchange{method: "POST", path: "/_security/cross_cluster/api_key",
		body: `{
  "name": "my-cross-cluster-api-key",
  "expiration": "1d",
  "access": {
    "search": [ { "names": ["logs*"] } ],
    "replication": [ { "names": ["archive*"] } ]
  },
  "metadata": {
    "description": "phase one",
    "environment": { "level": 1, "trusted": true, "tags": ["dev", "staging"] }
  }
}`,
		resp: `{
  "id": "53junYkB153pRTGmyMDF",
  "name": "my-cross-cluster-api-key",
  "expiration": 1717086400000,
  "api_key": "3qQrmTMcStSH6RpokDmE1Q",
  "encoded": "` + encoded + `"
}`})
	key, err := f.client(t).CreateCrossClusterAPIKey(context.Background(), CrossClusterKeyRequest{
		Name:       "my-cross-cluster-api-key",
		Expiration: "1d",
		Access: CrossClusterAccess{
			Search:      []SearchAccess{{Names: []string{"logs*"}}},
			Replication: []ReplicationAccess{{Names: []string{"archive*"}}},
		},
		Metadata: map[string]any{"description": "phase one",
			"environment": map[string]any{"level": 1, "trusted": true, "tags": []string{"dev", "staging"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if key.ID != "53junYkB153pRTGmyMDF" || key.Name != "my-cross-cluster-api-key" || key.Encoded.Reveal() != encoded ||
		!key.Expiration.Equal(time.UnixMilli(1717086400000)) {
		t.Errorf("CreatedKey = %+v (encoded %q)", key, key.Encoded.Reveal())
	}

	// Every way the key could be printed or serialised redacts the secret.
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("created", "key", key, "encoded", key.Encoded)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("created", "encoded", key.Encoded)
	js, _ := json.Marshal(key)
	txt, _ := key.Encoded.MarshalText()
	out := fmt.Sprintf("%v %+v %#v %s %q %x", key, key, key, key.Encoded, key.Encoded, key.Encoded) +
		string(js) + string(txt) + logs.String()
	for _, secret := range []string{encoded, "3qQrmTMcStSH6RpokDmE1Q"} {
		if strings.Contains(out, secret) {
			t.Errorf("secret %q printed in:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "<redacted>") {
		t.Errorf("no <redacted> marker in %s", out)
	}
}

func TestCreateCrossClusterAPIKeyComputesEncoded(t *testing.T) {
	f := newFake(t, exchange{method: "POST", path: "/_security/cross_cluster/api_key",
		body: `{"name":"k","access":{"search":[{"names":["*"]}]}}`,
		resp: `{"id":"53junYkB153pRTGmyMDF","name":"k","api_key":"3qQrmTMcStSH6RpokDmE1Q"}`})
	key, err := f.client(t).CreateCrossClusterAPIKey(context.Background(), CrossClusterKeyRequest{
		Name: "k", Access: CrossClusterAccess{Search: []SearchAccess{{Names: []string{"*"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if key.Encoded.Reveal() != "NTNqdW5Za0IxNTNwUlRHbXlNREY6M3FRcm1UTWNTdFNINlJwb2tEbUUxUQ==" || !key.Expiration.IsZero() {
		t.Errorf("key = %+v", key)
	}
}

// §5.2: an API key cannot create a cross-cluster key.
func TestCreateCrossClusterAPIKeyWithAPIKeyAuth(t *testing.T) {
	f := newFake(t, exchange{method: "POST", path: "/_security/cross_cluster/api_key",
		body: `{"name":"k","access":{"search":[{"names":["*"]}]}}`, status: 400,
		resp: `{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"authentication via API key not supported: An API key cannot be used to create a cross-cluster API key"}],"type":"illegal_argument_exception","reason":"authentication via API key not supported: An API key cannot be used to create a cross-cluster API key"},"status":400}`})
	c, err := New(Config{Name: "remote-b", URL: f.srv.URL, APIKey: "Zm9vOmJhcg=="})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateCrossClusterAPIKey(context.Background(), CrossClusterKeyRequest{
		Name: "k", Access: CrossClusterAccess{Search: []SearchAccess{{Names: []string{"*"}}}}})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "create cross-cluster api key k on remote-b: 400 bad request: illegal_argument_exception: authentication via API key not supported") {
		t.Errorf("err = %v", err)
	}
	// go-elasticsearch spells the scheme "APIKey"; ES matches it case-insensitively.
	if f.auth[0] != "APIKey Zm9vOmJhcg==" {
		t.Errorf("Authorization = %q", f.auth[0])
	}
	if strings.Contains(err.Error(), "Zm9vOmJhcg==") {
		t.Errorf("error leaks the api key")
	}
}

// §5.3 and §9.3 gap 3: a metadata-only update sends no access.
func TestUpdateCrossClusterAPIKey(t *testing.T) {
	f := newFake(t,
		exchange{method: "PUT", path: "/_security/cross_cluster/api_key/VuaCfGcBCdbkQm-e5aOx",
			body: `{"metadata":{"managed_by":"esremote"}}`, resp: `{"updated": false}`},
		exchange{method: "PUT", path: "/_security/cross_cluster/api_key/VuaCfGcBCdbkQm-e5aOx",
			body: `{"access":{"search":[{"names":["logs*"],"allow_restricted_indices":false}]},"metadata":{},"expiration":"30d"}`,
			resp: `{"updated": true}`},
	)
	c := f.client(t)
	updated, err := c.UpdateCrossClusterAPIKey(context.Background(), "VuaCfGcBCdbkQm-e5aOx",
		CrossClusterKeyUpdate{Metadata: map[string]any{"managed_by": "esremote"}})
	if err != nil || updated {
		t.Errorf("metadata-only update = %v, %v; want false, nil", updated, err)
	}
	no := false
	updated, err = c.UpdateCrossClusterAPIKey(context.Background(), "VuaCfGcBCdbkQm-e5aOx", CrossClusterKeyUpdate{
		Access:     &CrossClusterAccess{Search: []SearchAccess{{Names: []string{"logs*"}, AllowRestrictedIndices: &no}}},
		Metadata:   map[string]any{},
		Expiration: "30d",
	})
	if err != nil || !updated {
		t.Errorf("update = %v, %v; want true, nil", updated, err)
	}
	if _, err := c.UpdateCrossClusterAPIKey(context.Background(), "x", CrossClusterKeyUpdate{Expiration: "1d"}); err == nil {
		t.Errorf("expiration-only update accepted; Elasticsearch rejects it")
	}
}

// §5.4 example.
const apiKeysBody = `{
  "api_keys": [
    {
      "id": "VuaCfGcBCdbkQm-e5aOx",
      "name": "my-cc-api-key",
      "type": "cross_cluster",
      "creation": 1717000000000,
      "expiration": 1725000000000,
      "invalidated": false,
      "username": "admin_user",
      "realm": "default_native",
      "realm_type": "native",
      "metadata": {},
      "role_descriptors": {
        "cross_cluster": {
          "cluster": [ "cross_cluster_search", "monitor_enrich" ],
          "indices": [
            { "names": [ "*" ], "privileges": [ "read", "read_cross_cluster", "view_index_metadata" ],
              "allow_restricted_indices": true }
          ],
          "applications": [],
          "run_as": [],
          "metadata": {},
          "transient_metadata": { "enabled": true }
        }
      },
      "access": {
        "search": [ { "names": [ "*" ], "allow_restricted_indices": true } ]
      }
    }
  ]
}`

func TestAPIKeys(t *testing.T) {
	f := newFake(t,
		exchange{method: "GET", path: "/_security/api_key", query: "name=my-cc-api-key&active_only=true", resp: apiKeysBody},
		exchange{method: "GET", path: "/_security/api_key", query: "id=gone", status: 404, resp: `{"api_keys":[]}`},
		exchange{method: "GET", path: "/_security/api_key", query: "name=nothing*&owner=true", resp: `{"api_keys":[]}`},
	)
	c := f.client(t)
	keys, err := c.APIKeys(context.Background(), KeyQuery{Name: "my-cc-api-key", ActiveOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 {
		t.Fatalf("keys = %+v", keys)
	}
	k := keys[0]
	yes := true
	if k.ID != "VuaCfGcBCdbkQm-e5aOx" || k.Type != "cross_cluster" || k.Invalidated || k.Username != "admin_user" ||
		k.Realm != "default_native" || !k.Creation.Equal(time.UnixMilli(1717000000000)) ||
		!k.Expiration.Equal(time.UnixMilli(1725000000000)) || !k.Invalidation.IsZero() ||
		k.Metadata == nil || len(k.RoleDescriptors["cross_cluster"]) == 0 ||
		!reflect.DeepEqual(k.Access, &CrossClusterAccess{Search: []SearchAccess{{Names: []string{"*"}, AllowRestrictedIndices: &yes}}}) {
		t.Errorf("key = %+v", k)
	}
	if k.Expired(time.UnixMilli(1724999999999)) || !k.Expired(time.UnixMilli(1725000000000)) {
		t.Errorf("Expired wrong")
	}

	keys, err = c.APIKeys(context.Background(), KeyQuery{ID: "gone"})
	if err != nil || keys == nil || len(keys) != 0 {
		t.Errorf("missing id = %v, %v; want empty, nil", keys, err)
	}
	keys, err = c.APIKeys(context.Background(), KeyQuery{Name: "nothing*", Owner: true})
	if err != nil || len(keys) != 0 {
		t.Errorf("no match = %v, %v", keys, err)
	}
}

// §5.5.
func TestInvalidateAPIKeys(t *testing.T) {
	f := newFake(t,
		exchange{method: "DELETE", path: "/_security/api_key", body: `{"ids":["VuaCfGcBCdbkQm-e5aOx","old"]}`,
			resp: `{"invalidated_api_keys":["VuaCfGcBCdbkQm-e5aOx"],"previously_invalidated_api_keys":["old"],"error_count":0}`},
		exchange{method: "DELETE", path: "/_security/api_key", body: `{"ids":["x"]}`,
			resp: `{"invalidated_api_keys":[],"previously_invalidated_api_keys":[],"error_count":1,"error_details":[{"type":"exception","reason":"error invalidating api key"}]}`},
	)
	c := f.client(t)
	got, err := c.InvalidateAPIKeys(context.Background(), "VuaCfGcBCdbkQm-e5aOx", "old")
	if err != nil || !reflect.DeepEqual(got, []string{"VuaCfGcBCdbkQm-e5aOx", "old"}) {
		t.Errorf("InvalidateAPIKeys = %v, %v", got, err)
	}
	_, err = c.InvalidateAPIKeys(context.Background(), "x")
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "1 of 1 keys not invalidated: error invalidating api key") {
		t.Errorf("error_count: %v", err)
	}
	if got, err := c.InvalidateAPIKeys(context.Background()); got != nil || err != nil {
		t.Errorf("no ids sent a request or failed: %v, %v", got, err)
	}
}

// §7: the Spec's PUT example, the GET shape of 50_remote_only.yml, and 404s.
func TestRoles(t *testing.T) {
	f := newFake(t,
		exchange{method: "PUT", path: "/_security/role/only_remote_access_role", body: `{
  "remote_indices": [
    { "clusters": ["my_remote"], "names": ["logs*"], "privileges": ["read", "read_cross_cluster", "view_index_metadata"] }
  ],
  "remote_cluster": [
    { "clusters": ["my_remote"], "privileges": ["monitor_stats"] }
  ],
  "metadata": {"managed_by": "esremote"}
}`, resp: `{"role":{"created":true}}`},
		exchange{method: "GET", path: "/_security/role/remote_role", resp: `{"remote_role":{
  "cluster": [], "indices": [], "applications": [], "run_as": [], "metadata": {},
  "transient_metadata": {"enabled": true},
  "remote_indices": [{"names":["logs*"],"privileges":["read"],"allow_restricted_indices":false,"clusters":["*"]}],
  "remote_cluster": [{"privileges":["monitor_enrich"],"clusters":["my_remote*"]}]}}`},
		exchange{method: "GET", path: "/_security/role/missing", status: 404, resp: `{}`},
		exchange{method: "GET", path: "/_security/role", resp: `{"remote_role":{"cluster":["monitor"]},"superuser":{"cluster":["all"],"metadata":{"_reserved":true}}}`},
		exchange{method: "DELETE", path: "/_security/role/remote_role", resp: `{"found":true}`},
		exchange{method: "DELETE", path: "/_security/role/remote_role", status: 404, resp: `{"found":false}`},
		exchange{method: "PUT", path: "/_security/role/bad", body: `{"remote_cluster":[{"clusters":["a"],"privileges":["all"]}]}`, status: 400,
			// RoleDescriptorTests.testParseInvalidRemoteCluster's text.
			resp: `{"error":{"root_cause":[{"type":"parse_exception","reason":"failed to parse remote_cluster for role [bad]. [monitor_enrich, monitor_stats] are the only values allowed for [privileges] within [remote_cluster]. Found [all]"}],"type":"parse_exception","reason":"failed to parse remote_cluster for role [bad]. [monitor_enrich, monitor_stats] are the only values allowed for [privileges] within [remote_cluster]. Found [all]"},"status":400}`},
	)
	c := f.client(t)
	ctx := context.Background()
	err := c.PutRole(ctx, "only_remote_access_role", Role{
		RemoteIndices: []RemoteIndicesPrivileges{{Clusters: []string{"my_remote"}, Names: []string{"logs*"},
			Privileges: []string{"read", "read_cross_cluster", "view_index_metadata"}}},
		RemoteCluster:     []RemoteClusterPrivileges{{Clusters: []string{"my_remote"}, Privileges: []string{"monitor_stats"}}},
		Metadata:          map[string]any{"managed_by": "esremote"},
		TransientMetadata: map[string]any{"enabled": true}, // as read back; never sent
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Role(ctx, "remote_role")
	if err != nil || r == nil {
		t.Fatalf("Role = %v, %v", r, err)
	}
	no := false
	if !reflect.DeepEqual(r.RemoteIndices, []RemoteIndicesPrivileges{{Clusters: []string{"*"}, Names: []string{"logs*"},
		Privileges: []string{"read"}, AllowRestrictedIndices: &no}}) ||
		!reflect.DeepEqual(r.RemoteCluster, []RemoteClusterPrivileges{{Clusters: []string{"my_remote*"}, Privileges: []string{"monitor_enrich"}}}) ||
		r.TransientMetadata["enabled"] != true {
		t.Errorf("Role = %+v", r)
	}
	if r, err := c.Role(ctx, "missing"); r != nil || err != nil {
		t.Errorf("missing role = %v, %v; want nil, nil", r, err)
	}
	all, err := c.Roles(ctx)
	if err != nil || len(all) != 2 || all["superuser"].Cluster[0] != "all" {
		t.Errorf("Roles = %v, %v", all, err)
	}
	if err := c.DeleteRole(ctx, "remote_role"); err != nil {
		t.Errorf("DeleteRole: %v", err)
	}
	if err := c.DeleteRole(ctx, "remote_role"); err != nil {
		t.Errorf("DeleteRole of a missing role: %v", err)
	}
	err = c.PutRole(ctx, "bad", Role{RemoteCluster: []RemoteClusterPrivileges{{Clusters: []string{"a"}, Privileges: []string{"all"}}}})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "put role bad on local-a: 400 bad request: parse_exception: failed to parse remote_cluster for role [bad]. [monitor_enrich, monitor_stats] are the only values allowed") {
		t.Errorf("bad role: %v", err)
	}
}

// §6: a node failure still gives HTTP 200.
func TestReloadSecureSettings(t *testing.T) {
	f := newFake(t, exchange{method: "POST", path: "/_nodes/reload_secure_settings", resp: `{
  "_nodes": { "total": 2, "successful": 2, "failed": 0 },
  "cluster_name": "my_cluster",
  "nodes": {
    "iJeJx6ydSbKf_cvzDt1_gg": { "name": "node-1" },
    "GXtqL0WdSguHQdo2xHNX_A": {
      "name": "node-2",
      "reload_exception": { "type": "illegal_state_exception", "reason": "Keystore is missing" }
    }
  }
}`}, exchange{method: "POST", path: "/_nodes/reload_secure_settings", resp: `{
  "_nodes": { "total": 2, "successful": 1, "failed": 1, "failures": [
    {"type": "failed_node_exception", "reason": "Failed node [abc]", "node_id": "abc"}] },
  "cluster_name": "my_cluster",
  "nodes": { "iJeJx6ydSbKf_cvzDt1_gg": { "name": "node-1" } }
}`})
	c := f.client(t)
	failed, err := c.ReloadSecureSettings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []NodeReloadError{{NodeID: "GXtqL0WdSguHQdo2xHNX_A", Name: "node-2",
		Cause: Cause{Type: "illegal_state_exception", Reason: "Keystore is missing"}}}
	if !reflect.DeepEqual(failed, want) {
		t.Errorf("failed = %+v", failed)
	}
	if s := failed[0].String(); s != "node node-2 (GXtqL0WdSguHQdo2xHNX_A): illegal_state_exception: Keystore is missing" {
		t.Errorf("String = %q", s)
	}
	failed, err = c.ReloadSecureSettings(context.Background())
	if err != nil || len(failed) != 1 || failed[0].NodeID != "abc" || failed[0].Cause.Type != "failed_node_exception" {
		t.Errorf("transport-level node failure = %+v, %v", failed, err)
	}
}
