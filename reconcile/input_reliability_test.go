package reconcile

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/sim"
)

// Bad input everywhere it enters (DESIGN §9): each gets a clear error,
// never a panic, never a partial write. Spec files are fuzzed by
// spec.FuzzLoad (make fuzz); world files by FuzzLoadWorld below; here the
// seeds of both run in every `make test`.

var badWorlds = []string{
	"",
	"\x00\x01\x02\xff",
	"clusters: 5",
	"clusters: [{name: a, version: 8.19.3, platform: self-managed}, {name: a, version: 8.19.3, platform: self-managed}]",
	"clusters: [{name: a, version: banana, platform: self-managed}]",
	"clusters: [{name: a, version: 8.19.3, platform: mars}]",
	"clusters: [{name: a, version: 8.19.3, platform: self-managed, surprise: true}]",
	"clusters:\n  - name: a\n    version: 8.19.3\n    platform: ech\n",
	strings.Repeat("[", 10000),
	"a: &a [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
	"clusters: [{name: \"\", version: 8.19.3, platform: self-managed}]",
	"clusters: [{name: a, admin_roles: [nobody]}]",
	"clusters: [{name: a, roles: {r: {remote_indices: [{names: [x], privileges: [read]}]}}}]",
}

// FuzzLoadWorld: no world file makes LoadWorld panic, and every file it
// accepts gives a world that starts.
func FuzzLoadWorld(f *testing.F) {
	for _, s := range badWorlds {
		f.Add([]byte(s))
	}
	f.Add([]byte("clusters: [{name: a, version: 8.19.3, platform: self-managed}]"))
	f.Add([]byte("clusters: [{name: a}]"))
	f.Add([]byte("clusters: [{name: a, admin_roles: [r], roles: {r: {cluster: [manage], remote_indices: [{clusters: ['*'], names: [x], privileges: [read]}]}}}]"))
	f.Add([]byte("clusters: [{name: a, roles: {r: {indices: [{1: x}]}}}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "world.yaml")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		w, err := sim.LoadWorld(p)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		srv, err := sim.Start(t.Context(), w)
		if err != nil {
			return
		}
		srv.Close()
	})
}

func TestBadWorldFilesAreErrors(t *testing.T) {
	for i, s := range badWorlds {
		p := filepath.Join(t.TempDir(), "world.yaml")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := sim.LoadWorld(p); err == nil {
			t.Errorf("world %d (%.40q) accepted", i, s)
		} else if !strings.Contains(err.Error(), "world") {
			t.Errorf("world %d: error does not say which file: %v", i, err)
		}
	}
}

// Credential files: a file readable by group or others is refused, an
// empty one is an error, one trailing newline is trimmed. A refused
// credential sends nothing to the cluster, and no error shows the value.
func TestCredentialFiles(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content func(pw string) string
		mode    os.FileMode
		want    string // "" succeeds
	}{
		{"trailing newline trimmed", func(pw string) string { return pw + "\n" }, 0o600, ""},
		{"CRLF trimmed", func(pw string) string { return pw + "\r\n" }, 0o400, ""},
		{"empty", func(string) string { return "" }, 0o600, "empty"},
		{"only a newline", func(string) string { return "\n" }, 0o600, "empty"},
		{"readable by others", func(pw string) string { return pw }, 0o644, "read"},
		{"readable by group", func(pw string) string { return pw }, 0o640, "read"},
		{"two trailing newlines: the second is kept", func(pw string) string { return pw + "\n\n" }, 0o600, "401"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tw := estate(t, 1)
			_, pw := tw.srv.BasicAuth("local-000")
			p := filepath.Join(tw.dir, "pw")
			if err := os.WriteFile(p, []byte(tc.content(pw)), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tc.mode); err != nil {
				t.Fatal(err)
			}
			clusters := mustRead(t, filepath.Join(tw.dir, "clusters.yaml"))
			clusters = strings.Replace(clusters, "password: {env: ES_PASSWORD_LOCAL_000}", "password: {file: pw}", 1)
			tw.write("clusters.yaml", clusters)
			res := tw.pass(ModeApply)
			rep := res.Report(drift.TriggerApply, "")
			c := findConn(t, rep, "link-000")
			text := errorText(rep, "local-000")
			if strings.Contains(text, pw) {
				t.Fatal("the error shows the password")
			}
			if tc.want == "" {
				if c.Sync != drift.SyncCorrected {
					t.Fatalf("sync %s: %s", c.Sync, text)
				}
				return
			}
			if c.Sync != drift.SyncFailed || !strings.Contains(strings.ToLower(text), tc.want) {
				t.Fatalf("sync %s, want failed naming %q: %s", c.Sync, tc.want, text)
			}
			if tc.want != "401" {
				if n := tw.srv.World.CountRequests("local-000", ""); n != 0 {
					t.Fatalf("%d requests sent with a refused credential", n)
				}
			}
			if w := tw.writes(); len(w) != 0 {
				t.Fatalf("writes with a bad credential: %v", w)
			}
		})
	}
}

