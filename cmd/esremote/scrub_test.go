package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/esremote/esremote/reconcile/sim"
)

// echoProxy sits in front of a sim endpoint. While echo is set, requests
// it matches get an error whose text quotes their Authorization header and
// body, as some proxies and control planes do; the rest pass through.
type echoProxy struct {
	*httptest.Server
	mu    sync.Mutex
	match func(*http.Request) bool
	cloud bool // answer in the Cloud API's error shape, else Elasticsearch's
	hits  int
	// bodies are the bodies of the echoed requests.
	bodies [][]byte
}

func newEchoProxy(t *testing.T, upstream string, cloud bool) *echoProxy {
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &echoProxy{cloud: cloud}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		echo := p.match != nil && p.match(r)
		if echo {
			p.hits++
		}
		p.mu.Unlock()
		if !echo {
			rp.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.bodies = append(p.bodies, body)
		p.mu.Unlock()
		said := fmt.Sprintf("rejected %s %s with Authorization: %s and body %s", r.Method, r.URL.Path, r.Header.Get("Authorization"), body)
		w.Header().Set("Content-Type", "application/json")
		if cloud {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": "request.invalid", "message": said}}})
			return
		}
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"status": 400, "error": map[string]any{"type": "illegal_argument_exception", "reason": said,
			"root_cause": []map[string]string{{"type": "illegal_argument_exception", "reason": said}}}})
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *echoProxy) echo(match func(*http.Request) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.match, p.hits = match, 0
}

// A proxy or control plane that echoes the Authorization header (and the
// request body) into its error never gets a credential esremote holds into
// what esremote prints, logs (-v) or saves (last.json, the history): the
// Elasticsearch login, the Cloud API key and the cross-cluster key just
// created all show as <redacted>. Before, the report quoted them.
func TestEchoedCredentialsAreScrubbed(t *testing.T) {
	w := newEchoWorld(t)
	dir, state, env, secrets := w.dir, w.state, w.env, w.secrets
	esProxy, cloudProxy := w.es, w.cloud

	var outputs bytes.Buffer
	apply := func() int {
		var stdout, stderr bytes.Buffer
		c := &cli{ctx: t.Context(), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return env[k] }}
		code := runCommand("apply", c, []string{dir, "--format", "json", "-v", "--verify-timeout", "1s"})
		outputs.Write(stdout.Bytes())
		outputs.Write(stderr.Bytes())
		return code
	}

	// 1. The local cluster's Elasticsearch echoes every request but GET /.
	esProxy.echo(func(r *http.Request) bool { return r.URL.Path != "/" })
	if code := apply(); code != exitError {
		t.Errorf("apply with an echoing Elasticsearch: exit %d, want 1", code)
	}
	// A saved plan holds the same errors.
	saved := filepath.Join(t.TempDir(), "plan.json")
	pc := &cli{ctx: t.Context(), stdout: &outputs, stderr: &outputs, getenv: func(k string) string { return env[k] }}
	if code := runCommand("plan", pc, []string{dir, "--out", saved}); code != exitError {
		t.Errorf("plan with an echoing Elasticsearch: exit %d, want 1", code)
	}
	if data, err := os.ReadFile(saved); err != nil || !strings.Contains(string(data), `Basic \u003credacted\u003e`) {
		t.Errorf("saved plan: %v; it does not show the echoed login as <redacted>:\n%s", err, data)
	} else {
		outputs.Write(data)
	}
	// 2. The control plane echoes the keystore PATCH that delivers the
	// cross-cluster key esremote just created.
	esProxy.echo(nil)
	cloudProxy.echo(func(r *http.Request) bool {
		return r.Method == http.MethodPatch && strings.HasSuffix(r.URL.Path, "/keystore")
	})
	if code := apply(); code != exitError {
		t.Errorf("apply with an echoing control plane: exit %d, want 1", code)
	}
	if cloudProxy.hits == 0 {
		t.Fatal("the keystore PATCH never reached the echoing control plane")
	}
	// The echoed PATCH carried the new key: it is a secret too, encoded
	// and its secret half.
	var delivered []string
	for _, body := range cloudProxy.bodies {
		delivered = append(delivered, jsonStrings(body)...)
	}
	for _, v := range delivered {
		raw, err := base64.StdEncoding.DecodeString(v)
		if _, key, ok := strings.Cut(string(raw), ":"); err == nil && ok {
			secrets = append(secrets, v, key)
		}
	}
	if len(secrets) < 6 {
		t.Fatalf("only %d secrets to look for: the delivered key was not found in the echoed body", len(secrets))
	}

	stateFiles(t, state, &outputs)
	checkScrubbed(t, outputs.String(), secrets, "Authorization: Basic <redacted>", "Authorization: ApiKey <redacted>")
}

