package observe

import (
	"context"
	"strings"
	"sync"

	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/world"
)

// Want says which reads a local cluster's pass needs besides the fixed
// three: its roles (a connection declares roles, or the ledger owns some
// there), its credential's privileges (it has API-key links whose
// evidence request the credential must be allowed to make).
type Want struct {
	Roles      bool
	Privileges bool
}

// LocalRead is a local cluster's reads under way (StartLocal).
type LocalRead struct {
	core  chan struct{}
	rest  sync.WaitGroup
	obs   *world.Observed
	err   error
	roles map[string]world.Role
	// rolesErr fails the cluster only where its roles are planned.
	rolesErr error
	privs    *world.UserPrivileges
}

// StartLocal sends a local cluster's reads at once, so that the cluster
// costs one round trip: GET / (through Info, once per cluster),
// GET /_cluster/settings?flat_settings=true, GET /_remote/info, and what
// want asks for: GET /_security/role, GET /_security/user/_privileges.
func (r *Reads) StartLocal(ctx context.Context, name string, c *es.Client, want Want) *LocalRead {
	lr := &LocalRead{core: make(chan struct{})}
	if want.Roles {
		lr.rest.Go(func() { lr.roles, lr.rolesErr = c.Roles(ctx) })
	}
	if want.Privileges {
		lr.rest.Go(func() {
			if p, err := c.UserPrivileges(ctx); err == nil {
				lr.privs = &p
			}
		})
	}
	go func() {
		defer close(lr.core)
		lr.obs, lr.err = r.read(ctx, c, name)
	}()
	return lr
}

// Observed waits for the fixed reads (GET /, settings, remote info) and
// returns them, or the first error.
func (lr *LocalRead) Observed() (*world.Observed, error) {
	<-lr.core
	return lr.obs, lr.err
}

// Roles waits for every read and returns GET /_security/role (nil and no
// error when it was not asked for).
func (lr *LocalRead) Roles() (map[string]world.Role, error) {
	lr.rest.Wait()
	return lr.roles, lr.rolesErr
}

// Privileges waits for every read and returns the credential's
// GET /_security/user/_privileges: nil when it was not asked for or when
// the read failed (the canary check then rests on the evidence alone).
func (lr *LocalRead) Privileges() *world.UserPrivileges {
	lr.rest.Wait()
	return lr.privs
}

// read does the fixed reads of DESIGN §5 on one cluster: GET /,
// GET /_cluster/settings and GET /_remote/info, sent at once so that a
// cluster costs one round trip, not three.
func (r *Reads) read(ctx context.Context, c *es.Client, local string) (*world.Observed, error) {
	var (
		wg   sync.WaitGroup
		info world.Info
		st   world.Settings
		ri   map[string]world.RemoteInfo
		errs [3]error
	)
	wg.Go(func() { info, errs[0] = r.Info(ctx, local, c) })
	wg.Go(func() { st, errs[1] = c.Settings(ctx) })
	wg.Go(func() { ri, errs[2] = c.RemoteInfo(ctx) })
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	obs := &world.Observed{Local: local, Version: info.Version.String(), UUID: info.ClusterUUID,
		Persistent: FlatRemote(st.Persistent), Transient: FlatRemote(st.Transient),
		Remote: map[string]world.RemoteStatus{}}
	for alias, ri := range ri {
		obs.Remote[alias] = world.RemoteStatus{Connected: ri.Connected, Mode: ri.Mode, HasCredentials: ri.HasCredentials()}
	}
	return obs, nil
}

// Read is a local cluster's fixed reads alone, with a store of its own
// (a benchmark's or a test's single cluster).
func Read(ctx context.Context, c *es.Client, local string) (*world.Observed, error) {
	return NewReads().read(ctx, c, local)
}

// FlatRemote keeps the cluster.remote.* keys of flat settings, with lists
// comma-joined.
func FlatRemote(m map[string]world.Value) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if !strings.HasPrefix(k, "cluster.remote.") {
			continue
		}
		if _, _, ok := world.SplitRemoteKey(k); !ok {
			continue
		}
		out[k] = v.String()
	}
	return out
}
