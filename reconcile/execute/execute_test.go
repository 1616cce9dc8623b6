package execute

import (
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/cloud"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/plan"
	"github.com/esremote/esremote/reconcile/sim"
)

// fakeLedger records the intents and commits in order; fail makes the
// named operation fail.
type fakeLedger struct {
	events []string
	fail   map[string]bool // "intent:<step>" or "commit:<step>"
	digest map[string]string
}

func (l *fakeLedger) Intent(s *plan.Step, _ Result) (func() error, error) {
	if l.fail["intent:"+s.ID] {
		return nil, errors.New("disk full")
	}
	l.events = append(l.events, "intent "+s.ID)
	return func() error { l.events = append(l.events, "undo "+s.ID); return nil }, nil
}

func (l *fakeLedger) Commit(s *plan.Step, _ Result) error {
	if l.fail["commit:"+s.ID] {
		return errors.New("disk full")
	}
	l.events = append(l.events, "commit "+s.ID)
	return nil
}

func (l *fakeLedger) Digest(name string) string {
	if d, ok := l.digest[name]; ok {
		return d
	}
	return plan.Absent
}

type world struct {
	srv *sim.Server
	led *fakeLedger
	env Env
}

func newWorld(t *testing.T) *world {
	t.Helper()
	srv, err := sim.Start(t.Context(), sim.DefaultWorld())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	w := &world{srv: srv, led: &fakeLedger{fail: map[string]bool{}, digest: map[string]string{}}}
	w.env = Env{
		ES: func(target string) (*es.Client, error) {
			return es.New(es.Config{Name: target, URL: srv.ClusterURL(target), APIKey: srv.AdminAPIKey(target)})
		},
		Cloud:       func(target string) (*cloud.Client, error) { return nil, errors.New("no control plane in this test") },
		Ledger:      w.led,
		Secret:      func(string) (string, string, error) { return "", "", errors.New("no secret") },
		Canary:      func(a es.CrossClusterAccess, _ string) es.CrossClusterAccess { return a },
		Fingerprint: func(v string) string { return Digest(v) },
		Now:         func() time.Time { return time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC) },
		Logger:      slog.New(slog.DiscardHandler),
	}
	return w
}

func (w *world) uuid(t *testing.T, name string) string {
	t.Helper()
	info, ok := w.srv.World.Cluster(name)
	if !ok {
		t.Fatalf("no cluster %s", name)
	}
	return info.ClusterUUID
}

func settingsStep(id, target, uuid string, then map[string]string, set map[string]string) plan.Step {
	b := plan.SettingsBody{Persistent: map[string]*string{}}
	for k, v := range set {
		b.Persistent[k] = &v
	}
	body, _ := json.Marshal(b)
	return plan.Step{ID: id, Target: target, Kind: plan.KindClusterSettings, Body: body,
		Precondition: &plan.Precondition{Read: plan.ReadSettings, UUID: uuid, Values: then}}
}

func roleStep(id, target, name string, after ...string) plan.Step {
	body, _ := json.Marshal(es.Role{Cluster: []string{"monitor"}})
	return plan.Step{ID: id, Target: target, Kind: plan.KindPutRole, Name: name, Body: body, After: after,
		Precondition: &plan.Precondition{Read: plan.ReadRole, Name: name, Digest: plan.Absent}}
}

func writes(log []sim.Request) []string {
	var out []string
	for _, r := range log {
		if r.Method != "GET" && r.Method != "HEAD" {
			out = append(out, r.Target+" "+r.Method+" "+r.Path)
		}
	}
	return out
}

func statuses(outs []Outcome) []Status {
	var s []Status
	for _, o := range outs {
		s = append(s, o.Status)
	}
	return s
}

// Steps run in order, each after its ledger intent and before its
// commit; a step whose precondition moved is stale and not sent, and
// neither is a step that depends on it, while the others are.
func TestRunStaleStepHoldsItsDependents(t *testing.T) {
	w := newWorld(t)
	a, l := w.uuid(t, "ech-analytics"), w.uuid(t, "ece-prod-logs")
	steps := []plan.Step{
		settingsStep("s1", "ech-analytics", a, map[string]string{}, map[string]string{"cluster.remote.x.mode": "proxy", "cluster.remote.x.proxy_address": "x.example.com:9443"}),
		settingsStep("s2", "ece-prod-logs", l, map[string]string{}, map[string]string{"cluster.remote.y.mode": "proxy", "cluster.remote.y.proxy_address": "y.example.com:9443"}),
		roleStep("s3", "ece-prod-logs", "reader", "s2"),
		roleStep("s4", "ech-analytics", "reader", "s1"),
	}
	// Someone writes the second cluster after the plan was made.
	if err := w.srv.World.SetSetting("ece-prod-logs", "persistent", "cluster.remote.y.mode", "sniff"); err != nil {
		t.Fatal(err)
	}
	w.srv.World.ResetLog()
	outs := Run(t.Context(), steps, w.env, Options{})
	if got, want := statuses(outs), []Status{Done, Stale, Skipped, Done}; !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v (%v)", got, want, outs)
	}
	if !strings.Contains(outs[1].Err.Error(), `ece-prod-logs: cluster.remote.y.mode is "sniff" now and was unset when planned`) {
		t.Errorf("the stale step says %v", outs[1].Err)
	}
	if !strings.Contains(outs[2].Err.Error(), "step s2") {
		t.Errorf("the skipped step says %v", outs[2].Err)
	}
	if got, want := writes(w.srv.Log()), []string{"ech-analytics PUT /_cluster/settings", "ech-analytics PUT /_security/role/reader"}; !slices.Equal(got, want) {
		t.Errorf("writes %v, want %v", got, want)
	}
	if got, want := w.led.events, []string{"intent s1", "commit s1", "intent s4", "commit s4"}; !slices.Equal(got, want) {
		t.Errorf("ledger %v, want %v", got, want)
	}
}

