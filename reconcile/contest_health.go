package reconcile

import (
	"context"

	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/verify"
)

// contested judges the i-th link when another installation contests it
// (decide.ContestedAsk): its own canary refused says only that the local
// cluster does not use this installation's key, so whether the link
// works is asked with any index (verify.AnyIndex: one request, only for
// such links, its answer not cached) and judged by decide.AfterContested.
// The next pass asks its canary again.
func (cr *clusterRun) contested(ctx context.Context, i int) {
	r, l := cr.ps.r, cr.link(i)
	if !decide.Contested(l) {
		return
	}
	if target, keyID := r.evidenceTarget(l.Conn); !decide.ContestedAsk(l, target, keyID) {
		return
	}
	h, ok := verify.AnyIndex(ctx, r.asker(), cr.w.client, cr.w.obs.Version, l.Conn.Alias)
	if !ok {
		return
	}
	cr.set(i, decide.AfterContested(*l, h.Health, h.Evidence))
}
