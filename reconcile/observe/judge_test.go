package observe

import (
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/world"
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
		s := SemanticsOf(tc.v)
		if s.RefusalConnected() != tc.refusalConnected || s.FailFast() != tc.failFast || s.HasTimeout() != tc.timed {
			t.Errorf("%q: refusalConnected %t failFast %t timeout %t; want %t %t %t", tc.v,
				s.RefusalConnected(), s.FailFast(), s.HasTimeout(), tc.refusalConnected, tc.failFast, tc.timed)
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
		rc      world.ResolvedCluster
		health  drift.Health
		proven  string
		refusal bool
	}{
		{"refused, old", "8.16.2", world.ResolvedCluster{Connected: true, Error: refusal}, drift.HealthUnauthorized, "", true},
		{"refused, 8.17.0", "8.17.0", world.ResolvedCluster{Connected: true, Error: refusal}, drift.HealthUnauthorized, "", true},
		{"refused, new", "8.17.1", world.ResolvedCluster{Connected: false, Error: refusal}, drift.HealthUnauthorized, "", true},
		{"canary, old", "8.16.2", world.ResolvedCluster{Connected: true, Error: "no such index [esremote-canary-k1]"}, drift.HealthConnected, "K1", false},
		{"canary, new", "9.4.2", world.ResolvedCluster{Connected: true, Error: "no such index [esremote-canary-k1]"}, drift.HealthConnected, "K1", false},
		{"down", "8.16.2", world.ResolvedCluster{Connected: false}, drift.HealthDisconnected, "", false},
		{"timed out", "8.18.0", world.ResolvedCluster{Connected: false, Error: ResolveTimedOut}, drift.HealthUnknown, "", false},
	} {
		ev := Judge(world.LinkEvidence{}, tc.rc, true, "logs", "esremote-canary-k1", "K1", SemanticsOf(tc.v), 15*time.Second)
		if ev.Health != tc.health || ev.Proven != tc.proven || (ev.Refusal != "") != tc.refusal {
			t.Errorf("%s: health %s proven %q refusal %q; want %s %q refusal %t", tc.name, ev.Health, ev.Proven, ev.Refusal, tc.health, tc.proven, tc.refusal)
		}
		if tc.refusal && tc.rc.Connected && !strings.Contains(ev.Evidence.Answer, tc.v) {
			t.Errorf("%s: the evidence does not name the version that reports a refusal as connected: %q", tc.name, ev.Evidence.Answer)
		}
	}
}

// The key id each refusal names, as Elasticsearch words it (RefusalKeyID
// cites the classes); a refusal naming no key, or the local cluster's own
// naming its own credential, gives "".
func TestRefusalKeyID(t *testing.T) {
	for _, tc := range []struct{ refusal, want string }{
		{"action [indices:admin/resolve/cluster] towards remote cluster is unauthorized for user [elastic] with assigned roles [superuser] authenticated by API key id [k-1_x] of user [elastic] on indices [esremote-canary-k1], this action is granted by the index privileges [view_index_metadata,manage,read_cross_cluster,all]", "k-1_x"},
		{"action [indices:admin/resolve/cluster] towards remote cluster is unauthorized for API key id [local1] of user [admin] authenticated by API key id [k2] of user [elastic] on indices [x], this action is granted by the index privileges [read,all]", "k2"},
		{"unable to authenticate user [k3] for action [indices:admin/resolve/cluster]", "k3"},
		{"authentication expected API key type of [cross_cluster], but API key [k4] has type [rest]", "k4"},
		{"action [indices:admin/resolve/cluster] towards remote cluster [logs] is unauthorized for API key id [local1] of user [admin] because no remote indices privileges apply for the target cluster", ""},
		{"Cross cluster requests through the dedicated remote cluster server port require transport header [_cross_cluster_access_credentials] but none found. Make sure you have configured remote cluster credentials in the cluster settings.", ""},
		{"401", ""},
		{"", ""},
	} {
		if got := RefusalKeyID(tc.refusal); got != tc.want {
			t.Errorf("RefusalKeyID(%.60q…) = %q, want %q", tc.refusal, got, tc.want)
		}
	}
}
