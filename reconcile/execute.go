package reconcile

// The execute stage for a local cluster: credentials, the one settings PUT,
// roles, verification; ledger intent before each write, commit after.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/esremote/esremote/reconcile/es"
)

// apply writes one cluster's plan in the order of DESIGN §5: credentials
// (key on the remote, keystore on the local), the single settings PUT,
// roles; then verifies the links it touched and finishes rotations.
func (ps *passState) apply(ctx context.Context, w *clusterWork) {
	c, cl, cp, log := w.client, w.cl, w.cp, w.log
	r := ps.r
	now := r.opts.Now()
	steps, stepOf := ps.clusterSteps(w)
	touched := map[*ConnectionPlan]bool{}
	for _, p := range cp.Connections {
		if p.key == nil || !p.writes() {
			continue
		}
		if err := ps.applyKey(ctx, p, cl); err != nil {
			log.Warn("credentials failed", "alias", p.Conn.Alias, "err", err)
		}
		for _, ch := range p.Changes {
			if ch.Applied {
				touched[p] = true
			}
		}
	}
	reloaded := ps.reloadSelfManaged(ctx, c, cl, cp)
	for _, p := range reloaded {
		touched[p] = true
	}

	if !cp.Put.Empty() {
		// Record intent first (pending), so a crash after the PUT keeps
		// ownership; see Ledger. One ledger save before the PUT and one
		// after, whatever the number of aliases.
		var written []*ConnectionPlan
		prev, intent := map[string]*AliasRecord{}, map[string]*AliasRecord{}
		for _, p := range cp.Connections {
			if p.settings && p.Enforced() {
				written = append(written, p)
				if rec := r.ledger.Alias(cp.Local, p.Conn.Alias); rec != nil {
					prev[p.Conn.Alias] = rec
				}
				intent[p.Conn.Alias] = &AliasRecord{Connection: p.Conn.Name, Keys: fingerprints(p.Desired), Pending: true, WrittenAt: now}
			}
		}
		if err := r.ledger.SetAliases(cp.Local, intent); err != nil {
			failSettings(cp, err)
		} else if err := c.PutScopedSettings(ctx, toValues(cp.Put.Persistent), toValues(cp.Put.Transient)); err != nil {
			log.Warn("put cluster settings failed", "err", err)
			failSettings(cp, err)
			// The write did not land, or we cannot know: an unacknowledged
			// PUT or a timeout may have committed (es-api.md §3.6). Read
			// the settings back once: an alias whose live value is what
			// was sent keeps the new record (committed), any other gets
			// back the record it replaced, so ownership of what was there
			// before is not lost. Giving back the old record of a write
			// that landed would disown the alias esremote just wrote.
			restore := prev
			if maybeCommitted(err) {
				restore = landedOrPrev(ctx, c, intent, prev)
			}
			if len(restore) > 0 {
				if err := r.ledger.SetAliases(cp.Local, restore); err != nil {
					log.Error("save ledger", "err", err)
				}
			}
		} else {
			log.Info("put cluster settings", "keys", len(cp.Put.Persistent)+len(cp.Put.Transient))
			commit := map[string]*AliasRecord{}
			for _, p := range written {
				for _, ch := range p.Changes {
					if ch.Resource == ResourceClusterSetting {
						ch.Applied = true
					}
				}
				touched[p] = true
				rec := *intent[p.Conn.Alias]
				rec.Pending = false
				commit[p.Conn.Alias] = &rec
			}
			for _, d := range cp.Deletions {
				for _, ch := range d.Changes {
					if ch.Resource == ResourceClusterSetting {
						ch.Applied = true
					}
				}
				if d.Alias != "" {
					commit[d.Alias] = nil
				}
			}
			var applied []*Change
			for _, p := range written {
				applied = append(applied, settingChanges(p.Changes)...)
			}
			for _, d := range cp.Deletions {
				applied = append(applied, settingChanges(d.Changes)...)
			}
			ps.commit("cluster settings of "+cp.Local, func() error { return r.ledger.SetAliases(cp.Local, commit) }, applied...)
		}
	}
	ps.run(ctx, steps, stepOf)
	ps.applyRemovedKeys(ctx, cl, cp, log)
	ps.applyKeystoreRemovals(ctx, cl, cp)
	for _, p := range cp.Connections {
		for _, ch := range p.Changes {
			if ch.Applied {
				touched[p] = true
			}
		}
	}
	if len(touched) > 0 {
		ps.verify(ctx, c, touched, log)
	}
	settleActionRequired(ctx, c, reloaded)
	for _, p := range cp.Connections {
		ps.recordProof(p)
		ps.finishRotation(ctx, p)
	}
}