// jsonStrings returns every string value in a JSON document.
func jsonStrings(data []byte) []string {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// echoWorld is the sim world with echoing proxies in front of the
// ech-analytics cluster and the ECH control plane, and specs for it.
type echoWorld struct {
	dir, state string
	env        map[string]string
	secrets    []string // the logins and keys, as they travel
	es, cloud  *echoProxy
}

func newEchoWorld(t *testing.T) *echoWorld {
	sw := sim.DefaultWorld()
	sim.UserDelays.Fill(sw) // as `esremote sim` serves it
	srv, err := sim.Start(context.Background(), sw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	addrs := srv.Addresses()
	w := &echoWorld{dir: t.TempDir(), state: t.TempDir(),
		es:    newEchoProxy(t, addrs.Clusters["ech-analytics"].URL, false),
		cloud: newEchoProxy(t, addrs.ControlPlanes[sim.PlatformECH].URL, true)}
	w.env = map[string]string{"STATE_DIRECTORY": w.state}
	clusters, secretEnv := simClusters(addrs, map[string]string{"ech-analytics": w.es.URL, "cloud-" + sim.PlatformECH: w.cloud.URL})
	for name, v := range secretEnv {
		w.env[name] = v
		w.secrets = append(w.secrets, v)
	}
	for _, c := range addrs.Clusters {
		w.secrets = append(w.secrets, base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password)))
	}
	for name, content := range map[string]string{"clusters.yaml": clusters, "conn.yaml": rotatingConn} {
		if err := os.WriteFile(filepath.Join(w.dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// checkScrubbed fails when a secret appears in out, or when no echo shows
// as <redacted> (then the echo never reached the outputs and the check
// proves nothing).
func checkScrubbed(t *testing.T, out string, secrets []string, echoes ...string) {
	t.Helper()
	for _, e := range echoes {
		if !strings.Contains(out, e) {
			t.Errorf("%q is not in the outputs: the echo did not reach them, the test proves nothing", e)
		}
	}
	for _, s := range secrets {
		if len(s) < 6 {
			t.Fatalf("suspiciously short secret")
		}
		if strings.Contains(out, s) {
			t.Errorf("a secret (%d chars) appears in the outputs", len(s))
		}
	}
}

// The daemon's outputs too: its log, /status, /metrics, the alert a
// webhook receives, and the state dir.
func TestEchoedCredentialsAreScrubbedInDaemon(t *testing.T) {
	w := newEchoWorld(t)
	w.es.echo(func(r *http.Request) bool { return r.URL.Path != "/" })
	hook := newWebhook(t)
	d := startDaemon(t, func(k string) string { return w.env[k] }, w.dir,
		"--listen", "127.0.0.1:0", "--state-dir", w.state, "--webhook-url-file", hook.urlFile(t, ""))
	addr, logs := d.addr, d.logs
	var out bytes.Buffer
	out.WriteString(hook.wait(t, "")) // the first alert
	for _, path := range []string{"/status", "/metrics"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out.Write(body)
	}
	d.stopOK()
	out.WriteString(logs.String())
	stateFiles(t, w.state, &out)
	checkScrubbed(t, out.String(), w.secrets, "Authorization: Basic <redacted>")
}
