// Package importer brings hand-made remote-cluster aliases under
// esremote's management (`esremote import`): it reads a local cluster's
// live aliases and writes one Connection spec per alias such that an
// immediate plan finds nothing to change, and records each alias in the
// ownership ledger.
//
// It uses only the engine's exported API (reconcile.Reconciler's clients,
// endpoint resolution, Desire, Normalize and its Ledger).
//
// import.go reads the cluster (Import); alias.go imports one alias (what
// plan would still show, the file, the ledger record); connection.go turns
// an alias's live values into a Connection; render.go writes that
// Connection as the YAML a person would write.
package importer

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/spec"
)

// Dir is where Import writes, under the spec directory: one file
// per alias at imported/<local cluster>/<alias>.yaml. Keeping imports in
// their own tree makes them easy to review, move or split by team later.
const Dir = "imported"

// Import statuses of one alias.
const (
	Created   = "created"   // a new file was written
	Updated   = "updated"   // a differing file was overwritten (--force)
	Unchanged = "unchanged" // the file already says exactly what import would write
	Differs   = "differs"   // the file says something else: left alone
	Skipped   = "skipped"   // another spec already declares the alias
)

// Options say what Import brings under management.
type Options struct {
	// Cluster is the declared local Cluster whose aliases are imported.
	Cluster string
	// Aliases restricts the import to these aliases (all when empty).
	Aliases []string
	// DryRun computes everything and writes nothing: no file, no ledger.
	DryRun bool
	// Force overwrites an earlier import's file that no longer says what
	// import would write.
	Force bool
}

// Result is what Import did, alias by alias.
type Result struct {
	Cluster string
	Aliases []*Alias
	// Credentials are the secrets the operator must supply before the
	// first apply: hand-made API keys cannot be read back.
	Credentials []Credential
	// Recorded counts the aliases recorded in the ledger as owned.
	Recorded int
}

// Alias is one alias of the local cluster and what became of it.
type Alias struct {
	Alias      string
	Connection string
	// Path is the spec file, relative to the spec directory.
	Path     string
	Status   string
	Mode     spec.Mode
	Security spec.Security
	// Remote is how the file names the other end: a declared Cluster, a
	// proxy address or the seeds.
	Remote string
	// Notes explain what plan will still show or what needs the operator.
	Notes []string
	// Content is the file as import renders it.
	Content []byte

	recorded   bool // the ledger holds the alias
	inKeystore bool // the local keystore holds its credentials entry
}

// Credential is a secret an imported spec names.
type Credential struct {
	Name  string // the systemd credential name
	Alias string
	// Setting is the keystore setting the secret belongs in.
	Setting string
	// Present is true when the credential already resolves.
	Present bool
}

