package reconcile

import (
	"context"
	"log/slog"

	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/observe"
	"github.com/esremote/esremote/reconcile/verify"
	"github.com/esremote/esremote/spec"
)

// Verify is its own step (DESIGN §5), package verify's: after apply wrote
// a local cluster's plan, the links it touched are checked by a
// VerifyFunc, which the Reconciler takes from Options.Verify. The default
// is the reconciler's EvidenceVerify (verify.Evidence: a request carrying
// each link's credential, a managed key proven by its canary, its answers
// kept in the evidence cache); RemoteInfoVerify, socket state only,
// remains for callers that want it.

// The verifier's input, verdict and signature are package verify's.
type (
	VerifyInput = verify.Input
	LinkHealth  = verify.LinkHealth
	VerifyFunc  = verify.Func
)

// RemoteInfoVerify is verify.RemoteInfo: socket state only.
func RemoteInfoVerify(ctx context.Context, in VerifyInput) map[string]LinkHealth {
	return verify.RemoteInfo(ctx, in)
}

// EvidenceVerify is the default verifier (Options.Verify): verify.Evidence
// with the Reconciler's request timeout and clock, its answers kept in the
// evidence cache.
func (r *Reconciler) EvidenceVerify(ctx context.Context, in VerifyInput) map[string]LinkHealth {
	return verify.Evidence(ctx, r.asker(), in, r.keepEvidence)
}

// verifyLinks are the links of plans as the verifier asks them: the
// ledger's target, key and keystore write as they are after the writes,
// the socket state as the pass read it. A disabled link is not verified.
func (r *Reconciler) verifyLinks(plans []*ConnectionPlan) []observe.Link {
	links := make([]observe.Link, 0, len(plans))
	for _, p := range plans {
		if p.Conn.Policy == spec.PolicyDisabled {
			continue
		}
		l := r.evidenceLink(p.Conn)
		l.Socket, l.Listed = p.Observed, p.ObservedOK
		links = append(links, l)
	}
	return links
}

// verify runs the configured verifier over the links apply touched (the
// working copies of their rows, execute.go), on a local cluster of the
// given version, and records their health and evidence on them.
func (ps *passState) verify(ctx context.Context, c *es.Client, version string, touched map[*ConnectionPlan]bool, log *slog.Logger) {
	in := VerifyInput{Local: "", Client: c, Version: version, Timeout: ps.r.opts.VerifyTimeout, Interval: ps.r.opts.VerifyInterval, Logger: log,
		Remote: func(name string) (*es.Client, error) {
			cl := ps.set.Cluster(name)
			if cl == nil {
				return nil, errNotDeclared(name)
			}
			return ps.r.ESClient(ps.set, cl)
		}}
	plans := make([]*ConnectionPlan, 0, len(touched))
	for p := range touched {
		plans = append(plans, p)
		in.Local = p.Conn.Local
	}
	in.Links = ps.r.verifyLinks(plans)
	got := ps.r.opts.Verify(ctx, in)
	for p := range touched {
		if h, ok := got[p.Conn.Name]; ok {
			e := h.Evidence
			p.Health, p.Evidence, p.Proven, p.Refusal, p.RefusedKey = h.Health, &e, h.Proven, h.Refusal, refusalKeyID(h.Refusal)
		}
	}
}

type errNotDeclared string

func (e errNotDeclared) Error() string { return "cluster " + string(e) + " is not declared" }
