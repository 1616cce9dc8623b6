package decide

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// The judgements after the writes (after.go), each a function of plain
// data: the link's row, what verification read, the ledger's record, the
// time.

var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// afterLink is an enforced, managed API-key link whose row is as given.
func afterLink(mod func(*ConnectionPlan)) ConnectionPlan {
	p := ConnectionPlan{Conn: &spec.Connection{Name: "c1", Local: "local", Alias: "logs", Policy: spec.PolicyEnforce,
		Security: spec.SecurityAPIKey, APIKey: &spec.APIKey{Managed: true}}, Health: drift.HealthConnected}
	if mod != nil {
		mod(&p)
	}
	return p
}

// roomy is findings with spare capacity: a judgement that appended to or
// filtered them in place would write into the row's array.
func roomy(fs ...Finding) []Finding {
	out := make([]Finding, len(fs), len(fs)+4)
	copy(out, fs)
	return out
}

// untouched fails when a judgement wrote into the row's findings array
// (beyond what the row shows, or what it shows).
func untouched(t *testing.T, before []Finding, row []Finding) {
	t.Helper()
	if !slices.Equal(before, row) {
		t.Errorf("the row's findings changed: %v, was %v", row, before)
	}
	for _, f := range row[len(row):cap(row)] {
		if f != (Finding{}) {
			t.Errorf("a judgement wrote into the row's findings array: %+v", f)
		}
	}
}

func codes(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Code)
	}
	return out
}

var actionRequired = Finding{Severity: drift.SeverityWarning, Code: CodeActionRequired, Message: "reload the keystore"}

func TestAfterReload(t *testing.T) {
	for _, tc := range []struct {
		name      string
		row       ConnectionPlan
		reloadErr error
		waiting   bool
		want      []string // finding codes after
	}{
		{name: "reloaded: verified, findings as decided", row: afterLink(func(p *ConnectionPlan) { p.Findings = roomy(actionRequired) }),
			waiting: true, want: []string{CodeActionRequired}},
		{name: "a node failed: reload_failed", row: afterLink(func(p *ConnectionPlan) { p.Findings = roomy(actionRequired) }),
			reloadErr: errors.New("node n2: keystore.seed mismatch"), waiting: true, want: []string{CodeActionRequired, CodeReloadFailed}},
		{name: "reported only: the reload was not for it", row: afterLink(func(p *ConnectionPlan) {
			p.Conn.Policy, p.Findings = spec.PolicyReport, roomy(actionRequired)
		})},
		{name: "refused as a conflict: not for it", row: afterLink(func(p *ConnectionPlan) { p.Refused, p.Findings = true, roomy(actionRequired) })},
		{name: "nothing to load: not for it", row: afterLink(nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReloadWaiting(&tc.row); got != tc.waiting {
				t.Fatalf("ReloadWaiting = %v, want %v", got, tc.waiting)
			}
			if !tc.waiting {
				return
			}
			before := slices.Clone(tc.row.Findings)
			got := AfterReload(tc.row, tc.reloadErr)
			untouched(t, before, tc.row.Findings)
			if !slices.Equal(codes(got.Findings), tc.want) {
				t.Errorf("findings %v, want %v", codes(got.Findings), tc.want)
			}
			if tc.reloadErr != nil && !strings.Contains(got.Findings[len(got.Findings)-1].Message, "node n2") {
				t.Errorf("reload_failed does not name the nodes: %+v", got.Findings)
			}
		})
	}
}

