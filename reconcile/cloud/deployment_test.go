package cloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const fixtureDeploymentID = "61042f21dbfb4a2c87627998bded9e04"

// fakeDeployment is a minimal stateful control plane for one deployment:
// GET returns body with x-cloud-resource-version, PUT checks ?version=,
// records the body and bumps the version.
type fakeDeployment struct {
	mu      sync.Mutex
	body    []byte
	version int
	puts    [][]byte
	queries []string
}

func (f *fakeDeployment) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path != "/api/v1/deployments/"+fixtureDeploymentID {
		serveJSON(404, []byte(`{"errors":[{"code":"root.resource_not_found","message":"The requested resource could not be found"}]}`), nil)(w, r)
		return
	}
	f.queries = append(f.queries, r.Method+" "+r.URL.RawQuery)
	w.Header().Set("Content-Type", "application/json")
	switch r.Method {
	case http.MethodGet:
		w.Header().Set("x-cloud-resource-version", itoa(f.version))
		w.Write(f.body)
	case http.MethodPut:
		if r.URL.Query().Get("version") != itoa(f.version) {
			w.WriteHeader(http.StatusConflict)
			w.Write([]byte(`{"errors":[{"code":"deployments.version_conflict","message":"version conflict"}]}`))
			return
		}
		b, _ := io.ReadAll(r.Body)
		f.puts = append(f.puts, b)
		f.version++
		w.Header().Set("x-cloud-resource-version", itoa(f.version))
		w.Write([]byte(`{"id":"` + fixtureDeploymentID + `","resources":[]}`))
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestDeploymentFixture(t *testing.T) {
	f := &fakeDeployment{body: fixture(t, "deployment-get-ech.json"), version: 3}
	var gotAuth, gotQuery string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotQuery = r.Header.Get("Authorization"), r.URL.RawQuery
		f.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv, ECH, nil)

	d, err := c.Deployment(context.Background(), fixtureDeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	if gotAuth != "ApiKey "+testAPIKey {
		t.Errorf("Authorization = %q", gotAuth)
	}
	for _, q := range []string{"show_settings=true", "show_plans=true", "show_metadata=true", "clear_transient=true"} {
		if !strings.Contains(gotQuery, q) {
			t.Errorf("query %q lacks %s", gotQuery, q)
		}
	}
	if d.ID != fixtureDeploymentID || d.Name != "My deployment" || d.ResourceVersion != "3" || d.OrganizationID != "554443047" || !d.Healthy {
		t.Errorf("deployment = %+v", d)
	}
	if len(d.Elasticsearch) != 1 {
		t.Fatalf("elasticsearch resources = %d", len(d.Elasticsearch))
	}
	es, err := d.ES("_main")
	if err != nil {
		t.Fatal(err)
	}
	want := ESResource{
		RefID: "main-elasticsearch", Region: "aws-eu-west-1", ClusterID: "9b2c80e3248b40f78d3014f54e642c9b",
		Endpoint:      "9b2c80e3248b40f78d3014f54e642c9b.eu-west-1.aws.qa.cld.elstc.co",
		ServiceURL:    "https://9b2c80e3248b40f78d3014f54e642c9b.eu-west-1.aws.qa.cld.elstc.co",
		TransportPort: 9400, Version: "9.0.2", Status: "started", Healthy: true, OrganizationID: "554443047",
	}
	got := *es
	got.PlanRaw, got.Trust, got.TrustRaw = nil, Trust{}, nil
	if !equalResource(got, want) {
		t.Errorf("resource =\n%+v\nwant\n%+v", got, want)
	}
	if es.ProxyAddress(9443) != "9b2c80e3248b40f78d3014f54e642c9b.eu-west-1.aws.qa.cld.elstc.co:9443" {
		t.Errorf("proxy address = %s", es.ProxyAddress(9443))
	}
	fixturePlan := member(t, fixture(t, "deployment-get-ech.json"), "resources", "elasticsearch", 0, "info", "plan_info", "current", "plan")
	if !bytes.Equal(es.PlanRaw, fixturePlan) {
		t.Error("PlanRaw is not the current plan verbatim")
	}
	if len(es.Trust.Accounts) != 1 || len(es.Trust.Direct) != 0 || len(es.Trust.External) != 0 {
		t.Fatalf("trust = %+v", es.Trust)
	}
	acc := es.Trust.Accounts[0]
	if acc.AccountID != "554443047" || acc.Name != "Default trust for own organization" || !acc.TrustAll || acc.TrustAllowlist != nil {
		t.Errorf("account trust = %+v", acc)
	}
	if main2, _ := d.ES("main-elasticsearch"); main2 != es {
		t.Error("ES by ref_id differs from _main")
	}
	if _, err := d.ES("nope"); err == nil || !strings.Contains(err.Error(), "main-elasticsearch") {
		t.Errorf("ES(nope) err = %v", err)
	}
}

func equalResource(a, b ESResource) bool {
	aj, _ := json.Marshal(a)
	bj, _ := json.Marshal(b)
	return bytes.Equal(aj, bj)
}

// TestUpdateTrustUnchangedMatchesSDKFixture re-sends the trust as read and
// compares with what cloud-sdk-go builds from the same GET.
func TestUpdateTrustUnchangedMatchesSDKFixture(t *testing.T) {
	get := fixture(t, "deployment-get-ech.json")
	f := &fakeDeployment{body: get, version: 5}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, _ := newTestClient(t, srv, ECH, nil)
	ctx := context.Background()

	d, err := c.Deployment(ctx, fixtureDeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	es, _ := d.ES("_main")
	if err := c.UpdateTrust(ctx, d, "_main", es.Trust); err != nil {
		t.Fatal(err)
	}
	if len(f.puts) != 1 {
		t.Fatalf("puts = %d", len(f.puts))
	}
	if q := f.queries[len(f.queries)-1]; q != "PUT version=5" {
		t.Errorf("PUT query = %q", q)
	}
	body := f.puts[0]
	want := fixture(t, "deployment-update-request-from-get.json")

	if string(member(t, body, "prune_orphans")) != "false" {
		t.Error("prune_orphans is not false")
	}
	for _, k := range []string{"ref_id", "region", "plan"} {
		if !jsonEqual(t, member(t, body, "resources", "elasticsearch", 0, k), member(t, want, "resources", "elasticsearch", 0, k)) {
			t.Errorf("%s differs from the SDK fixture", k)
		}
	}
	// The plan goes back byte-for-byte as read.
	plan := member(t, get, "resources", "elasticsearch", 0, "info", "plan_info", "current", "plan")
	if !bytes.Contains(body, plan) {
		t.Error("plan is not sent verbatim")
	}
	gotTrust := member(t, body, "resources", "elasticsearch", 0, "settings", "trust")
	wantTrust := member(t, want, "resources", "elasticsearch", 0, "settings", "trust")
	if !jsonEqual(t, member(t, gotTrust, "accounts"), member(t, wantTrust, "accounts")) {
		t.Errorf("accounts = %s, want %s", member(t, gotTrust, "accounts"), member(t, wantTrust, "accounts"))
	}
	// The default account entry goes back byte-for-byte.
	rawAccount := member(t, get, "resources", "elasticsearch", 0, "info", "settings", "trust", "accounts", 0)
	if !bytes.Contains(body, rawAccount) {
		t.Error("default account trust is not sent verbatim")
	}
	// Deliberate difference from the SDK: lists are [] rather than null.
	for _, k := range []string{"direct", "external"} {
		if got := string(member(t, gotTrust, k)); got != "[]" {
			t.Errorf("trust.%s = %s, want []", k, got)
		}
	}
	// Only the one ES resource and only settings.trust are sent.
	var shape struct {
		Resources map[string][]map[string]json.RawMessage `json:"resources"`
	}
	if err := json.Unmarshal(body, &shape); err != nil {
		t.Fatal(err)
	}
	if len(shape.Resources) != 1 || len(shape.Resources["elasticsearch"]) != 1 {
		t.Errorf("resources = %v", shape.Resources)
	}
	var settings map[string]json.RawMessage
	json.Unmarshal(shape.Resources["elasticsearch"][0]["settings"], &settings)
	if len(settings) != 1 {
		t.Errorf("settings members = %d, want only trust", len(settings))
	}
}

// TestUpdateTrustAddDirect adds the docs' ECE direct entry; the default
// account trust must still go back byte-for-byte.
func TestUpdateTrustAddDirect(t *testing.T) {
	get := fixture(t, "deployment-get-ech.json")
	f := &fakeDeployment{body: get, version: 1}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, _ := newTestClient(t, srv, ECH, nil)
	ctx := context.Background()

	var frag struct {
		Trust Trust `json:"trust"`
	}
	if err := json.Unmarshal(fixture(t, "trust-settings-direct-ece-request.json"), &frag); err != nil {
		t.Fatal(err)
	}
	if len(frag.Trust.Direct) != 1 {
		t.Fatalf("direct = %+v", frag.Trust.Direct)
	}
	dt := frag.Trust.Direct[0]
	if dt.Type != DirectECE || dt.ScopeID != "1053523734" || dt.Name != "My ECE environment" || dt.TrustAll ||
		len(dt.TrustAllowlist) != 1 || dt.TrustAllowlist[0] != "cf659f7fe6164d9691b284ae36811be1" ||
		len(dt.Certificates) != 1 || !strings.HasPrefix(dt.Certificates[0].PEM, "-----BEGIN CERTIFICATE-----\n") {
		t.Errorf("direct entry = %+v", dt)
	}
	// Built in code, as the reconciler would.
	newEntry := DirectTrust{Name: dt.Name, Type: DirectECE, ScopeID: dt.ScopeID, TrustAllowlist: dt.TrustAllowlist,
		Certificates: []TrustedCertificate{{PEM: dt.Certificates[0].PEM}}}

	d, err := c.Deployment(ctx, fixtureDeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	es, _ := d.ES("")
	trust := es.Trust.Clone()
	trust.Direct = append(trust.Direct, newEntry)
	trust.Accounts[0].Name = "edited"
	if es.Trust.Accounts[0].Name == "edited" || len(es.Trust.Direct) != 0 {
		t.Fatal("Clone shares state with the observed trust")
	}
	trust.Accounts[0].Name = es.Trust.Accounts[0].Name // restored: counts as unchanged
	if err := c.UpdateTrust(ctx, d, "main-elasticsearch", trust); err != nil {
		t.Fatal(err)
	}
	body := f.puts[0]
	rawAccount := member(t, get, "resources", "elasticsearch", 0, "info", "settings", "trust", "accounts", 0)
	if !bytes.Contains(body, rawAccount) {
		t.Error("default account trust is not sent verbatim")
	}
	got := member(t, body, "resources", "elasticsearch", 0, "settings", "trust", "direct", 0)
	want := member(t, fixture(t, "trust-settings-direct-ece-request.json"), "trust", "direct", 0)
	if !jsonEqual(t, got, want) {
		t.Errorf("direct entry = %s\nwant %s", got, want)
	}
}

func TestUpdateTrustConflictThenRetry(t *testing.T) {
	f := &fakeDeployment{body: fixture(t, "deployment-get-ech.json"), version: 1}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, sl := newTestClient(t, srv, ECH, nil)
	ctx := context.Background()

	d, err := c.Deployment(ctx, fixtureDeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.version++ // someone else wrote in between
	f.mu.Unlock()
	es, _ := d.ES("")
	err = c.UpdateTrust(ctx, d, "", es.Trust)
	if !IsConflict(err) {
		t.Fatalf("err = %v, want a conflict", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Status != 409 || !e.HasCode("deployments.version_conflict") || e.Retryable() {
		t.Errorf("error = %#v", e)
	}
	if len(sl.all()) != 0 || len(f.puts) != 0 {
		t.Errorf("409 was retried: sleeps %v, puts %d", sl.all(), len(f.puts))
	}
	d, err = c.Deployment(ctx, fixtureDeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateTrust(ctx, d, "", es.Trust); err != nil {
		t.Fatalf("after re-read: %v", err)
	}
}

func TestUpdateTrustRefusals(t *testing.T) {
	get := fixture(t, "deployment-get-ech.json")
	pending := bytes.Replace(get, []byte(`"plan_info": {`), []byte(`"plan_info": {"pending": {"plan": {}},`), 1)
	d, err := parseDeployment(pending)
	if err != nil {
		t.Fatal(err)
	}
	d.ResourceVersion = "1"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv, ECH, nil)
	es, _ := d.ES("")
	if !es.PendingPlan {
		t.Fatal("pending plan not detected")
	}
	if err := c.UpdateTrust(context.Background(), d, "", es.Trust); !errors.Is(err, ErrPlanPending) || !IsPlanPending(err) {
		t.Errorf("pending plan: err = %v", err)
	}
	d, _ = parseDeployment(get)
	if err := c.UpdateTrust(context.Background(), d, "", Trust{}); err == nil || !strings.Contains(err.Error(), "x-cloud-resource-version") {
		t.Errorf("no version: err = %v", err)
	}
}

func TestTrustEncoding(t *testing.T) {
	raw := []byte(`{"accounts": [ {"account_id":"1","trust_all":true,"trust_allowlist":null,"future":1} ],
	  "direct":[{"uid":"u1","name":"n","type":"ECE","scope_id":"42","trust_all":false,"trust_allowlist":["a"],
	    "certificates":[{"pem":"P1","metadata":{"fingerprint":"f1","valid_to":"2030-01-01T00:00:00Z"}}],"future_field":{"x":[1,2]}}],
	  "external":null, "later":{"k":true}}`)
	tr, err := ParseTrust(raw)
	if err != nil {
		t.Fatal(err)
	}
	// Change the direct entry's allowlist; keep the rest.
	tr.Direct[0].TrustAllowlist = append(tr.Direct[0].TrustAllowlist, "b")
	tr.Accounts = append(tr.Accounts, AccountTrust{AccountID: "2", TrustAll: false})
	tr.External = append(tr.External, ExternalTrust{TrustRelationshipID: "tr1", TrustAll: true})
	tr.Direct = append(tr.Direct, DirectTrust{Name: "proxy ca", Type: DirectProxy, Certificates: []TrustedCertificate{{PEM: "P<2>"}}})
	out, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(out) {
		t.Fatalf("invalid JSON %s", out)
	}
	if !bytes.Contains(out, []byte(`{"account_id":"1","trust_all":true,"trust_allowlist":null,"future":1}`)) {
		t.Errorf("unchanged account not verbatim: %s", out)
	}
	wantDirect := `{"certificates":[{"pem":"P1","metadata":{"fingerprint":"f1","valid_to":"2030-01-01T00:00:00Z"}}],"future_field":{"x":[1,2]},"name":"n","scope_id":"42","trust_all":false,"trust_allowlist":["a","b"],"type":"ECE","uid":"u1"}`
	if got := string(member(t, out, "direct", 0)); got != wantDirect {
		t.Errorf("changed direct entry\n got %s\nwant %s", got, wantDirect)
	}
	if got := string(member(t, out, "direct", 1)); got != `{"name":"proxy ca","type":"proxy","trust_all":false,"certificates":[{"pem":"P<2>"}]}` {
		t.Errorf("proxy entry = %s", got)
	}
	if got := string(member(t, out, "accounts", 1)); got != `{"account_id":"2","trust_all":false,"trust_allowlist":[]}` {
		t.Errorf("new account = %s", got)
	}
	if got := string(member(t, out, "external", 0)); got != `{"trust_relationship_id":"tr1","trust_all":true,"trust_allowlist":[]}` {
		t.Errorf("new external = %s", got)
	}
	if got := string(member(t, out, "later")); got != `{"k":true}` {
		t.Errorf("unknown trust member = %s", got)
	}
	// Empty trust: three empty lists, never null.
	out, _ = Trust{}.MarshalJSON()
	if string(out) != `{"accounts":[],"direct":[],"external":[]}` {
		t.Errorf("empty trust = %s", out)
	}
	// A null trust parses as empty.
	if tr, err := ParseTrust(json.RawMessage("null")); err != nil || len(tr.Accounts)+len(tr.Direct)+len(tr.External) != 0 {
		t.Errorf("null trust = %+v, %v", tr, err)
	}
}
