package reconcile

import (
	"sync"

	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/observe"
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
// This is the pass's store of its reads while they come in (read-once
// slots, a lock); each local's read is a world.ClusterRead, handed to its
// decision as soon as it is complete, and world() gives the whole as plain
// data (world.Snapshot: no client, no channel, no lock) once every read is
// in. The execute stage makes its own requests through the Reconciler's
// clients.
//
// Each target is read at most once per pass: the first part of the pass
// that needs it reads it, the others wait for that read and use it. A
// re-read after a write (the verify step, a trust write's 409) is a new
// observation on purpose, not part of the snapshot.
type Snapshot struct {
	// reads are the world's reads, each target once (package observe).
	reads *observe.Reads

	mu     sync.Mutex
	locals map[string]*world.ClusterRead
	// remotes are the clusters whose keys the pass reads (remote).
	remotes map[string]bool
	// trust is what the trust rules observed (planTrust), frozen.
	trust *decide.TrustObservation
}

func newSnapshot() *Snapshot {
	return &Snapshot{reads: observe.NewReads(), locals: map[string]*world.ClusterRead{}, remotes: map[string]bool{}}
}

// local is a local cluster's read, nil when it was not observed.
func (s *Snapshot) local(name string) *world.ClusterRead {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.locals[name]
}

// remote returns the read-once slot of a remote cluster, creating it.
func (s *Snapshot) remote(name string) *remoteState {
	s.mu.Lock()
	s.remotes[name] = true
	s.mu.Unlock()
	return s.reads.RemoteSlot(name)
}

// readRemote returns a remote's slot when the pass read it (waiting for
// a read under way to end), else nil. It never reads: the observe stage
// started every read the decisions need (prefetchRemotes).
func (s *Snapshot) readRemote(name string) *remoteState { return s.reads.ReadRemote(name) }

// keys is a remote's keys as the pass read them (waiting for a read under
// way to end), nil when the pass did not read them.
func (s *Snapshot) keys(name string) *world.KeysRead {
	rs := s.readRemote(name)
	if rs == nil {
		return nil
	}
	return &world.KeysRead{Info: rs.Info, Keys: rs.Keys, Err: rs.Err}
}

// world is the Snapshot as plain data (world.Snapshot), once every read
// is in: each cluster once, whatever its role, and the endpoints. Each
// local's read is copied once (its maps are shared: nothing changes them
// after the reads).
func (s *Snapshot) world(endpoints map[string]endpointResult) *world.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &world.Snapshot{Clusters: make(map[string]*world.ClusterRead, len(s.locals)+len(s.remotes)), Endpoints: endpoints}
	for name, cr := range s.locals {
		c := *cr
		out.Clusters[name] = &c
	}
	for name := range s.remotes {
		c := out.Clusters[name]
		if c == nil {
			c = &world.ClusterRead{Name: name}
			out.Clusters[name] = c
		}
		if rs := s.reads.ReadRemote(name); rs != nil {
			c.Keys = &world.KeysRead{Info: rs.Info, Keys: rs.Keys, Err: rs.Err}
		}
	}
	return out
}
