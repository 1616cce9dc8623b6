package observe

import (
	"fmt"
	"strings"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/world"
)

// ResolveTimedOut is the error of an entry whose remote did not answer
// within ?timeout= (TransportResolveClusterAction
// .REMOTE_CONNECTION_TIMEOUT_ERROR, 8.18+).
const ResolveTimedOut = "Request timed out before receiving a response from the remote cluster"

// Judge turns one _resolve/cluster entry into health: a pure reading of
// an answer, the request already made (ev holds what was asked). rc is
// the alias's entry and listed whether the answer had one; target is the
// index the request named on the remote and keyID the managed key whose
// canary it is ("" when target is "*"). Elasticsearch sends no error for
// a remote it cannot reach (TransportResolveClusterAction:
// ExceptionsHelper.isRemoteUnavailableException), the security
// exception's message for a refused request, and "no such index [x]" with
// connected:true for a concrete name that was authorized but does not
// exist: the canary's answer under its own key. The local cluster's
// version (sem) says how a refusal comes: connected:true with its error
// up to 8.16.2 and on 8.17.0, where the error decides; from 8.18 a remote
// that did not answer within ?timeout= (timeout) is connected:false with
// ResolveTimedOut, which says nothing about the key.
func Judge(ev world.LinkEvidence, rc world.ResolvedCluster, listed bool, alias, target, keyID string, sem Semantics, timeout time.Duration) world.LinkEvidence {
	switch {
	case !listed:
		ev.Health, ev.Evidence.Answer = drift.HealthDisconnected, "the alias is not listed"
	case !rc.Connected && rc.Error == "":
		ev.Health, ev.Evidence.Answer = drift.HealthDisconnected, "connected: false, no error: the local cluster cannot reach "+alias
	case !rc.Connected && rc.Error == ResolveTimedOut:
		ev.Health, ev.Evidence.Answer = drift.HealthUnknown, fmt.Sprintf("no answer from %s within ?timeout=%s: %s", alias, timeout, rc.Error)
	case !rc.Connected:
		ev.Health, ev.Refusal, ev.RefusedKey = drift.HealthUnauthorized, rc.Error, RefusalKeyID(rc.Error)
		ev.Evidence.Answer = "connected: false, refused: " + rc.Error
	case rc.Error != "" && !noSuchIndex(rc.Error) && sem.RefusalConnected():
		ev.Health, ev.Refusal, ev.RefusedKey = drift.HealthUnauthorized, rc.Error, RefusalKeyID(rc.Error)
		ev.Evidence.Answer = "connected: true, refused (" + sem.name() + " reports a refusal as connected: true with its error, before 8.16.3 and on 8.17.0): " + rc.Error
	case keyID != "" && (rc.Error == "" || noSuchIndex(rc.Error)):
		ev.Health, ev.Proven = drift.HealthConnected, keyID
		ev.Evidence.Answer = "connected: the request for " + target + " was authorized, so the local cluster uses key " + keyID
	case rc.Error != "":
		ev.Health = drift.HealthConnected
		ev.Evidence.Answer = "connected: " + rc.Error
	default:
		ev.Health, ev.Evidence.Answer = drift.HealthConnected, "connected"
		if rc.Version != nil {
			ev.Evidence.Answer += ", remote runs " + rc.Version.Number
		}
	}
	return ev
}

// noSuchIndex reports whether an entry's error is IndexNotFoundException's
// message: the name was authorized and does not exist.
func noSuchIndex(e string) bool { return strings.HasPrefix(e, "no such index [") }

// RefusalKeyID is the API key id a remote's refusal names: the
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
func RefusalKeyID(refusal string) string {
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
