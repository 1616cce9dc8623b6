//go:build typedapi

// This file builds only with -tags typedapi (.ci/run runs it): it is the one
// place that compiles go-elasticsearch's root package and typed API, whose
// 858 generated packages cost about 100 CPU-seconds of cold compile, which
// `make test` should not pay on every fresh clone. It earns its place in CI:
// the typed API's types are generated from the Elasticsearch specification,
// an independent record of every response shape, so decoding the sim's
// bodies into them catches a simulated answer that drifted from the real
// one (a missing "mode" discriminator in _remote/info, a key without
// "type"). The production client (reconcile/es) uses esapi only.

package sim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	elasticsearch "github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/indexprivilege"
)

// TestGoElasticsearchClients drives every simulated endpoint with the
// official client, typed API and esapi, over TLS with the sim's CA.
func TestGoElasticsearchClients(t *testing.T) {
	srv, _ := startDefault(t, WithTLS())
	ctx := context.Background()
	ece, _ := srv.World.Cluster("ece-prod-logs")
	user, pass := srv.BasicAuth("ece-prod-logs")
	cfg := func(name string, basic bool) elasticsearch.Config {
		c := elasticsearch.Config{Addresses: []string{srv.ClusterURL(name)}, CACert: srv.CACertPEM(), MaxRetries: 0, DisableRetry: true}
		if basic {
			c.Username, c.Password = user, pass
		} else {
			c.APIKey = srv.AdminAPIKey(name)
		}
		return c
	}
	typed, err := elasticsearch.NewTypedClient(cfg("ech-analytics", false))
	if err != nil {
		t.Fatal(err)
	}
	remote, err := elasticsearch.NewTypedClient(cfg("ece-prod-logs", true))
	if err != nil {
		t.Fatal(err)
	}
	info, err := typed.Info().Do(ctx)
	if err != nil || info.Version.Int != "8.19.3" {
		t.Fatalf("info: %v %+v", err, info)
	}
	put, err := typed.Cluster.PutSettings().FlatSettings(true).Persistent(map[string]json.RawMessage{
		"cluster.remote.logs.mode":          json.RawMessage(`"proxy"`),
		"cluster.remote.logs.proxy_address": json.RawMessage(`"` + ece.Endpoint + `:9443"`),
		"cluster.remote.logs.server_name":   json.RawMessage(`"` + ece.Endpoint + `"`),
		"cluster.remote.logs.seeds":         nil,
	}).Do(ctx)
	if err != nil || !put.Acknowledged || string(put.Persistent["cluster.remote.logs.mode"]) != `"proxy"` {
		t.Fatalf("put settings: %v %+v", err, put)
	}
	_, err = typed.Cluster.PutSettings().Persistent(map[string]json.RawMessage{
		"cluster.remote.x.proxy_address": json.RawMessage(`"h:9443"`),
	}).Do(ctx)
	var esErr *types.ElasticsearchError
	if !errors.As(err, &esErr) || esErr.Status != 400 || esErr.ErrorCause.Type != "illegal_argument_exception" {
		t.Fatalf("sniff+proxy_address: %v", err)
	}
	gs, err := typed.Cluster.GetSettings().FlatSettings(true).IncludeDefaults(true).Do(ctx)
	if err != nil || len(gs.Persistent) != 3 {
		t.Fatalf("get settings: %v %+v", err, gs)
	}
	cc, err := remote.Security.CreateCrossClusterApiKey().Name("logs").Access(&types.Access{
		Search: []types.SearchAccess{{Names: []string{"logs-*"}}},
	}).Expiration("30d").Do(ctx)
	if err != nil || cc.Encoded == "" {
		t.Fatalf("create ccs key: %v", err)
	}
	up, err := remote.Security.UpdateCrossClusterApiKey(cc.Id).Access(&types.Access{
		Search: []types.SearchAccess{{Names: []string{"logs-*", "metrics-*"}}},
	}).Do(ctx)
	if err != nil || !up.Updated {
		t.Fatalf("update ccs key: %v %+v", err, up)
	}
	keys, err := remote.Security.GetApiKey().Name("logs").ActiveOnly(true).Do(ctx)
	if err != nil || len(keys.ApiKeys) != 1 || keys.ApiKeys[0].Type.Name != "cross_cluster" || keys.ApiKeys[0].Access == nil {
		t.Fatalf("get api key: %v %+v", err, keys)
	}
	if _, err := remote.Security.GetApiKey().Id("nope").Do(ctx); !errors.As(err, &esErr) || esErr.Status != 404 {
		t.Errorf("get missing id: %v", err)
	}
	if err := srv.World.SetKeystore("ech-analytics", "cluster.remote.logs.credentials", cc.Encoded); err != nil {
		t.Fatal(err)
	}
	ri, err := typed.Cluster.RemoteInfo().Do(ctx)
	if err != nil {
		t.Fatalf("remote info: %v", err)
	}
	p, ok := ri["logs"].(*types.ClusterRemoteProxyInfo)
	if !ok || !p.Connected || p.ClusterCredentials == nil || *p.ClusterCredentials != "::es_redacted::" {
		t.Fatalf("remote info: %#v", ri["logs"])
	}
	rc, err := typed.Indices.ResolveCluster().Name("logs:logs-*").Do(ctx)
	if err != nil || !rc["logs"].Connected || rc["logs"].Version == nil {
		t.Fatalf("resolve cluster: %v %+v", err, rc)
	}
	role, err := typed.Security.PutRole("logs-reader").
		RemoteIndices(types.RemoteIndicesPrivileges{Clusters: []string{"logs"}, Names: []string{"logs-*"}, Privileges: []indexprivilege.IndexPrivilege{indexprivilege.Read}}).
		Metadata(types.Metadata{"managed_by": json.RawMessage(`"esremote"`)}).Do(ctx)
	if err != nil || !role.Role.Created {
		t.Fatalf("put role: %v %+v", err, role)
	}
	roles, err := typed.Security.GetRole().Name("logs-reader").Do(ctx)
	if err != nil || len(roles["logs-reader"].RemoteIndices) != 1 {
		t.Fatalf("get role: %v %+v", err, roles)
	}
	if all, err := typed.Security.GetRole().Do(ctx); err != nil || len(all) != 1 {
		t.Fatalf("get all roles: %v %v", err, all)
	}
	if del, err := typed.Security.DeleteRole("logs-reader").Do(ctx); err != nil || !del.Found {
		t.Fatalf("delete role: %v", err)
	}
	rl, err := typed.Nodes.ReloadSecureSettings().Do(ctx)
	if err != nil || rl.NodeStats.Failed != 0 {
		t.Fatalf("reload: %v", err)
	}
	inv, err := remote.Security.InvalidateApiKey().Ids(cc.Id).Do(ctx)
	if err != nil || len(inv.InvalidatedApiKeys) != 1 {
		t.Fatalf("invalidate: %v %+v", err, inv)
	}

	// esapi.
	raw, err := elasticsearch.NewClient(cfg("ech-analytics", false))
	if err != nil {
		t.Fatal(err)
	}
	res, err := raw.Cluster.PutSettings(strings.NewReader(`{"persistent":{"cluster.remote.x.proxy_address":"h:9443"}}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 400 || !strings.Contains(string(body), `[required=PROXY, configured=SNIFF]`) {
		t.Errorf("esapi put: %d %s", res.StatusCode, body)
	}
	for name, call := range map[string]func() (int, error){
		"info":        func() (int, error) { r, err := raw.Info(); return status(r, err) },
		"remote info": func() (int, error) { r, err := raw.Cluster.RemoteInfo(); return status(r, err) },
		"get settings": func() (int, error) {
			r, err := raw.Cluster.GetSettings(raw.Cluster.GetSettings.WithFlatSettings(true))
			return status(r, err)
		},
		"get keys": func() (int, error) {
			r, err := raw.Security.GetAPIKey(raw.Security.GetAPIKey.WithName("*"))
			return status(r, err)
		},
		"reload": func() (int, error) { r, err := raw.Nodes.ReloadSecureSettings(); return status(r, err) },
		"resolve": func() (int, error) {
			r, err := raw.Indices.ResolveCluster(raw.Indices.ResolveCluster.WithName("logs:*"))
			return status(r, err)
		},
		"put role": func() (int, error) {
			r, err := raw.Security.PutRole("r", strings.NewReader(`{"remote_cluster":[{"clusters":["logs"],"privileges":["monitor_enrich"]}]}`))
			return status(r, err)
		},
		"get role": func() (int, error) { r, err := raw.Security.GetRole(); return status(r, err) },
	} {
		if code, err := call(); err != nil || code != 200 {
			t.Errorf("esapi %s: %d %v", name, code, err)
		}
	}
	rr, err := elasticsearch.NewClient(cfg("ece-prod-logs", true))
	if err != nil {
		t.Fatal(err)
	}
	cr, err := rr.Security.CreateCrossClusterAPIKey(strings.NewReader(`{"name":"k","access":{"replication":[{"names":["archive-*"]}]}}`))
	if code, err := status(cr, err); err != nil || code != 200 {
		t.Errorf("esapi create ccs: %d %v", code, err)
	}
	ur, err := rr.Security.UpdateCrossClusterAPIKey(cc.Id, strings.NewReader(`{"metadata":{"a":1}}`))
	if code, _ := status(ur, err); code != 400 {
		t.Errorf("esapi update of an invalidated key: %d", code)
	}
	ir, err := rr.Security.InvalidateAPIKey(strings.NewReader(`{"name":"k"}`))
	if code, err := status(ir, err); err != nil || code != 200 {
		t.Errorf("esapi invalidate: %d %v", code, err)
	}
}

// status reads an esapi response's status and closes its body.
func status(r *esapi.Response, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	defer r.Body.Close()
	_, _ = io.Copy(io.Discard, r.Body)
	return r.StatusCode, nil
}
