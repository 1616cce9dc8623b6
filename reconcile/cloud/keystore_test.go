package cloud

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestKeystoreFixture(t *testing.T) {
	for _, body := range [][]byte{
		fixture(t, "keystore-get.json"),
		// ecctl's variant with an explicit null value.
		[]byte(`{"secrets":{"s3.client.CLIENT_NAME.access_key":{"value":null,"as_file":false},"s3.client.CLIENT_NAME.secret_key":{"as_file":false}}}`),
	} {
		var path string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			path = r.Method + " " + r.URL.Path
			serveJSON(200, body, nil)(w, r)
		}))
		c, _ := newTestClient(t, srv, ECE, nil)
		ks, err := c.Keystore(context.Background(), "dep1", "")
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if path != "GET /api/v1/deployments/dep1/elasticsearch/_main/keystore" {
			t.Errorf("path = %s", path)
		}
		if len(ks) != 2 || ks["s3.client.CLIENT_NAME.secret_key"].AsFile {
			t.Errorf("keystore = %+v", ks)
		}
	}
}

func TestSetKeystore(t *testing.T) {
	const secret = "VnVhTDZHSUJDMFM2a2k3X0pQYVM6c2VjcmV0LXZhbHVl"
	var method, path, ctype string
	var body []byte
	status := 200
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method, path, ctype = r.Method, r.URL.Path, r.Header.Get("Content-Type")
		body, _ = io.ReadAll(r.Body)
		if status != 200 {
			// A server echoing the value back must not leak it.
			serveJSON(status, []byte(fmt.Sprintf(`{"errors":[{"code":"root.invalid_json_request","message":"bad value %s for key"}]}`, secret)), nil)(w, r)
			return
		}
		serveJSON(200, []byte(`{"secrets":{"cluster.remote.ece-logs.credentials":{"as_file":false}}}`), nil)(w, r)
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv, ECH, nil)
	ctx := context.Background()

	err := c.SetKeystore(ctx, "dep1", "main-elasticsearch",
		map[string]string{"cluster.remote.ece-logs.credentials": secret}, []string{"cluster.remote.old.credentials"})
	if err != nil {
		t.Fatal(err)
	}
	if method != http.MethodPatch || path != "/api/v1/deployments/dep1/elasticsearch/main-elasticsearch/keystore" || ctype != "application/json" {
		t.Errorf("request = %s %s (%s)", method, path, ctype)
	}
	want := `{"secrets":{"cluster.remote.ece-logs.credentials":{"value":"` + secret + `","as_file":false},"cluster.remote.old.credentials":{}}}`
	if !jsonEqual(t, body, []byte(want)) {
		t.Errorf("body = %s\nwant %s", body, want)
	}

	status = 400
	err = c.SetKeystore(ctx, "dep1", "main-elasticsearch", map[string]string{"cluster.remote.ece-logs.credentials": secret}, nil)
	if err == nil {
		t.Fatal("want an error")
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), secret) {
		t.Errorf("secret in error: %v", err)
	}
	if !strings.Contains(err.Error(), "bad value <redacted> for key") || !strings.Contains(err.Error(), "cluster.remote.ece-logs.credentials") {
		t.Errorf("error = %v", err)
	}

	if err := c.SetKeystore(ctx, "dep1", "", map[string]string{"k": secret}, []string{"k"}); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("set and remove the same key: err = %v", err)
	}
	method = ""
	if err := c.SetKeystore(ctx, "dep1", "", nil, nil); err != nil || method != "" {
		t.Errorf("empty change: err = %v, request %q", err, method)
	}
}

func TestCertificateAuthority(t *testing.T) {
	// Shape from cloud-api.md §4.4 (no captured fixture exists).
	body := []byte(`{"recommended_trust_restriction":"*.node.*.cluster.554443047.account",
	  "public_certificates":[
	    {"active":true,"pem":"-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n",
	     "metadata":{"fingerprint":"ab:cd","valid_from":"2024-01-01T00:00:00Z","valid_to":"2027-01-01T00:00:00.000Z","also_trusted_by":["x"]}},
	    {"active":false,"pem":"-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----\n","metadata":{"valid_to":"not a date"}}]}`)
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		serveJSON(200, body, nil)(w, r)
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv, ECH, nil)
	cas, err := c.CertificateAuthority(context.Background(), "dep1")
	if err != nil {
		t.Fatal(err)
	}
	if path != "/api/v1/deployments/dep1/certificate-authority" {
		t.Errorf("path = %s", path)
	}
	if len(cas) != 2 || !cas[0].Active || cas[1].Active || !strings.Contains(cas[1].PEM, "\nB\n") {
		t.Fatalf("cas = %+v", cas)
	}
	if !cas[0].Metadata.ValidTo.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) || cas[0].Metadata.Fingerprint != "ab:cd" || !cas[1].Metadata.ValidTo.IsZero() {
		t.Errorf("metadata = %+v / %+v", cas[0].Metadata, cas[1].Metadata)
	}
}