// commitLanded commits pending ledger records whose values are live: the
// write landed but the process stopped before recording it (a crash
// between the PUT and the commit). Such records already count as owned;
// committing them keeps the ledger telling the plain truth.
func (ps *passState) commitLanded(cp *ClusterPlan, obs *Observed) {
	var live map[string]map[string]string // grouped once, if some record is pending
	landed := map[string]*AliasRecord{}
	for _, alias := range ps.r.ledger.Aliases(cp.Local) {
		rec := ps.r.ledger.Alias(cp.Local, alias)
		if rec == nil || !rec.Pending {
			continue
		}
		if live == nil {
			live = groupByAlias(obs.Persistent)
		}
		if matches(rec, live[alias]) {
			rec.Pending = false
			landed[alias] = rec
		}
	}
	if len(landed) > 0 {
		_ = ps.r.ledger.SetAliases(cp.Local, landed)
	}
}

// maybeCommitted reports whether a failed write may have been applied:
// "acknowledged": false, a timeout or a network error after sending.
func maybeCommitted(err error) bool {
	return errors.Is(err, es.ErrNotAcknowledged) || errors.Is(err, es.ErrTimeout) || errors.Is(err, es.ErrNetwork)
}

// landedOrPrev reads the settings back after a PUT that may have
// committed and returns, per alias of the PUT, the new (committed) record
// when its value is live, else the record it replaced. When the read
// fails too, the replaced records: the next pass's commitLanded cannot
// recognise a write whose pending record was given back, but it never
// claims what it cannot see.
func landedOrPrev(ctx context.Context, c *es.Client, intent, prev map[string]*AliasRecord) map[string]*AliasRecord {
	st, err := c.Settings(ctx)
	if err != nil {
		return prev
	}
	live := groupByAlias(flatRemote(st.Persistent))
	out := map[string]*AliasRecord{}
	for alias, rec := range intent {
		if matches(rec, live[alias]) {
			c := *rec
			c.Pending = false
			out[alias] = &c
		} else if p := prev[alias]; p != nil {
			out[alias] = p
		}
	}
	return out
}

func failSettings(cp *ClusterPlan, err error) {
	for _, p := range cp.Connections {
		if p.Enforced() && p.settings {
			for _, ch := range p.Changes {
				if ch.Resource == ResourceClusterSetting {
					ch.Err = err
				}
			}
		}
	}
	for _, d := range cp.Deletions {
		for _, ch := range d.Changes {
			if ch.Resource == ResourceClusterSetting {
				ch.Err = err
			}
		}
	}
}

// toValues turns a Put map into es values: nil removes, seeds are lists.
func toValues(m map[string]*string) map[string]es.Value {
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

// commit saves the ledger's record of a write that landed (the commit
// after the intent) and reports a save that failed on the write's
// changes: the object is written but its record stays as the intent left
// it (pending, or the record of what was removed), so the report must not
// claim a clean write. The next pass commits a pending record whose value
// is live (commitLanded) and finds a removed object gone. It returns
// whether the commit was saved. Every commit of the execute stage goes
// through it.
func (ps *passState) commit(what string, save func() error, changes ...*Change) bool {
	err := save()
	if err == nil {
		return true
	}
	err = fmt.Errorf("%s: written, but the ledger could not record it: %w", what, err)
	for _, ch := range changes {
		if ch != nil {
			ch.Err = err
		}
	}
	ps.r.opts.Logger.Error("save ledger", "what", what, "err", err)
	return false
}

// settingChanges are the cluster-setting changes among chs.
func settingChanges(chs []*Change) []*Change {
	var out []*Change
	for _, ch := range chs {
		if ch.Resource == ResourceClusterSetting {
			out = append(out, ch)
		}
	}
	return out
}
