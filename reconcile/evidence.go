package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// Health by evidence (DESIGN §5). _remote/info.connected is socket state:
// a credential whose value changes does not rebuild the connection
// (RemoteClusterService.updateRemoteClusterCredentials), so it stays true
// with the old, the new or a wrong key. A link's health therefore rests on
// a request that carries its credential: GET /_resolve/cluster/<alias>:<x>,
// one request per local cluster for all its aliases. For a managed key, x
// is the key's canary, a name only that key's access grants: a request for
// it is authorized (then answered "no such index") only while the local
// cluster uses that very key, which proves which key is in use.

// canaryPrefix starts the canary name every managed key's access carries
// (decide.CanaryPrefix).
const canaryPrefix = decide.CanaryPrefix

func canaryIndex(keyID string) string { return decide.CanaryIndex(keyID) }

// withCanary adds the key's canary to an access (a search entry of its
// own, without document or field security).
func withCanary(a es.CrossClusterAccess, keyID string) es.CrossClusterAccess {
	return decide.WithCanary(a, keyID)
}

// EvidenceFresh is how long a pass reuses the last evidence of a link when
// nothing about it changed (same alias, key, keystore write and socket
// state) and the pass writes nothing for it: a steady state costs no
// request at all within it, and one request per local cluster after it.
const EvidenceFresh = time.Minute

// linkEvidence is one link's health and what it rests on.
type linkEvidence = world.LinkEvidence

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

// evidenceStamp names the state evidence was taken in; evidence taken in
// another state is not reused.
func (r *Reconciler) evidenceStamp(p *ConnectionPlan, target string) string {
	return r.stampOf(p.Conn, target, p.Observed)
}

func (r *Reconciler) stampOf(c *spec.Connection, target string, st RemoteStatus) string {
	return r.stampPrefix(c, target) + strconv.FormatBool(st.Connected) + "|" + strconv.FormatBool(st.HasCredentials)
}

// freshEvidence is a link's evidence from the cache when evidenceOf would
// reuse it without a request (a link observed in _remote/info, not
// disabled, its evidence fresh and taken in the same state); a steady
// pass finds every link there, without building its plan.
func (r *Reconciler) freshEvidence(c *spec.Connection, st RemoteStatus, observed bool, now time.Time) (linkEvidence, bool) {
	if c.Policy == spec.PolicyDisabled || !observed {
		return linkEvidence{}, false
	}
	r.evidenceMu.Lock()
	_, cached := r.evidence[c.Name]
	r.evidenceMu.Unlock()
	if !cached {
		return linkEvidence{}, false
	}
	target, _ := r.evidenceTarget(c)
	return r.cachedEvidence(c.Name, r.stampOf(c, target, st), now)
}

// stampPrefix is the part of a stamp known before the cluster is observed:
// the alias, the target and the keystore write.
func (r *Reconciler) stampPrefix(c *spec.Connection, target string) string {
	ks := ""
	if rec := r.ledger.Keystore(c.Local, CredentialsKey(c.Alias)); rec != nil {
		ks = rec.Fingerprint + "@" + rec.WrittenAt.UTC().Format(time.RFC3339Nano)
	}
	return c.Alias + "|" + target + "|" + ks + "|"
}

// earlyEvidence is the evidence request sent together with a local
// cluster's observation (askEarly): the links it asked (connection name →
// target), and the answer.
type earlyEvidence struct {
	asked map[string]string
	ans   resolveAnswer
	at    time.Time
	// sem is the version the request was asked by (the one the last pass
	// read, else this pass's GET /): evidenceOf uses the answer only when
	// the version this pass read asks the same request (sameRequest).
	sem resolveSemantics
}

// askEarly sends, at the same time as a local cluster's reads, the
// evidence request of the links whose evidence the pass will ask whatever
// the reads say: links the ledger records as configured by esremote
// (a committed alias, so the cluster knows the alias and the request is
// not refused for an unknown one), not disabled, with no evidence in the
// cache or evidence too old. Fresh evidence is left to evidenceOf, after
// the reads: it is reused when taken in the same state (no request), and
// asked again when the state changed (alias, key, keystore write or
// socket state), as before. It returns nil when nothing is asked early.
// It looks at the cache before the ledger: a steady pass costs one map
// lookup per link here.
//
// The request is bounded by what the cluster's version has
// (resolveBounded), and version says which: the version the last pass of
// this Reconciler read, taken before this pass's reads started (so that
// the request leaves with the reads, not a round trip after them), or,
// with none (the first pass of a process), the pass's GET / (read once),
// waited for. Either way the answer is read by the version this pass
// reads, and not used for a request that version asks otherwise
// (evidenceOf asks again).
func (r *Reconciler) askEarly(ctx context.Context, c *es.Client, local string, version func() string, conns []*spec.Connection) *earlyEvidence {
	now := r.opts.Now()
	ev := &earlyEvidence{asked: map[string]string{}}
	expr := map[string]string{}
	for _, conn := range conns {
		if conn.Policy == spec.PolicyDisabled {
			continue
		}
		r.evidenceMu.Lock()
		cached, ok := r.evidence[conn.Name]
		r.evidenceMu.Unlock()
		if ok && now.Sub(cached.Evidence.At) < EvidenceFresh {
			continue // fresh, or changed: evidenceOf decides after the reads
		}
		if rec := r.ledger.Alias(local, conn.Alias); rec == nil || rec.Pending || rec.Connection != conn.Name {
			continue
		}
		target, _ := r.evidenceTarget(conn)
		ev.asked[conn.Name] = target
		expr[conn.Alias] = conn.Alias + ":" + target
	}
	if len(expr) == 0 {
		return nil
	}
	ev.sem = semanticsOf(version())
	ev.ans = r.resolveBounded(ctx, c, ev.sem, expr)
	ev.at = r.opts.Now()
	return ev
}

