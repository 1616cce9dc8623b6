package observe

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
	"github.com/esremote/esremote/reconcile/world"
)

// resolveES answers GET /_resolve/cluster/{expr} for the aliases it
// knows: each alias's entry as Elasticsearch words it for the target
// asked. It records every expression asked.
type resolveES struct {
	mu    sync.Mutex
	asked []string
	// entry answers alias asked for target.
	entry func(alias, target string) world.ResolvedCluster
}

func (f *resolveES) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	expr, ok := strings.CutPrefix(r.URL.Path, "/_resolve/cluster/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	f.asked = append(f.asked, expr)
	f.mu.Unlock()
	out := map[string]world.ResolvedCluster{}
	for _, e := range strings.Split(expr, ",") {
		alias, target, _ := strings.Cut(e, ":")
		out[alias] = f.entry(alias, target)
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (f *resolveES) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.asked)
}

func newResolveES(t *testing.T, entry func(alias, target string) world.ResolvedCluster) (*resolveES, *es.Client) {
	t.Helper()
	f := &resolveES{entry: entry}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	c, err := es.New(es.Config{Name: "hub", URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return f, c
}

// canaryAuthorized answers every canary as its own key does: authorized,
// and no such index.
func canaryAuthorized(alias, target string) world.ResolvedCluster {
	return world.ResolvedCluster{Connected: true, Error: "no such index [" + target + "]"}
}

var evidenceNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testAsker() Asker {
	return Asker{Now: func() time.Time { return evidenceNow }, RequestTimeout: 10 * time.Second, FailFastRetry: time.Millisecond}
}

// cachedLink is a link of the canary of key whose cached evidence was
// taken age ago in the socket state st.
func cachedLink(name, key string, age time.Duration, st world.RemoteStatus) Link {
	l := Link{Name: name, Alias: name, Target: "esremote-canary-" + key, KeyID: key, StampPrefix: name + "|esremote-canary-" + key + "||"}
	l.Cached = &world.LinkEvidence{Health: drift.HealthConnected, Proven: key, Stamp: Stamp(l.StampPrefix, st),
		Evidence: drift.Evidence{Request: "GET /_resolve/cluster/" + name + ":" + l.Target, Answer: "cached", At: evidenceNow.Add(-age)}}
	return l
}

// The second wave reuses a link's cached evidence when it is fresh and
// taken in the state the first wave read, asks one request for the links
// whose evidence is stale or whose state changed, gives none to a link
// _remote/info does not list, and hands back as New only what it asked:
// the cache is the caller's, in and out as data.
func TestEvidenceReusesFreshAndAsksTheRest(t *testing.T) {
	f, c := newResolveES(t, canaryAuthorized)
	up := world.RemoteStatus{Connected: true, HasCredentials: true}
	down := world.RemoteStatus{Connected: false, HasCredentials: true}
	links := []Link{
		cachedLink("steady", "k1", time.Second, up),                      // fresh, same state: reused
		cachedLink("flapped", "k2", time.Second, down),                   // fresh, but the socket state changed: asked
		cachedLink("old", "k3", EvidenceFresh, up),                       // too old: asked
		cachedLink("unlisted", "k4", time.Second, up),                    // not in _remote/info: nothing
		{Name: "new", Alias: "new", Target: "*", StampPrefix: "new|*||"}, // never asked: asked
	}
	obs := &world.Observed{Version: "8.19.3", Remote: map[string]world.RemoteStatus{"steady": up, "flapped": up, "old": up, "new": up}}
	got := testAsker().Evidence(context.Background(), c, obs, links, nil)

	if reqs := f.requests(); len(reqs) != 1 || reqs[0] != "flapped:esremote-canary-k2,new:*,old:esremote-canary-k3" {
		t.Fatalf("requests %q; want one for the stale and changed links only", reqs)
	}
	if ev := got.Links["steady"]; ev != *links[0].Cached {
		t.Errorf("steady: %+v; want the cached evidence as is", ev)
	}
	if _, ok := got.Links["unlisted"]; ok {
		t.Errorf("a link _remote/info does not list got evidence")
	}
	for _, l := range links[1:3] {
		ev := got.Links[l.Name]
		if ev.Health != drift.HealthConnected || ev.Proven != l.KeyID || ev.Evidence.Answer == "cached" || !ev.Evidence.At.Equal(evidenceNow) ||
			ev.Stamp != Stamp(l.StampPrefix, up) {
			t.Errorf("%s: %+v; want a new proof of %s stamped with the state read now", l.Name, ev, l.KeyID)
		}
	}
	if ev := got.Links["new"]; ev.Health != drift.HealthConnected || ev.Proven != "" {
		t.Errorf("new: %+v; want connected, no key proven by *", ev)
	}
	slices.Sort(got.New)
	if want := []string{"flapped", "new", "old"}; !slices.Equal(got.New, want) {
		t.Errorf("New %v, want %v: what was asked, not what was reused", got.New, want)
	}
}

// The early request asks only the links configured by esremote whose
// evidence is stale; the second wave takes its answers when the version
// read asks the same request, and asks again when it does not.
func TestAskEarlyAndTheSecondWave(t *testing.T) {
	up := world.RemoteStatus{Connected: true, HasCredentials: true}
	links := func() []Link {
		stale := cachedLink("stale", "k1", 2*EvidenceFresh, up)
		stale.Configured = true
		unknown := cachedLink("unknown", "k2", 2*EvidenceFresh, up) // alias not (yet) esremote's: refused if asked early
		fresh := cachedLink("fresh", "k3", time.Second, up)
		fresh.Configured = true
		return []Link{stale, unknown, fresh}
	}
	obs := func(version string) *world.Observed {
		return &world.Observed{Version: version, Remote: map[string]world.RemoteStatus{"stale": up, "unknown": up, "fresh": up}}
	}
	for _, tc := range []struct {
		name, early, read string
		want              []string
	}{
		{"same request", "8.19.3", "8.19.0", []string{"stale:esremote-canary-k1", "unknown:esremote-canary-k2"}},
		{"the version read asks ?timeout=, the early one did not", "8.17.4", "8.19.0",
			[]string{"stale:esremote-canary-k1", "stale:esremote-canary-k1,unknown:esremote-canary-k2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, c := newResolveES(t, canaryAuthorized)
			a := testAsker()
			ls := links()
			early := a.AskEarly(context.Background(), c, ls, func() string { return tc.early })
			got := a.Evidence(context.Background(), c, obs(tc.read), ls, early)
			if reqs := f.requests(); !slices.Equal(reqs, tc.want) {
				t.Errorf("requests %q, want %q", reqs, tc.want)
			}
			for _, name := range []string{"stale", "unknown"} {
				if ev := got.Links[name]; ev.Health != drift.HealthConnected || ev.Proven == "" {
					t.Errorf("%s: %+v; want proven", name, ev)
				}
			}
			if ev := got.Links["fresh"]; ev.Evidence.Answer != "cached" {
				t.Errorf("fresh: %+v; want the cached evidence", ev)
			}
		})
	}
	// Nothing stale: nothing is asked early, not even GET / for the version.
	_, c := newResolveES(t, canaryAuthorized)
	ls := links()[2:]
	if e := testAsker().AskEarly(context.Background(), c, ls, func() string { t.Error("version asked with nothing to ask"); return "" }); e != nil {
		t.Errorf("early request %+v with every link fresh", e)
	}
}

// A link's cached evidence is fresh exactly when its stamp is the state
// read now and it is younger than EvidenceFresh, and telling so allocates
// nothing (a steady pass asks it of every link).
func TestFreshComparesTheStampWithoutBuildingIt(t *testing.T) {
	const prefix = "logs|esremote-canary-k1|fp@2026-03-01T12:00:00Z|"
	states := []world.RemoteStatus{{}, {Connected: true}, {HasCredentials: true}, {Connected: true, HasCredentials: true}}
	for _, taken := range states {
		for _, now := range states {
			for _, age := range []time.Duration{0, EvidenceFresh - time.Nanosecond, EvidenceFresh} {
				ev := &world.LinkEvidence{Stamp: Stamp(prefix, taken), Evidence: drift.Evidence{At: evidenceNow.Add(-age)}}
				want := Stamp(prefix, now) == ev.Stamp && age < EvidenceFresh
				if got := fresh(ev, prefix, now, evidenceNow); got != want {
					t.Errorf("taken %+v, now %+v, age %s: fresh %t, want %t", taken, now, age, got, want)
				}
			}
		}
	}
	other := &world.LinkEvidence{Stamp: Stamp("metrics|*||", states[3]), Evidence: drift.Evidence{At: evidenceNow}}
	if fresh(other, prefix, states[3], evidenceNow) || fresh(nil, prefix, states[3], evidenceNow) {
		t.Errorf("evidence of another prefix, or none, is fresh")
	}
	ev := &world.LinkEvidence{Stamp: Stamp(prefix, states[3]), Evidence: drift.Evidence{At: evidenceNow}}
	if n := testing.AllocsPerRun(100, func() { fresh(ev, prefix, states[3], evidenceNow) }); n != 0 {
		t.Errorf("fresh allocates %.0f times per call", n)
	}
}
