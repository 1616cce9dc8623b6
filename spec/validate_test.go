package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// baseClusters are two valid clusters the check cases connect.
const baseClusters = `apiVersion: esremote/v1
kind: Cluster
name: ech-a
elasticsearch:
  url: https://a.es.io:443
  auth: {api_key: {credential: a-es}}
deployment:
  platform: ech
  api: https://api.elastic-cloud.com
  auth: {api_key: {credential: ech-api}}
  id: 61042f21dbfb4a2c87627998bded9e04
---
apiVersion: esremote/v1
kind: Cluster
name: ece-b
elasticsearch:
  url: https://b.ip.es.io:9243
  auth: {basic: {username: u, password: {env: B_PASSWORD}}}
deployment:
  platform: ece
  api: https://ece.example.com:12443
  auth: {api_key: {credential: ece-api}}
  id: 8e1b7c2d4f6a49e0b3c5d7e9f1a2b4c6
---
apiVersion: esremote/v1
kind: Cluster
name: self-c
elasticsearch:
  url: https://c.corp:9200
  auth: {api_key: {env: C_KEY}}
`

const connHead = "apiVersion: esremote/v1\nkind: Connection\nname: x\nlocal: ech-a\nalias: b\n"

func TestChecks(t *testing.T) {
	tests := []struct {
		name string
		doc  string // appended to a file after baseClusters' file
		want []string
	}{
		{"unknown field", connHead + "remote: {clustr: ece-b}\nsecurity: api_key\n",
			[]string{`x.yaml:6:10: error: unknown field "clustr" in remote (did you mean "cluster"?)`}},
		{"wrong type", connHead + "remote: {cluster: ece-b}\nsecurity: api_key\napi_key: {access: {search: [{names: [a]}]}}\nsettings: {skip_unavailable: maybe}\n",
			[]string{`x.yaml:9:30: error: settings.skip_unavailable: expected true or false, got a string`}},
		{"undeclared", connHead + "remote: {cluster: ece-bb}\nsecurity: certificate\n",
			[]string{`x.yaml:6:19: error: remote.cluster "ece-bb" is not a declared Cluster (did you mean "ece-b"?)`, `warning: certificate security is deprecated`}},
		{"alias syntax", strings.Replace(connHead, "alias: b", "alias: B.x", 1) + "remote: {cluster: ece-b}\nsecurity: certificate\n",
			[]string{`x.yaml:5:8: error: alias "B.x" may hold only lowercase letters, digits, - and _`}},
		{"port api_key", connHead + "remote: {proxy_address: \"h.ip.es.io:9400\", server_name: h.ip.es.io}\nsecurity: api_key\napi_key: {managed: false, credentials: {credential: k}}\n",
			[]string{`x.yaml:6:25: warning: api_key security uses the remote cluster server port 9443; 9400 is the certificate-model proxy port`}},
		{"port certificate", connHead + "remote: {proxy_address: \"h.ip.es.io:9443\", server_name: h.ip.es.io}\nsecurity: certificate\n",
			[]string{`warning: certificate security uses the transport proxy port 9400; 9443 is the API-key`}},
		{"sniff to cloud", connHead + "remote: {cluster: ece-b}\nsecurity: certificate\nsettings: {mode: sniff}\n",
			[]string{`x.yaml:8:18: error: sniff mode cannot reach ece-b`}},
		{"sniff needs seeds", connHead + "remote: {cluster: self-c}\nsecurity: certificate\nsettings: {mode: sniff}\n",
			[]string{`error: sniff mode needs remote.seeds`}},
		{"self-managed remote needs proxy_address", connHead + "remote: {cluster: self-c}\nsecurity: certificate\n",
			[]string{`error: remote cluster self-c has no deployment block`}},
		{"no remote", connHead + "security: certificate\n",
			[]string{`x.yaml:1:1: error: Connection x has no remote`}},
		{"inline secret", connHead + "remote: {cluster: ece-b}\nsecurity: api_key\napi_key: {managed: false, credentials: \"s3cr3t\"}\n",
			[]string{`api_key.credentials holds a secret value inline`}},
		{"inline secret value key", connHead + "remote: {cluster: ece-b}\nsecurity: api_key\napi_key: {managed: false, credentials: {value: s3cr3t}}\n",
			[]string{`api_key.credentials holds a secret value inline`}},
		{"secret ref two sources", connHead + "remote: {cluster: ece-b}\nsecurity: api_key\napi_key: {managed: false, credentials: {env: A, file: b}}\n",
			[]string{`api_key.credentials must name exactly one of credential, file or env (it names 2)`}},
		{"role clusters", connHead + "remote: {cluster: ece-b}\nsecurity: certificate\nroles:\n  - name: r\n    remote_indices: [{clusters: [other], names: [a], privileges: [read]}]\n",
			[]string{`x.yaml:10:23: warning: roles[0].remote_indices[0].clusters does not include the alias b`}},
		{"managed key without remote cluster", connHead + "remote: {proxy_address: \"h.corp:9443\"}\nsecurity: api_key\napi_key: {access: {search: [{names: [a]}]}}\n",
			[]string{`esremote can create (manage) a key only on a declared remote Cluster`}},
		{"managed key host logs in with an api key", connHead + "remote: {cluster: self-c, proxy_address: \"c.corp:9443\"}\nsecurity: api_key\napi_key: {access: {search: [{names: [a]}]}}\n",
			[]string{`base.yaml:30:3: error: Cluster self-c hosts the managed cross-cluster key of Connection x, but logs in with an API key: ` +
				`Elasticsearch creates and updates cross-cluster keys only for a user ("authentication via API key not supported"); use elasticsearch.auth.basic`}},
		{"unmanaged without credentials", connHead + "remote: {cluster: ece-b}\nsecurity: api_key\napi_key: {managed: false}\n",
			[]string{`an unmanaged key (managed: false) needs api_key.credentials`}},
		{"rotate_before", connHead + "remote: {cluster: ece-b}\nsecurity: api_key\napi_key: {access: {search: [{names: [a]}]}, expiration: 7d, rotate_before: 14d}\n",
			[]string{`api_key.rotate_before (14d) must be shorter than api_key.expiration (7d)`}},
		{"bad duration", connHead + "remote: {cluster: ece-b}\nsecurity: api_key\napi_key: {expiration: 3 weeks}\n",
			[]string{`api_key.expiration: invalid duration "3 weeks"`}},
		{"duplicate alias", connHead + "remote: {cluster: ece-b}\nsecurity: certificate\n---\n" + strings.Replace(connHead, "name: x", "name: y", 1) + "remote: {cluster: ece-b}\nsecurity: certificate\n",
			[]string{`x.yaml:13:8: error: alias "b" on cluster ech-a is already used by connection x at x.yaml:5:8`}},
		{"duplicate name", "apiVersion: esremote/v1\nkind: Cluster\nname: ech-a\nelasticsearch: {url: \"https://x:9200\", auth: {api_key: {env: X}}}\n",
			[]string{`x.yaml:3:7: error: duplicate Cluster name "ech-a": also declared at base.yaml:3:7; rename one`}},
		{"cluster id", "apiVersion: esremote/v1\nkind: TrustedEnvironment\nname: t\ndeployment: ech-a\nplatform: ece\nenvironment_id: \"1\"\ntrust: [ABC, 61042f21dbfb4a2c87627998bded9e04]\n",
			[]string{`x.yaml:7:9: error: "ABC" is not an Elasticsearch cluster ID`, `x.yaml:7:14: error: 61042f21dbfb4a2c87627998bded9e04 is the deployment ID of Cluster ech-a`}},
		{"trust deployment block", "apiVersion: esremote/v1\nkind: TrustedEnvironment\nname: t\ndeployment: self-c\nplatform: ece\nenvironment_id: \"1\"\ntrust: all\n",
			[]string{`x.yaml:4:13: error: Cluster self-c has no deployment block`}},
		{"ca_file", "apiVersion: esremote/v1\nkind: TrustedEnvironment\nname: t\ndeployment: ech-a\nplatform: ece\nenvironment_id: \"1\"\ntrust: all\nca_file: ca/missing.pem\n",
			[]string{`x.yaml:8:10: error: ca_file ca/missing.pem does not exist`}},
		{"deployment id", "apiVersion: esremote/v1\nkind: Cluster\nname: d\nelasticsearch: {url: \"https://x:9200\", auth: {api_key: {env: X}}}\ndeployment: {platform: ech, api: \"https://api.elastic-cloud.com\", auth: {api_key: {env: Y}}, id: my-deployment}\n",
			[]string{`deployment.id "my-deployment" is not a deployment ID`}},
		{"no kind", "apiVersion: esremote/v1\nname: n\n",
			[]string{`x.yaml:1:1: error: document has no kind`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"base.yaml": baseClusters, "x.yaml": tt.doc})
			_, problems, err := Load(dir)
			var lines []string
			for _, p := range problems {
				lines = append(lines, p.String())
			}
			got := strings.Join(lines, "\n")
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			if strings.Contains(got, "s3cr3t") {
				t.Errorf("a problem repeats the inline secret:\n%s", got)
			}
			if problems.HasErrors() != (err != nil) {
				t.Errorf("HasErrors = %v, err = %v", problems.HasErrors(), err)
			}
		})
	}
}

