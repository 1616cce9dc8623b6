package observe

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/esremote/esremote/reconcile/cloud"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// fakeCloud serves the control plane's GET /deployments/{id} with the
// recorded ECH answer, and counts the reads.
func fakeCloud(t *testing.T) (*atomic.Int32, func(*spec.Cluster) (*cloud.Client, error)) {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("..", "cloud", "testdata", "deployment-get-ech.json"))
	if err != nil {
		t.Fatal(err)
	}
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/deployments/d1") {
			http.NotFound(w, r)
			return
		}
		gets.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("x-cloud-resource-version", "7")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	c, err := cloud.New(cloud.Config{Name: "hosted", Platform: cloud.ECH, URL: srv.URL, APIKey: "k", Transport: srv.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	return &gets, func(*spec.Cluster) (*cloud.Client, error) { return c, nil }
}

var hosted = &spec.Cluster{Name: "hosted", Deployment: &spec.Deployment{ID: "d1", RefID: "main-elasticsearch", Platform: spec.PlatformECH}}

// A deployment the trust decision asks for twice in a pass is read once
// (the pass's read-once store); the re-read after a trust write's 409 is a
// new observation on purpose and reads again.
func TestTrustFactReadsADeploymentOncePerPass(t *testing.T) {
	gets, cl := fakeCloud(t)
	cs := Clients{Set: &spec.Set{}, Cloud: cl, Reads: NewReads()}
	ctx := context.Background()
	for range 2 {
		a := TrustFact(ctx, cs, world.FactDeployment, hosted, nil)
		if a.Dep.ClientErr != nil || a.Dep.Err != nil || a.Dep.Dep == nil || a.Dep.Dep.ResourceVersion != "7" {
			t.Fatalf("deployment fact %+v", a.Dep)
		}
	}
	if n := gets.Load(); n != 1 {
		t.Errorf("the deployment was read %d times in one pass, want once", n)
	}
	c, _ := cl(hosted)
	dep, res, err := ReadTrust(ctx, c, hosted)
	if err != nil || dep == nil || res == nil || res.TrustRaw == nil {
		t.Fatalf("ReadTrust: %v, %v, %v", dep, res, err)
	}
	if n := gets.Load(); n != 2 {
		t.Errorf("the re-read after a 409 read %d times in all, want 2", n)
	}
}

// A control plane without a client answers every fact with why, and
// nothing is sent; a trusted environment's ca_file is read as its bytes.
func TestTrustFactWithoutClientAndCAFile(t *testing.T) {
	noClient := errors.New("deployment of hosted: api key: $CLOUD_KEY is not set")
	cs := Clients{Set: &spec.Set{}, Reads: NewReads(), Cloud: func(*spec.Cluster) (*cloud.Client, error) { return nil, noClient }}
	ctx := context.Background()
	if a := TrustFact(ctx, cs, world.FactDeployment, hosted, nil); !errors.Is(a.Dep.ClientErr, noClient) || a.Dep.Dep != nil {
		t.Errorf("deployment without a client: %+v", a.Dep)
	}
	for _, f := range []world.TrustFact{world.FactOrganizations, world.FactCertificateAuthority} {
		if a := TrustFact(ctx, cs, f, hosted, nil); !errors.Is(a.IDs.Err, noClient) || a.IDs.IDs != nil {
			t.Errorf("%s without a client: %+v", f, a.IDs)
		}
	}
	for _, f := range []world.TrustFact{world.FactRelations, world.FactLocalRelations} {
		if a := TrustFact(ctx, cs, f, hosted, nil); !errors.Is(a.Rels.Err, noClient) || a.Rels.Rels != nil {
			t.Errorf("%s without a client: %+v", f, a.Rels)
		}
	}
	pem := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(pem, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := &spec.TrustedEnvironment{Name: "onprem", CAFile: pem}
	if a := TrustFact(ctx, cs, world.FactCAFile, nil, env); a.IDs.Err != nil || len(a.IDs.IDs) != 1 || a.IDs.IDs[0] != "-----BEGIN CERTIFICATE-----\n" {
		t.Errorf("ca_file: %+v", a.IDs)
	}
	env.CAFile = filepath.Join(t.TempDir(), "missing.pem")
	if a := TrustFact(ctx, cs, world.FactCAFile, nil, env); a.IDs.Err == nil {
		t.Errorf("a missing ca_file read without error: %+v", a.IDs)
	}
}
