package reconcile

// The execute stage for credentials: key on the remote, keystore on the
// local, keystore reload on a self-managed local, the end of a rotation.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/spec"
)

// applyKey runs the credential flow of one connection, before the cluster
// settings are written: key on the remote, then the local keystore.
func (ps *passState) applyKey(ctx context.Context, p *ConnectionPlan, local *spec.Cluster) error {
	w := p.key
	if w == nil || !p.writes() {
		return nil
	}
	c := p.Conn
	led := ps.r.ledger
	now := ps.r.opts.Now()
	fail := func(ch *Change, err error) error {
		if ch != nil {
			ch.Err = err
		}
		return err
	}
	if !c.APIKey.Managed {
		if !w.keystore {
			return nil
		}
		cc, err := ps.r.CloudClient(ps.set, local)
		if err != nil {
			return fail(w.changes["keystore"], err)
		}
		prevKS := led.Keystore(c.Local, w.keystoreKey)
		if err := led.SetKeystore(c.Local, w.keystoreKey, &Record{Fingerprint: w.secret.Fingerprint(), Connection: c.Name, Pending: true, WrittenAt: now}); err != nil {
			return fail(w.changes["keystore"], fmt.Errorf("not written: %w", err))
		}
		if err := cc.SetKeystore(ctx, local.Deployment.ID, local.Deployment.RefID, map[string]string{w.keystoreKey: w.secret.Reveal()}, nil); err != nil {
			_ = led.SetKeystore(c.Local, w.keystoreKey, prevKS)
			return fail(w.changes["keystore"], fmt.Errorf("write keystore of %s: %w", c.Local, err))
		}
		w.changes["keystore"].Applied = true
		ps.commit("keystore entry "+w.keystoreKey+" of "+c.Local, func() error {
			return led.SetKeystore(c.Local, w.keystoreKey, &Record{Fingerprint: w.secret.Fingerprint(), Connection: c.Name, WrittenAt: now})
		}, w.changes["keystore"])
		return nil
	}
	rs, rcl := ps.snap.readRemote(w.remote), ps.set.Cluster(w.remote)
	if rs == nil || rcl == nil {
		return fail(w.changes["key"], fmt.Errorf("remote %s was not observed in this pass", w.remote))
	}
	rc, err := ps.r.ESClient(ps.set, rcl)
	if err != nil {
		return fail(w.changes["key"], err)
	}
	name := keyName(c)
	meta := map[string]any{"managed_by": ManagedBy, MetaInstallation: led.Installation(), MetaConnection: c.Name, MetaLocal: c.Local, MetaAlias: c.Alias, MetaAccessHash: w.accessHash}
	for _, k := range w.orphans {
		ch := w.changes["orphan:"+k.ID]
		if _, err := rc.InvalidateAPIKeys(ctx, k.ID); err != nil {
			fail(ch, fmt.Errorf("invalidate orphan key %s on %s: %w", k.ID, w.remote, err))
			continue
		}
		if ch != nil {
			ch.Applied = true
		}
	}
	switch w.kind {
	case keyUpdate:
		ch := w.changes["key"]
		access := withCanary(w.access, w.live.ID)
		if _, err := rc.UpdateCrossClusterAPIKey(ctx, w.live.ID, es.CrossClusterKeyUpdate{Access: &access, Metadata: meta}); err != nil {
			return fail(ch, fmt.Errorf("update key %s on %s: %w", name, w.remote, err))
		}
		ch.Applied = true
		rec := led.Key(c.Name)
		rec.AccessHash = w.accessHash
		ps.commit("key "+name+" on "+w.remote, func() error { return led.SetKey(c.Name, rec) }, ch)
		return nil
	case keyCreate, keyRotate:
		ch := w.changes["key"]
		// Ledger first: the key's ID only exists once it is created, so
		// the intent and the remote's identity are saved before the
		// request; a key created but never recorded is then an orphan of
		// this installation, invalidated by the next pass.
		if err := led.SetClusterUUID(w.remote, rs.Info.ClusterUUID); err != nil {
			return fail(ch, fmt.Errorf("not created: %w", err))
		}
		if err := led.SetKeyIntent(c.Name, now); err != nil {
			return fail(ch, fmt.Errorf("not created: %w", err))
		}
		req := es.CrossClusterKeyRequest{Name: name, Access: w.access, Metadata: meta}
		if c.APIKey.Expiration > 0 {
			req.Expiration = es.FormatTimeValue(c.APIKey.Expiration.D())
		}
		created, err := rc.CreateCrossClusterAPIKey(ctx, req)
		if err != nil {
			return fail(ch, fmt.Errorf("create key %s on %s: %w", name, w.remote, err))
		}
		// The key now travels to the keystore: an echo of that request
		// must not put it in a report.
		spec.Remember(created.Encoded.Reveal())
		// Its canary (evidence.go) can only name it once its id is known:
		// an update by the owner adds it. Should that fail, the key works
		// all the same; the next pass sees the canary missing and adds it.
		canary := withCanary(w.access, created.ID)
		if _, err := rc.UpdateCrossClusterAPIKey(ctx, created.ID, es.CrossClusterKeyUpdate{Access: &canary, Metadata: meta}); err != nil {
			ps.r.opts.Logger.Warn("add the canary to the new key", "key", created.ID, "err", err)
		}
		old := led.Key(c.Name)
		rec := &KeyRecord{Local: c.Local, Alias: c.Alias, Remote: w.remote, ID: created.ID, Name: name, Fingerprint: Fingerprint(created.Encoded.Reveal()),
			AccessHash: w.accessHash, Expiration: created.Expiration, Pending: true, CreatedAt: now, Delivered: old.DeliveredKeyID(), Displaced: w.displaced}
		if w.kind == keyRotate && old != nil {
			// The old key keeps the link up until the new one is verified.
			prev := *old
			prev.Previous, prev.Pending = nil, false
			rec.Previous = &prev
		} else if old != nil && old.Previous != nil {
			rec.Previous = old.Previous
		}
		if err := led.SetKey(c.Name, rec); err != nil {
			return fail(ch, err)
		}
		ch.Applied = true
		ch.Desired = "key " + created.ID + " (" + ch.Desired + ")"
		kch := w.changes["keystore"]
		cc, err := ps.r.CloudClient(ps.set, local)
		if err != nil {
			return fail(kch, err)
		}
		prevKS := led.Keystore(c.Local, w.keystoreKey)
		if err := led.SetKeystore(c.Local, w.keystoreKey, &Record{Fingerprint: rec.Fingerprint, Connection: c.Name, Pending: true, WrittenAt: now}); err != nil {
			return fail(kch, fmt.Errorf("not written: %w", err))
		}
		if err := cc.SetKeystore(ctx, local.Deployment.ID, local.Deployment.RefID, map[string]string{w.keystoreKey: created.Encoded.Reveal()}, nil); err != nil {
			// The keystore still holds what it held: give its record back.
			_ = led.SetKeystore(c.Local, w.keystoreKey, prevKS)
			return fail(kch, fmt.Errorf("write keystore of %s: %w", c.Local, err))
		}
		kch.Applied = true
		kch.Desired = drift.Redacted(rec.Fingerprint)
		if !ps.commit("keystore entry "+w.keystoreKey+" of "+c.Local, func() error {
			return led.SetKeystore(c.Local, w.keystoreKey, &Record{Fingerprint: rec.Fingerprint, Connection: c.Name, WrittenAt: now})
		}, kch) {
			return kch.Err
		}
		rec.Pending, rec.Delivered = false, ""
		p.KeyExpiration = created.Expiration
		w.previous, w.finish = rec.Previous, false
		if w.previous != nil {
			// The old key goes in a later pass, once the new one has been
			// proven in use over the window (rotationFinish).
			p.Findings = append(p.Findings, Finding{Severity: drift.SeverityInfo, Code: CodeRotationWindow,
				Message: "rotation of " + name + ": the old key " + w.previous.ID + " stays valid until the new key " + created.ID + " has been proven in use for " +
					es.FormatTimeValue(ps.r.opts.RotationOverlap) + ", so that every node has loaded it"})
		}
		ps.commit("key "+name+" on "+w.remote, func() error { return led.SetKey(c.Name, rec) }, ch, kch)
		return nil
	}
	return nil
}

