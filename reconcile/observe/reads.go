package observe

import (
	"context"
	"sync"

	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/world"
)

// Reads is one pass's read-once store of the world (DESIGN §5, "observe
// once"): the first part of the pass that needs a target reads it, the
// others wait for that read and use it. A re-read after a write (the
// verify step, a trust write's 409) is a new observation on purpose, not
// part of it. It is safe for concurrent use.
type Reads struct {
	mu sync.Mutex
	// infos are the GET / of each cluster, whatever its role.
	infos       map[string]*infoRead
	remotes     map[string]*Remote
	deployments map[string]*deploymentRead
}

// NewReads returns an empty store.
func NewReads() *Reads {
	return &Reads{infos: map[string]*infoRead{}, remotes: map[string]*Remote{}, deployments: map[string]*deploymentRead{}}
}

type infoRead struct {
	once sync.Once
	info world.Info
	err  error
}

// Info is cluster name's GET /, read once per pass through c (the
// cluster's client: the pass keeps one per cluster).
func (r *Reads) Info(ctx context.Context, name string, c *es.Client) (world.Info, error) {
	r.mu.Lock()
	ir := r.infos[name]
	if ir == nil {
		ir = &infoRead{}
		r.infos[name] = ir
	}
	r.mu.Unlock()
	ir.once.Do(func() { ir.info, ir.err = c.Info(ctx) })
	return ir.info, ir.err
}

// Remote is a remote cluster as a pass sees it: its GET / and the keys
// esremote made there, read once per pass. Its fields are set once Done
// is closed and never change after.
type Remote struct {
	Name string
	Info world.Info
	Keys []world.APIKey
	Err  error

	once sync.Once
	done chan struct{}
}

// Done is closed once the remote is read.
func (rm *Remote) Done() <-chan struct{} { return rm.done }

// RemoteSlot returns the read-once slot of a remote cluster, creating it
// (so that a decision looking for it waits for the read: ReadRemote).
func (r *Reads) RemoteSlot(name string) *Remote {
	r.mu.Lock()
	defer r.mu.Unlock()
	rm := r.remotes[name]
	if rm == nil {
		rm = &Remote{Name: name, done: make(chan struct{})}
		r.remotes[name] = rm
	}
	return rm
}

// ReadRemote returns a remote when the pass read it (waiting for a read
// under way to end), else nil. It never reads: the observe stage started
// every read the decisions need.
func (r *Reads) ReadRemote(name string) *Remote {
	r.mu.Lock()
	rm := r.remotes[name]
	r.mu.Unlock()
	if rm == nil {
		return nil
	}
	<-rm.done
	return rm
}

// RemoteQuery says how a remote is read: its client (or why there is
// none), which keys to list, and check, a decision on its GET / (the
// cluster_uuid the ledger recorded for the name) that fails the remote
// before its keys are used.
type RemoteQuery struct {
	Client func() (*es.Client, error)
	Keys   es.KeyQuery
	Check  func(world.Info) error
}

// Remote reads a remote cluster once per pass: GET / and the key list at
// once, one round trip. The keys are only kept once GET / passed q.Check.
func (r *Reads) Remote(ctx context.Context, name string, q RemoteQuery) *Remote {
	rm := r.RemoteSlot(name)
	rm.once.Do(func() {
		defer close(rm.done)
		client, err := q.Client()
		if err != nil {
			rm.Err = err
			return
		}
		var (
			wg      sync.WaitGroup
			keys    []world.APIKey
			keysErr error
		)
		wg.Go(func() { keys, keysErr = client.APIKeys(ctx, q.Keys) })
		rm.Info, rm.Err = r.Info(ctx, name, client)
		wg.Wait()
		if rm.Err != nil {
			return
		}
		if q.Check != nil {
			if rm.Err = q.Check(rm.Info); rm.Err != nil {
				return
			}
		}
		rm.Keys, rm.Err = keys, keysErr
	})
	return rm
}

type deploymentRead struct {
	once sync.Once
	dep  *world.Deployment
	err  error
}

// Deployment reads a Cluster's deployment once per pass with read: the
// endpoint resolution and the trust plan share the read, so no deployment
// is read twice in a pass (a re-read after a trust write's 409 is the
// only exception, and it is a new observation on purpose).
func (r *Reads) Deployment(name string, read func() (*world.Deployment, error)) (*world.Deployment, error) {
	r.mu.Lock()
	d := r.deployments[name]
	if d == nil {
		d = &deploymentRead{}
		r.deployments[name] = d
	}
	r.mu.Unlock()
	d.once.Do(func() { d.dep, d.err = read() })
	return d.dep, d.err
}
