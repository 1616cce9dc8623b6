package recovery

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/spec"
)

// Recover reads what is live on the clusters of set (Read) and rebuilds
// the ledger from it (Match). It writes nothing to any cluster, nor the
// ledger: the caller saves Result.Document where the ledger lives.
func Recover(ctx context.Context, r *reconcile.Reconciler, set *spec.Set, installation string) *Result {
	return Match(set, Read(ctx, r, set), installation, r.Now())
}

// Read gathers Match's input with GET requests only: GET / of every
// cluster involved; on each local cluster of a connection its flat
// settings, its roles and, for a deployment, its keystore's entry names;
// on the remote of each managed key the API keys named esremote-*; and
// what each connection's spec writes (the remote's endpoint resolved).
func Read(ctx context.Context, r *reconcile.Reconciler, set *spec.Set) *Live {
	live := &Live{UUIDs: map[string]string{}, Keys: map[string][]es.APIKey{}, Roles: map[string]map[string]es.Role{},
		Persistent: map[string]map[string]string{}, Transient: map[string]map[string]string{},
		Keystore: map[string]map[string]bool{}, Desired: map[string]*reconcile.DesiredAlias{},
		Credentials: map[string]string{}, Errors: map[string]string{}}
	var mu sync.Mutex
	fail := func(what string, err error) {
		mu.Lock()
		defer mu.Unlock()
		live.Errors[what] = err.Error()
	}
	locals, remotes := map[string]bool{}, map[string]bool{}
	for _, c := range set.Connections {
		locals[c.Local] = true
		if c.Security == spec.SecurityAPIKey && c.APIKey != nil && c.APIKey.Managed && c.Remote.Cluster != "" {
			remotes[c.Remote.Cluster] = true
		}
		if c.Security == spec.SecurityAPIKey && c.APIKey != nil && !c.APIKey.Managed && c.APIKey.Credentials != nil {
			if sec, err := c.APIKey.Credentials.Resolve(r.Getenv); err == nil {
				live.Credentials[c.Name] = sec.Fingerprint()
			}
		}
	}
	var wg sync.WaitGroup
	for _, cl := range set.Clusters {
		name := cl.Name
		if !locals[name] && !remotes[name] {
			continue
		}
		wg.Go(func() {
			client, err := r.ESClient(set, cl)
			if err != nil {
				fail("cluster "+name, err)
				return
			}
			info, err := client.Info(ctx)
			if err != nil {
				fail("cluster "+name+" (GET /)", err)
				return
			}
			mu.Lock()
			live.UUIDs[name] = info.ClusterUUID
			mu.Unlock()
			if remotes[name] {
				keys, err := client.APIKeys(ctx, es.KeyQuery{Name: "esremote-*"})
				if err != nil {
					fail("cluster "+name+" (its API keys)", err)
				} else {
					keys = slices.DeleteFunc(keys, func(k es.APIKey) bool { return k.Invalidated })
					mu.Lock()
					live.Keys[name] = keys
					mu.Unlock()
				}
			}
			if !locals[name] {
				return
			}
			st, err := client.Settings(ctx)
			if err != nil {
				fail("cluster "+name+" (its settings)", err)
			} else {
				mu.Lock()
				live.Persistent[name], live.Transient[name] = flatRemote(st.Persistent), flatRemote(st.Transient)
				mu.Unlock()
			}
			roles, err := client.Roles(ctx)
			if err != nil {
				fail("cluster "+name+" (its roles)", err)
			} else {
				mu.Lock()
				live.Roles[name] = roles
				mu.Unlock()
			}
			if cl.Deployment == nil {
				return
			}
			cc, err := r.CloudClient(set, cl)
			if err != nil {
				fail("deployment of "+name, err)
				return
			}
			ks, err := cc.Keystore(ctx, cl.Deployment.ID, cl.Deployment.RefID)
			if err != nil {
				fail("deployment of "+name+" (its keystore)", err)
				return
			}
			names := map[string]bool{}
			for k := range ks {
				names[k] = true
			}
			mu.Lock()
			live.Keystore[name] = names
			mu.Unlock()
		})
	}
	for _, c := range set.Connections {
		if c.Policy == spec.PolicyDisabled {
			continue
		}
		wg.Go(func() {
			ep := reconcile.Endpoint{}
			if rc := set.Cluster(c.Remote.Cluster); rc != nil {
				if rc.Deployment == nil {
					ep = reconcile.EndpointOf(rc)
				} else if e, err := r.DeploymentEndpoint(ctx, set, rc); err == nil {
					ep = e
				} else if c.Remote.ProxyAddress == "" {
					fail("connection "+c.Name+" (the endpoint of "+rc.Name+")", err)
					return
				}
			}
			d, err := reconcile.Desire(c, ep)
			if err != nil {
				fail("connection "+c.Name, err)
				return
			}
			mu.Lock()
			live.Desired[c.Name] = d
			mu.Unlock()
		})
	}
	wg.Wait()
	return live
}

// flatRemote keeps the cluster.remote.<alias>.* keys of flat settings, as
// the engine reads them (lists comma-joined, nulls left out).
func flatRemote(m map[string]es.Value) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		alias, suffix, ok := es.SplitRemoteKey(k)
		if !ok || v.IsNull() || !strings.HasPrefix(k, "cluster.remote.") || (alias == "node" && suffix == "attr") {
			continue
		}
		out[k] = v.String()
	}
	return out
}