// recordProof keeps the proof window of a managed key in the ledger
// (KeyRecord.ProvenAt), from the pass's last evidence (after verify when
// apply wrote): the first request authorized under the key starts it, and
// a request refused under the key it replaced (a node that has not loaded
// it yet) starts it again. Only a record that changes is saved: a steady
// link costs no ledger write.
func (ps *passState) recordProof(p *ConnectionPlan) {
	c := p.Conn
	if c.Security != spec.SecurityAPIKey || c.APIKey == nil || !c.APIKey.Managed || !p.Enforced() {
		return
	}
	rec := ps.r.ledger.Key(c.Name)
	if rec == nil || rec.Pending || (p.key != nil && canaryAmbiguous(p.key.access)) {
		return
	}
	at := ps.r.opts.Now()
	if p.Evidence != nil && !p.Evidence.At.IsZero() {
		at = p.Evidence.At
	}
	switch {
	case p.proven == rec.ID && rec.ProvenAt.IsZero():
		rec.ProvenAt = at
	case !rec.ProvenAt.IsZero() && p.Health == HealthUnauthorized && p.refusedKey != "" &&
		(rec.Previous != nil && p.refusedKey == rec.Previous.ID || rec.Displaced != "" && p.refusedKey == rec.Displaced):
		rec.ProvenAt = time.Time{}
	default:
		return
	}
	if err := ps.r.ledger.SetKey(c.Name, rec); err != nil {
		ps.r.opts.Logger.Warn("record the proof of a key", "key", rec.ID, "err", err)
	}
}

