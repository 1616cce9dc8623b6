package reconcile

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/sim"
	"github.com/esremote/esremote/spec"
)

// The fault suite of DESIGN §9 (docs/reliability.md lists every fault
// and input tried here and its outcome). Each fault breaks one cluster
// or control plane during a pass that has work to do: that pass reports
// the broken target failed with its cause, the other targets are
// corrected as if nothing happened, and once the fault clears the next
// pass converges.

// errorText is everything a report says went wrong for a target: its
// connections' errors and change errors and the report's errors.
func errorText(rep *drift.Report, local string) string {
	var b strings.Builder
	for _, c := range rep.Connections {
		if c.Local != local {
			continue
		}
		b.WriteString(c.Error + "\n")
		for _, ch := range c.Changes {
			b.WriteString(ch.Error + "\n")
		}
	}
	for _, e := range rep.Errors {
		if e.Target == local {
			b.WriteString(e.Message + "\n")
		}
	}
	return b.String()
}

// faultEstate is estate(t, 3) applied once, then given a spec change on
// every link, so the next pass writes to every local cluster.
func faultEstate(t *testing.T) (*testWorld, *Reconciler) {
	tw := estate(t, 3)
	r := tw.reconciler(false)
	r.opts.VerifyTimeout = time.Millisecond
	r.opts.RequestTimeout = 300 * time.Millisecond
	mustPass(t, r, tw, ModeApply)
	tw.write("links.yaml", strings.ReplaceAll(mustRead(t, filepath.Join(tw.dir, "links.yaml")), "skip_unavailable: true", "skip_unavailable: false"))
	return tw, r
}

// checkFaultPass: local-001 failed naming want, the others corrected.
func checkFaultPass(t *testing.T, rep *drift.Report, want ...string) {
	t.Helper()
	for _, c := range rep.Connections {
		switch {
		case c.Local == "local-001" && c.Sync != drift.SyncFailed:
			t.Errorf("%s: sync %s, want failed", c.Local, c.Sync)
		case c.Local != "local-001" && c.Sync != drift.SyncCorrected:
			t.Errorf("%s is not broken but was not corrected: %s %q %+v", c.Local, c.Sync, c.Error, c.Changes)
		}
	}
	text := strings.ToLower(errorText(rep, "local-001"))
	for _, w := range want {
		if strings.Contains(text, w) {
			return
		}
	}
	t.Errorf("the failure of local-001 does not name the cause (any of %q): %s", want, text)
}

// checkConverged: a pass after the fault cleared fails nothing and a
// plan after it finds nothing to do.
func checkConverged(t *testing.T, r *Reconciler, tw *testWorld) {
	t.Helper()
	rep := mustPass(t, r, tw, ModeRun).Report(drift.TriggerResync, "")
	if rep.Summary.Failed != 0 || len(rep.Errors) != 0 {
		t.Fatalf("did not converge after the fault cleared: %+v %+v", rep.Summary, rep.Errors)
	}
	if rep := tw.pass(ModePlan).Report(drift.TriggerPlan, ""); rep.PendingChanges() != 0 {
		t.Fatalf("changes left after convergence: %+v", rep.Connections)
	}
}

func TestFaultSuiteElasticsearch(t *testing.T) {
	put := func(k sim.FaultKind) sim.Fault {
		return sim.Fault{Target: "local-001", Method: "PUT", Path: "/_cluster/settings", Kind: k}
	}
	for _, tc := range []struct {
		name  string
		fault sim.Fault
		want  []string
	}{
		{"5xx on the write", sim.Fault{Target: "local-001", Method: "PUT", Path: "/_cluster/settings", Kind: sim.FaultStatus, Status: 502}, []string{"502"}},
		{"429 on the write", put(sim.FaultRateLimit), []string{"429", "rejected"}},
		{"429 on a read", sim.Fault{Target: "local-001", Path: "/_cluster/settings", Method: "GET", Kind: sim.FaultRateLimit}, []string{"429", "rejected"}},
		{"connection reset on the write", put(sim.FaultReset), []string{"reset", "eof", "connection"}},
		{"hang past the request timeout", put(sim.FaultHang), []string{"timeout", "deadline", "no complete response"}},
		{"hang on the first read", sim.Fault{Target: "local-001", Path: "/", Kind: sim.FaultHang}, []string{"timeout", "deadline", "no complete response"}},
		{"acknowledged false", put(sim.FaultUnacknowledged), []string{"acknowledged"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tw, r := faultEstate(t)
			if _, err := tw.srv.Fault(tc.fault); err != nil {
				t.Fatal(err)
			}
			checkFaultPass(t, mustPass(t, r, tw, ModeRun).Report(drift.TriggerResync, ""), tc.want...)
			tw.srv.World.ClearFaults()
			checkConverged(t, r, tw)
		})
	}
}

