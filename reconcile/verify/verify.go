// Package verify is the verification after writes (DESIGN §4, §5 "Verify
// by evidence"): once a local cluster's steps are written, the links they
// touched are asked again until each is connected (a managed key: proven
// in use by its canary) or the verifier's window ends. Its verdicts are
// part of the pass's outcome. Evidence is the default verifier, built on
// the observe stage's evidence request (observe.Asker.Ask); RemoteInfo,
// socket state only, remains for callers that want it. The other reads
// after writes are here too (after.go): the credentials Elasticsearch
// reports after a keystore reload (Credentials), and a contested link
// asked with any index (AnyIndex). Every function takes the client or
// the asker and returns plain data; what a link becomes is package
// decide's judgement (decide/after.go).
package verify

import (
	"context"
	"log/slog"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/observe"
)

// Input is what a verifier gets for one local cluster.
type Input struct {
	// Local is the local cluster's name; Client its Elasticsearch client.
	Local  string
	Client *es.Client
	// Version is the local cluster's version (the pass's GET /): it
	// selects how the evidence is asked and read.
	Version string
	// Links are the links whose writes landed, as the evidence request
	// asks them (the ledger's target and key after the writes; Socket and
	// Listed as the pass read them).
	Links []observe.Link
	// Remote returns the client of a declared remote Cluster (for a
	// verifier that asks the remote side too).
	Remote func(name string) (*es.Client, error)
	// Timeout bounds how long the verifier may wait for links to come up;
	// Interval is its poll period (Options.VerifyTimeout, VerifyInterval).
	Timeout, Interval time.Duration
	Logger            *slog.Logger
}

// LinkHealth is a verifier's verdict on one link: one of the drift.Health
// values, and the evidence it rests on, as a user reads it. Proven is the
// managed key a request was authorized under (its canary); Refusal the
// remote's error when it refused the request.
type LinkHealth struct {
	Health   drift.Health
	Evidence drift.Evidence
	Proven   string
	Refusal  string
}

// Func checks the links of in and returns each one's health by connection
// name. A link it leaves out keeps the health the plan saw. It must return
// promptly once ctx is done.
type Func func(ctx context.Context, in Input) map[string]LinkHealth

// Evidence asks every link of in, by evidence (a with the request
// timeout and clock of its caller), until each is connected (a managed
// key: proven in use by its canary) or the timeout passes, and reports the
// health it last saw. One _resolve/cluster request per round for all
// pending links; each request gets the full request timeout, so at least
// one answer counts even when the window is short. A rotation not yet
// proven at the end stays rotating: the old key stays valid, and a later
// pass proves and finishes it. keep, when not nil, gets each round's
// answers (the caller's evidence cache).
func Evidence(ctx context.Context, a observe.Asker, in Input, keep func(observe.Answers)) map[string]LinkHealth {
	out := make(map[string]LinkHealth, len(in.Links))
	deadline := time.Now().Add(in.Timeout)
	t := time.NewTicker(in.Interval)
	defer t.Stop()
	pending := in.Links
	for {
		ans := a.Ask(ctx, in.Client, in.Version, pending)
		if keep != nil {
			keep(ans)
		}
		var still []observe.Link
		for _, l := range pending {
			ev := ans.Links[l.Name]
			out[l.Name] = LinkHealth{Health: ev.Health, Evidence: ev.Evidence, Proven: ev.Proven, Refusal: ev.Refusal}
			if ev.Health != drift.HealthConnected || (l.KeyID != "" && ev.Proven != l.KeyID) {
				still = append(still, l)
			}
		}
		pending = still
		if len(pending) == 0 {
			return out
		}
		if !time.Now().Before(deadline) {
			if in.Logger != nil {
				in.Logger.Info("link not proven after verify timeout", "pending", len(pending))
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

// RemoteInfo polls GET /_remote/info until every link is connected or the
// timeout passes, and reports what it last saw. connected there is socket
// state only (a credential change does not rebuild connections), so the
// evidence says so. Each read gets the full request timeout, so at least
// one answer counts even when the window is short or the cluster slow.
func RemoteInfo(ctx context.Context, in Input) map[string]LinkHealth {
	out := make(map[string]LinkHealth, len(in.Links))
	deadline := time.Now().Add(in.Timeout)
	t := time.NewTicker(in.Interval)
	defer t.Stop()
	for {
		info, err := in.Client.RemoteInfo(ctx)
		pending := 0
		for _, l := range in.Links {
			name := l.Name
			switch {
			case err != nil:
				if _, seen := out[name]; !seen {
					out[name] = LinkHealth{Health: drift.HealthUnknown, Evidence: drift.Evidence{Request: "GET /_remote/info", Answer: err.Error(), At: time.Now()}}
				}
				pending++
			case info[l.Alias].Connected:
				out[name] = LinkHealth{Health: drift.HealthConnected, Evidence: drift.Evidence{Request: "GET /_remote/info", Answer: "connected: true (socket state only)", At: time.Now()}}
			default:
				out[name] = LinkHealth{Health: drift.HealthDisconnected, Evidence: drift.Evidence{Request: "GET /_remote/info", Answer: "connected: false", At: time.Now()}}
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
