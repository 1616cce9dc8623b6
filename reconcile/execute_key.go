package reconcile

// The execute stage for credentials: key on the remote, keystore on the
// local, keystore reload on a self-managed local, the end of a rotation.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/spec"
)

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