// vanishing fronts one cluster: after `after` requests its server is
// closed (the request in flight is cut, later ones are refused), until
// revive starts it again on the same address.
type vanishing struct {
	t        *testing.T
	upstream string
	addr     string

	mu    sync.Mutex
	after int
	n     int
	hs    *http.Server
}

func (v *vanishing) start() {
	ln, err := net.Listen("tcp", v.addr)
	if err != nil {
		v.t.Fatal(err)
	}
	v.addr = ln.Addr().String()
	hs := &http.Server{Handler: http.HandlerFunc(v.serve)}
	v.mu.Lock()
	v.hs = hs
	v.mu.Unlock()
	go func() { _ = hs.Serve(ln) }()
	v.t.Cleanup(func() { _ = hs.Close() })
}

func (v *vanishing) serve(rw http.ResponseWriter, r *http.Request) {
	v.mu.Lock()
	v.n++
	gone := v.after > 0 && v.n > v.after
	hs := v.hs
	v.mu.Unlock()
	if gone {
		// The machine went away: cut this request, stop listening.
		if hj, ok := rw.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				_ = c.Close()
			}
		}
		go func() { _ = hs.Close() }()
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, v.upstream+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		rw.Header()[k] = vs
	}
	rw.WriteHeader(resp.StatusCode)
	_, _ = ioCopy(rw, resp)
}

func ioCopy(rw http.ResponseWriter, resp *http.Response) (int64, error) {
	var n int64
	buf := make([]byte, 32<<10)
	for {
		k, err := resp.Body.Read(buf)
		if k > 0 {
			w, werr := rw.Write(buf[:k])
			n += int64(w)
			if werr != nil {
				return n, werr
			}
		}
		if err != nil {
			return n, nil
		}
	}
}

// A cluster whose server closes between the pass's reads and its write:
// failed with a network error, the others corrected; it comes back on the
// same address and the next pass converges.
func TestFaultClusterDisappearsMidPass(t *testing.T) {
	tw := estate(t, 3)
	up := tw.srv.ClusterURL("local-001")
	v := &vanishing{t: t, upstream: up, addr: "127.0.0.1:0"}
	v.start()
	tw.write("clusters.yaml", strings.Replace(mustRead(t, filepath.Join(tw.dir, "clusters.yaml")), up+"\n", "http://"+v.addr+"\n", 1))
	r := tw.reconciler(false)
	r.opts.VerifyTimeout = time.Millisecond
	r.opts.RequestTimeout = 2 * time.Second
	mustPass(t, r, tw, ModeApply)
	tw.write("links.yaml", strings.ReplaceAll(mustRead(t, filepath.Join(tw.dir, "links.yaml")), "skip_unavailable: true", "skip_unavailable: false"))
	// The three reads of the pass (GET /, settings, remote info) pass, the
	// write does not.
	v.mu.Lock()
	v.after, v.n = 3, 0
	v.mu.Unlock()
	tw.srv.World.ResetLog()
	rep := mustPass(t, r, tw, ModeRun).Report(drift.TriggerResync, "")
	checkFaultPass(t, rep, "eof", "refused", "reset", "connection")
	if w := tw.srv.World.CountRequests("local-001", "PUT /_cluster/settings"); w != 0 {
		t.Fatalf("the vanished cluster received %d writes", w)
	}
	// Back on the same address.
	v.mu.Lock()
	v.after = 0
	v.mu.Unlock()
	v.start()
	checkConverged(t, r, tw)
}

// otherConn is a second connection whose local cluster (onprem-search)
// shares no server with apiKeyConn's ech-analytics and its control plane.
const otherConn = `apiVersion: esremote/v1
kind: Connection
name: onprem-to-logs
local: onprem-search
alias: logs
remote:
  proxy_address: ece-prod-logs.sim:9300
security: certificate
settings:
  skip_unavailable: true
`

// activeCrossClusterKeys lists the IDs of the valid cross-cluster keys
// on a cluster.
func activeCrossClusterKeys(w *sim.World, cluster string) []string {
	var out []string
	for _, k := range w.State()[cluster].APIKeys {
		if k.Active && k.Type == "cross_cluster" {
			out = append(out, k.ID)
		}
	}
	return out
}

