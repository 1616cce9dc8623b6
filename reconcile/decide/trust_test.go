package decide

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// One row per ownership rule of the trust decision: the specs, the
// observed trust (a frozen observation: decideTrust never reads) and the
// ledger in; the writes, removals, findings and entries left alone out.
// Two ECH deployments of one organization: a certificate connection l → r
// wants each to trust the other's cluster through the organization's
// account entry (while only one side does, the link is trust_one_sided).
func TestDecideTrust(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	const key = "accounts o1"
	cluster := func(name, id string) *spec.Cluster {
		return &spec.Cluster{Name: name, Deployment: &spec.Deployment{Platform: spec.PlatformECH, API: "https://api.example", ID: id}}
	}
	conn := func(policy spec.Policy) *spec.Connection {
		return &spec.Connection{Name: "c", Local: "l", Alias: "r", Remote: spec.Remote{Cluster: "r"}, Security: spec.SecurityCertificate, Policy: policy}
	}
	account := func(ids ...string) world.Trust {
		return world.Trust{Accounts: []world.AccountTrust{{AccountID: "o1", Name: "esremote: organization o1", TrustAllowlist: ids}}}
	}
	handMade := world.Trust{Accounts: []world.AccountTrust{{AccountID: "o1", Name: "by hand", TrustAllowlist: []string{"someone-else"}}}}
	fp := func(tr world.Trust) string {
		v, _ := FindLive(tr, key)
		return v.Fingerprint()
	}
	dep := func(id, clusterID string, live world.Trust) DepObs {
		return DepObs{Dep: &world.Deployment{ID: id, OrganizationID: "o1",
			Elasticsearch: []world.ESResource{{RefID: "main", ClusterID: clusterID, Trust: live, TrustRaw: json.RawMessage(`{}`)}}}}
	}
	type outcome struct {
		ops       []string // "cluster action origin" of the ops apply makes (enforced)
		report    []string // ops shown but not written (report-only)
		forget    []string // records of entries already gone
		findings  []string // "connection code"
		unmanaged []string
		errs      []string // connection errors
	}
	for _, tc := range []struct {
		name     string
		conns    []*spec.Connection
		liveL    world.Trust
		liveR    world.Trust
		ownedL   *world.Trust // the ledger's record of l's entry (fingerprint of this)
		pendingL bool
		depErrR  error
		forget   bool // the observation lacks r's deployment
		scoped   bool
		want     outcome
	}{
		{name: "wanted, absent, not owned: created on both sides", conns: []*spec.Connection{conn(spec.PolicyEnforce)},
			want: outcome{ops: []string{"l create spec", "r create spec"}}},
		{name: "wanted, live as wanted, owned: nothing", conns: []*spec.Connection{conn(spec.PolicyEnforce)},
			liveL: account("cl-r"), liveR: account("cl-l"), ownedL: trustPtr(account("cl-r")), want: outcome{}},
		{name: "wanted, owned, changed by hand: written back (external)", conns: []*spec.Connection{conn(spec.PolicyEnforce)},
			liveL: account("cl-r", "extra"), liveR: account("cl-l"), ownedL: trustPtr(account("cl-r")), want: outcome{ops: []string{"l update external"}}},
		{name: "wanted, owned, spec changed: written (spec)", conns: []*spec.Connection{conn(spec.PolicyEnforce)},
			liveL: account("old"), liveR: account("cl-l"), ownedL: trustPtr(account("old")), want: outcome{ops: []string{"l update spec"}, findings: []string{"c " + CodeTrustOneSided}}},
		{name: "wanted, not owned, does not grant it: trust_not_owned, never written", conns: []*spec.Connection{conn(spec.PolicyEnforce)},
			liveL: handMade, liveR: account("cl-l"), want: outcome{findings: []string{"c " + CodeTrustNotOwned, "c " + CodeTrustOneSided}}},
		{name: "wanted, not owned, already grants it: left alone", conns: []*spec.Connection{conn(spec.PolicyEnforce)},
			liveL: world.Trust{Accounts: []world.AccountTrust{{AccountID: "o1", Name: "default", TrustAll: true}}}, liveR: account("cl-l"), want: outcome{}},
		{name: "wanted, record pending, entry absent: created (spec)", conns: []*spec.Connection{conn(spec.PolicyEnforce)},
			liveR: account("cl-l"), ownedL: trustPtr(account("cl-r")), pendingL: true, want: outcome{ops: []string{"l create spec"}, findings: []string{"c " + CodeTrustOneSided}}},
		{name: "wanted, owned, deleted by hand: created again (external)", conns: []*spec.Connection{conn(spec.PolicyEnforce)},
			liveR: account("cl-l"), ownedL: trustPtr(account("cl-r")), want: outcome{ops: []string{"l create external"}, findings: []string{"c " + CodeTrustOneSided}}},
		{name: "report policy: the difference is shown, never written", conns: []*spec.Connection{conn(spec.PolicyReport)},
			want: outcome{report: []string{"l create spec", "r create spec"}}},
		{name: "no longer wanted, owned, unchanged: removed", liveL: account("cl-r"), ownedL: trustPtr(account("cl-r")),
			want: outcome{ops: []string{"l delete spec"}}},
		{name: "no longer wanted, owned, changed since: foreign, kept", liveL: account("cl-r", "extra"), ownedL: trustPtr(account("cl-r")),
			want: outcome{unmanaged: []string{"l " + key + " foreign"}}},
		{name: "no longer wanted, owned, already gone: the record is forgotten", ownedL: trustPtr(account("cl-r")),
			want: outcome{forget: []string{"l " + key}}},
		{name: "no longer wanted, but a --only pass: not considered", liveL: account("cl-r"), ownedL: trustPtr(account("cl-r")), scoped: true, want: outcome{}},
		{name: "wanted by a connection whose remote could not be read: its entry kept", conns: []*spec.Connection{conn(spec.PolicyEnforce)},
			liveL: account("cl-r"), ownedL: trustPtr(account("cl-r")), depErrR: errors.New("503"),
			want: outcome{errs: []string{"c read trust of r: 503"}}},
		{name: "a fact the observation lacks is an error, not a read", conns: []*spec.Connection{conn(spec.PolicyEnforce)},
			liveL: account("cl-r"), ownedL: trustPtr(account("cl-r")), forget: true,
			want: outcome{errs: []string{"c read trust of r: deployment of r was not observed this pass"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := &spec.Set{Clusters: []*spec.Cluster{cluster("l", "dl"), cluster("r", "dr")}, Connections: tc.conns}
			obs := NewTrustObservation()
			obs.Deps["l"] = dep("dl", "cl-l", tc.liveL)
			obs.Deps["r"] = dep("dr", "cl-r", tc.liveR)
			if tc.depErrR != nil {
				obs.Deps["r"] = DepObs{Err: tc.depErrR}
			}
			if tc.forget {
				delete(obs.Deps, "r")
			}
			led, _ := ledger.Open("")
			if tc.ownedL != nil {
				_ = led.SetTrust("dl", key, &ledger.Record{Fingerprint: fp(*tc.ownedL), Connection: "c", Pending: tc.pendingL})
			}
			tp := DecideTrust(TrustInput{Set: set, Scoped: tc.scoped, Obs: obs, Ledger: led, Now: now})
			var got outcome
			for _, name := range sortedKeys(tp.Deps) {
				for _, op := range tp.Deps[name].Ops {
					s := fmt.Sprintf("%s %s %s", name, op.Action, op.Origin)
					switch {
					case op.Action == "":
						got.forget = append(got.forget, name+" "+op.Key)
					case op.Enforced:
						got.ops = append(got.ops, s)
					default:
						got.report = append(got.report, s)
					}
				}
			}
			for _, n := range sortedKeys(tp.ByConn) {
				ct := tp.ByConn[n]
				for _, f := range ct.Findings {
					got.findings = append(got.findings, n+" "+f.Code)
				}
				if ct.Err != nil {
					got.errs = append(got.errs, n+" "+ct.Err.Error())
				}
			}
			for _, u := range tp.Detached.Unmanaged {
				got.unmanaged = append(got.unmanaged, u.Target+" "+u.Name+" "+u.Reason)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
			// Locals of certificate connections are written first.
			if slices.Contains(tp.Order, "r") && slices.Contains(tp.Order, "l") && tp.Order[0] != "l" {
				t.Errorf("write order %v: the local first", tp.Order)
			}
		})
	}
}

func trustPtr(v world.Trust) *world.Trust { return &v }

// A frozen observation answers only what it recorded: a question it has no
// answer for is an error naming what was not observed, for every kind of
// fact, and never a request (it has no reader).
func TestTrustObservationFrozen(t *testing.T) {
	obs := NewTrustObservation()
	ech := &spec.Cluster{Name: "l", Deployment: &spec.Deployment{Platform: spec.PlatformECH, API: "https://api.example", ID: "dl"}}
	te := &spec.TrustedEnvironment{Name: "te", CAFile: "ca.pem"}
	for what, err := range map[string]error{
		"deployment":    obs.Deployment(ech).Err,
		"organizations": obs.Organizations(ech).Err,
		"relations":     obs.Relations(ech, true).Err,
		"CA":            obs.CertificateAuthority(ech).Err,
		"ca_file":       func() error { _, err := obs.CAFile(te); return err }(),
	} {
		if err == nil || !strings.Contains(err.Error(), "not observed this pass") {
			t.Errorf("%s: %v", what, err)
		}
	}
	obs.Orgs[ControlPlane(ech)] = IDsObs{IDs: []string{"o1"}}
	if got := obs.Organizations(ech); got.Err != nil || !slices.Equal(got.IDs, []string{"o1"}) {
		t.Errorf("a recorded answer: %+v", got)
	}
}

// Across platforms the decision takes every fact from the observation: an
// ECH local trusts the ECE environment (its installation id and CA from the
// ECE control plane's local trust relationship) through a direct entry,
// and the ECE remote trusts the ECH organization with the ECH deployment's
// CA. An unreadable CA fails the connection, not the pass.
func TestDecideTrustAcrossPlatforms(t *testing.T) {
	pem := func(s string) string { return "-----BEGIN CERTIFICATE-----\n" + s + "\n-----END CERTIFICATE-----" }
	l := &spec.Cluster{Name: "l", Deployment: &spec.Deployment{Platform: spec.PlatformECH, API: "https://api.example", ID: "dl"}}
	r := &spec.Cluster{Name: "r", Deployment: &spec.Deployment{Platform: spec.PlatformECE, API: "https://ece.example", ID: "dr"}}
	c := &spec.Connection{Name: "c", Local: "l", Alias: "r", Remote: spec.Remote{Cluster: "r"}, Security: spec.SecurityCertificate, Policy: spec.PolicyEnforce}
	set := &spec.Set{Clusters: []*spec.Cluster{l, r}, Connections: []*spec.Connection{c}}
	observe := func() *TrustObservation {
		obs := NewTrustObservation()
		raw := json.RawMessage(`{}`)
		obs.Deps["l"] = DepObs{Dep: &world.Deployment{ID: "dl", OrganizationID: "o1", Elasticsearch: []world.ESResource{{ClusterID: "cl-l", TrustRaw: raw}}}}
		obs.Deps["r"] = DepObs{Dep: &world.Deployment{ID: "dr", Elasticsearch: []world.ESResource{{ClusterID: "cl-r", TrustRaw: raw}}}}
		obs.LocalRels[ControlPlane(r)] = RelObs{Rels: []world.TrustRelationship{{Local: true, InstallationID: "env1", PublicCACert: pem("ECE")}}}
		obs.CAs["dl"] = IDsObs{IDs: []string{pem("ECH")}}
		return obs
	}
	led, _ := ledger.Open("")
	tp := DecideTrust(TrustInput{Set: set, Obs: observe(), Ledger: led})
	var got []string
	for _, name := range sortedKeys(tp.Deps) {
		for _, op := range tp.Deps[name].Ops {
			got = append(got, fmt.Sprintf("%s %s %s ids=%v certs=%d", name, op.Action, op.Key, op.Write.IDs, len(op.Write.Certs)))
		}
	}
	want := []string{"l create direct ECE env1 ids=[cl-r] certs=1", "r create direct ESS o1 ids=[cl-l] certs=1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if ct := tp.ByConn["c"]; ct != nil && ct.Err != nil {
		t.Fatalf("connection error: %v", ct.Err)
	}

	obs := observe()
	obs.CAs["dl"] = IDsObs{Err: errors.New("403")}
	tp = DecideTrust(TrustInput{Set: set, Obs: obs, Ledger: led})
	if ct := tp.ByConn["c"]; ct == nil || ct.Err == nil || ct.Err.Error() != "CA of l: 403" {
		t.Fatalf("an unreadable CA: %+v", tp.ByConn["c"])
	}
}

// The trust decision reads nothing: from an empty observation it names
// the facts it lacks (TrustPlan.Missing); the observe stage reads those
// and decides again, and the rounds end with the decision a complete
// observation gives, each fact asked for once.
func TestDecideTrustNamesWhatItLacks(t *testing.T) {
	pem := func(s string) string { return "-----BEGIN CERTIFICATE-----\n" + s + "\n-----END CERTIFICATE-----" }
	l := &spec.Cluster{Name: "l", Deployment: &spec.Deployment{Platform: spec.PlatformECH, API: "https://api.example", ID: "dl"}}
	r := &spec.Cluster{Name: "r", Deployment: &spec.Deployment{Platform: spec.PlatformECE, API: "https://ece.example", ID: "dr"}}
	c := &spec.Connection{Name: "c", Local: "l", Alias: "r", Remote: spec.Remote{Cluster: "r"}, Security: spec.SecurityCertificate, Policy: spec.PolicyEnforce}
	set := &spec.Set{Clusters: []*spec.Cluster{l, r}, Connections: []*spec.Connection{c}}
	raw := json.RawMessage(`{}`)
	// The world the observe stage would read, by question.
	answer := func(q TrustQuestion) TrustAnswer {
		switch {
		case q.Fact == FactDeployment && q.Cluster.Name == "l":
			return TrustAnswer{Dep: DepObs{Dep: &world.Deployment{ID: "dl", OrganizationID: "o1", Elasticsearch: []world.ESResource{{ClusterID: "cl-l", TrustRaw: raw}}}}}
		case q.Fact == FactDeployment && q.Cluster.Name == "r":
			return TrustAnswer{Dep: DepObs{Dep: &world.Deployment{ID: "dr", Elasticsearch: []world.ESResource{{ClusterID: "cl-r", TrustRaw: raw}}}}}
		case q.Fact == FactLocalRelations:
			return TrustAnswer{Rels: RelObs{Rels: []world.TrustRelationship{{Local: true, InstallationID: "env1", PublicCACert: pem("ECE")}}}}
		case q.Fact == FactCertificateAuthority:
			return TrustAnswer{IDs: IDsObs{IDs: []string{pem("ECH")}}}
		case q.Fact == FactOrganizations:
			return TrustAnswer{IDs: IDsObs{IDs: []string{"o1"}}}
		}
		return TrustAnswer{IDs: IDsObs{Err: errors.New("no such fact in this world")}}
	}
	led, _ := ledger.Open("")
	in := TrustInput{Set: set, Obs: NewTrustObservation(), Ledger: led}
	asked := map[string]int{}
	tp := DecideTrust(in)
	rounds := 0
	for ; len(tp.Missing) > 0; rounds++ {
		if rounds > 10 {
			t.Fatalf("still missing after %d rounds: %+v", rounds, tp.Missing)
		}
		for _, q := range tp.Missing {
			asked[string(q.Fact)+" "+q.key()]++
			in.Obs.Record(q, answer(q))
		}
		tp = DecideTrust(in)
	}
	if rounds == 0 {
		t.Fatal("an empty observation gave a decision without asking for a fact")
	}
	for q, n := range asked {
		if n != 1 {
			t.Errorf("%s asked for %d times", q, n)
		}
	}
	var got []string
	for _, name := range sortedKeys(tp.Deps) {
		for _, op := range tp.Deps[name].Ops {
			got = append(got, fmt.Sprintf("%s %s %s ids=%v certs=%d", name, op.Action, op.Key, op.Write.IDs, len(op.Write.Certs)))
		}
	}
	want := []string{"l create direct ECE env1 ids=[cl-r] certs=1", "r create direct ESS o1 ids=[cl-l] certs=1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after %d rounds (%v): got %q\nwant %q", rounds, asked, got, want)
	}
}
