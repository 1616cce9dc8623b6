package reconcile

import (
	"context"
	"strings"
	"time"

	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/observe"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// Health by evidence (DESIGN §5): the request, its bounds and the reading
// of its answer are the observe stage's (observe.Asker, observe.Judge).
// What stays here is the daemon's memory of it: the evidence cache (the
// last evidence of each link, reused while fresh) and the last version of
// each local cluster (rememberVersion), handed to the observe stage as
// data (observe.Link) and filled from what it returns (keepEvidence).

// canaryPrefix starts the canary name every managed key's access carries
// (decide.CanaryPrefix).
const canaryPrefix = decide.CanaryPrefix

func canaryIndex(keyID string) string { return decide.CanaryIndex(keyID) }

// withCanary adds the key's canary to an access (a search entry of its
// own, without document or field security).
func withCanary(a es.CrossClusterAccess, keyID string) es.CrossClusterAccess {
	return decide.WithCanary(a, keyID)
}

// EvidenceFresh is observe.EvidenceFresh: how long a pass reuses the last
// evidence of a link when nothing about it changed.
const EvidenceFresh = observe.EvidenceFresh

// DefaultFailFastRetry is observe.DefaultFailFastRetry (Options.FailFastRetry).
const DefaultFailFastRetry = observe.DefaultFailFastRetry

// linkEvidence is one link's health and what it rests on.
type linkEvidence = world.LinkEvidence

// refusalKeyID is observe.RefusalKeyID: the API key id a refusal names.
func refusalKeyID(refusal string) string { return observe.RefusalKeyID(refusal) }

// asker is the observe stage's evidence request, bounded by the
// Reconciler's options.
func (r *Reconciler) asker() observe.Asker {
	return observe.Asker{Now: r.opts.Now, RequestTimeout: r.opts.RequestTimeout, FailFastRetry: r.opts.FailFastRetry}
}

// evidenceTarget is what a link is asked for: the canary of its managed key
// (the ledger's current one), or any index.
func (r *Reconciler) evidenceTarget(c *spec.Connection) (target, keyID string) {
	if c.Security == spec.SecurityAPIKey && c.APIKey != nil && c.APIKey.Managed {
		if rec := r.ledger.Key(c.Name); rec != nil && !rec.Pending {
			return canaryIndex(rec.ID), rec.ID
		}
	}
	return "*", ""
}

// stampPrefix is the part of a stamp known before the cluster is observed:
// the alias, the target and the keystore write (observe.Stamp), built in
// one allocation (a steady pass builds it for every link).
func (r *Reconciler) stampPrefix(c *spec.Connection, target string) string {
	rec := r.ledger.Keystore(c.Local, CredentialsKey(c.Alias))
	var b strings.Builder
	n := len(c.Alias) + len(target) + 3
	if rec != nil {
		n += len(rec.Fingerprint) + 1 + len(time.RFC3339Nano)
	}
	b.Grow(n)
	b.WriteString(c.Alias)
	b.WriteByte('|')
	b.WriteString(target)
	b.WriteByte('|')
	if rec != nil {
		var at [64]byte
		b.WriteString(rec.Fingerprint)
		b.WriteByte('@')
		b.Write(rec.WrittenAt.UTC().AppendFormat(at[:0], time.RFC3339Nano))
	}
	b.WriteByte('|')
	return b.String()
}

// evidenceLink is what the evidence request needs of link c, from the
// ledger as it is now: its target and stamp.
func (r *Reconciler) evidenceLink(c *spec.Connection) observe.Link {
	target, keyID := r.evidenceTarget(c)
	return observe.Link{Name: c.Name, Alias: c.Alias, Target: target, KeyID: keyID, StampPrefix: r.stampPrefix(c, target)}
}

// evidenceLinks is a local cluster's links whose evidence the pass may ask
// (not disabled), as data for the observe stage: each one's target and
// stamp from the ledger, its cached evidence, and, where that is stale,
// whether the ledger records its alias as configured by esremote (a
// committed alias of this connection: the cluster knows it, so the early
// request is not refused for an unknown alias). The cache is looked up
// under one lock for the cluster; a steady pass reads no alias record.
func (r *Reconciler) evidenceLinks(local string, conns []*spec.Connection) []observe.Link {
	now := r.opts.Now()
	links := make([]observe.Link, 0, len(conns))
	r.evidenceMu.Lock()
	for _, c := range conns {
		if c.Policy != spec.PolicyDisabled {
			links = append(links, observe.Link{Cached: r.evidence[c.Name]})
		}
	}
	r.evidenceMu.Unlock()
	i := 0
	for _, c := range conns {
		if c.Policy == spec.PolicyDisabled {
			continue
		}
		l := &links[i]
		i++
		cached := l.Cached
		*l = r.evidenceLink(c)
		l.Cached = cached
		if observe.Stale(cached, now) {
			rec := r.ledger.SharedAlias(local, c.Alias)
			l.Configured = rec != nil && !rec.Pending && rec.Connection == c.Name
		}
	}
	return links
}

// observeEvidence is a local cluster's second wave (observe.Asker.Evidence):
// the evidence of its links, from the early request, the cache, or one
// _resolve/cluster request for the rest, which needs the first wave's
// _remote/info to know which aliases exist. By connection name; what it
// asked is kept in the cache.
func (r *Reconciler) observeEvidence(ctx context.Context, c *es.Client, links []observe.Link, obs *Observed, early *observe.Early) map[string]linkEvidence {
	ans := r.asker().Evidence(ctx, c, obs, links, early)
	r.keepEvidence(ans)
	return ans.Links
}

// keepEvidence caches the evidence an evidence read asked (ans.New).
func (r *Reconciler) keepEvidence(ans observe.Answers) {
	if len(ans.New) == 0 {
		return
	}
	r.evidenceMu.Lock()
	defer r.evidenceMu.Unlock()
	if r.evidence == nil {
		r.evidence = map[string]*linkEvidence{}
	}
	for _, name := range ans.New {
		ev := ans.Links[name]
		r.evidence[name] = &ev
	}
}

// rememberVersion keeps local's version as this pass read it, for the
// next pass's early evidence request.
func (r *Reconciler) rememberVersion(local, version string) {
	r.evidenceMu.Lock()
	defer r.evidenceMu.Unlock()
	if r.versions == nil {
		r.versions = map[string]string{}
	}
	r.versions[local] = version
}

// lastVersion is local's version as the last pass read it.
func (r *Reconciler) lastVersion(local string) (string, bool) {
	r.evidenceMu.Lock()
	defer r.evidenceMu.Unlock()
	v, ok := r.versions[local]
	return v, ok
}
