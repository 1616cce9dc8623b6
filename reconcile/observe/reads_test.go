package observe

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/world"
)

// fakeES answers the reads of a pass for one cluster and counts each.
type fakeES struct {
	mu    sync.Mutex
	count map[string]int
}

func (f *fakeES) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.count[r.Method+" "+r.URL.Path]++
	f.mu.Unlock()
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/":
		_, _ = w.Write([]byte(`{"name":"n1","cluster_name":"hub","cluster_uuid":"U1","version":{"number":"8.19.3","build_flavor":"default"}}`))
	case "/_cluster/settings":
		_, _ = w.Write([]byte(`{"persistent":{"cluster.remote.logs.mode":"proxy","cluster.remote.logs.seeds":["a:1","b:2"],"indices.recovery.max_bytes_per_sec":"50mb"},"transient":{}}`))
	case "/_remote/info":
		_, _ = w.Write([]byte(`{"logs":{"connected":true,"mode":"proxy","cluster_credentials":"::es_redacted::"}}`))
	case "/_security/api_key":
		_, _ = w.Write([]byte(`{"api_keys":[{"id":"k1","name":"esremote-link","type":"cross_cluster","creation":0,"invalidated":false,"username":"u","realm":"r","metadata":{}}]}`))
	case "/_security/role":
		_, _ = w.Write([]byte(`{"reader":{"cluster":["monitor"]}}`))
	default:
		http.NotFound(w, r)
	}
}

func newFakeES(t *testing.T) (*fakeES, *es.Client) {
	t.Helper()
	f := &fakeES{count: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	c, err := es.New(es.Config{Name: "hub", URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return f, c
}

// A cluster that is the local of one link and the remote of a managed key
// of another is asked GET / once per pass (issue 22 point 3), and what is
// handed out is plain data: the cluster's remote settings, flat, and the
// keys of the remote.
func TestReadsAskEachClusterOnce(t *testing.T) {
	f, c := newFakeES(t)
	ctx := context.Background()
	r := NewReads()
	lr := r.StartLocal(ctx, "hub", c, Want{Roles: true})
	var rm *Remote
	var wg sync.WaitGroup
	wg.Go(func() {
		rm = r.Remote(ctx, "hub", RemoteQuery{Client: func() (*es.Client, error) { return c, nil }, Keys: es.KeyQuery{Name: "esremote-*"}})
	})
	obs, err := lr.Observed()
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if got := f.count["GET /"]; got != 1 {
		t.Errorf("GET / sent %d times, want once", got)
	}
	if obs.Version != "8.19.3" || obs.UUID != "U1" || obs.Local != "hub" {
		t.Errorf("observed %+v", obs)
	}
	want := map[string]string{"cluster.remote.logs.mode": "proxy", "cluster.remote.logs.seeds": `["a:1","b:2"]`}
	if len(obs.Persistent) != len(want) || obs.Persistent["cluster.remote.logs.mode"] != want["cluster.remote.logs.mode"] || obs.Persistent["cluster.remote.logs.seeds"] != want["cluster.remote.logs.seeds"] {
		t.Errorf("persistent %v, want %v (remote keys only)", obs.Persistent, want)
	}
	if s := obs.Remote["logs"]; !s.Connected || !s.HasCredentials || s.Mode != "proxy" {
		t.Errorf("remote info %+v", s)
	}
	if roles, err := lr.Roles(); err != nil || len(roles) != 1 {
		t.Errorf("roles %v, %v", roles, err)
	}
	if lr.Privileges() != nil || f.count["GET /_security/user/_privileges"] != 0 {
		t.Errorf("privileges read without being asked for")
	}
	if rm.Err != nil || rm.Info.ClusterUUID != "U1" || len(rm.Keys) != 1 || rm.Keys[0].ID != "k1" {
		t.Errorf("remote %+v", rm)
	}
	if again := r.ReadRemote("hub"); again != rm || f.count["GET /_security/api_key"] != 1 {
		t.Errorf("the remote was read again (%d key lists)", f.count["GET /_security/api_key"])
	}
}

// A remote whose GET / fails the check (another cluster answers at the
// name) keeps no keys; a remote nobody asked for is not read.
func TestReadsRemoteCheckAndAbsence(t *testing.T) {
	_, c := newFakeES(t)
	r := NewReads()
	if r.ReadRemote("nobody") != nil {
		t.Errorf("ReadRemote of a remote the pass never read is not nil")
	}
	refused := errors.New("identity changed")
	rm := r.Remote(context.Background(), "hub", RemoteQuery{Client: func() (*es.Client, error) { return c, nil },
		Check: func(info world.Info) error {
			if info.ClusterUUID != "U2" {
				return refused
			}
			return nil
		}})
	if !errors.Is(rm.Err, refused) || rm.Keys != nil {
		t.Errorf("remote %+v, want the check's error and no keys", rm)
	}
}

// A deployment is read once per pass, whoever asks.
func TestReadsDeploymentOnce(t *testing.T) {
	r := NewReads()
	var reads atomic.Int32
	read := func() (*world.Deployment, error) {
		reads.Add(1)
		return &world.Deployment{ID: "d1"}, nil
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if d, err := r.Deployment("analytics", read); err != nil || d.ID != "d1" {
				t.Errorf("deployment %+v, %v", d, err)
			}
		})
	}
	wg.Wait()
	if n := reads.Load(); n != 1 {
		t.Errorf("deployment read %d times, want once", n)
	}
}