// finishRotation invalidates the rotated-out key when the decision said
// so (rotationFinish: proven in use over the whole window): there is
// never a moment when the key a node of the local cluster uses is invalid.
func (ps *passState) finishRotation(ctx context.Context, p *ConnectionPlan) {
	w := p.key
	if w == nil || w.previous == nil || !w.finish || !p.writes() || w.remote == "" {
		return
	}
	ch := w.changes["previous"]
	if rec := ps.r.ledger.Key(p.Conn.Name); p.Health != HealthConnected || !canaryAmbiguous(w.access) && (rec == nil || p.proven != rec.ID) {
		// The pass's last evidence (verify's, when apply wrote) no
		// longer proves the new key: the decision's proof is not enough.
		if ch != nil {
			ch.Err = fmt.Errorf("kept: the last request through the link did not prove the new key in use")
		}
		return
	}
	err := fmt.Errorf("remote cluster %s is not declared", w.remote)
	if rcl := ps.set.Cluster(w.remote); rcl != nil {
		var rc *es.Client
		if rc, err = ps.r.ESClient(ps.set, rcl); err == nil {
			_, err = rc.InvalidateAPIKeys(ctx, w.previous.ID)
		}
	}
	if err != nil && !es.IsNotFound(err) {
		if ch != nil {
			ch.Err = fmt.Errorf("invalidate rotated-out key %s: %w", w.previous.ID, err)
		}
		return
	}
	if ch != nil {
		ch.Applied = true
	}
	if rec := ps.r.ledger.Key(p.Conn.Name); rec != nil {
		rec.Previous = nil
		ps.commit("invalidation of key "+w.previous.ID, func() error { return ps.r.ledger.SetKey(p.Conn.Name, rec) }, ch)
	}
}

// reloadSelfManaged asks a self-managed cluster to reload its keystore
// when an api_key alias has no credentials yet: the operator may have
// added them with elasticsearch-keystore since the last pass. It returns
// the connections the reload was for, so apply verifies them.
func (ps *passState) reloadSelfManaged(ctx context.Context, client *es.Client, local *spec.Cluster, cp *ClusterPlan) []*ConnectionPlan {
	if local.Deployment != nil {
		return nil
	}
	var waiting []*ConnectionPlan
	for _, p := range cp.Connections {
		for _, f := range p.Findings {
			if f.Code == CodeActionRequired && p.writes() {
				waiting = append(waiting, p)
				break
			}
		}
	}
	if len(waiting) == 0 {
		return nil
	}
	failures, err := client.ReloadSecureSettings(ctx)
	msg := ""
	switch {
	case err != nil:
		msg = err.Error()
	case len(failures) > 0:
		var names []string
		for _, f := range failures {
			names = append(names, f.String())
		}
		msg = "nodes failed to reload secure settings: " + strings.Join(names, "; ")
	}
	if msg == "" {
		return waiting
	}
	for _, p := range waiting {
		p.Findings = append(p.Findings, Finding{Severity: "error", Code: CodeReloadFailed, Message: msg,
			Fix: "fix the keystore on the named nodes (same value on every node), then run apply again"})
	}
	return nil
}

// settleActionRequired drops the action_required finding of connections
// whose credentials Elasticsearch now reports (after a reload).
func settleActionRequired(ctx context.Context, client *es.Client, waiting []*ConnectionPlan) {
	if len(waiting) == 0 {
		return
	}
	info, err := client.RemoteInfo(ctx)
	if err != nil {
		return
	}
	for _, p := range waiting {
		if !info[p.Conn.Alias].HasCredentials() {
			continue
		}
		p.Findings = slices.DeleteFunc(p.Findings, func(f Finding) bool { return f.Code == CodeActionRequired })
	}
}