func TestTrustRelationshipsFixture(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		serveJSON(200, fixture(t, "trust-relationships-list-ece.json"), nil)(w, r)
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv, ECE, func(cfg *Config) {
		cfg.APIKey, cfg.Username, cfg.Password = "", "admin", "hunter2-secret"
		cfg.URL = srv.URL + "/api/v1/"
	})
	trs, err := c.TrustRelationships(context.Background(), true, true)
	if err != nil {
		t.Fatal(err)
	}
	if got.URL.Path != "/api/v1/regions/ece-region/platform/configuration/trust-relationships" ||
		got.URL.Query().Get("filter") != "local" || got.URL.Query().Get("include_certificate") != "true" {
		t.Errorf("request = %s", got.URL)
	}
	if u, p, ok := got.BasicAuth(); !ok || u != "admin" || p != "hunter2-secret" {
		t.Errorf("basic auth = %q %q %v", u, p, ok)
	}
	want := TrustRelationship{ID: "83a7b03f2a4343fe99f09bd27ca3d9ec", Name: "ECE2", AccountIDs: []string{"651598b101e54ccab1bfdcd8b6e3b8be"},
		LastModified: "2022-01-9T14:33:20.465Z"}
	if len(trs) != 1 || fmt.Sprint(trs[0]) != fmt.Sprint(want) {
		t.Errorf("trust relationships = %+v", trs)
	}
	// The single element fixture decodes the same way.
	var one TrustRelationship
	if err := json.Unmarshal(fixture(t, "trust-relationship-get-ece.json"), &one); err != nil || fmt.Sprint(one) != fmt.Sprint(want) {
		t.Errorf("element = %+v, %v", one, err)
	}
	if _, err := c.Organizations(context.Background()); err == nil {
		t.Error("organizations on ECE should be refused")
	}
}

func TestOrganizations(t *testing.T) {
	srv := httptest.NewServer(serveJSON(200, []byte(`{"organizations":[{"id":"554443047","name":"My org","billing_email":"x@example.com"}],"next_page":null}`), nil))
	defer srv.Close()
	c, _ := newTestClient(t, srv, ECH, nil)
	orgs, err := c.Organizations(context.Background())
	if err != nil || len(orgs) != 1 || orgs[0] != (Organization{ID: "554443047", Name: "My org"}) {
		t.Errorf("orgs = %+v, %v", orgs, err)
	}
	if _, err := c.TrustRelationships(context.Background(), false, false); err == nil {
		t.Error("trust relationships on ECH should be refused")
	}
}

func TestRemoteClustersFixture(t *testing.T) {
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		serveJSON(200, fixture(t, "remote-clusters-get.json"), nil)(w, r)
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv, ECH, nil)
	rcs, err := c.RemoteClusters(context.Background(), "320b7b540dfc967a7a649c18e2fce4ed", "main-elasticsearch")
	if err != nil {
		t.Fatal(err)
	}
	if path != "/api/v1/deployments/320b7b540dfc967a7a649c18e2fce4ed/elasticsearch/main-elasticsearch/remote-clusters" {
		t.Errorf("path = %s", path)
	}
	want := []RemoteCluster{
		{Alias: "caperucita", DeploymentID: "first id", ElasticsearchRefID: "main-elasticsearch"},
		{Alias: "bestest", DeploymentID: "second id", ElasticsearchRefID: "elasticsearch", SkipUnavailable: true},
	}
	if fmt.Sprint(rcs) != fmt.Sprint(want) {
		t.Errorf("remote clusters = %+v", rcs)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
		auth    string
	}{
		{name: "ech api key", cfg: Config{Platform: ECH, URL: "https://api.elastic-cloud.com", APIKey: "k"}, auth: "ApiKey k"},
		{name: "ech basic", cfg: Config{Platform: ECH, URL: "https://api.elastic-cloud.com", Username: "u", Password: "p"}, wantErr: "ECH needs an API key"},
		{name: "ece basic", cfg: Config{Platform: ECE, URL: "https://ece:12443", Username: "u", Password: "p"}, auth: "Basic dTpw"},
		{name: "ece nothing", cfg: Config{Platform: ECE, URL: "https://ece:12443"}, wantErr: "ECE needs an API key or a username and password"},
		{name: "both", cfg: Config{Platform: ECE, URL: "https://ece:12443", APIKey: "k", Username: "u", Password: "p"}, wantErr: "not both"},
		{name: "platform", cfg: Config{Platform: "gcp", URL: "https://x", APIKey: "k"}, wantErr: `platform "gcp"`},
		{name: "url", cfg: Config{Platform: ECH, URL: "ftp://x", APIKey: "k"}, wantErr: "scheme"},
		{name: "url creds", cfg: Config{Platform: ECH, URL: "https://u:p@x", APIKey: "k"}, wantErr: "credentials"},
		{name: "bad ca", cfg: Config{Platform: ECH, URL: "https://x", APIKey: "k", CACert: []byte("nope")}, wantErr: "no PEM"},
		{name: "transport and ca", cfg: Config{Platform: ECH, URL: "https://x", APIKey: "k", InsecureSkipVerify: true, Transport: http.DefaultTransport}, wantErr: "custom transport"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want %q", err, tt.wantErr)
				}
				if err != nil && (strings.Contains(err.Error(), "Password") || (tt.cfg.Password != "" && strings.Contains(err.Error(), ":"+tt.cfg.Password))) {
					t.Errorf("secret in error %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.authHeader != tt.auth {
				t.Errorf("auth header = %q", c.authHeader)
			}
		})
	}
	cfg := Config{Name: "n", Platform: ECE, URL: "https://ece:12443", Username: "admin", Password: "s3cr3t-pw", APIKey: "s3cr3t-key"}
	for _, s := range []string{cfg.String(), fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg), cfg.LogValue().String()} {
		if strings.Contains(s, "s3cr3t") {
			t.Errorf("secret in %q", s)
		}
	}
}