// Faults of the Cloud API while it delivers a new key to the keystore of
// ech-analytics: the key connection fails naming the cause, the other
// connection is corrected, and after the fault the key converges with no
// second valid key left behind.
func TestFaultSuiteControlPlane(t *testing.T) {
	keystore := "/api/v1/deployments/*/elasticsearch/*/keystore"
	for _, tc := range []struct {
		name  string
		fault sim.Fault
		want  []string
	}{
		{"503 on every attempt", sim.Fault{Target: "ech", Method: "PATCH", Path: keystore, Kind: sim.FaultStatus, Status: 503}, []string{"503", "unavailable"}},
		{"429 with rate-limit headers", sim.Fault{Target: "ech", Method: "PATCH", Path: keystore, Kind: sim.FaultRateLimit}, []string{"429", "rate"}},
		{"reset", sim.Fault{Target: "ech", Method: "PATCH", Path: keystore, Kind: sim.FaultReset}, []string{"reset", "eof", "connection"}},
		{"hang past the request timeout", sim.Fault{Target: "ech", Method: "PATCH", Path: keystore, Kind: sim.FaultHang}, []string{"timeout", "deadline", "no complete response"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // the cloud client's own retries wait for real
			tw := newTestWorld(t, sim.DefaultWorld())
			tw.fast("each control-plane fault must leave the link converged by the next apply; the platform's keystore load delay is the subject of TestRotationByProofWithKeystoreReloadDelay and TestKeystoreLoadingIsReportedAsLoading")
			tw.write("conn.yaml", apiKeyConn)
			tw.write("other.yaml", otherConn)
			r := tw.reconciler(false)
			r.opts.VerifyTimeout = 200 * time.Millisecond
			r.opts.RequestTimeout = 300 * time.Millisecond
			if _, err := tw.srv.Fault(tc.fault); err != nil {
				t.Fatal(err)
			}
			rep := mustPass(t, r, tw, ModeRun).Report(drift.TriggerResync, "")
			c := findConn(t, rep, "analytics-to-ece-logs")
			if c.Sync != drift.SyncFailed {
				t.Errorf("key connection: sync %s, want failed", c.Sync)
			}
			text := strings.ToLower(errorText(rep, "ech-analytics"))
			if !containsAny(text, tc.want) {
				t.Errorf("failure does not name the cause (any of %q): %s", tc.want, text)
			}
			if o := findConn(t, rep, "onprem-to-logs"); o.Sync != drift.SyncCorrected {
				t.Errorf("the other connection was affected: %s %q %+v", o.Sync, o.Error, o.Changes)
			}
			tw.srv.World.ClearFaults()
			for range 2 {
				mustPass(t, r, tw, ModeRun)
			}
			rep = tw.pass(ModePlan).Report(drift.TriggerPlan, "")
			if c := findConn(t, rep, "analytics-to-ece-logs"); rep.PendingChanges() != 0 || c.Health != drift.HealthConnected {
				t.Fatalf("did not converge: %s %s %+v", c.Sync, c.Health, c.Changes)
			}
			keys := activeCrossClusterKeys(tw.srv.World, "ece-prod-logs")
			if rec := r.Ledger().Key("analytics-to-ece-logs"); len(keys) != 1 || keys[0] != rec.ID {
				t.Fatalf("valid keys %v, ledger %s: a key leaked", keys, rec.ID)
			}
		})
	}
}

