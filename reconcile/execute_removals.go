package reconcile

// The execute stage for what connections that left the specs leave
// behind: their managed keys and keystore entries.

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/spec"
)

// applyKeystoreRemovals removes the entries planKeystoreRemovals found,
// through the Cloud API (a self-managed keystore cannot be written over
// REST: the operator gets the command instead).
func (ps *passState) applyKeystoreRemovals(ctx context.Context, cl *spec.Cluster, cp *ClusterPlan) {
	led := ps.r.ledger
	for _, d := range cp.Deletions {
		for _, kr := range d.keystoreRemovals {
			if cl.Deployment == nil {
				kr.change.Err = fmt.Errorf("self-managed keystore: on every node of %s run bin/elasticsearch-keystore remove %s", cl.Name, kr.setting)
				continue
			}
			cc, err := ps.r.CloudClient(ps.set, cl)
			if err == nil {
				err = cc.SetKeystore(ctx, cl.Deployment.ID, cl.Deployment.RefID, nil, []string{kr.setting})
			}
			if err != nil {
				kr.change.Err = fmt.Errorf("remove keystore entry %s: %w", kr.setting, err)
				continue
			}
			kr.change.Applied = true
			ps.commit("removal of keystore entry "+kr.setting+" of "+cp.Local, func() error { return led.SetKeystore(cp.Local, kr.setting, nil) }, kr.change)
		}
	}
}

// applyRemovedKeys invalidates the keys planned by planRemovedKeys and
// removes their keystore entries, after the alias itself is gone.
func (ps *passState) applyRemovedKeys(ctx context.Context, cl *spec.Cluster, cp *ClusterPlan, log *slog.Logger) {
	led := ps.r.ledger
	for _, d := range cp.Deletions {
		if d.key == nil {
			continue
		}
		var keyCh, ksCh *Change
		for _, ch := range d.Changes {
			switch ch.Resource {
			case ResourceAPIKey:
				keyCh = ch
			case ResourceKeystore:
				ksCh = ch
			}
		}
		rcl := ps.set.Cluster(d.key.Remote)
		if rcl == nil {
			keyCh.Err = fmt.Errorf("remote cluster %s is no longer declared: invalidate key %s there by hand", d.key.Remote, d.key.ID)
			continue
		}
		rc, err := ps.r.ESClient(ps.set, rcl)
		if err == nil {
			ids := []string{d.key.ID}
			if d.key.Previous != nil {
				ids = append(ids, d.key.Previous.ID)
			}
			_, err = rc.InvalidateAPIKeys(ctx, ids...)
			if es.IsNotFound(err) {
				err = nil
			}
		}
		if err != nil {
			keyCh.Err = fmt.Errorf("invalidate key %s: %w", d.key.ID, err)
			log.Warn("invalidate key failed", "err", err)
			continue
		}
		keyCh.Applied = true
		if d.keystore && cl.Deployment != nil {
			cc, err := ps.r.CloudClient(ps.set, cl)
			if err == nil {
				err = cc.SetKeystore(ctx, cl.Deployment.ID, cl.Deployment.RefID, nil, []string{CredentialsKey(d.key.Alias)})
			}
			if err != nil {
				ksCh.Err = fmt.Errorf("remove keystore entry: %w", err)
				continue
			}
			ksCh.Applied = true
			ps.commit("removal of keystore entry "+CredentialsKey(d.key.Alias)+" of "+cp.Local, func() error {
				return led.SetKeystore(cp.Local, CredentialsKey(d.key.Alias), nil)
			}, ksCh)
		}
		ps.commit("invalidation of key "+d.key.ID, func() error { return led.SetKey(d.Connection, nil) }, keyCh)
	}
}
