package reconcile

import (
	"sync"

	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/observe"
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
	// reads are the world's reads, each target once (package observe).
	reads *observe.Reads

	mu     sync.Mutex
	locals map[string]observation
	// trust is what the trust rules observed (planTrust), frozen.
	trust *decide.TrustObservation
}

func newSnapshot() *Snapshot {
	return &Snapshot{reads: observe.NewReads(), locals: map[string]observation{}}
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
func (s *Snapshot) remote(name string) *remoteState { return s.reads.RemoteSlot(name) }

// readRemote returns a remote's slot when the pass read it (waiting for
// a read under way to end), else nil. It never reads: the observe stage
// started every read the decisions need (prefetchRemotes).
func (s *Snapshot) readRemote(name string) *remoteState { return s.reads.ReadRemote(name) }