// A managed key on a Cluster that logs in as a user, or a key made by
// hand on one that logs in with an API key, is fine.
func TestKeyHostAuthAllowed(t *testing.T) {
	for _, doc := range []string{
		connHead + "remote: {cluster: ece-b}\nsecurity: api_key\napi_key: {access: {search: [{names: [a]}]}}\n",
		connHead + "remote: {cluster: self-c, proxy_address: \"c.corp:9443\"}\nsecurity: api_key\napi_key: {managed: false, credentials: {env: K}}\n",
	} {
		dir := writeFiles(t, map[string]string{"base.yaml": baseClusters, "x.yaml": doc})
		_, problems, _ := Load(dir)
		for _, p := range problems {
			if strings.Contains(p.Message, "logs in with an API key") {
				t.Errorf("unexpected: %s", p)
			}
		}
	}
}

func TestDefaults(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"base.yaml": baseClusters,
		"x.yaml": connHead + "remote: {cluster: ece-b}\nsecurity: api_key\napi_key: {access: {search: [{names: [a]}]}}\n" +
			"roles: [{name: r, remote_indices: [{names: [a], privileges: [read]}], remote_cluster: [{privileges: [monitor_enrich]}]}]\n",
	})
	set, problems, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(problems) != 0 {
		t.Errorf("problems: %v", problems)
	}
	c := set.Connection("x")
	if c.Settings.Mode != ModeProxy || c.Policy != PolicyEnforce || !c.APIKey.Managed {
		t.Errorf("defaults: mode %q policy %q managed %v", c.Settings.Mode, c.Policy, c.APIKey.Managed)
	}
	if got := c.Roles[0].RemoteIndices[0].Clusters; len(got) != 1 || got[0] != "b" {
		t.Errorf("remote_indices clusters = %v, want [b]", got)
	}
	if got := c.Roles[0].RemoteCluster[0].Clusters; len(got) != 1 || got[0] != "b" {
		t.Errorf("remote_cluster clusters = %v, want [b]", got)
	}
	if got := set.Cluster("ech-a").Deployment.RefID; got != DefaultRefID {
		t.Errorf("ref_id = %q", got)
	}
	if c.Pos != (Pos{File: "x.yaml", Line: 1, Column: 1}) || c.Roles[0].Pos.Line != 9 {
		t.Errorf("positions: %v %v", c.Pos, c.Roles[0].Pos)
	}
	ref := set.Cluster("ece-b").Elasticsearch.Auth.Basic.Password
	if ref.Base == "" || ref.Pos.Line != 18 {
		t.Errorf("secret ref base %q pos %v", ref.Base, ref.Pos)
	}
	if set.PosOf(c, "remote.cluster") != (Pos{File: "x.yaml", Line: 6, Column: 19}) {
		t.Errorf("PosOf = %v", set.PosOf(c, "remote.cluster"))
	}
}