func TestAfterCredentials(t *testing.T) {
	other := Finding{Severity: drift.SeverityInfo, Code: CodeRotationWindow}
	for _, tc := range []struct {
		name     string
		findings []Finding
		hasCreds bool
		want     []string
	}{
		{name: "credentials reported: settled", findings: roomy(other, actionRequired), hasCreds: true, want: []string{CodeRotationWindow}},
		{name: "not reported yet: still required", findings: roomy(other, actionRequired), want: []string{CodeRotationWindow, CodeActionRequired}},
		{name: "nothing required", findings: roomy(other), hasCreds: true, want: []string{CodeRotationWindow}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			row := afterLink(func(p *ConnectionPlan) { p.Findings = tc.findings })
			before := slices.Clone(row.Findings)
			got := AfterCredentials(row, tc.hasCreds)
			untouched(t, before, row.Findings)
			if !slices.Equal(codes(got.Findings), tc.want) {
				t.Errorf("findings %v, want %v", codes(got.Findings), tc.want)
			}
		})
	}
}

func TestContestedByOtherHealth(t *testing.T) {
	contested := Finding{Severity: drift.SeverityError, Code: CodeContestedByOther}
	refused := func(p *ConnectionPlan) {
		p.Health, p.Refusal, p.Findings = drift.HealthUnauthorized, "unauthorized for API key id [theirs]", roomy(contested)
		p.Evidence = &drift.Evidence{Request: "GET /_resolve/cluster/logs:esremote-canary-k1", Answer: "403 unauthorized"}
	}
	works := drift.Evidence{Request: "GET /_resolve/cluster/logs:*", Answer: "connected", At: t0}
	for _, tc := range []struct {
		name          string
		row           ConnectionPlan
		target, keyID string
		ask           bool
		health        drift.Health // the answer with any index
		want          drift.Health
	}{
		{name: "canary refused, works with any index: connected", row: afterLink(refused), target: "esremote-canary-k1", keyID: "k1",
			ask: true, health: drift.HealthConnected, want: drift.HealthConnected},
		{name: "canary refused, refused with any index too: unauthorized", row: afterLink(refused), target: "esremote-canary-k1", keyID: "k1",
			ask: true, health: drift.HealthUnauthorized, want: drift.HealthUnauthorized},
		{name: "asked with any index already: not asked again", row: afterLink(refused), target: "*"},
		{name: "no key of this installation: not asked", row: afterLink(refused), target: "esremote-canary-k1"},
		{name: "not contested: not asked", row: afterLink(func(p *ConnectionPlan) { refused(p); p.Findings = nil }), target: "esremote-canary-k1", keyID: "k1"},
		{name: "a key proven: not asked", row: afterLink(func(p *ConnectionPlan) { refused(p); p.Proven = "k1" }), target: "esremote-canary-k1", keyID: "k1"},
		{name: "connected: not asked", row: afterLink(func(p *ConnectionPlan) { refused(p); p.Health = drift.HealthConnected }), target: "esremote-canary-k1", keyID: "k1"},
		{name: "disabled: not asked", row: afterLink(func(p *ConnectionPlan) { refused(p); p.Conn.Policy = spec.PolicyDisabled }), target: "esremote-canary-k1", keyID: "k1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ContestedAsk(&tc.row, tc.target, tc.keyID); got != tc.ask {
				t.Fatalf("ContestedAsk = %v, want %v", got, tc.ask)
			}
			if !tc.ask {
				return
			}
			rowEvidence := *tc.row.Evidence
			got := AfterContested(tc.row, tc.health, works)
			if got.Health != tc.want {
				t.Errorf("health %s, want %s", got.Health, tc.want)
			}
			if *tc.row.Evidence != rowEvidence || tc.row.Health != drift.HealthUnauthorized {
				t.Errorf("the row changed: %+v", tc.row)
			}
			if tc.want != drift.HealthConnected {
				if got.Evidence != tc.row.Evidence || got.Refusal != tc.row.Refusal {
					t.Errorf("a refused answer changed the link: %+v", got)
				}
				return
			}
			if got.Refusal != "" || got.Evidence.Request != works.Request ||
				!strings.Contains(got.Evidence.Answer, "this installation's canary was refused (403 unauthorized)") {
				t.Errorf("connected on the any-index evidence, saying why: %+v %+v", got, got.Evidence)
			}
		})
	}
}

