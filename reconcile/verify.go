package reconcile

import (
	"context"
	"log/slog"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/es"
)

// Verify is its own step (DESIGN §5): after apply wrote a local cluster's
// plan, the links it touched are checked by a VerifyFunc, which the
// Reconciler takes from Options.Verify. The default is the reconciler's
// EvidenceVerify (evidence.go: a request carrying each link's credential,
// a managed key proven by its canary); RemoteInfoVerify, socket state
// only, remains for callers that want it.

// VerifyInput is what a verifier gets for one local cluster.
type VerifyInput struct {
	// Local is the local cluster's name; Client its Elasticsearch client.
	Local  string
	Client *es.Client
	// Version is the local cluster's version (the pass's GET /): it
	// selects how the evidence is asked and read.
	Version string
	// Links are the connections whose writes landed in this pass, with
	// their plans (alias, security, remote, changes).
	Links []*ConnectionPlan
	// Remote returns the client of a declared remote Cluster (for a
	// verifier that asks the remote side too).
	Remote func(name string) (*es.Client, error)
	// Timeout bounds how long the verifier may wait for links to come up;
	// Interval is its poll period (Options.VerifyTimeout, VerifyInterval).
	Timeout, Interval time.Duration
	Logger            *slog.Logger
}

// LinkHealth is a verifier's verdict on one link: one of the Health*
// values, and the evidence it rests on, as a user reads it. Proven is the
// managed key a request was authorized under (its canary, evidence.go);
// Refusal the remote's error when it refused the request.
type LinkHealth struct {
	Health   drift.Health
	Evidence drift.Evidence
	Proven   string
	Refusal  string
}

// VerifyFunc checks the links of in and returns each one's health by
// connection name. A link it leaves out keeps the health the plan saw.
// It must return promptly once ctx is done.
type VerifyFunc func(ctx context.Context, in VerifyInput) map[string]LinkHealth

// RemoteInfoVerify polls GET /_remote/info until every link is connected
// or the timeout passes, and reports what it last saw. connected there is
// socket state only (a credential change does not rebuild connections),
// so the evidence says so. Each read gets the full request timeout, so at
// least one answer counts even when the window is short or the cluster
// slow.
func RemoteInfoVerify(ctx context.Context, in VerifyInput) map[string]LinkHealth {
	out := make(map[string]LinkHealth, len(in.Links))
	deadline := time.Now().Add(in.Timeout)
	t := time.NewTicker(in.Interval)
	defer t.Stop()
	for {
		info, err := in.Client.RemoteInfo(ctx)
		pending := 0
		for _, p := range in.Links {
			name := p.Conn.Name
			switch {
			case err != nil:
				if _, seen := out[name]; !seen {
					out[name] = LinkHealth{Health: HealthUnknown, Evidence: drift.Evidence{Request: "GET /_remote/info", Answer: err.Error(), At: time.Now()}}
				}
				pending++
			case info[p.Conn.Alias].Connected:
				out[name] = LinkHealth{Health: HealthConnected, Evidence: drift.Evidence{Request: "GET /_remote/info", Answer: "connected: true (socket state only)", At: time.Now()}}
			default:
				out[name] = LinkHealth{Health: HealthDisconnected, Evidence: drift.Evidence{Request: "GET /_remote/info", Answer: "connected: false", At: time.Now()}}
				pending++
			}
		}
		if pending == 0 {
			return out
		}
		if !time.Now().Before(deadline) {
			if in.Logger != nil {
				in.Logger.Info("link not connected after verify timeout", "pending", pending)
			}
			return out
		}
		select {
		case <-ctx.Done():
			return out
		case <-t.C:
		}
	}
}

// verify runs the configured verifier over the links apply touched and
// records their health and evidence on the plan.
func (ps *passState) verify(ctx context.Context, c *es.Client, touched map[*ConnectionPlan]bool, log *slog.Logger) {
	in := VerifyInput{Local: "", Client: c, Timeout: ps.r.opts.VerifyTimeout, Interval: ps.r.opts.VerifyInterval, Logger: log,
		Remote: func(name string) (*es.Client, error) {
			cl := ps.set.Cluster(name)
			if cl == nil {
				return nil, errNotDeclared(name)
			}
			return ps.r.ESClient(ps.set, cl)
		}}
	for p := range touched {
		in.Links = append(in.Links, p)
		in.Local = p.Conn.Local
	}
	if cr := ps.snap.local(in.Local); cr != nil && cr.Observed != nil {
		in.Version = cr.Observed.Version
	}
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