func TestRobustness(t *testing.T) {
	bomb := "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
	tests := []struct{ name, content, want string }{
		{"empty", "", "f.yaml:1:1: warning: file is empty"},
		{"comments only", "# nothing\n", "f.yaml:1:1: warning: file holds no YAML documents"},
		{"no kind", "apiVersion: esremote/v1\nname: x\n", "f.yaml:1:1: error: document has no kind"},
		{"no apiVersion", "kind: Cluster\nname: x\n", "f.yaml:1:1: error: document has no apiVersion"},
		{"tabs", "apiVersion: esremote/v1\nkind: Cluster\nelasticsearch:\n\turl: x\n", "f.yaml:4:1: error: YAML syntax error: found character that cannot start any token: a tab indents this line"},
		{"not utf-8", "apiVersion: esremote/v1\nkind: Cluster\nname: caf\xe9\n", "f.yaml:3:10: error: file is not valid UTF-8 (byte 0xe9)"},
		{"deep", strings.Repeat("[", 20000) + strings.Repeat("]", 20000), "f.yaml:1:1: error: YAML syntax error"},
		{"deep mapping", "apiVersion: esremote/v1\nkind: Cluster\nelasticsearch:\n" + deepMapping(500), `unknown field "k" in elasticsearch`},
		{"alias bomb", bomb, "f.yaml:1:1: error: YAML aliases expand this document to more than 10000 extra nodes"},
		{"alias cycle", "&a [*a]\n", "f.yaml:1:1: error: YAML alias at line 1 refers to a node that contains it"},
		{"scalar document", "hello\n", "f.yaml:1:1: error: a spec document is a mapping"},
		{"merge key", "apiVersion: esremote/v1\nkind: Cluster\n<<: {name: x}\n", "f.yaml:3:1: error: document: YAML merge keys (<<) are not supported"},
		{"duplicate key", "apiVersion: esremote/v1\nkind: Cluster\nname: a\nname: b\n", `f.yaml:4:1: error: document: key "name" is already set at line 3`},
		{"too large", "#" + strings.Repeat("x", MaxFileSize), "f.yaml:1:1: error: file is 8.0 MiB; spec files are limited to 8 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"f.yaml": tt.content})
			_, problems, _ := Load(dir)
			var lines []string
			for _, p := range problems {
				lines = append(lines, p.String())
			}
			if got := strings.Join(lines, "\n"); !strings.Contains(got, tt.want) {
				t.Errorf("want %q in:\n%s", tt.want, got)
			}
		})
	}
}

