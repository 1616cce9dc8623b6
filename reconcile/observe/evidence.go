package observe

// Health by evidence (DESIGN §5). _remote/info.connected is socket state:
// a credential whose value changes does not rebuild the connection
// (RemoteClusterService.updateRemoteClusterCredentials), so it stays true
// with the old, the new or a wrong key. A link's health therefore rests on
// a request that carries its credential: GET /_resolve/cluster/<alias>:<x>,
// one request per local cluster for all its aliases. For a managed key, x
// is the key's canary, a name only that key's access grants: a request for
// it is authorized (then answered "no such index") only while the local
// cluster uses that very key, which proves which key is in use.
//
// The evidence of a pass is its second wave, read in two steps around the
// first wave: AskEarly, sent with a local cluster's fixed reads, asks the
// links whose evidence the pass will ask whatever the reads say; Evidence,
// once _remote/info is in, reuses fresh evidence and asks the rest. The
// evidence the daemon keeps between passes comes in as data (Link.Cached)
// and new evidence goes out as data (Answers.New): the caller keeps it.

import (
	"context"
	"errors"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/world"
)

// EvidenceFresh is how long a pass reuses the last evidence of a link when
// nothing about it changed (same alias, key, keystore write and socket
// state) and the pass writes nothing for it: a steady state costs no
// request at all within it, and one request per local cluster after it.
const EvidenceFresh = time.Minute

// Link is a link whose evidence a pass may ask, as data: what the caller
// knows of it from the specs, the ledger and the evidence it kept.
type Link struct {
	// Name is the connection's, Alias the alias it configures.
	Name, Alias string
	// Target is what the request names on the remote: the canary of the
	// link's managed key, KeyID (the ledger's current one), or "*" (KeyID
	// "").
	Target, KeyID string
	// StampPrefix is the part of the evidence's stamp known before the
	// reads: the alias, the target and the keystore write (Stamp).
	StampPrefix string
	// Configured says the ledger records the alias as esremote's,
	// committed, for this connection: the cluster knows the alias, so a
	// request sent before _remote/info is read is not refused for an
	// unknown one (AskEarly). It is only needed where Cached is stale:
	// the caller may leave it false elsewhere.
	Configured bool
	// Cached is the link's last evidence, nil when there is none. It is
	// read, never changed: the caller may share its cache's entries.
	Cached *world.LinkEvidence
	// Socket is the link's _remote/info entry, Listed whether there was
	// one. Evidence sets them from the first wave; Ask takes them as given
	// (the pass's, for a request after writes).
	Socket world.RemoteStatus
	Listed bool
}

// Stamp names the state evidence is taken in: the prefix (alias, target,
// keystore write) and the socket state. Evidence taken in another state
// is not reused.
func Stamp(prefix string, st world.RemoteStatus) string {
	return prefix + stampSuffix(st)
}

// stampSuffix is the socket state's part of a stamp ("connected|has
// credentials"), one of four constants.
func stampSuffix(st world.RemoteStatus) string {
	switch {
	case st.Connected && st.HasCredentials:
		return "true|true"
	case st.Connected:
		return "true|false"
	case st.HasCredentials:
		return "false|true"
	}
	return "false|false"
}

// Stale reports whether evidence is too old to be reused at now, whatever
// state it was taken in (no evidence is stale).
func Stale(ev *world.LinkEvidence, now time.Time) bool {
	return ev == nil || now.Sub(ev.Evidence.At) >= EvidenceFresh
}

// fresh reports whether ev can be reused for a link now in the state
// Stamp(prefix, st) names, compared without building that stamp: a
// steady pass asks it of every link.
func fresh(ev *world.LinkEvidence, prefix string, st world.RemoteStatus, now time.Time) bool {
	if Stale(ev, now) {
		return false
	}
	suffix := stampSuffix(st)
	return len(ev.Stamp) == len(prefix)+len(suffix) && ev.Stamp[:len(prefix)] == prefix && ev.Stamp[len(prefix):] == suffix
}

// Answers is what an evidence read gave: each link's evidence by
// connection, and New, the connections whose evidence this read asked
// and that says something (not unknown), which the caller keeps for the
// next passes.
type Answers struct {
	Links map[string]world.LinkEvidence
	New   []string
}

// Early is the evidence request sent together with a local cluster's
// reads (AskEarly): the links it asked (connection name → target), and
// the answer.
type Early struct {
	asked map[string]string
	ans   resolveAnswer
	at    time.Time
	// sem is the version the request was asked by: Evidence uses the
	// answer only when the version the pass read asks the same request
	// (SameRequest).
	sem Semantics
}

// AskEarly sends, at the same time as a local cluster's reads, the
// evidence request of the links whose evidence the pass will ask whatever
// the reads say: links configured by esremote (Link.Configured) with no
// evidence or evidence too old. Fresh evidence is left to Evidence, after
// the reads: it is reused when taken in the same state (no request), and
// asked again when the state changed (alias, key, keystore write or
// socket state). It returns nil when nothing is asked early. It looks at
// Cached first: a steady pass costs one comparison per link here.
//
// The request is bounded by what the cluster's version has
// (resolveBounded), and version says which: the caller's choice (the
// version the last pass read, taken before this pass's reads started, so
// that the request leaves with the reads, not a round trip after them;
// or, with none, the pass's GET /, waited for). Either way the answer is
// read by the version this pass reads, and not used for a request that
// version asks otherwise (Evidence asks again).
func (a Asker) AskEarly(ctx context.Context, c *es.Client, links []Link, version func() string) *Early {
	now := a.Now()
	var ev *Early
	var expr map[string]string
	for i := range links {
		l := &links[i]
		if !Stale(l.Cached, now) || !l.Configured {
			continue // fresh, or changed: Evidence decides after the reads
		}
		if ev == nil {
			ev, expr = &Early{asked: map[string]string{}}, map[string]string{}
		}
		ev.asked[l.Name] = l.Target
		expr[l.Alias] = l.Alias + ":" + l.Target
	}
	if ev == nil {
		return nil
	}
	ev.sem = SemanticsOf(version())
	ev.ans = a.resolveBounded(ctx, c, ev.sem, expr)
	ev.at = a.Now()
	return ev
}

