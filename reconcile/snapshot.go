package reconcile

import (
	"context"
	"sync"

	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/world"
)

// Snapshot is everything one pass read (DESIGN §5, "observe once"):
//
//   - per local cluster: GET / (version, cluster_uuid), its
//     cluster.remote.* settings and GET /_remote/info (observeAll, before
//     any decision, so identities are compared across the whole pass);
//   - per remote with a managed key: GET / and its esremote-* keys
//     (prefetchRemotes, as soon as the local naming it is observed);
//   - per local cluster, second wave: the evidence request of the links
//     whose evidence the first wave did not settle (observeEvidence);
//   - per deployment: its GET, shared by the endpoint resolution and the
//     trust plan (passState.deployment);
//   - the trust facts of the certificate model (trustObservation: control
//     plane organizations and trust relationships, CAs, ca_files),
//     observed by demand in planTrust before trust is decided.
//
// The Snapshot holds data only, no client: the execute stage makes its
// own requests through the Reconciler's clients.
//
// Each target is read at most once per pass: the first part of the pass
// that needs it reads it, the others wait for that read and use it. A
// re-read after a write (the verify step, a trust write's 409) is a new
// observation on purpose, not part of the snapshot.
type Snapshot struct {
	mu          sync.Mutex
	locals      map[string]observation
	remotes     map[string]*remoteState
	deployments map[string]*depRead
	// infos are the GET / of each cluster, whatever its role: a cluster
	// that is the local of one link and the remote of a managed key of
	// another is asked once.
	infos map[string]*infoRead
	// trust is what the trust rules observed (planTrust), frozen.
	trust *trustObservation
}

func newSnapshot() *Snapshot {
	return &Snapshot{locals: map[string]observation{}, remotes: map[string]*remoteState{}, deployments: map[string]*depRead{},
		infos: map[string]*infoRead{}}
}

// local is a local cluster's observation (zero when it was not observed).
func (s *Snapshot) local(name string) observation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.locals[name]
}

// allLocals is a copy of every local observation.
func (s *Snapshot) allLocals() map[string]observation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]observation, len(s.locals))
	for k, v := range s.locals {
		out[k] = v
	}
	return out
}

// remote returns the read-once slot of a remote cluster, creating it.
func (s *Snapshot) remote(name string) *remoteState {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.remotes[name]
	if rs == nil {
		rs = &remoteState{name: name, done: make(chan struct{})}
		s.remotes[name] = rs
	}
	return rs
}

// readRemote returns a remote's slot when the pass read it (waiting for
// a read under way to end), else nil. It never reads: the observe stage
// started every read the decisions need (prefetchRemotes).
func (s *Snapshot) readRemote(name string) *remoteState {
	s.mu.Lock()
	rs := s.remotes[name]
	s.mu.Unlock()
	if rs == nil {
		return nil
	}
	<-rs.done
	return rs
}

// deployment returns the read-once slot of a deployment, creating it.
func (s *Snapshot) deployment(name string) *depRead {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deployments[name]
	if d == nil {
		d = &depRead{}
		s.deployments[name] = d
	}
	return d
}

type infoRead struct {
	once sync.Once
	info world.Info
	err  error
}

// info is cluster name's GET /, read once per pass through c (the
// cluster's client: the pass keeps one per cluster).
func (s *Snapshot) info(ctx context.Context, name string, c *es.Client) (world.Info, error) {
	s.mu.Lock()
	ir := s.infos[name]
	if ir == nil {
		ir = &infoRead{}
		s.infos[name] = ir
	}
	s.mu.Unlock()
	ir.once.Do(func() { ir.info, ir.err = c.Info(ctx) })
	return ir.info, ir.err
}
