package reconcile

import (
	"context"
	"slices"

	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/spec"
)

// contestedHealth judges a link contested by another installation by
// whether it works, not by this installation's canary. The canary proves
// which key the local cluster uses; refused, it says the local cluster
// does not use this installation's key, which is what a contest looks
// like when the other installation wrote the keystore entry last. Whether
// the link works is then asked with any index ("*"), whatever key is in
// use: one request, only for such links. The answer is not cached: the
// next pass asks its canary again.
func (ps *passState) contestedHealth(ctx context.Context, c *es.Client, version string, p *ConnectionPlan) {
	if p.Health != HealthUnauthorized || p.Proven != "" || p.Conn.Policy == spec.PolicyDisabled ||
		!slices.ContainsFunc(p.Findings, func(f Finding) bool { return f.Code == CodeContestedByOther }) {
		return
	}
	if target, keyID := ps.r.evidenceTarget(p.Conn); keyID == "" || target == "*" {
		return // the link was asked with any index already
	}
	ev, ok := ps.r.asker().AskAny(ctx, c, version, p.Conn.Alias)
	if !ok {
		return
	}
	if ev.Health != HealthConnected {
		return
	}
	canary := ""
	if p.Evidence != nil {
		canary = p.Evidence.Answer
	}
	ev.Evidence.Answer += "; this installation's canary was refused (" + canary + "): the local cluster uses another installation's key"
	p.Health, p.Refusal = ev.Health, ""
	p.Evidence = &ev.Evidence
}
