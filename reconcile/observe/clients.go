package observe

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/esremote/esremote/reconcile/cloud"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// Clients is how the observe stage reaches the world outside the local
// clusters' reads: the spec set (files are named relative to its
// documents), a cluster's control-plane client (the caller keeps them
// between passes), and the pass's read-once store.
type Clients struct {
	Set *spec.Set
	// Cloud returns the control-plane client of a deployment-backed
	// cluster, or why there is none (credentials, ca_file).
	Cloud func(*spec.Cluster) (*cloud.Client, error)
	// Reads is the pass's read-once store; nil reads each time (a read
	// outside a pass).
	Reads *Reads
}

// Deployment reads a deployment-backed cluster's deployment: once per
// pass through Reads, so that the endpoint resolution and the trust facts
// share the read.
func (cs Clients) Deployment(ctx context.Context, cl *spec.Cluster) (*world.Deployment, error) {
	read := func() (*world.Deployment, error) {
		c, err := cs.Cloud(cl)
		if err != nil {
			return nil, err
		}
		return c.Deployment(ctx, cl.Deployment.ID)
	}
	if cs.Reads == nil {
		return read()
	}
	return cs.Reads.Deployment(cl.Name, read)
}

// ReadCA reads a PEM file named by a spec document (obj), relative to
// that document's file; an empty path is no file.
func ReadCA(set *spec.Set, obj any, path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(set.BaseDir(obj), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read ca_file: %w", err)
	}
	return b, nil
}