// fakeES is an Elasticsearch that answers the reads of a pass from a
// table, for responses the sim never sends; it records every write.
type fakeES struct {
	mu     sync.Mutex
	writes []string
	bodies map[string]func(rw http.ResponseWriter)
}

func jsonBody(s string) func(rw http.ResponseWriter) {
	return func(rw http.ResponseWriter) {
		rw.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(rw, s)
	}
}

func (f *fakeES) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("X-Elastic-Product", "Elasticsearch")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		f.mu.Lock()
		f.writes = append(f.writes, r.Method+" "+r.URL.Path)
		f.mu.Unlock()
	}
	body, ok := f.bodies[r.Method+" "+r.URL.Path]
	if !ok {
		http.Error(rw, `{"error":"no route"}`, http.StatusNotFound)
		return
	}
	body(rw)
}

const (
	goodRoot     = `{"name":"n1","cluster_name":"fake","cluster_uuid":"u","version":{"number":"8.19.3","build_flavor":"default"},"tagline":"You Know, for Search"}`
	goodSettings = `{"persistent":{},"transient":{}}`
)

// Responses that are not JSON, are huge, or carry unexpected fields or
// types: the cluster is failed with an error saying what was wrong, the
// pass goes on, nothing panics and nothing is written.
func TestBadResponsesFromElasticsearch(t *testing.T) {
	huge := func(rw http.ResponseWriter) {
		rw.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(rw, `{"persistent":{"x":"`)
		chunk := strings.Repeat("a", 1<<20)
		for range es.DefaultMaxResponseBytes>>20 + 2 {
			if _, err := io.WriteString(rw, chunk); err != nil {
				return
			}
		}
		_, _ = io.WriteString(rw, `"},"transient":{}}`)
	}
	for _, tc := range []struct {
		name   string
		path   string
		body   func(rw http.ResponseWriter)
		want   []string // "" in want: the pass must succeed
		writes bool
	}{
		{"unexpected extra fields are ignored", "GET /_remote/info", jsonBody(`{"other":{"connected":false,"mode":"sniff","seeds":[],"new_field":{"x":1}}}`), nil, true},
		{"HTML instead of JSON", "GET /", func(rw http.ResponseWriter) {
			rw.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(rw, "<html><body>Welcome to nginx</body></html>")
		}, []string{"invalid", "json", "decode", "character"}, false},
		{"truncated JSON", "GET /_cluster/settings", jsonBody(`{"persistent":{"cluster":`), []string{"json", "eof", "decode", "unexpected"}, false},
		{"version of the wrong type", "GET /", jsonBody(`{"version":{"number":819}}`), []string{"json", "number", "decode", "version"}, false},
		{"version that is no version", "GET /", jsonBody(`{"version":{"number":"banana"}}`), []string{"version"}, false},
		{"settings of the wrong type", "GET /_cluster/settings", jsonBody(`{"persistent":["a","b"],"transient":7}`), []string{"json", "decode", "cannot unmarshal"}, false},
		{"remote info of the wrong type", "GET /_remote/info", jsonBody(`["not","an","object"]`), []string{"json", "decode", "cannot unmarshal"}, false},
		{"a body over the size limit", "GET /_cluster/settings", huge, []string{"larger than"}, false},
		{"empty body", "GET /_remote/info", func(rw http.ResponseWriter) {}, []string{"eof", "json", "empty", "decode"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeES{bodies: map[string]func(http.ResponseWriter){
				"GET /":                  jsonBody(goodRoot),
				"GET /_cluster/settings": jsonBody(goodSettings),
				"GET /_remote/info":      jsonBody(`{}`),
				"PUT /_cluster/settings": jsonBody(`{"acknowledged":true,"persistent":{},"transient":{}}`),
			}}
			f.bodies[tc.path] = tc.body
			fake := httptest.NewServer(f)
			t.Cleanup(fake.Close)
			tw := estate(t, 1)
			// local-000 is the fake; the others stay in the sim.
			clusters := mustRead(t, filepath.Join(tw.dir, "clusters.yaml"))
			tw.write("clusters.yaml", strings.Replace(clusters, tw.srv.ClusterURL("local-000")+"\n", fake.URL+"\n", 1))
			r := tw.reconciler(false)
			r.opts.VerifyTimeout = time.Millisecond
			res, err := r.Pass(context.Background(), tw.load(), ModeApply, "")
			if err != nil {
				t.Fatal(err)
			}
			rep := res.Report(drift.TriggerApply, "")
			c := findConn(t, rep, "link-000")
			text := strings.ToLower(errorText(rep, "local-000"))
			if tc.want == nil {
				if c.Sync != drift.SyncCorrected {
					t.Fatalf("sync %s: %s", c.Sync, text)
				}
			} else {
				if c.Sync != drift.SyncFailed || !containsAny(text, tc.want) {
					t.Fatalf("sync %s, want failed naming any of %q: %s", c.Sync, tc.want, text)
				}
				if len(text) > 2000 {
					t.Fatalf("the error is %d bytes: it must say what was wrong, not echo the body", len(text))
				}
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if (len(f.writes) > 0) != tc.writes {
				t.Fatalf("writes %v (want any: %v)", f.writes, tc.writes)
			}
			if tc.want != nil {
				if rec := r.Ledger().Alias("local-000", "hub"); rec != nil {
					t.Fatalf("the ledger claims an alias never written: %+v", rec)
				}
			}
		})
	}
}

// A control plane answering garbage while esremote resolves a remote
// deployment's endpoint: the connection fails with a clear error and the
// local cluster is not written.
func TestBadResponsesFromControlPlane(t *testing.T) {
	for _, tc := range []struct {
		name string
		body func(rw http.ResponseWriter)
		want []string
	}{
		{"not JSON", func(rw http.ResponseWriter) { _, _ = io.WriteString(rw, "<html>login</html>") }, []string{"json", "invalid", "decode", "character"}},
		{"resources of the wrong type", jsonBody(`{"id":"x","resources":"none"}`), []string{"json", "decode", "cannot unmarshal"}},
		{"no elasticsearch resource", jsonBody(`{"id":"x","resources":{"elasticsearch":[]}}`), []string{"no elasticsearch", "endpoint", "resource"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				rw.Header().Set("Content-Type", "application/json")
				tc.body(rw)
			}))
			t.Cleanup(fake.Close)
			tw := newTestWorld(t, sim.DefaultWorld())
			tw.write("conn.yaml", certConn)
			clusters := mustRead(t, filepath.Join(tw.dir, "clusters.yaml"))
			tw.write("clusters.yaml", strings.Replace(clusters, tw.srv.ControlPlaneURL(sim.PlatformECE)+"\n", fake.URL+"\n", 1))
			rep := tw.pass(ModeApply).Report(drift.TriggerApply, "")
			c := findConn(t, rep, "analytics-to-logs-cert")
			text := strings.ToLower(c.Error + errorText(rep, "ech-analytics"))
			if c.Sync != drift.SyncFailed || !containsAny(text, tc.want) {
				t.Fatalf("sync %s, want failed naming any of %q: %s", c.Sync, tc.want, text)
			}
			if n := tw.srv.World.CountRequests("ech-analytics", "PUT /_cluster/settings"); n != 0 {
				t.Fatalf("the local cluster was written although its remote is unknown (%d PUTs)", n)
			}
		})
	}
}