func containsAny(s string, subs []string) bool {
	for _, w := range subs {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// A control plane that answers 409 to every trust write: esremote re-reads
// and retries a bounded number of times, then reports the conflict; the
// other connection is unaffected; once the 409s stop it converges.
func TestFaultControlPlaneConflictForever(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("conn.yaml", certConn)
	tw.write("other.yaml", otherConn)
	r := tw.reconciler(false)
	r.opts.VerifyTimeout = 200 * time.Millisecond
	if _, err := tw.srv.Fault(sim.Fault{Target: "ech", Method: "PUT", Path: "/api/v1/deployments/*", Kind: sim.FaultStatus, Status: 409}); err != nil {
		t.Fatal(err)
	}
	rep := mustPass(t, r, tw, ModeRun).Report(drift.TriggerResync, "")
	c := findConn(t, rep, "analytics-to-logs-cert")
	if c.Sync != drift.SyncFailed {
		t.Errorf("sync %s, want failed", c.Sync)
	}
	if text := strings.ToLower(errorText(rep, "ech-analytics")); !containsAny(text, []string{"409", "conflict"}) {
		t.Errorf("failure does not name the conflict: %s", text)
	}
	if n := tw.srv.World.CountRequests("ech", "PUT /api/v1/deployments/{id}"); n != decide.TrustWriteAttempts {
		t.Errorf("%d trust PUTs under endless 409s, want exactly %d (bounded retries)", n, decide.TrustWriteAttempts)
	}
	if o := findConn(t, rep, "onprem-to-logs"); o.Sync != drift.SyncCorrected {
		t.Errorf("the other connection was affected: %s %q", o.Sync, o.Error)
	}
	tw.srv.World.ClearFaults()
	mustPass(t, r, tw, ModeRun)
	rep = tw.pass(ModePlan).Report(drift.TriggerPlan, "")
	if c := findConn(t, rep, "analytics-to-logs-cert"); rep.PendingChanges() != 0 || c.Health != drift.HealthConnected {
		t.Fatalf("did not converge: %s %s %+v", c.Sync, c.Health, c.Changes)
	}
}

// Two daemons of two installations (own specs, own state dirs) declaring
// one alias with different values (skip_unavailable true and false),
// passes alternating: the first writes the alias; the second finds a live
// alias it does not own and reports a conflict instead of writing, on
// every pass. There is no flapping at all: one PUT in total. (On 344d4aa
// they flipped the alias until the contest detector stopped them.)
func TestTwoInstallationsConflict(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	dirB := t.TempDir()
	tw.write("conn.yaml", proxyConn)
	for _, f := range []string{"clusters.yaml", "conn.yaml"} {
		b := mustRead(t, filepath.Join(tw.dir, f))
		if f == "conn.yaml" {
			b = strings.Replace(b, "skip_unavailable: true", "skip_unavailable: false", 1)
		}
		if err := os.WriteFile(filepath.Join(dirB, f), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	type daemon struct {
		r         *Reconciler
		dir       string
		alert     *drift.Alerter
		last      drift.Connection
		fired     bool
		contested bool
	}
	var ds [2]*daemon
	for i, dir := range []string{tw.dir, dirB} {
		r, err := New(Options{StateDir: t.TempDir(), Getenv: func(k string) string { return tw.env[k] },
			VerifyTimeout: time.Millisecond, VerifyInterval: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		a, err := drift.NewAlerter(drift.AlertConfig{})
		if err != nil {
			t.Fatal(err)
		}
		ds[i] = &daemon{r: r, dir: dir, alert: a}
	}
	const rounds = 3 * DefaultContestThreshold
	puts := make([]int, 0, rounds)
	for range rounds {
		tw.srv.World.ResetLog()
		for _, d := range ds {
			set := loadDir(t, d.dir)
			res, err := d.r.Pass(t.Context(), set, ModeRun, "")
			if err != nil {
				t.Fatal(err)
			}
			rep := res.Report(drift.TriggerResync, "")
			d.last = findConn(t, rep, "analytics-to-onprem")
			d.contested = d.contested || d.last.Sync == drift.SyncContested
			for _, a := range d.alert.Observe(rep) {
				d.fired = d.fired || (a.Name() == drift.AlertContested && !a.Resolved())
			}
		}
		puts = append(puts, tw.srv.World.CountRequests("ech-analytics", "PUT /_cluster/settings"))
	}
	t.Logf("settings PUTs per round: %v", puts)
	if total := sumInts(puts); total != 1 {
		t.Errorf("%d settings PUTs in %d rounds, want exactly 1 (the first installation's): %v", total, rounds, puts)
	}
	if ds[0].last.Sync != drift.SyncInSync || ds[0].contested {
		t.Errorf("first installation: %s, contested %v; want in_sync", ds[0].last.Sync, ds[0].contested)
	}
	if !hasFinding(ds[1].last, CodeConflict) || ds[1].last.Sync != drift.SyncFailed || ds[1].contested {
		t.Errorf("second installation: %s %+v; want failed with a %s finding", ds[1].last.Sync, ds[1].last.Findings, CodeConflict)
	}
}

func sumInts(xs []int) (n int) {
	for _, x := range xs {
		n += x
	}
	return n
}

func loadDir(t *testing.T, dir string) *spec.Set {
	t.Helper()
	set, problems, err := spec.Load(dir)
	if err != nil {
		t.Fatalf("load %s: %v %v", dir, err, problems)
	}
	return set
}

// insecure_skip_verify is never silent: a warning on every pass, not only
// the first; and without it (and without the CA) the TLS cluster is
// refused.
func TestInsecureSkipVerifyWarnsEveryPass(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := sim.Start(ctx, sim.DefaultWorld(), sim.WithTLS())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); srv.Close() })
	a := srv.Addresses().Clusters["onprem-search"]
	dir := t.TempDir()
	env := map[string]string{"PW": a.Password}
	cluster := "apiVersion: esremote/v1\nkind: Cluster\nname: onprem-search\nelasticsearch:\n  url: " + a.URL +
		"\n  insecure_skip_verify: true\n  auth: {basic: {username: " + a.Username + ", password: {env: PW}}}\n"
	conn := "apiVersion: esremote/v1\nkind: Connection\nname: onprem-to-logs\nlocal: onprem-search\nalias: logs\nremote:\n  proxy_address: ece-prod-logs.sim:9300\nsecurity: certificate\nsettings:\n  skip_unavailable: true\n"
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("clusters.yaml", cluster)
	write("conn.yaml", conn)
	r, err := New(Options{StateDir: t.TempDir(), Getenv: func(k string) string { return env[k] }, VerifyTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for pass := range 3 {
		res, err := r.Pass(t.Context(), loadDir(t, dir), ModeRun, "")
		if err != nil {
			t.Fatal(err)
		}
		c := findConn(t, res.Report(drift.TriggerResync, ""), "onprem-to-logs")
		if c.Error != "" {
			t.Fatalf("pass %d: %s", pass, c.Error)
		}
		found := false
		for _, f := range c.Findings {
			found = found || (f.Code == CodeInsecureSkipVerify && f.Severity == drift.SeverityWarning)
		}
		if !found {
			t.Fatalf("pass %d has no insecure_skip_verify warning: %+v", pass, c.Findings)
		}
	}
	// Verification on (the default), no CA given: refused, nothing written.
	write("clusters.yaml", strings.Replace(cluster, "  insecure_skip_verify: true\n", "", 1))
	srv.World.ResetLog()
	res, err := r.Pass(t.Context(), loadDir(t, dir), ModeRun, "")
	if err != nil {
		t.Fatal(err)
	}
	c := findConn(t, res.Report(drift.TriggerResync, ""), "onprem-to-logs")
	if c.Sync != drift.SyncFailed || !containsAny(strings.ToLower(c.Error), []string{"certificate", "x509", "tls"}) {
		t.Fatalf("an unverifiable TLS cluster was not refused: %s %q", c.Sync, c.Error)
	}
	if n := srv.World.CountRequests("onprem-search", ""); n != 0 {
		t.Fatalf("%d requests reached the cluster without verified TLS", n)
	}
}

// A settings PUT that comes back "acknowledged": false was committed
// (es-api.md §3.6): the value esremote wrote is live. The ledger must own
// that value afterwards, even though the alias was owned before with
// another value; otherwise, once the connection leaves the specs, the
// alias esremote wrote reads "changed since esremote wrote it" and is left
// behind while the rest of the connection is removed.
func TestUnacknowledgedWriteKeepsOwnership(t *testing.T) {
	tw, r := faultEstate(t)
	if _, err := tw.srv.Fault(sim.Fault{Target: "local-001", Method: "PUT", Path: "/_cluster/settings", Kind: sim.FaultUnacknowledged}); err != nil {
		t.Fatal(err)
	}
	mustPass(t, r, tw, ModeRun)
	tw.srv.World.ClearFaults()
	s, _ := tw.srv.World.Settings("local-001", "persistent")
	if s["cluster.remote.hub.skip_unavailable"] != "false" {
		t.Fatalf("the unacknowledged PUT did not store the settings: %v", s)
	}
	mustPass(t, r, tw, ModeRun) // in sync: nothing to write

	tw.write("links.yaml", "")
	rep := mustPass(t, r, tw, ModeApply).Report(drift.TriggerResync, "")
	s, _ = tw.srv.World.Settings("local-001", "persistent")
	for k := range s {
		if strings.HasPrefix(k, "cluster.remote.hub.") {
			t.Fatalf("the alias esremote wrote (unacknowledged) was left behind: %s in %v; report %+v", k, s, rep.Unmanaged)
		}
	}
}