func TestAfterCanaryPrivileges(t *testing.T) {
	missing := Finding{Severity: drift.SeverityError, Code: CodeCanaryPrivilegeMissing, Message: "as decided"}
	const refusedLocally = "action [indices:admin/resolve/cluster] towards remote cluster [logs] is unauthorized for user [admin] with effective roles [esremote_admin] because no remote indices privileges apply for the target cluster"
	none := &world.UserPrivileges{Cluster: []string{"manage"}}
	for _, tc := range []struct {
		name        string
		privs       *world.UserPrivileges
		row         ConnectionPlan
		wantHealth  drift.Health
		wantMissing bool
	}{
		{name: "verify proved it: the decision's finding goes", privs: none,
			row: afterLink(func(p *ConnectionPlan) { p.Findings = roomy(missing) }), wantHealth: drift.HealthConnected},
		{name: "refused by its own cluster: unknown, not the key's fault", privs: none, row: afterLink(func(p *ConnectionPlan) {
			p.Health, p.Refusal, p.Evidence = drift.HealthUnauthorized, refusedLocally, &drift.Evidence{Answer: "403"}
		}), wantHealth: drift.HealthUnknown, wantMissing: true},
		{name: "disconnected without the privileges: said so", privs: none,
			row: afterLink(func(p *ConnectionPlan) { p.Health = drift.HealthDisconnected }), wantHealth: drift.HealthDisconnected, wantMissing: true},
		{name: "a certificate link: not judged", privs: none, row: afterLink(func(p *ConnectionPlan) {
			p.Conn.Security, p.Conn.APIKey, p.Health = spec.SecurityCertificate, nil, drift.HealthDisconnected
		}), wantHealth: drift.HealthDisconnected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(tc.row.Findings)
			rowHealth, rowEvidence := tc.row.Health, tc.row.Evidence
			got := AfterCanaryPrivileges("local", tc.privs, []ConnectionPlan{tc.row})[0]
			untouched(t, before, tc.row.Findings)
			if tc.row.Health != rowHealth || tc.row.Evidence != rowEvidence {
				t.Errorf("the row changed: %+v", tc.row)
			}
			if got.Health != tc.wantHealth {
				t.Errorf("health %s, want %s", got.Health, tc.wantHealth)
			}
			if has := hasCode(got.Findings, CodeCanaryPrivilegeMissing); has != tc.wantMissing {
				t.Errorf("canary_privilege_missing %v, want %v: %v", has, tc.wantMissing, got.Findings)
			}
			if tc.wantHealth == drift.HealthUnknown && !strings.HasPrefix(got.Evidence.Answer, "not proven: local refused") {
				t.Errorf("evidence does not say why: %+v", got.Evidence)
			}
		})
	}
}

