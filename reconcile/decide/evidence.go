package decide

import "github.com/esremote/esremote/reconcile/world"

// SetEvidence records a link's evidence on its plan: its health, the
// request it rests on, and the key it proved or the refusal it met.
func SetEvidence(p *ConnectionPlan, ev world.LinkEvidence) {
	p.Health, p.Proven, p.Refusal, p.RefusedKey = ev.Health, ev.Proven, ev.Refusal, ev.RefusedKey
	e := ev.Evidence
	p.Evidence = &e
}
