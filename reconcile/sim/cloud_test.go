package sim

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// keyPaths lists every key path of a decoded JSON value; array elements
// share the path "[]".
func keyPaths(prefix string, v any, out map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			p := prefix + "." + k
			out[p] = true
			keyPaths(p, e, out)
		}
	case []any:
		for _, e := range v {
			keyPaths(prefix+"[]", e, out)
		}
	}
}

func fixture(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "cloud-api", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// sameShape checks that every key path the sim sends is in the fixture
// (except allowed extras the spec documents) and that every fixture path
// under the listed prefixes is sent by the sim.
func sameShape(t *testing.T, name string, fix, got map[string]any, required []string, extras ...string) {
	t.Helper()
	fp, gp := map[string]bool{}, map[string]bool{}
	keyPaths("", fix, fp)
	keyPaths("", got, gp)
	for _, p := range slices.Sorted(maps.Keys(gp)) {
		if !fp[p] && !slices.ContainsFunc(extras, func(e string) bool { return strings.HasPrefix(p, e) }) {
			t.Errorf("%s: sim sends %s, the fixture has no such key", name, p)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(fp)) {
		if slices.ContainsFunc(required, func(r string) bool { return strings.HasPrefix(p, r) }) && !gp[p] {
			t.Errorf("%s: fixture has %s, the sim does not send it", name, p)
		}
	}
}

func TestCloudShapesMatchFixtures(t *testing.T) {
	srv, _ := startDefault(t)
	ech, _ := srv.World.Cluster("ech-analytics")
	ece, _ := srv.World.Cluster("ece-prod-logs")
	r := cloud(t, srv, "ech", "GET", "/api/v1/deployments/"+ech.DeploymentID+"?show_settings=true", nil)
	if r.status != 200 || r.header.Get("x-cloud-resource-version") == "" || r.header.Get("x-ratelimit-remaining") == "" {
		t.Fatalf("get deployment: %d %v", r.status, r.header)
	}
	res := ".resources.elasticsearch[]"
	sameShape(t, "deployment-get-ech", fixture(t, "deployment-get-ech.json"), r.json(t),
		[]string{".id", ".name", ".alias", ".healthy", res + ".id", res + ".ref_id", res + ".region",
			res + ".info.cluster_id", res + ".info.deployment_id", res + ".info.metadata.endpoint",
			res + ".info.metadata.ports", res + ".info.plan_info.current.plan.elasticsearch.version",
			res + ".info.settings.trust", res + ".info.settings.metadata.organization_id", ".metadata.organization_id"},
		// Spec fields the fixture does not carry (§2.1): other resource kinds and trust lists.
		".resources.kibana", ".resources.enterprise_search", ".resources.integrations_server",
		res+".info.plan_info.current.plan.deployment_template.id", res+".info.plan_info.current.plan.cluster_topology[].instance_configuration_version",
		res+".info.status", res+".info.elasticsearch.shards_status", res+".info.elasticsearch.master_info")
	d := r.json(t)
	info := d["resources"].(map[string]any)["elasticsearch"].([]any)[0].(map[string]any)["info"].(map[string]any)
	if ep := info["metadata"].(map[string]any)["endpoint"]; ep != ech.ClusterID+".eu-west-1.aws.found.io" {
		t.Errorf("ECH endpoint %v", ep)
	}
	if tr := info["settings"].(map[string]any)["trust"].(map[string]any); tr["direct"] != nil || tr["accounts"].([]any)[0].(map[string]any)["name"] != "Default trust for own organization" {
		t.Errorf("default trust %v", tr)
	}
	if r := cloud(t, srv, "ece", "GET", "/api/v1/deployments/"+ece.DeploymentID, nil).json(t); strings.Contains(mustJSON(r), `"settings"`) {
		t.Errorf("settings without show_settings")
	}
	if ep := ece.Endpoint; ep != ece.ClusterID+".192.168.44.10.ip.es.io" {
		t.Errorf("ECE endpoint %s", ep)
	}

	nf := cloud(t, srv, "ech", "GET", "/api/v1/deployments/62bed072dffd4509b84dfe7dc125bb12", nil)
	if nf.status != 404 || nf.header.Get("x-cloud-error-codes") != "deployments.deployment_not_found" {
		t.Errorf("not found: %d %v", nf.status, nf.header)
	}
	if got, want := nf.json(t), fixture(t, "error-deployment-not-found.json"); !sameJSON(got, want) {
		t.Errorf("not-found body\n got %s\nwant %s", mustJSON(got), mustJSON(want))
	}
	ks := cloud(t, srv, "ech", "PATCH", "/api/v1/deployments/"+ech.DeploymentID+"/elasticsearch/_main/keystore",
		`{"secrets":{"s3.client.CLIENT_NAME.access_key":{"value":"a"},"s3.client.CLIENT_NAME.secret_key":{"value":"b"}}}`)
	if ks.status != 200 || !sameJSON(ks.json(t), fixture(t, "keystore-get.json")) {
		t.Errorf("keystore patch: %d %s", ks.status, ks.body)
	}
	if g := cloud(t, srv, "ech", "GET", "/api/v1/deployments/"+ech.DeploymentID+"/elasticsearch/main-elasticsearch/keystore", nil); !sameJSON(g.json(t), fixture(t, "keystore-get.json")) || strings.Contains(string(g.body), `"a"`) {
		t.Errorf("keystore get: %s", g.body)
	}
	// Incremental: {} and null remove; other keys stay.
	cloud(t, srv, "ech", "PATCH", "/api/v1/deployments/"+ech.DeploymentID+"/elasticsearch/_main/keystore", `{"secrets":{"s3.client.CLIENT_NAME.access_key":{}}}`)
	if g := cloud(t, srv, "ech", "GET", "/api/v1/deployments/"+ech.DeploymentID+"/elasticsearch/_main/keystore", nil).json(t); len(g["secrets"].(map[string]any)) != 1 {
		t.Errorf("after {} removal: %v", g)
	}
	tl := cloud(t, srv, "ece", "GET", "/api/v1/platform/configuration/trust-relationships", nil)
	sameShape(t, "trust-relationships-list-ece", fixture(t, "trust-relationships-list-ece.json"), tl.json(t),
		[]string{".trust_relationships"}, ".trust_relationships[].installation_id")
	one := cloud(t, srv, "ece", "GET", "/api/v1/platform/configuration/trust-relationships/local?include_certificate=true", nil)
	sameShape(t, "trust-relationship-get-ece", fixture(t, "trust-relationship-get-ece.json"), one.json(t),
		[]string{"."}, ".installation_id", ".public_ca_cert")
	if nl := cloud(t, srv, "ece", "GET", "/api/v1/platform/configuration/trust-relationships?filter=non-local", nil).json(t); len(nl["trust_relationships"].([]any)) != 0 {
		t.Errorf("non-local: %v", nl)
	}
	if r := cloud(t, srv, "ece", "GET", "/api/v1/platform/configuration/trust-relationships/nope", nil); r.status != 404 {
		t.Errorf("missing relationship: %d", r.status)
	}
	if r := do(t, nil, "GET", srv.ControlPlaneURL("ech")+"/api/v1/organizations", "ApiKey wrong", nil); r.status != 401 || r.json(t)["errors"] == nil {
		t.Errorf("bad key: %d %s", r.status, r.body)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestPutDeployment(t *testing.T) {
	srv, _ := startDefault(t)
	ech, _ := srv.World.Cluster("ech-analytics")
	url := "/api/v1/deployments/" + ech.DeploymentID
	get := cloud(t, srv, "ech", "GET", url+"?show_settings=true", nil)
	version := get.header.Get("x-cloud-resource-version")
	// The cloud-sdk-go request built from a GET (fixture) has the shape the sim takes.
	req := fixture(t, "deployment-update-request-from-get.json")
	es := req["resources"].(map[string]any)["elasticsearch"].([]any)[0].(map[string]any)
	es["ref_id"], es["region"] = ech.RefID, ech.Region
	trust := es["settings"].(map[string]any)["trust"].(map[string]any)
	trust["direct"] = []any{}
	delete(req, "name")
	noPrune := maps.Clone(req)
	delete(noPrune, "prune_orphans")
	if r := cloud(t, srv, "ech", "PUT", url, noPrune); r.status != 400 || !strings.Contains(string(r.body), "prune_orphans") {
		t.Errorf("without prune_orphans: %d %s", r.status, r.body)
	}
	if r := cloud(t, srv, "ech", "PUT", url+"?version="+version, req); r.status != 200 || r.header.Get("x-cloud-resource-version") == version {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	if r := cloud(t, srv, "ech", "PUT", url+"?version="+version, req); r.status != 409 || r.json(t)["errors"] == nil {
		t.Errorf("stale version: %d %s", r.status, r.body)
	}
	// The plan is stored verbatim and trust replaced whole (#842: no name → "").
	tr, _ := srv.World.Trust("ech-analytics")
	if len(tr.Accounts) != 1 || tr.Accounts[0].AccountID != "554443047" || len(tr.Direct) != 0 {
		t.Errorf("trust after put: %+v", tr)
	}
	after := cloud(t, srv, "ech", "GET", url, nil).json(t)
	plan := after["resources"].(map[string]any)["elasticsearch"].([]any)[0].(map[string]any)["info"].(map[string]any)["plan_info"].(map[string]any)["current"].(map[string]any)["plan"]
	if !sameJSON(plan, es["plan"]) {
		t.Errorf("plan not stored verbatim")
	}
	noPlan := map[string]any{"prune_orphans": false, "resources": map[string]any{"elasticsearch": []any{map[string]any{"ref_id": ech.RefID, "region": ech.Region}}}}
	if r := cloud(t, srv, "ech", "PUT", url, noPlan); r.status != 400 {
		t.Errorf("without plan: %d", r.status)
	}
	bad := map[string]any{"prune_orphans": false, "resources": map[string]any{"elasticsearch": []any{map[string]any{"ref_id": ech.RefID, "region": ech.Region, "plan": es["plan"],
		"settings": map[string]any{"trust": map[string]any{"direct": []any{map[string]any{"name": "x", "trust_all": true, "certificates": []any{}}}}}}}}}
	if r := cloud(t, srv, "ech", "PUT", url, bad); r.status != 400 || !strings.Contains(string(r.body), `"fields":["body.resources`) {
		t.Errorf("invalid direct trust: %d %s", r.status, r.body)
	}
}

func TestRateLimit(t *testing.T) {
	w := DefaultWorld()
	w.controlPlanes["ech"].spec.RateLimit = 2
	srv, err := Start(t.Context(), w)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var last response
	for i := 0; i < 3; i++ {
		last = cloud(t, srv, "ech", "GET", "/api/v1/organizations", nil)
	}
	if last.status != 429 || last.header.Get("x-ratelimit-remaining") != "0" || last.header.Get("x-ratelimit-limit") != "2" {
		t.Errorf("third request: %d %v", last.status, last.header)
	}
}
