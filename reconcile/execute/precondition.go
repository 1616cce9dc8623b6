package execute

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/esremote/esremote/reconcile/cloud"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/plan"
	worlddata "github.com/esremote/esremote/reconcile/world"
)

// A precondition is read with the same requests the observation made,
// and reduced with the same functions (the Digest functions below, which
// the engine calls on its Snapshot when it plans): equal answers give
// equal digests.

// Digest is world.Digest: the SHA-256 of v's JSON, as "sha256:<hex>".
func Digest(v any) string { return worlddata.Digest(v) }

// RoleDigest is a role's digest as GET /_security/role returns it
// (plan.Absent for none).
func RoleDigest(r *es.Role) string {
	if r == nil {
		return plan.Absent
	}
	return Digest(r)
}

// KeysDigest is world.KeysDigest: the digest of the API keys named name
// among keys (plan.Absent for none).
func KeysDigest(keys []es.APIKey, name string) string {
	return worlddata.KeysDigest(keys, name, plan.Absent)
}

// RemoteSettings is the flat cluster.remote.* settings of a settings
// read, transient ones with a " (transient)" suffix: what a ReadSettings
// precondition holds.
func RemoteSettings(st es.Settings) map[string]string {
	out := map[string]string{}
	for _, scope := range []struct {
		m      map[string]es.Value
		suffix string
	}{{st.Persistent, ""}, {st.Transient, " (transient)"}} {
		for k, v := range scope.m {
			if _, _, ok := es.SplitRemoteKey(k); ok && strings.HasPrefix(k, "cluster.remote.") {
				out[k+scope.suffix] = v.String()
			}
		}
	}
	return out
}

// reads checks preconditions. With checked set (CheckFirst), the reads
// were all made before the first write, and the trust writes use the
// deployments read then (their ?version= is the compare-and-set).
type reads struct {
	env      Env
	checked  bool
	identity func(target string) (uuid string, ok bool)
	known    func(target string) (*cloud.Deployment, bool)
	mu       sync.Mutex
	uuids    map[string]string
	deps     map[string]*cloud.Deployment
}

func newReads(env Env, o Options) *reads {
	return &reads{env: env, identity: o.Identity, known: o.Deployment, uuids: map[string]string{}, deps: map[string]*cloud.Deployment{}}
}

// uuid is target's cluster_uuid (GET /), read once per run, or taken
// from the pass that read it already (Options.Identity): a cluster_uuid
// does not change with writes.
func (rd *reads) uuid(ctx context.Context, c *es.Client, target string) (string, error) {
	if rd.identity != nil {
		if u, ok := rd.identity(target); ok {
			return u, nil
		}
	}
	rd.mu.Lock()
	u, ok := rd.uuids[target]
	rd.mu.Unlock()
	if ok {
		return u, nil
	}
	in, err := c.Info(ctx)
	if err != nil {
		return "", err
	}
	rd.mu.Lock()
	rd.uuids[target] = in.ClusterUUID
	rd.mu.Unlock()
	return in.ClusterUUID, nil
}

// deployment is the deployment a trust write sends back: the one its
// precondition read.
func (rd *reads) deployment(target string) *cloud.Deployment {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	return rd.deps[target]
}

// check reads s's precondition and returns why it no longer holds
// (wrapping ErrStale), or nil. A read that fails makes the step stale
// too: what it was planned against cannot be shown to hold.
func (rd *reads) check(ctx context.Context, s *plan.Step) error {
	stale := func(format string, a ...any) error {
		return &StaleError{Reasons: []string{s.Target + ": " + fmt.Sprintf(format, a...)}}
	}
	if ref := s.SecretRef; ref != nil && ref.Connection != "" && ref.Fingerprint != "" {
		_, fp, err := rd.env.Secret(ref.Connection)
		if err != nil {
			return stale("the credential of connection %s: %v", ref.Connection, err)
		}
		if fp != ref.Fingerprint {
			return stale("the credential of connection %s changed since the plan was made (%s then, %s now)", ref.Connection, ref.Fingerprint, fp)
		}
	}
	p := s.Precondition
	if p == nil {
		return nil
	}
	if p.Read == plan.ReadLedger {
		if got := rd.env.Ledger.Digest(p.Name); got != p.Digest {
			return stale("esremote's record of %s changed since the plan was made", p.Shows)
		}
		return nil
	}
	if p.Read == plan.ReadDeployment {
		cc, err := rd.env.Cloud(s.Target)
		if err != nil {
			return stale("%v", err)
		}
		var body plan.TrustBody
		if err := json.Unmarshal(s.Body, &body); err != nil {
			return stale("the step's body: %v", err)
		}
		d, ok := (*cloud.Deployment)(nil), false
		if rd.known != nil {
			d, ok = rd.known(s.Target)
		}
		if !ok {
			if d, err = cc.Deployment(ctx, body.Deployment); err != nil {
				return stale("read deployment: %v", err)
			}
		}
		if d.ResourceVersion != p.Version {
			return stale("deployment %s changed since the plan was made (version %s then, %s now)", body.Deployment, p.Version, d.ResourceVersion)
		}
		rd.mu.Lock()
		rd.deps[s.Target] = d
		rd.mu.Unlock()
		return nil
	}
	c, err := rd.env.ES(s.Target)
	if err != nil {
		return stale("%v", err)
	}
	if p.UUID != "" || p.Read == plan.ReadCluster || p.Read == plan.ReadSettings || p.Read == plan.ReadKeys {
		uuid, err := rd.uuid(ctx, c, s.Target)
		if err != nil {
			return stale("%v", err)
		}
		if uuid != p.UUID {
			return stale("cluster_uuid %s when planned, %s now", orNone(p.UUID), orNone(uuid))
		}
	}
	switch p.Read {
	case plan.ReadCluster:
		return nil
	case plan.ReadSettings:
		st, err := c.Settings(ctx)
		if err != nil {
			return stale("%v", err)
		}
		if why := settingsChanged(p.Values, RemoteSettings(st)); len(why) > 0 {
			e := &StaleError{}
			for _, w := range why {
				e.Reasons = append(e.Reasons, s.Target+": "+w)
			}
			return e
		}
	case plan.ReadRole:
		r, err := c.Role(ctx, p.Name)
		if err != nil && !es.IsNotFound(err) {
			return stale("%v", err)
		}
		if got := RoleDigest(r); got != p.Digest {
			return stale("role %s changed since the plan was made", p.Name)
		}
	case plan.ReadKeys:
		keys, err := c.APIKeys(ctx, es.KeyQuery{Name: p.Name})
		if err != nil {
			return stale("%v", err)
		}
		if got := KeysDigest(keys, p.Name); got != p.Digest {
			return stale("the API keys named %s changed since the plan was made", p.Name)
		}
	default:
		return stale("a precondition this esremote cannot read (%q)", p.Read)
	}
	return nil
}

// settingsChanged names each remote-cluster setting that differs, in
// key order.
func settingsChanged(then, now map[string]string) []string {
	keys := map[string]bool{}
	for k := range then {
		keys[k] = true
	}
	for k := range now {
		keys[k] = true
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		a, aok := then[k]
		b, bok := now[k]
		switch {
		case aok && !bok:
			out = append(out, fmt.Sprintf("%s was %q when planned and is gone now", k, a))
		case !aok && bok:
			out = append(out, fmt.Sprintf("%s is %q now and was unset when planned", k, b))
		case a != b:
			out = append(out, fmt.Sprintf("%s is %q now, %q when planned", k, b, a))
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