// Evidence is a local cluster's evidence once its first wave (obs) is in:
// for each link _remote/info lists, its cached evidence when taken in the
// same state under EvidenceFresh ago, early's answer, or one
// _resolve/cluster request for the rest. A link _remote/info does not
// list gets none. obs.Version selects how the answer is read and how the
// request is bounded (Semantics).
func (a Asker) Evidence(ctx context.Context, c *es.Client, obs *world.Observed, links []Link, early *Early) Answers {
	now := a.Now()
	out := Answers{Links: make(map[string]world.LinkEvidence, len(links))}
	var ask []Link
	for _, l := range links {
		st, ok := obs.Remote[l.Alias]
		if !ok {
			continue
		}
		if fresh(l.Cached, l.StampPrefix, st, now) {
			out.Links[l.Name] = *l.Cached
			continue
		}
		l.Socket, l.Listed = st, true
		ask = append(ask, l)
	}
	if len(ask) > 0 {
		a.ask(ctx, c, SemanticsOf(obs.Version), ask, early, &out)
	}
	return out
}

// Ask asks every link now, whatever was cached: the evidence request
// after writes (verify). version is the local cluster's, as the pass
// read it.
func (a Asker) Ask(ctx context.Context, c *es.Client, version string, links []Link) Answers {
	out := Answers{Links: make(map[string]world.LinkEvidence, len(links))}
	if len(links) > 0 {
		a.ask(ctx, c, SemanticsOf(version), links, nil, &out)
	}
	return out
}

// ask takes early's answers for the links it asked, by the same request
// sem asks, and sends one request for the others.
func (a Asker) ask(ctx context.Context, c *es.Client, sem Semantics, ask []Link, early *Early, out *Answers) {
	if early != nil && early.sem.SameRequest(sem) && (early.ans.err == nil || errors.Is(early.ans.err, es.ErrUnsupported)) {
		var later, answered []Link
		for _, l := range ask {
			if t, ok := early.asked[l.Name]; ok && t == l.Target {
				answered = append(answered, l)
			} else {
				later = append(later, l)
			}
		}
		judgeAll(out, answered, early.ans, early.at, sem)
		ask = later
		if len(ask) == 0 {
			return
		}
	}
	expr := make(map[string]string, len(ask))
	for _, l := range ask {
		expr[l.Alias] = l.Alias + ":" + l.Target
	}
	ans := a.resolveBounded(ctx, c, sem, expr)
	judgeAll(out, ask, ans, a.Now(), sem)
}

// judgeAll turns one _resolve/cluster answer (or its error) into the
// evidence of each link asked, recorded in out (and in out.New unless
// unknown).
func judgeAll(out *Answers, ask []Link, ans resolveAnswer, at time.Time, sem Semantics) {
	for _, l := range ask {
		err := ans.errorOf(l.Alias)
		ev := world.LinkEvidence{Evidence: drift.Evidence{Request: "GET /_resolve/cluster/" + l.Alias + ":" + l.Target, At: at},
			Stamp: Stamp(l.StampPrefix, l.Socket)}
		switch {
		case errors.Is(err, es.ErrUnsupported):
			// Before 8.13 there is no _resolve/cluster: socket state is all
			// there is, and the report says so.
			ev.Evidence.Request = "GET /_remote/info"
			if l.Listed && l.Socket.Connected {
				ev.Health, ev.Evidence.Answer = drift.HealthConnected, "connected: true (socket state only: _resolve/cluster needs Elasticsearch 8.13+)"
			} else {
				ev.Health, ev.Evidence.Answer = drift.HealthDisconnected, "connected: false"
			}
		case err != nil:
			ev.Health, ev.Evidence.Answer = drift.HealthUnknown, "no answer: "+err.Error()
		default:
			rc, listed := ans.res[l.Alias]
			ev = Judge(ev, rc, listed, l.Alias, l.Target, l.KeyID, sem, ans.timeout)
			if ans.retried[l.Alias] {
				ev.Evidence.Answer += " (asked twice: " + sem.v.String() + " fails fast on a connection that is down and reconnects behind the first answer)"
			}
		}
		out.Links[l.Name] = ev
		if ev.Health != drift.HealthUnknown {
			out.New = append(out.New, l.Name)
		}
	}
}

// AskAny asks whether a link works whatever key is in use: alias with any
// index ("*"), one request, judged by version. ok is false when the
// request got no answer for it. The answer is not for the cache (Stamp
// empty): the link's own evidence asks its canary.
func (a Asker) AskAny(ctx context.Context, c *es.Client, version, alias string) (ev world.LinkEvidence, ok bool) {
	sem := SemanticsOf(version)
	ans := a.resolveBounded(ctx, c, sem, map[string]string{alias: alias + ":*"})
	if ans.errorOf(alias) != nil {
		return world.LinkEvidence{}, false
	}
	rc, listed := ans.res[alias]
	ev = world.LinkEvidence{Evidence: drift.Evidence{Request: "GET /_resolve/cluster/" + alias + ":*", At: a.Now()}}
	return Judge(ev, rc, listed, alias, "*", "", sem, ans.timeout), true
}