func TestRotatingAfterWrites(t *testing.T) {
	rec := &ledger.KeyRecord{ID: "new", Previous: &ledger.KeyRecord{ID: "old"}}
	proven := *rec
	proven.ProvenAt = t0.Add(-time.Minute)
	const stuckAfter = time.Hour
	recent := &ledger.Record{WrittenAt: t0.Add(-time.Minute)}
	long := &ledger.Record{WrittenAt: t0.Add(-2 * time.Hour)}
	ambiguous := &KeyWork{Access: world.CrossClusterAccess{Search: []world.SearchAccess{{Names: []string{"*"}}}}}
	refusedOld := func(p *ConnectionPlan) {
		p.Health, p.Evidence = drift.HealthUnauthorized, &drift.Evidence{Answer: "refused under old"}
		p.Findings = roomy()
	}
	for _, tc := range []struct {
		name      string
		row       ConnectionPlan
		rec       *ledger.KeyRecord
		ks        *ledger.Record
		want      drift.Health
		wantStuck bool
	}{
		{name: "new key proven by this request: rotating, no finding", row: afterLink(func(p *ConnectionPlan) { p.Proven = "new" }),
			rec: rec, ks: long, want: drift.HealthRotating},
		{name: "proven earlier in the window: rotating", row: afterLink(nil), rec: &proven, ks: long, want: drift.HealthRotating},
		{name: "not proven, keystore written recently: rotating", row: afterLink(refusedOld), rec: rec, ks: recent, want: drift.HealthRotating},
		{name: "not proven past the stuck bound: rotation_stuck", row: afterLink(refusedOld), rec: rec, ks: long,
			want: drift.HealthRotating, wantStuck: true},
		{name: "canary any key passes: proof does not count", row: afterLink(func(p *ConnectionPlan) { p.Proven, p.Key = "new", ambiguous }),
			rec: rec, ks: long, want: drift.HealthRotating, wantStuck: true},
		{name: "no rotation under way", row: afterLink(nil), rec: &ledger.KeyRecord{ID: "new"}, ks: long, want: drift.HealthConnected},
		{name: "disconnected stays disconnected", row: afterLink(func(p *ConnectionPlan) { p.Health = drift.HealthDisconnected }),
			rec: rec, ks: long, want: drift.HealthDisconnected},
		{name: "unknown stays unknown", row: afterLink(func(p *ConnectionPlan) { p.Health = drift.HealthUnknown }), rec: rec, ks: long, want: drift.HealthUnknown},
		{name: "a key esremote does not manage", row: afterLink(func(p *ConnectionPlan) { p.Conn.APIKey.Managed = false }),
			rec: rec, ks: long, want: drift.HealthConnected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(tc.row.Findings)
			got := Rotating(tc.row, tc.rec, tc.ks, t0, stuckAfter)
			untouched(t, before, tc.row.Findings)
			if got.Health != tc.want {
				t.Errorf("health %s, want %s", got.Health, tc.want)
			}
			stuck := hasCode(got.Findings, CodeRotationStuck)
			if stuck != tc.wantStuck {
				t.Errorf("rotation_stuck %v, want %v: %v", stuck, tc.wantStuck, got.Findings)
			}
			if stuck && !strings.Contains(got.Findings[0].Message, "the old key old stays valid") {
				t.Errorf("rotation_stuck does not name the old key: %s", got.Findings[0].Message)
			}
		})
	}
}

func TestNeedsDiagnosis(t *testing.T) {
	for _, tc := range []struct {
		health drift.Health
		err    error
		want   bool
	}{
		{drift.HealthDisconnected, nil, true},
		{drift.HealthUnauthorized, nil, true},
		{drift.HealthUnauthorized, errors.New("cluster failed"), false},
		{drift.HealthConnected, nil, false},
		{drift.HealthRotating, nil, false},
		{drift.HealthUnknown, nil, false},
	} {
		p := afterLink(func(p *ConnectionPlan) { p.Health, p.Err = tc.health, tc.err })
		if got := NeedsDiagnosis(&p); got != tc.want {
			t.Errorf("%s (err %v): %v, want %v", tc.health, tc.err, got, tc.want)
		}
	}
}