// evidenceOf is the evidence pass's reading: the evidence of each link asked
// or found fresh in the cache. version is the local cluster's (GET /): it
// selects how the answer is read and how the request is bounded
// (evidence_version.go).
func (r *Reconciler) evidenceOf(ctx context.Context, c *es.Client, version string, plans []*ConnectionPlan, force bool, early *earlyEvidence) map[*ConnectionPlan]linkEvidence {
	now := r.opts.Now()
	sem := semanticsOf(version)
	out := map[*ConnectionPlan]linkEvidence{}
	var ask []*ConnectionPlan
	targets := map[*ConnectionPlan]string{}
	keys := map[*ConnectionPlan]string{}
	for _, p := range plans {
		if p.Conn.Policy == spec.PolicyDisabled || !p.ObservedOK && !force {
			continue
		}
		target, keyID := r.evidenceTarget(p.Conn)
		targets[p], keys[p] = target, keyID
		if !force {
			if ev, ok := r.cachedEvidence(p.Conn.Name, r.evidenceStamp(p, target), now); ok {
				out[p] = ev
				continue
			}
		}
		ask = append(ask, p)
	}
	if len(ask) == 0 {
		return out
	}
	if early != nil && early.sem.sameRequest(sem) && (early.ans.err == nil || errors.Is(early.ans.err, es.ErrUnsupported)) {
		var later, answered []*ConnectionPlan
		for _, p := range ask {
			if t, ok := early.asked[p.Conn.Name]; ok && t == targets[p] {
				answered = append(answered, p)
			} else {
				later = append(later, p)
			}
		}
		r.judgeAll(out, answered, targets, keys, early.ans, early.at, sem)
		ask = later
		if len(ask) == 0 {
			return out
		}
	}
	expr := map[string]string{}
	for _, p := range ask {
		expr[p.Conn.Alias] = p.Conn.Alias + ":" + targets[p]
	}
	ans := r.resolveBounded(ctx, c, sem, expr)
	r.judgeAll(out, ask, targets, keys, ans, r.opts.Now(), sem)
	return out
}

// judgeAll turns one _resolve/cluster answer (or its error) into the
// evidence of each link asked, recorded in out and in the cache.
func (r *Reconciler) judgeAll(out map[*ConnectionPlan]linkEvidence, ask []*ConnectionPlan, targets, keys map[*ConnectionPlan]string, ans resolveAnswer, at time.Time, sem resolveSemantics) {
	for _, p := range ask {
		err := ans.errorOf(p.Conn.Alias)
		ev := linkEvidence{Evidence: drift.Evidence{Request: "GET /_resolve/cluster/" + p.Conn.Alias + ":" + targets[p], At: at},
			Stamp: r.evidenceStamp(p, targets[p])}
		switch {
		case errors.Is(err, es.ErrUnsupported):
			// Before 8.13 there is no _resolve/cluster: socket state is all
			// there is, and the report says so.
			ev.Evidence.Request = "GET /_remote/info"
			if p.ObservedOK && p.Observed.Connected {
				ev.Health, ev.Evidence.Answer = HealthConnected, "connected: true (socket state only: _resolve/cluster needs Elasticsearch 8.13+)"
			} else {
				ev.Health, ev.Evidence.Answer = HealthDisconnected, "connected: false"
			}
		case err != nil:
			ev.Health, ev.Evidence.Answer = HealthUnknown, "no answer: "+err.Error()
		default:
			rc, listed := ans.res[p.Conn.Alias]
			ev = judge(ev, rc, listed, p.Conn.Alias, targets[p], keys[p], sem, ans.timeout)
			if ans.retried[p.Conn.Alias] {
				ev.Evidence.Answer += " (asked twice: " + sem.v.String() + " fails fast on a connection that is down and reconnects behind the first answer)"
			}
		}
		out[p] = ev
		if ev.Health != HealthUnknown {
			r.cacheEvidence(p.Conn.Name, ev)
		}
	}
}