// Import reads the live remote-cluster settings of the declared local
// Cluster opts.Cluster and writes one Connection spec per alias under
// set.Dir/imported/<cluster>/<alias>.yaml, such that an immediate plan
// finds nothing to change. Each imported alias is recorded in the ledger
// as owned, with the fingerprint of its live values: removing the file
// later deletes the alias, and a live change shows as external drift.
//
// Import only reads the clusters and control planes (GET
// /_cluster/settings, GET /_remote/info, the deployments' endpoints and
// the local keystore's entry names). It is idempotent: an alias whose file
// already says the same is unchanged, a file that differs is left alone
// (unless opts.Force), and an alias another spec declares is skipped.
func Import(ctx context.Context, r *reconcile.Reconciler, set *spec.Set, opts Options) (*Result, error) {
	cl := set.Cluster(opts.Cluster)
	if cl == nil {
		var names []string
		for _, c := range set.Clusters {
			names = append(names, c.Name)
		}
		return nil, fmt.Errorf("cluster %q is not declared in %s (declared: %s)", opts.Cluster, set.Dir, strings.Join(names, ", "))
	}
	client, err := r.ESClient(set, cl)
	if err != nil {
		return nil, err
	}
	st, err := client.Settings(ctx)
	if err != nil {
		return nil, err
	}
	info, err := client.RemoteInfo(ctx)
	if err != nil {
		return nil, err
	}
	keystore := map[string]bool{}
	if cl.Deployment != nil {
		cc, err := r.CloudClient(set, cl)
		if err != nil {
			return nil, err
		}
		ks, err := cc.Keystore(ctx, cl.Deployment.ID, cl.Deployment.RefID)
		if err != nil {
			return nil, fmt.Errorf("read keystore of %s: %w", cl.Name, err)
		}
		for k := range ks {
			keystore[k] = true
		}
	}

	persistent, transient := liveAliases(st.Persistent), liveAliases(st.Transient)
	aliases := sortedKeys(persistent)
	for _, a := range sortedKeys(transient) {
		if _, ok := persistent[a]; !ok {
			aliases = append(aliases, a)
		}
	}
	slices.Sort(aliases)
	if len(opts.Aliases) > 0 {
		for _, a := range opts.Aliases {
			if !slices.Contains(aliases, a) {
				return nil, fmt.Errorf("cluster %s has no remote cluster alias %q (it has: %s)", cl.Name, a, strings.Join(aliases, ", "))
			}
		}
		aliases = slices.DeleteFunc(aliases, func(a string) bool { return !slices.Contains(opts.Aliases, a) })
	}

	im := &importer{r: r, set: set, local: cl, now: r.Options().Now(), endpoints: clusterEndpoints(ctx, r, set, cl.Name)}
	res := &Result{Cluster: cl.Name}
	wrote := false
	for _, alias := range aliases {
		ia, err := im.alias(alias, persistent[alias], transient[alias], info[alias], keystore[reconcile.CredentialsKey(alias)], opts)
		if err != nil {
			return nil, err
		}
		res.Aliases = append(res.Aliases, ia)
		if ia.Security == spec.SecurityAPIKey && ia.Status != Skipped {
			name := credentialName(cl.Name, alias)
			_, rerr := (&spec.SecretRef{Credential: name}).Resolve(r.Options().Getenv)
			res.Credentials = append(res.Credentials, Credential{Name: name, Alias: alias,
				Setting: reconcile.CredentialsKey(alias), Present: rerr == nil})
		}
		if ia.recorded {
			res.Recorded++
		}
		if ia.Status == Created || ia.Status == Updated {
			wrote = true
		}
	}
	if !opts.DryRun && wrote {
		// The files must load as written: a failure here is a bug in
		// import, and the operator must not apply what it wrote.
		if _, problems, err := spec.Load(set.Dir); err != nil {
			return res, fmt.Errorf("the imported specs do not load (please report this): %v", problems.Errors())
		}
	}
	return res, nil
}

// credentialName is the systemd credential an imported hand-made key is
// read from: <local>-<alias>-ccs (cross-cluster secret).
func credentialName(local, alias string) string { return local + "-" + alias + "-ccs" }

// liveAlias is one alias's keys as GET /_cluster/settings returns them.
type liveAlias map[string]es.Value // by suffix

// liveAliases groups flat cluster.remote.<alias>.* keys by alias.
func liveAliases(flat map[string]es.Value) map[string]liveAlias {
	out := map[string]liveAlias{}
	for k, v := range flat {
		alias, suffix, ok := es.SplitRemoteKey(k)
		// cluster.remote.node.attr is a node-level setting, not an alias.
		if !ok || (alias == "node" && suffix == "attr") || v.IsNull() {
			continue
		}
		if out[alias] == nil {
			out[alias] = liveAlias{}
		}
		out[alias][suffix] = v
	}
	return out
}

// clusterEndpoints resolves the endpoint of every declared Cluster but
// the local one, to recognise a remote by its address. A cluster whose
// endpoint cannot be read is left out.
func clusterEndpoints(ctx context.Context, r *reconcile.Reconciler, set *spec.Set, local string) map[string]reconcile.Endpoint {
	out := map[string]reconcile.Endpoint{}
	for _, cl := range set.Clusters {
		if cl.Name == local {
			continue
		}
		if cl.Deployment == nil {
			out[cl.Name] = reconcile.EndpointOf(cl)
			continue
		}
		ep, err := r.DeploymentEndpoint(ctx, set, cl)
		if err != nil {
			r.Options().Logger.Warn("import: endpoint unknown", "target", cl.Name, "err", err)
			continue
		}
		out[cl.Name] = ep
	}
	return out
}

type importer struct {
	r         *reconcile.Reconciler
	set       *spec.Set
	local     *spec.Cluster
	now       time.Time
	endpoints map[string]reconcile.Endpoint
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