func TestRotationKept(t *testing.T) {
	rec := &ledger.KeyRecord{ID: "new", Previous: &ledger.KeyRecord{ID: "old"}}
	narrow := &KeyWork{Access: world.CrossClusterAccess{Search: []world.SearchAccess{{Names: []string{"logs-*"}}}}}
	ambiguous := &KeyWork{Access: world.CrossClusterAccess{Search: []world.SearchAccess{{Names: []string{"*"}}}}}
	for _, tc := range []struct {
		name string
		row  ConnectionPlan
		rec  *ledger.KeyRecord
		kept bool
	}{
		{name: "last request proves the new key: finished", row: afterLink(func(p *ConnectionPlan) { p.Key, p.Proven = narrow, "new" }), rec: rec},
		{name: "last request proved the old key: kept", row: afterLink(func(p *ConnectionPlan) { p.Key, p.Proven = narrow, "old" }), rec: rec, kept: true},
		{name: "last request proved nothing: kept", row: afterLink(func(p *ConnectionPlan) { p.Key = narrow }), rec: rec, kept: true},
		{name: "no ledger record: kept", row: afterLink(func(p *ConnectionPlan) { p.Key, p.Proven = narrow, "new" }), kept: true},
		{name: "not connected: kept", row: afterLink(func(p *ConnectionPlan) {
			p.Key, p.Proven, p.Health = narrow, "new", drift.HealthUnauthorized
		}), rec: rec, kept: true},
		{name: "any key passes the canary: the window alone proves it", row: afterLink(func(p *ConnectionPlan) { p.Key = ambiguous }), rec: rec},
		{name: "any key passes, not connected: kept", row: afterLink(func(p *ConnectionPlan) { p.Key, p.Health = ambiguous, drift.HealthDisconnected }), rec: rec, kept: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RotationKept(&tc.row, tc.rec); got != tc.kept {
				t.Errorf("RotationKept = %v, want %v", got, tc.kept)
			}
		})
	}
}

func TestKeyProof(t *testing.T) {
	at := t0.Add(-30 * time.Second)
	fresh := &ledger.KeyRecord{ID: "new", Previous: &ledger.KeyRecord{ID: "old"}}
	started := &ledger.KeyRecord{ID: "new", Previous: &ledger.KeyRecord{ID: "old"}, ProvenAt: t0.Add(-time.Hour)}
	displaced := &ledger.KeyRecord{ID: "new", Displaced: "handmade", ProvenAt: t0.Add(-time.Hour)}
	proves := func(p *ConnectionPlan) { p.Proven, p.Evidence = "new", &drift.Evidence{At: at} }
	refusedUnder := func(id string) func(*ConnectionPlan) {
		return func(p *ConnectionPlan) { p.Health, p.RefusedKey = drift.HealthUnauthorized, id }
	}
	for _, tc := range []struct {
		name    string
		row     ConnectionPlan
		rec     *ledger.KeyRecord
		changed bool
		want    time.Time
	}{
		{name: "first proof starts the window at the evidence's time", row: afterLink(proves), rec: fresh, changed: true, want: at},
		{name: "no evidence time: now", row: afterLink(func(p *ConnectionPlan) { p.Proven = "new" }), rec: fresh, changed: true, want: t0},
		{name: "proven again: unchanged", row: afterLink(proves), rec: started},
		{name: "a node still sends the old key: window starts over", row: afterLink(refusedUnder("old")), rec: started, changed: true},
		{name: "a node still sends the displaced key: starts over", row: afterLink(refusedUnder("handmade")), rec: displaced, changed: true},
		{name: "refused under another key: unchanged", row: afterLink(refusedUnder("stranger")), rec: started},
		{name: "pending record: unchanged", row: afterLink(proves), rec: &ledger.KeyRecord{ID: "new", Pending: true}},
		{name: "no record: unchanged", row: afterLink(proves)},
		{name: "reported only: unchanged", row: afterLink(func(p *ConnectionPlan) { proves(p); p.Conn.Policy = spec.PolicyReport }), rec: fresh},
		{name: "any key passes the canary: no proof", row: afterLink(func(p *ConnectionPlan) {
			proves(p)
			p.Key = &KeyWork{Access: world.CrossClusterAccess{Search: []world.SearchAccess{{Names: []string{"*"}}}}}
		}), rec: fresh},
		{name: "a saved plan's row (no key work): the spec's access", row: afterLink(func(p *ConnectionPlan) {
			proves(p)
			p.Conn.APIKey.Access = spec.Access{Search: []spec.AccessEntry{{Names: []string{"*"}}}}
		}), rec: fresh},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := KeyProof(&tc.row, tc.rec, t0)
			if changed != tc.changed || !got.Equal(tc.want) {
				t.Errorf("KeyProof = %v, %v; want %v, %v", got, changed, tc.want, tc.changed)
			}
		})
	}
}