// EvidenceVerify is the default verifier (Options.Verify): it asks every
// link apply touched, by evidence, until each is connected (a managed key:
// proven in use by its canary) or the timeout passes, and reports the
// health it last saw. One _resolve/cluster request per round for all
// pending links; each request gets the full request timeout, so at least
// one answer counts even when the window is short. A rotation not yet
// proven at the end stays rotating: the old key stays valid, and a later
// pass proves and finishes it.
func (r *Reconciler) EvidenceVerify(ctx context.Context, in VerifyInput) map[string]LinkHealth {
	out := make(map[string]LinkHealth, len(in.Links))
	deadline := time.Now().Add(in.Timeout)
	t := time.NewTicker(in.Interval)
	defer t.Stop()
	pending := in.Links
	for {
		var still []*ConnectionPlan
		for p, ev := range r.evidenceOf(ctx, in.Client, in.Version, pending, true, nil) {
			out[p.Conn.Name] = LinkHealth{Health: ev.Health, Evidence: ev.Evidence, Proven: ev.Proven, Refusal: ev.Refusal}
			if _, keyID := r.evidenceTarget(p.Conn); ev.Health != HealthConnected || (keyID != "" && ev.Proven != keyID) {
				still = append(still, p)
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

// judge turns one _resolve/cluster entry into health. Elasticsearch sends
// no error for a remote it cannot reach (TransportResolveClusterAction:
// ExceptionsHelper.isRemoteUnavailableException), the security
// exception's message for a refused request, and "no such index [x]" with
// connected:true for a concrete name that was authorized but does not
// exist: the canary's answer under its own key. The local cluster's
// version (sem) says how a refusal comes: connected:true with its error
// up to 8.16.2 and on 8.17.0, where the error decides; from 8.18 a remote
// that did not answer within ?timeout= (timeout) is connected:false with
// REMOTE_CONNECTION_TIMEOUT_ERROR, which says nothing about the key.
func judge(ev linkEvidence, rc es.ResolvedCluster, listed bool, alias, target, keyID string, sem resolveSemantics, timeout time.Duration) linkEvidence {
	switch {
	case !listed:
		ev.Health, ev.Evidence.Answer = HealthDisconnected, "the alias is not listed"
	case !rc.Connected && rc.Error == "":
		ev.Health, ev.Evidence.Answer = HealthDisconnected, "connected: false, no error: the local cluster cannot reach "+alias
	case !rc.Connected && rc.Error == resolveTimedOut:
		ev.Health, ev.Evidence.Answer = HealthUnknown, fmt.Sprintf("no answer from %s within ?timeout=%s: %s", alias, timeout, rc.Error)
	case !rc.Connected:
		ev.Health, ev.Refusal, ev.RefusedKey = HealthUnauthorized, rc.Error, refusalKeyID(rc.Error)
		ev.Evidence.Answer = "connected: false, refused: " + rc.Error
	case rc.Error != "" && !noSuchIndex(rc.Error) && sem.refusalConnected():
		ev.Health, ev.Refusal, ev.RefusedKey = HealthUnauthorized, rc.Error, refusalKeyID(rc.Error)
		ev.Evidence.Answer = "connected: true, refused (" + versionName(sem) + " reports a refusal as connected: true with its error, before 8.16.3 and on 8.17.0): " + rc.Error
	case keyID != "" && (rc.Error == "" || noSuchIndex(rc.Error)):
		ev.Health, ev.Proven = HealthConnected, keyID
		ev.Evidence.Answer = "connected: the request for " + target + " was authorized, so the local cluster uses key " + keyID
	case rc.Error != "":
		ev.Health = HealthConnected
		ev.Evidence.Answer = "connected: " + rc.Error
	default:
		ev.Health, ev.Evidence.Answer = HealthConnected, "connected"
		if rc.Version != nil {
			ev.Evidence.Answer += ", remote runs " + rc.Version.Number
		}
	}
	return ev
}

// noSuchIndex reports whether an entry's error is IndexNotFoundException's
// message: the name was authorized and does not exist.
func noSuchIndex(e string) bool { return strings.HasPrefix(e, "no such index [") }

// versionName is the local cluster's version as a user reads it.
func versionName(sem resolveSemantics) string {
	if !sem.known {
		return "an unknown version"
	}
	return "Elasticsearch " + sem.v.String()
}

// refusalKeyID is the API key id a remote's refusal names: the
// cross-cluster key the local cluster sent, which is evidence of what its
// keystore holds (es-api.md §15). Elasticsearch names it in three refusals:
//
//   - authorization: "… towards remote cluster is unauthorized for …
//     authenticated by API key id [<id>] of user [<owner>] on indices […]"
//     (AuthorizationDenialMessages.actionDenied for the cross-cluster
//     subject; RemoteClusterSecurityRCS2ResolveClusterIT);
//   - authentication (an unknown, invalidated or expired key, or a wrong
//     secret): "unable to authenticate user [<id>] for action […]"
//     (AuthenticationService's failure for the credential's principal,
//     which for an API key is its id: ApiKeyCredentials.principal;
//     AuthenticationServiceTests);
//   - type: "authentication expected API key type of [cross_cluster], but
//     API key [<id>] has type [rest]" (ApiKeyService.validateApiKeyTypeAndExpiration;
//     RemoteClusterSecurityRestIT).
//
// Any other refusal names no key (""): the local cluster's own refusal
// ("… towards remote cluster [alias] is unauthorized for API key id […]
// because no remote indices privileges apply …" names the local
// credential, not the link's key), a node with no credential loaded
// ("… require transport header [_cross_cluster_access_credentials] but
// none found …").
func refusalKeyID(refusal string) string {
	if localRefusalText(refusal) {
		return ""
	}
	for _, m := range []struct{ before, after string }{
		{"authenticated by API key id [", "]"},
		{"unable to authenticate user [", "] for action ["},
		{"but API key [", "] has type ["},
	} {
		_, rest, ok := strings.Cut(refusal, m.before)
		if !ok {
			continue
		}
		if id, _, ok := strings.Cut(rest, m.after); ok && id != "" && !strings.ContainsAny(id, " []") {
			return id
		}
	}
	return ""
}

// localRefusalText reports whether a refusal is the local cluster's own
// (AuthorizationDenialMessages.remoteActionDenied, whatever the alias).
func localRefusalText(refusal string) bool {
	return strings.Contains(refusal, "] is unauthorized for ") && strings.HasSuffix(refusal, "because no remote indices privileges apply for the target cluster")
}

// setEvidence records a link's evidence on its plan.
func setEvidence(p *ConnectionPlan, ev linkEvidence) {
	p.Health, p.Proven, p.Refusal, p.RefusedKey = ev.Health, ev.Proven, ev.Refusal, ev.RefusedKey
	e := ev.Evidence
	p.Evidence = &e
}

func (r *Reconciler) cachedEvidence(conn, stamp string, now time.Time) (linkEvidence, bool) {
	r.evidenceMu.Lock()
	defer r.evidenceMu.Unlock()
	ev, ok := r.evidence[conn]
	if !ok || ev.Stamp != stamp || now.Sub(ev.Evidence.At) >= EvidenceFresh {
		return linkEvidence{}, false
	}
	return ev, true
}

func (r *Reconciler) cacheEvidence(conn string, ev linkEvidence) {
	r.evidenceMu.Lock()
	defer r.evidenceMu.Unlock()
	if r.evidence == nil {
		r.evidence = map[string]linkEvidence{}
	}
	r.evidence[conn] = ev
}

// rotating finishes a link's health when a rotation is under way: until the
// old key is invalidated, the link is rotating (the old key stays valid
// and may carry some nodes' requests), through the proof window too
// (rotationFinish); a rotation whose new key is still not proven in use
// RotationStuckAfter after the keystore write is an error finding.
func (ps *passState) rotating(p *ConnectionPlan) {
	c := p.Conn
	if c.Security != spec.SecurityAPIKey || c.APIKey == nil || !c.APIKey.Managed {
		return
	}
	rec := ps.r.ledger.Key(c.Name)
	if rec == nil {
		return
	}
	if rec.Previous == nil || p.Health == HealthUnknown || p.Health == HealthDisconnected {
		return
	}
	p.Health = HealthRotating
	proven := p.Proven == rec.ID || !rec.ProvenAt.IsZero()
	if p.Key != nil && canaryAmbiguous(p.Key.Access) {
		proven = false // any key passes the canary: only the window ends the rotation
	}
	if proven {
		return
	}
	if ks := ps.r.ledger.Keystore(c.Local, CredentialsKey(c.Alias)); ks != nil {
		if since := ps.r.opts.Now().Sub(ks.WrittenAt); since > ps.r.opts.RotationStuckAfter {
			p.Findings = append(p.Findings, Finding{Severity: "error", Code: CodeRotationStuck,
				Message: fmt.Sprintf("key %s was written to the keystore of %s %s ago and is still not in use (%s); the old key %s stays valid",
					rec.ID, c.Local, since.Round(time.Second), p.Evidence.Answer, rec.Previous.ID),
				Fix: "check that the platform reloaded the keystore of " + c.Local + " (its nodes' reload_secure_settings), then run esremote apply"})
		}
	}
}
