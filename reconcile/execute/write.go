package execute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/esremote/esremote/reconcile/cloud"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/plan"
)

// KeystoreBody is plan.KeystoreBody.
type KeystoreBody = plan.KeystoreBody

// send makes a step's one request through its adapter.
func (r *run) send(ctx context.Context, s *plan.Step) (Result, error) {
	switch s.Kind {
	case plan.KindForget:
		return Result{}, nil
	case plan.KindSetKeystore, plan.KindRemoveKeystore:
		return r.keystore(ctx, s)
	case plan.KindPutTrust:
		return Result{}, r.trust(ctx, s)
	}
	c, err := r.env.ES(s.Target)
	if err != nil {
		return Result{}, err
	}
	switch s.Kind {
	case plan.KindClusterSettings:
		var b plan.SettingsBody
		if err := decode(s, &b); err != nil {
			return Result{}, err
		}
		return Result{}, c.PutScopedSettings(ctx, values(b.Persistent), values(b.Transient))
	case plan.KindPutRole:
		var role es.Role
		if err := decode(s, &role); err != nil {
			return Result{}, err
		}
		return Result{}, c.PutRole(ctx, s.Name, role)
	case plan.KindDeleteRole:
		if err := c.DeleteRole(ctx, s.Name); err != nil && !es.IsNotFound(err) {
			return Result{}, fmt.Errorf("delete role %s: %w", s.Name, err)
		}
		return Result{}, nil
	case plan.KindInvalidateKeys:
		var b plan.InvalidateBody
		if err := decode(s, &b); err != nil {
			return Result{}, err
		}
		if _, err := c.InvalidateAPIKeys(ctx, b.IDs...); err != nil && !es.IsNotFound(err) {
			return Result{}, fmt.Errorf("invalidate keys %s on %s: %w", strings.Join(b.IDs, ", "), s.Target, err)
		}
		return Result{}, nil
	case plan.KindUpdateKey:
		var b plan.KeyBody
		var access es.CrossClusterAccess
		if err := decode(s, &b); err != nil {
			return Result{}, err
		}
		if err := json.Unmarshal(b.Access, &access); err != nil {
			return Result{}, fmt.Errorf("step %s: access: %w", s.ID, err)
		}
		if _, err := c.UpdateCrossClusterAPIKey(ctx, b.ID, es.CrossClusterKeyUpdate{Access: &access, Metadata: b.Metadata}); err != nil {
			return Result{}, fmt.Errorf("update key %s on %s: %w", b.Name, s.Target, err)
		}
		return Result{}, nil
	case plan.KindCreateKey:
		return r.createKey(ctx, c, s)
	case plan.KindReload:
		failures, err := c.ReloadSecureSettings(ctx)
		if err != nil {
			return Result{}, err
		}
		if len(failures) > 0 {
			var names []string
			for _, f := range failures {
				names = append(names, f.String())
			}
			return Result{}, errors.New("nodes failed to reload secure settings: " + strings.Join(names, "; "))
		}
		return Result{}, nil
	}
	return Result{}, fmt.Errorf("step %s: a kind this esremote cannot send (%q)", s.ID, s.Kind)
}

// createKey creates a cross-cluster key, then adds its canary (evidence
// names it by the key's id, known only now). The key's secret is kept
// for the steps that refer to it, never in the Result.
func (r *run) createKey(ctx context.Context, c *es.Client, s *plan.Step) (Result, error) {
	var b plan.KeyBody
	var access es.CrossClusterAccess
	if err := decode(s, &b); err != nil {
		return Result{}, err
	}
	if err := json.Unmarshal(b.Access, &access); err != nil {
		return Result{}, fmt.Errorf("step %s: access: %w", s.ID, err)
	}
	created, err := c.CreateCrossClusterAPIKey(ctx, es.CrossClusterKeyRequest{Name: b.Name, Access: access, Metadata: b.Metadata, Expiration: b.Expiration})
	if err != nil {
		return Result{}, fmt.Errorf("create key %s on %s: %w", b.Name, s.Target, err)
	}
	secret := created.Encoded.Reveal()
	if r.env.Sent != nil {
		r.env.Sent(secret)
	}
	r.secrets[s.ID] = secret
	// Should the canary fail, the key works all the same; the next pass
	// sees the canary missing and adds it.
	canary := r.env.Canary(access, created.ID)
	if _, err := c.UpdateCrossClusterAPIKey(ctx, created.ID, es.CrossClusterKeyUpdate{Access: &canary, Metadata: b.Metadata}); err != nil {
		r.env.Logger.Warn("add the canary to the new key", "key", created.ID, "err", err)
	}
	return Result{KeyID: created.ID, KeyExpiration: created.Expiration, Fingerprint: r.env.Fingerprint(secret)}, nil
}

