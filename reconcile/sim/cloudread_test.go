package sim

import (
	"encoding/json"
	"slices"
	"testing"
)

// GET /deployments/{id}/elasticsearch/{ref}/remote-clusters lists the
// certificate-model remotes of the same control plane, with the keys of
// fixtures/cloud-api/remote-clusters-get.json and RemoteResourceInfo.
func TestGetRemoteClusters(t *testing.T) {
	srv := startWorld(t, WorldSpec{
		ControlPlanes: map[string]ControlPlaneSpec{PlatformECH: {}},
		Clusters: []ClusterSpec{
			{Name: "a", Version: "8.19.3", Platform: PlatformECH},
			{Name: "b", Version: "9.1.0", Platform: PlatformECH},
			{Name: "onprem", Version: "8.19.3"},
		},
	})
	a, _ := srv.World.Cluster("a")
	b, _ := srv.World.Cluster("b")
	_, enc, _ := srv.World.CreateCrossClusterKey("b", "k", `{"search":[{"names":["*"]}]}`, 0)
	srv.World.SetKeystore("a", "cluster.remote.bykey.credentials", enc)
	r := es(t, srv, "a", "PUT", "/_cluster/settings", `{"persistent":{`+
		`"cluster.remote.bycert.mode":"proxy","cluster.remote.bycert.proxy_address":"`+b.Endpoint+`:9400","cluster.remote.bycert.server_name":"`+b.Endpoint+`","cluster.remote.bycert.skip_unavailable":true,`+
		`"cluster.remote.bykey.mode":"proxy","cluster.remote.bykey.proxy_address":"`+b.Endpoint+`:9443","cluster.remote.bykey.server_name":"`+b.Endpoint+`",`+
		`"cluster.remote.self.seeds":"onprem.sim:9300"}}`)
	if r.status != 200 {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	path := "/api/v1/deployments/" + a.DeploymentID + "/elasticsearch/" + a.RefID + "/remote-clusters"
	r = cloud(t, srv, PlatformECH, "GET", path, nil)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var got struct {
		Resources []map[string]any `json:"resources"`
	}
	json.Unmarshal(r.body, &got)
	if len(got.Resources) != 1 {
		t.Fatalf("want only the certificate-model alias of the same platform, got %s", r.body)
	}
	e := got.Resources[0]
	if e["alias"] != "bycert" || e["deployment_id"] != b.DeploymentID || e["elasticsearch_ref_id"] != b.RefID || e["skip_unavailable"] != true {
		t.Fatalf("entry: %v", e)
	}
	var whole map[string]any
	json.Unmarshal(r.body, &whole)
	sameShape(t, "remote-clusters-get.json", fixture(t, "remote-clusters-get.json"), whole,
		[]string{".resources"}, ".resources[].info")
	info, _ := e["info"].(map[string]any)
	for _, k := range []string{"healthy", "connected", "compatible", "trusted", "trusted_back"} {
		if info[k] != true {
			t.Errorf("info.%s = %v, want true (%v)", k, info[k], info)
		}
	}

	// b stops trusting a: the link is up (trust is read at connect time,
	// and a trust change rebuilds it) but not trusted back.
	srv.World.SetTrust("b", Trust{})
	json.Unmarshal(cloud(t, srv, PlatformECH, "GET", path, nil).body, &got)
	info, _ = got.Resources[0]["info"].(map[string]any)
	if info["trusted_back"] != false || info["healthy"] != false || info["trusted"] != true {
		t.Fatalf("after b drops its trust: %v", info)
	}

	r = cloud(t, srv, PlatformECH, "GET", "/api/v1/deployments/"+a.DeploymentID+"/elasticsearch/nope/remote-clusters", nil)
	if r.status != 404 || r.header.Get("x-cloud-error-codes") != "deployments.deployment_resource_not_found" {
		t.Fatalf("unknown ref_id: %d %s", r.status, r.body)
	}
}

// GET /trusted-environments (get-trusted-envs): the organization's trusted
// environments as ElasticsearchClusterTrustSettings, 404
// organization.not_found for another organization.
func TestGetTrustedEnvironments(t *testing.T) {
	srv, _ := startDefault(t)
	r := cloud(t, srv, PlatformECH, "GET", "/api/v1/trusted-environments", nil)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var got Trust
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Accounts) != 1 || got.Accounts[0].AccountID != "554443047" || !got.Accounts[0].TrustAll ||
		got.Accounts[0].Name != "Default trust for own organization" || got.External != nil || got.Direct != nil {
		t.Fatalf("default: %s", r.body)
	}

	ca, scope, err := srv.World.ControlPlaneCA(PlatformECE)
	if err != nil {
		t.Fatal(err)
	}
	ece, _ := srv.World.Cluster("ece-prod-logs")
	tr, _ := srv.World.Trust("ech-analytics")
	tr.Direct = append(tr.Direct, DirectTrust{Name: "ECE", Type: "ECE", ScopeID: scope, TrustAllowlist: []string{ece.ClusterID},
		Certificates: []TrustedCertificate{{PEM: ca}}})
	srv.World.SetTrust("ech-analytics", *tr)
	json.Unmarshal(cloud(t, srv, PlatformECH, "GET", "/api/v1/trusted-environments", nil).body, &got)
	if len(got.Direct) != 1 || got.Direct[0].ScopeID != scope || !slices.Equal(got.Direct[0].TrustAllowlist, []string{ece.ClusterID}) {
		t.Fatalf("after a direct ECE entry: %+v", got.Direct)
	}

	r = cloud(t, srv, PlatformECE, "GET", "/api/v1/trusted-environments?organization_id=42", nil)
	if r.status != 404 || r.header.Get("x-cloud-error-codes") != "organization.not_found" {
		t.Fatalf("another organization: %d %s", r.status, r.body)
	}
}
