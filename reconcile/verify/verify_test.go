package verify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/observe"
	"github.com/esremote/esremote/reconcile/world"
)

// fakeLocal is a local cluster whose keystore takes a while to load: its
// _resolve/cluster refuses the new key's canary until loadedAfter
// requests were made, and its _remote/info reports each alias's socket.
type fakeLocal struct {
	mu          sync.Mutex
	asked       []string
	loadedAfter int
	sockets     map[string]bool
	// credentials are the aliases whose _remote/info shows
	// cluster_credentials (a keystore entry loaded).
	credentials map[string]bool
}

func (f *fakeLocal) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path == "/_remote/info" {
		out := map[string]world.RemoteInfo{}
		for alias, up := range f.sockets {
			out[alias] = world.RemoteInfo{Connected: up, Mode: "proxy"}
			if f.credentials[alias] {
				ri := out[alias]
				ri.ClusterCredentials = "::es_redacted::"
				out[alias] = ri
			}
		}
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	expr, ok := strings.CutPrefix(r.URL.Path, "/_resolve/cluster/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	f.asked = append(f.asked, expr)
	out := map[string]world.ResolvedCluster{}
	for _, e := range strings.Split(expr, ",") {
		alias, target, _ := strings.Cut(e, ":")
		switch {
		case target == "*":
			out[alias] = world.ResolvedCluster{Connected: true}
		case len(f.asked) <= f.loadedAfter:
			out[alias] = world.ResolvedCluster{Connected: false, Error: "action [indices:admin/resolve/cluster] towards remote cluster is unauthorized for user [elastic] with assigned roles [superuser] authenticated by API key id [old] of user [elastic] on indices [" + target + "]"}
		default:
			out[alias] = world.ResolvedCluster{Connected: true, Error: "no such index [" + target + "]"}
		}
	}
	_ = json.NewEncoder(w).Encode(out)
}

func newLocal(t *testing.T, f *fakeLocal) *es.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	c, err := es.New(es.Config{Name: "hub", URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func asker() observe.Asker {
	return observe.Asker{Now: time.Now, RequestTimeout: 10 * time.Second, FailFastRetry: time.Millisecond}
}

// A rotated key is asked again until its canary proves it in use; a link
// asked with any index leaves the rounds once connected. Each round's
// answers go to keep (the caller's cache).
func TestEvidenceAsksUntilProven(t *testing.T) {
	f := &fakeLocal{loadedAfter: 1}
	in := Input{Local: "hub", Client: newLocal(t, f), Version: "8.19.3", Timeout: time.Hour, Interval: time.Millisecond,
		Links: []observe.Link{
			{Name: "rotated", Alias: "logs", Target: "esremote-canary-new", KeyID: "new", StampPrefix: "logs|esremote-canary-new||"},
			{Name: "plain", Alias: "metrics", Target: "*", StampPrefix: "metrics|*||"},
		}}
	var kept [][]string
	got := Evidence(context.Background(), asker(), in, func(a observe.Answers) { kept = append(kept, slices.Sorted(slices.Values(a.New))) })
	if want := []string{"logs:esremote-canary-new,metrics:*", "logs:esremote-canary-new"}; !slices.Equal(f.asked, want) {
		t.Errorf("requests %q, want %q: the connected link leaves the rounds, the unproven one is asked again", f.asked, want)
	}
	if h := got["rotated"]; h.Health != drift.HealthConnected || h.Proven != "new" || h.Refusal != "" {
		t.Errorf("rotated: %+v; want proven by its canary", h)
	}
	if h := got["plain"]; h.Health != drift.HealthConnected || h.Proven != "" {
		t.Errorf("plain: %+v; want connected, no key", h)
	}
	if want := [][]string{{"plain", "rotated"}, {"rotated"}}; len(kept) != 2 || !slices.Equal(kept[0], want[0]) || !slices.Equal(kept[1], want[1]) {
		t.Errorf("kept %v, want %v", kept, want)
	}
}

// When the window ends first, the verdict is what was last seen: the
// refusal, naming the key the local cluster still sends.
func TestEvidenceEndsWithTheLastAnswer(t *testing.T) {
	f := &fakeLocal{loadedAfter: 100}
	in := Input{Local: "hub", Client: newLocal(t, f), Version: "8.19.3", Timeout: 0, Interval: time.Millisecond,
		Links: []observe.Link{{Name: "rotated", Alias: "logs", Target: "esremote-canary-new", KeyID: "new"}}}
	got := Evidence(context.Background(), asker(), in, nil)
	if h := got["rotated"]; h.Health != drift.HealthUnauthorized || observe.RefusalKeyID(h.Refusal) != "old" || len(f.asked) != 1 {
		t.Errorf("rotated: %+v after %d requests; want one request, refused with the old key", h, len(f.asked))
	}
}

// RemoteInfo reads socket state only, and says so.
func TestRemoteInfo(t *testing.T) {
	f := &fakeLocal{sockets: map[string]bool{"logs": true, "metrics": false}}
	in := Input{Local: "hub", Client: newLocal(t, f), Timeout: 0, Interval: time.Millisecond,
		Links: []observe.Link{{Name: "up", Alias: "logs"}, {Name: "down", Alias: "metrics"}}}
	got := RemoteInfo(context.Background(), in)
	if h := got["up"]; h.Health != drift.HealthConnected || !strings.Contains(h.Evidence.Answer, "socket state only") {
		t.Errorf("up: %+v", h)
	}
	if h := got["down"]; h.Health != drift.HealthDisconnected || h.Evidence.Request != "GET /_remote/info" {
		t.Errorf("down: %+v", h)
	}
}
