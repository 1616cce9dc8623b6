package verify

import (
	"context"

	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/observe"
)

// The reads after writes besides Evidence's: each takes the client (or
// the asker) and returns plain data, for a pure judgement of package
// decide (decide/after.go). Package reconcile only calls them, between
// its steps and those judgements.

// Credentials reads GET /_remote/info again after a keystore reload: the
// aliases Elasticsearch now reports credentials for (the reload's proof
// that every node loaded the entry; es-api.md, cluster_credentials).
func Credentials(ctx context.Context, c *es.Client) (map[string]bool, error) {
	info, err := c.RemoteInfo(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(info))
	for alias, ri := range info {
		out[alias] = ri.HasCredentials()
	}
	return out, nil
}

// AnyIndex asks whether a link works whatever key is in use: one
// GET /_resolve/cluster/<alias>:* (observe.Asker.AskAny), judged by the
// local cluster's version. ok is false when the request got no answer
// for the alias. Asked only for a link contested by another
// installation, whose own canary was refused (decide.ContestedAsk).
func AnyIndex(ctx context.Context, a observe.Asker, c *es.Client, version, alias string) (LinkHealth, bool) {
	ev, ok := a.AskAny(ctx, c, version, alias)
	if !ok {
		return LinkHealth{}, false
	}
	return LinkHealth{Health: ev.Health, Evidence: ev.Evidence, Proven: ev.Proven, Refusal: ev.Refusal}, true
}