func deepMapping(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(strings.Repeat(" ", 2*(i+1)) + "k:\n")
	}
	return b.String()
}

func TestLoadSkipsDotFilesAndOtherExtensions(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		".git/config.yaml": "junk: [",
		".hidden.yaml":     "junk: [",
		"notes.txt":        "junk: [",
		"sub/a.yml":        baseClusters,
	})
	set, _, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if set.Files != 1 || set.Documents != 3 || len(set.Clusters) != 3 {
		t.Errorf("files %d documents %d clusters %d", set.Files, set.Documents, len(set.Clusters))
	}
	if set.Clusters[0].Name != "ece-b" {
		t.Errorf("clusters not sorted by name: %s first", set.Clusters[0].Name)
	}
}

func TestDigest(t *testing.T) {
	a := writeFiles(t, map[string]string{"a.yaml": baseClusters})
	b := writeFiles(t, map[string]string{"b.yaml": baseClusters})
	sa, _, _ := Load(a)
	sa2, _, _ := Load(a)
	sb, _, _ := Load(b)
	if sa.Digest != sa2.Digest || sa.Digest == sb.Digest {
		t.Errorf("digests: %s %s %s", sa.Digest, sa2.Digest, sb.Digest)
	}
}

func TestLoadErrors(t *testing.T) {
	if _, _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Load of a missing dir: no error")
	}
	f := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(f); err == nil {
		t.Error("Load of a file: no error")
	}
	dir := writeFiles(t, map[string]string{"x.yaml": "kind: Nope\n"})
	_, _, err := Load(dir)
	ie, ok := AsInvalid(err)
	if !ok || ie.Files != 1 || ie.Documents != 1 {
		t.Fatalf("AsInvalid(%v) = %v, %v", err, ie, ok)
	}
	if got := err.Error(); strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, "x.yaml:1:1: error: document has no apiVersion") {
		t.Errorf("Error() = %q", got)
	}
}

// A document that does not decode does not hide the problems of the
// others: they are validated too, and references to the broken one are
// not reported again as undeclared.
func TestBrokenDocumentDoesNotHideOthers(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.yaml": "apiVersion: esremote/v1\nkind: Cluster\nname: local-a\nelasticsearch:\n  url: https://a.example.com:9243\n  auth: {api_key: \"inline\"}\n",
		"b.yaml": "apiVersion: esremote/v1\nkind: Connection\nname: c\nlocal: local-a\nalias: Bad.Alias\nremote: {cluster: ghost}\nsecurity: certificate\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, problems, err := Load(dir)
	if err == nil {
		t.Fatal("want errors")
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.String())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{"a.yaml:6:", "alias \"Bad.Alias\"", "\"ghost\" is not a declared Cluster"} {
		if !strings.Contains(all, want) {
			t.Errorf("problems lack %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "\"local-a\" is not a declared Cluster") {
		t.Errorf("the broken Cluster is reported again as undeclared:\n%s", all)
	}
}
