package doctor

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/spec"
)

// Keystore checks that the local keystore holds the alias's credentials,
// as _remote/info shows them (cluster_credentials).
func (ck *Checkup) Keystore() {
	const step = StepKeystore
	c := ck.Conn
	switch {
	case !ck.Configured:
		ck.add(step, Skipped, "", "the alias is not configured", "")
	case ck.Live.HasCredentials():
		ck.add(step, OK, "", "_remote/info shows cluster_credentials for "+c.Alias+": the keystore holds cluster.remote."+c.Alias+".credentials", "")
	default:
		fix := "run esremote apply " + ck.Set.Dir + ": it writes cluster.remote." + c.Alias + ".credentials to the deployment's keystore"
		if lc := ck.Set.Cluster(c.Local); lc == nil || lc.Deployment == nil {
			fix = "on every node of " + c.Local + " run bin/elasticsearch-keystore add cluster.remote." + c.Alias + ".credentials with the encoded key, then POST /_nodes/reload_secure_settings"
		}
		ck.add(step, Problem, CauseNoCredentials,
			"_remote/info shows no cluster_credentials for "+c.Alias+": the local keystore has no cluster.remote."+c.Alias+".credentials", fix)
	}
}

// keyID finds the ID of the connection's cross-cluster key: the ledger's
// record for a managed key, the decoded credential for a hand-made one.
func (ck *Checkup) keyID() (id, why string) {
	c := ck.Conn
	if c.APIKey == nil {
		return "", "the connection has no api_key block"
	}
	if c.APIKey.Managed {
		if ck.KeyID == "" {
			return "", "the ledger has no key for " + c.Name
		}
		return ck.KeyID, ""
	}
	if c.APIKey.Credentials == nil {
		return "", "api_key.credentials names no secret"
	}
	sec, err := c.APIKey.Credentials.Resolve(ck.Getenv)
	if err != nil {
		return "", "api_key.credentials: " + err.Error()
	}
	raw, err := base64.StdEncoding.DecodeString(sec.Reveal())
	id, _, ok := strings.Cut(string(raw), ":")
	if err != nil || !ok || id == "" {
		return "", "api_key.credentials is not an encoded API key (base64 of id:key)"
	}
	return id, ""
}

func (ck *Checkup) keyFix() string {
	c := ck.Conn
	if c.APIKey != nil && c.APIKey.Managed {
		return "run esremote apply " + ck.Set.Dir + ": it creates a new key, swaps the keystore entry, verifies the link and invalidates the old key"
	}
	return "create a new key with POST /_security/cross_cluster/api_key on the remote, store its encoded value where api_key.credentials points, and run esremote apply"
}

// APIKey checks the key on the remote: it exists, is cross_cluster, is
// neither expired nor invalidated, and its access covers the role grants.
func (ck *Checkup) APIKey(ctx context.Context) {
	const step = StepAPIKey
	c := ck.Conn
	id, why := ck.keyID()
	if id == "" {
		cause := CauseKeyMissing
		fix := ck.keyFix()
		if c.APIKey != nil && !c.APIKey.Managed {
			cause, fix = CauseNoCredentials, "make api_key.credentials name the encoded cross-cluster key"
		}
		ck.add(step, Problem, cause, why, fix)
		return
	}
	rcl := ck.Set.Cluster(c.Remote.Cluster)
	if rcl == nil {
		ck.add(step, Skipped, "", "key "+id+": the remote is not a declared Cluster, so esremote cannot read its keys", "")
		return
	}
	keys := ck.Cached
	var err error
	if keys == nil && ck.Remote == nil {
		ck.add(step, Skipped, "", "key "+id+": not read in this pass", "")
		return
	}
	if keys == nil {
		var rc *es.Client
		if rc, err = ck.Remote(ctx, rcl); err == nil {
			keys, err = rc.APIKeys(ctx, es.KeyQuery{ID: id})
		}
	}
	if err != nil && !es.IsNotFound(err) {
		ck.add(step, Skipped, "", "cannot read key "+id+" on "+rcl.Name+": "+err.Error(), "")
		return
	}
	if len(keys) == 0 {
		ck.add(step, Problem, CauseKeyMissing, "key "+id+" does not exist on "+rcl.Name+" (deleted, or the keystore holds another cluster's key)", ck.keyFix())
		return
	}
	k := keys[0]
	desc := fmt.Sprintf("key %s (%s) on %s", k.ID, k.Name, rcl.Name)
	switch {
	case k.Type != "cross_cluster":
		ck.add(step, Problem, CauseWrongKeyType, desc+" has type "+k.Type+", not cross_cluster",
			"create the key with POST /_security/cross_cluster/api_key (a REST key cannot open a remote connection)")
		return
	case k.Invalidated:
		when := ""
		if !k.Invalidation.IsZero() {
			when = " on " + k.Invalidation.UTC().Format(time.DateOnly)
		}
		ck.add(step, Problem, CauseKeyInvalid, desc+" was invalidated"+when, ck.keyFix())
		return
	case k.Expired(ck.Now):
		ck.add(step, Problem, CauseKeyInvalid, desc+" expired on "+k.Expiration.UTC().Format(time.DateOnly), ck.keyFix())
		return
	}
	if k.Access != nil {
		if gap := uncovered(c, *k.Access); gap != "" {
			ck.add(step, Problem, CausePrivileges, desc+": "+gap,
				"widen api_key.access or narrow the role: a search only gets the intersection of both")
			return
		}
	}
	exp := "never expires"
	if !k.Expiration.IsZero() {
		exp = "expires " + k.Expiration.UTC().Format(time.DateOnly)
	}
	access := ""
	if k.Access != nil {
		access = ", access " + k.Access.Summary()
	}
	ck.add(step, OK, "", desc+": cross_cluster, active, "+exp+access, "")
}

// uncovered names the first role grant toward the alias that the key's
// access does not cover, or "".
func uncovered(c *spec.Connection, a es.CrossClusterAccess) string {
	var pats []string
	for _, s := range a.Search {
		pats = append(pats, s.Names...)
	}
	for _, r := range a.Replication {
		pats = append(pats, r.Names...)
	}
	for _, role := range c.Roles {
		for _, ri := range role.RemoteIndices {
			if !grantsAlias(ri.Clusters, c.Alias) {
				continue
			}
			for _, n := range ri.Names {
				if !slices.ContainsFunc(pats, func(p string) bool { return covers(p, n) }) {
					return fmt.Sprintf("role %s grants %s through %s, but the key's access only covers [%s]", role.Name, n, c.Alias, strings.Join(pats, ", "))
				}
			}
		}
	}
	return ""
}

func grantsAlias(clusters []string, alias string) bool {
	if len(clusters) == 0 {
		return true
	}
	return slices.ContainsFunc(clusters, func(p string) bool { return covers(p, alias) })
}

// covers reports whether index pattern p matches every name pattern n
// does (prefix wildcards only, as roles and keys use them).
func covers(p, n string) bool {
	if p == "*" || p == n {
		return true
	}
	if pre, ok := strings.CutSuffix(p, "*"); ok {
		return strings.HasPrefix(strings.TrimSuffix(n, "*"), pre)
	}
	return false
}