// keystore sets or removes one keystore entry through the Cloud API.
func (r *run) keystore(ctx context.Context, s *plan.Step) (Result, error) {
	var b KeystoreBody
	if err := decode(s, &b); err != nil {
		return Result{}, err
	}
	cc, err := r.env.Cloud(s.Target)
	if err != nil {
		return Result{}, err
	}
	if s.Kind == plan.KindRemoveKeystore {
		if err := cc.SetKeystore(ctx, b.Deployment, b.RefID, nil, []string{s.Name}); err != nil {
			return Result{}, fmt.Errorf("remove keystore entry %s of %s: %w", s.Name, s.Target, err)
		}
		return Result{}, nil
	}
	secret, err := r.secret(s)
	if err != nil {
		return Result{}, err
	}
	if err := cc.SetKeystore(ctx, b.Deployment, b.RefID, map[string]string{s.Name: secret}, nil); err != nil {
		return Result{}, fmt.Errorf("write keystore of %s: %w", s.Target, err)
	}
	return Result{Fingerprint: r.env.Fingerprint(secret)}, nil
}

// secret resolves a step's SecretRef.
func (r *run) secret(s *plan.Step) (string, error) {
	ref := s.SecretRef
	switch {
	case ref == nil:
		return "", fmt.Errorf("step %s writes a secret but names none", s.ID)
	case ref.Step != "":
		v, ok := r.secrets[ref.Step]
		if !ok {
			return "", fmt.Errorf("step %s: the key of step %s was not created", s.ID, ref.Step)
		}
		return v, nil
	case ref.Connection != "":
		v, _, err := r.env.Secret(ref.Connection)
		return v, err
	}
	return "", fmt.Errorf("step %s: an empty secret reference", s.ID)
}

// trust writes a deployment's whole trust, sending back the deployment
// its precondition read (?version=: a deployment changed since is a
// conflict, never overwritten).
func (r *run) trust(ctx context.Context, s *plan.Step) error {
	var b plan.TrustBody
	if err := decode(s, &b); err != nil {
		return err
	}
	var t cloud.Trust
	if err := json.Unmarshal(b.Trust, &t); err != nil {
		return fmt.Errorf("step %s: trust: %w", s.ID, err)
	}
	d := r.reads.deployment(s.Target)
	if d == nil {
		return fmt.Errorf("step %s: deployment %s was not read", s.ID, b.Deployment)
	}
	cc, err := r.env.Cloud(s.Target)
	if err != nil {
		return err
	}
	return cc.UpdateTrust(ctx, d, b.RefID, t)
}

// landed reads a cluster-settings write back after an answer that left
// it unknown (a timeout, acknowledged: false): whether every value sent
// is live.
func (r *run) landed(ctx context.Context, s *plan.Step) bool {
	if s.Kind != plan.KindClusterSettings {
		return false
	}
	var b plan.SettingsBody
	if decode(s, &b) != nil {
		return false
	}
	c, err := r.env.ES(s.Target)
	if err != nil {
		return false
	}
	st, err := c.Settings(ctx)
	if err != nil {
		return false
	}
	live := RemoteSettings(st)
	for _, k := range slices.Sorted(maps.Keys(b.Persistent)) {
		v, ok := live[k]
		_, suffix, _ := es.SplitRemoteKey(k)
		switch want := b.Persistent[k]; {
		case want == nil && ok, want != nil && (!ok || es.Normalize(suffix, v) != es.Normalize(suffix, *want)):
			return false
		}
	}
	return true
}

func decode(s *plan.Step, v any) error {
	if err := json.Unmarshal(s.Body, v); err != nil {
		return fmt.Errorf("step %s (%s on %s): body: %w", s.ID, s.Kind, s.Target, err)
	}
	return nil
}

// values turns a SettingsBody map into es values: nil removes, seeds are
// lists.
func values(m map[string]*string) map[string]es.Value {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]es.Value, len(m))
	for k, v := range m {
		_, suffix, _ := es.SplitRemoteKey(k)
		switch {
		case v == nil:
			out[k] = es.Null
		case es.IsListSuffix(suffix):
			out[k] = es.List(strings.Split(*v, ",")...)
		default:
			out[k] = es.String(*v)
		}
	}
	return out
}
