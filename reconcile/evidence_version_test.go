package reconcile

import (
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/es"
)

// Each release's _resolve/cluster semantics, at the bounds of each rule
// (docs/sim.md "Versions"; es-api.md §15).
func TestResolveSemanticsByVersion(t *testing.T) {
	for _, tc := range []struct {
		v                                 string
		refusalConnected, failFast, timed bool
	}{
		{"8.14.0", true, false, false},
		{"8.16.2", true, false, false},
		{"8.16.3", false, true, false},
		{"8.16.5", false, true, false},
		{"8.16.6", false, false, false},
		{"8.17.0", true, false, false},
		{"8.17.1", false, true, false},
		{"8.17.3", false, true, false},
		{"8.17.4", false, false, false},
		{"8.18.0", false, false, true},
		{"9.4.2", false, false, true},
		{"", true, false, false}, // unknown: the error decides, nothing else assumed
	} {
		s := semanticsOf(tc.v)
		if s.refusalConnected() != tc.refusalConnected || s.failFast() != tc.failFast || s.hasTimeout() != tc.timed {
			t.Errorf("%q: refusalConnected %t failFast %t timeout %t; want %t %t %t", tc.v,
				s.refusalConnected(), s.failFast(), s.hasTimeout(), tc.refusalConnected, tc.failFast, tc.timed)
		}
	}
}

// One _resolve/cluster entry judged on a release that reports a refusal as
// connected:true and on one that does not: the refusal is unauthorized on
// both, the canary's "no such index" proves the key on both, and a
// ?timeout= that ran out says nothing about the key (unknown, never
// unauthorized).
func TestJudgeReadsTheAnswerByVersion(t *testing.T) {
	const refusal = "action [indices:admin/resolve/cluster] towards remote cluster is unauthorized for user [_system] with assigned roles [] authenticated by API key id [wrongid] of user [admin] on indices [esremote-canary-k1]"
	for _, tc := range []struct {
		name    string
		v       string
		rc      es.ResolvedCluster
		health  drift.Health
		proven  string
		refusal bool
	}{
		{"refused, old", "8.16.2", es.ResolvedCluster{Connected: true, Error: refusal}, HealthUnauthorized, "", true},
		{"refused, 8.17.0", "8.17.0", es.ResolvedCluster{Connected: true, Error: refusal}, HealthUnauthorized, "", true},
		{"refused, new", "8.17.1", es.ResolvedCluster{Connected: false, Error: refusal}, HealthUnauthorized, "", true},
		{"canary, old", "8.16.2", es.ResolvedCluster{Connected: true, Error: "no such index [esremote-canary-k1]"}, HealthConnected, "K1", false},
		{"canary, new", "9.4.2", es.ResolvedCluster{Connected: true, Error: "no such index [esremote-canary-k1]"}, HealthConnected, "K1", false},
		{"down", "8.16.2", es.ResolvedCluster{Connected: false}, HealthDisconnected, "", false},
		{"timed out", "8.18.0", es.ResolvedCluster{Connected: false, Error: resolveTimedOut}, HealthUnknown, "", false},
	} {
		ev := judge(linkEvidence{}, tc.rc, true, "logs", "esremote-canary-k1", "K1", semanticsOf(tc.v), 15*time.Second)
		if ev.Health != tc.health || ev.Proven != tc.proven || (ev.Refusal != "") != tc.refusal {
			t.Errorf("%s: health %s proven %q refusal %q; want %s %q refusal %t", tc.name, ev.Health, ev.Proven, ev.Refusal, tc.health, tc.proven, tc.refusal)
		}
		if tc.refusal && tc.rc.Connected && !strings.Contains(ev.Evidence.Answer, tc.v) {
			t.Errorf("%s: the evidence does not name the version that reports a refusal as connected: %q", tc.name, ev.Evidence.Answer)
		}
	}
}