// With CheckFirst (a saved plan), every precondition is read before the
// first write and one stale step anywhere means no request is sent.
func TestRunCheckFirstWritesNothingWhenOneIsStale(t *testing.T) {
	w := newWorld(t)
	a, l := w.uuid(t, "ech-analytics"), w.uuid(t, "ece-prod-logs")
	steps := []plan.Step{
		settingsStep("s1", "ech-analytics", a, map[string]string{}, map[string]string{"cluster.remote.x.mode": "proxy", "cluster.remote.x.proxy_address": "x.example.com:9443"}),
		roleStep("s2", "ech-analytics", "reader", "s1"),
		settingsStep("s3", "ece-prod-logs", l, map[string]string{}, map[string]string{"cluster.remote.y.mode": "proxy", "cluster.remote.y.proxy_address": "y.example.com:9443"}),
	}
	if err := w.srv.World.SetSetting("ece-prod-logs", "persistent", "cluster.remote.y.mode", "sniff"); err != nil {
		t.Fatal(err)
	}
	w.srv.World.ResetLog()
	outs := Run(t.Context(), steps, w.env, Options{CheckFirst: true})
	if got, want := statuses(outs), []Status{Skipped, Skipped, Stale}; !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	if w := writes(w.srv.Log()); len(w) != 0 {
		t.Fatalf("a plan stale on one cluster was written elsewhere: %v", w)
	}
	if len(w.led.events) != 0 {
		t.Fatalf("the ledger was written: %v", w.led.events)
	}
	if why := StaleReasons(outs); len(why) != 1 || !strings.HasPrefix(why[0], "ece-prod-logs: cluster.remote.y.mode") {
		t.Fatalf("reasons %q", why)
	}

	// The same plan once the world is back as planned: every read comes
	// before the first write, and each write is sent once.
	if err := w.srv.World.RemoveSetting("ece-prod-logs", "persistent", "cluster.remote.y.mode"); err != nil {
		t.Fatal(err)
	}
	w.srv.World.ResetLog()
	outs = Run(t.Context(), steps, w.env, Options{CheckFirst: true})
	if got, want := statuses(outs), []Status{Done, Done, Done}; !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v (%v)", got, want, outs)
	}
	log := w.srv.Log()
	first := slices.IndexFunc(log, func(r sim.Request) bool { return r.Method != "GET" })
	for _, r := range log[first:] {
		if r.Method == "GET" {
			t.Errorf("a read after the first write: %s %s", r.Target, r.Endpoint)
		}
	}
	if n := len(writes(log)); n != 3 {
		t.Errorf("%d writes, want 3", n)
	}
}

// A ledger intent that cannot be saved sends nothing; a commit that
// cannot be saved is reported on the step that was written; a refused
// request gives the intent back and carries its class.
func TestRunLedgerAndClasses(t *testing.T) {
	w := newWorld(t)
	w.led.fail["intent:s1"] = true
	w.led.fail["commit:s2"] = true
	if _, err := w.srv.World.AddFault(sim.Fault{Target: "ech-analytics", Method: "PUT", Path: "/_security/role/broken", Kind: sim.FaultStatus, Status: 403}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.srv.World.AddFault(sim.Fault{Target: "ech-analytics", Method: "PUT", Path: "/_security/role/busy", Kind: sim.FaultStatus, Status: 503}); err != nil {
		t.Fatal(err)
	}
	steps := []plan.Step{roleStep("s1", "ech-analytics", "a"), roleStep("s2", "ech-analytics", "b"),
		roleStep("s3", "ech-analytics", "broken"), roleStep("s4", "ech-analytics", "busy")}
	w.srv.World.ResetLog()
	outs := Run(t.Context(), steps, w.env, Options{})
	if got, want := statuses(outs), []Status{Failed, Done, Failed, Failed}; !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v (%v)", got, want, outs)
	}
	if w := writes(w.srv.Log()); slices.Contains(w, "ech-analytics PUT /_security/role/a") {
		t.Error("a step whose intent was not recorded was sent")
	}
	if outs[1].Err == nil || !strings.Contains(outs[1].Err.Error(), "written, but the ledger could not record it") {
		t.Errorf("the failed commit is not reported: %v", outs[1].Err)
	}
	if outs[2].Class != drift.ClassTerminal || outs[3].Class != drift.ClassRetryable {
		t.Errorf("classes %s and %s, want terminal and retryable", outs[2].Class, outs[3].Class)
	}
	if got, want := w.led.events, []string{"intent s2", "intent s3", "undo s3", "intent s4", "undo s4"}; !slices.Equal(got, want) {
		t.Errorf("ledger %v, want %v", got, want)
	}
}
