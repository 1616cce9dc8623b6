package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/esremote/esremote/spec"
)

const fixClusters = `apiVersion: esremote/v1
kind: Cluster
name: ech-analytics
elasticsearch:
  url: https://analytics.example:443
  auth: {basic: {username: elastic, password: {file: secrets/es}}}
deployment:
  platform: ech
  api: https://api.example
  auth: {api_key: {env: ECH_KEY}}
  id: 0123456789abcdef0123456789abcdef
`

// Each runtime error a user can act on gets a fix naming the spec line
// that configures what failed; the fix never holds a secret's value.
func TestErrorFix(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "c.yaml"), []byte(fixClusters), 0o644); err != nil {
		t.Fatal(err)
	}
	set, _, err := spec.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, target, msg, want string
	}{
		{"wrong password", "ech-analytics", "get cluster info on ech-analytics: 401 unauthorized: security_exception: unable to authenticate user [elastic]",
			"ech-analytics refused the credentials at c.yaml:6:37 (Cluster ech-analytics: user elastic, password from file secrets/es)"},
		{"privileges", "ech-analytics", "put cluster settings on ech-analytics: 403 forbidden: security_exception: action [cluster:admin/settings/update] is unauthorized",
			"the credentials at c.yaml:6:37 (Cluster ech-analytics: user elastic, password from file secrets/es) are valid but lack a privilege"},
		{"refused URL", "ech-analytics", "get cluster info on ech-analytics: network error: dial tcp 127.0.0.1:1: connect: connection refused",
			"nothing answers at https://analytics.example:443 (Cluster ech-analytics at c.yaml:1:1)"},
		{"untrusted TLS", "ech-analytics", "get cluster info on ech-analytics: network error: tls: failed to verify certificate: x509: certificate signed by unknown authority",
			"set ca_file of Cluster ech-analytics (at c.yaml:1:1)"},
		{"missing secret", "", "cluster ech-analytics: password: secret file: /x/secrets/es does not exist",
			"provide the secret referenced at c.yaml:6:37 (Cluster ech-analytics: user elastic, password from file secrets/es)"},
		{"wrong deployment id", "", "read deployment of ech-analytics: get deployment 0123: cloud api ech-analytics: GET /api/v1/deployments/0123: 404 not found: deployments.deployment_not_found",
			"the platform has no deployment 0123456789abcdef0123456789abcdef: correct deployment.id of Cluster ech-analytics at c.yaml:1:1"},
		{"control plane key", "", "cloud api ech-analytics: GET /api/v1/deployments/x: 401 unauthorized: root.unauthorized",
			"the control plane refused the API key at c.yaml:10:10 (the deployment block of Cluster ech-analytics: API key from env ECH_KEY)"},
		{"unknown cluster", "", "cluster other: 401 unauthorized", ""},
		{"nothing to add", "ech-analytics", "put cluster settings on ech-analytics: 400 bad request: illegal_argument_exception", ""},
	} {
		got := errorFix(set, tc.target, tc.msg)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
