package reconcile

// Benchmarks of DESIGN §8 against the simulated world with an injected
// round trip. Every figure is reported with b.ReportMetric next to the
// lower bound the network sets, so a reader sees how far the engine is
// from it. BENCHMARKS.md has the method and the figures; `make bench`
// runs them.

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/daemon"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/observe"
	"github.com/esremote/esremote/reconcile/sim"
	"github.com/esremote/esremote/spec"
)

// benchRTT is the simulated round trip of every request (DESIGN §8).
const benchRTT = 20 * time.Millisecond

// benchAliases is how many aliases (connections) each local cluster has.
const benchAliases = 25

// benchEstate is a simulated world of self-managed local clusters, each
// with benchAliases certificate-model connections in proxy mode to a
// shared hub, and the spec directory that declares it.
type benchEstate struct {
	tb      testing.TB
	srv     *sim.Server
	dir     string
	state   string
	env     map[string]string
	locals  int
	aliases int
	cancel  context.CancelFunc
}

// newBenchEstate starts the sim world and writes the specs. The world has
// no latency yet: see slow.
func newBenchEstate(tb testing.TB, locals, aliases int) *benchEstate {
	tb.Helper()
	ws := sim.WorldSpec{Clusters: []sim.ClusterSpec{{Name: "hub", Version: "8.19.3", Platform: "self-managed"}}}
	for i := range locals {
		ws.Clusters = append(ws.Clusters, sim.ClusterSpec{Name: benchLocal(i), Version: "8.19.3", Platform: "self-managed"})
	}
	w, err := sim.NewWorld(ws)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := sim.Start(ctx, w)
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	e := &benchEstate{tb: tb, srv: srv, dir: tb.TempDir(), state: tb.TempDir(), env: map[string]string{},
		locals: locals, aliases: aliases, cancel: cancel}
	tb.Cleanup(e.close)
	var b strings.Builder
	addrs := srv.Addresses()
	for _, name := range w.Clusters() {
		c := addrs.Clusters[name]
		pw := "ES_PASSWORD_" + envName(name)
		e.env[pw] = c.Password
		fmt.Fprintf(&b, "---\napiVersion: esremote/v1\nkind: Cluster\nname: %s\nelasticsearch:\n  url: %s\n  auth: {basic: {username: %s, password: {env: %s}}}\n", name, c.URL, c.Username, pw)
	}
	e.write("clusters.yaml", b.String())
	e.writeLinks(-1)
	return e
}

func benchLocal(i int) string { return fmt.Sprintf("local-%03d", i) }

func (e *benchEstate) close() {
	e.cancel()
	e.srv.Close()
}

// writeLinks writes every connection. The connections of local cluster
// flip (when >= 0) get skip_unavailable false instead of true: an edit.
// The file is replaced with a rename, as editors save.
func (e *benchEstate) writeLinks(flip int) {
	var b strings.Builder
	for i := range e.locals {
		skip := i != flip
		for a := range e.aliases {
			fmt.Fprintf(&b, "---\napiVersion: esremote/v1\nkind: Connection\nname: link-%03d-%02d\nlocal: %s\nalias: hub-%02d\nremote:\n  proxy_address: hub.sim:9400\n  server_name: hub.sim\nsecurity: certificate\nsettings:\n  skip_unavailable: %t\n", i, a, benchLocal(i), a, skip)
		}
	}
	e.write("links.yaml", b.String())
}

func (e *benchEstate) write(name, content string) {
	e.tb.Helper()
	tmp := filepath.Join(e.dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		e.tb.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(e.dir, name)); err != nil {
		e.tb.Fatal(err)
	}
}

func (e *benchEstate) load() *spec.Set {
	e.tb.Helper()
	set, problems, err := spec.Load(e.dir)
	if err != nil {
		e.tb.Fatalf("load specs: %v\n%v", err, problems)
	}
	return set
}

// reconciler is a daemon's Reconciler at the given concurrency (0: the
// default), its ledger on disk when disk is set, else in memory. The
// sim's self-managed certificate links never connect (the sim needs two
// deployments for certificate trust), so the verify window is cut to one
// read: exactly the cost of a link that connects at once.
func (e *benchEstate) reconciler(concurrency int, disk bool) *Reconciler {
	e.tb.Helper()
	state := ""
	if disk {
		state = e.state
	}
	r, err := New(Options{StateDir: state, Concurrency: concurrency, Getenv: func(k string) string { return e.env[k] },
		VerifyTimeout: time.Millisecond, VerifyInterval: time.Millisecond})
	if err != nil {
		e.tb.Fatal(err)
	}
	return r
}

// slow gives every request the round trip rtt.
func (e *benchEstate) slow(rtt time.Duration) {
	e.tb.Helper()
	if _, err := e.srv.Fault(sim.Fault{Kind: sim.FaultLatency, Latency: rtt}); err != nil {
		e.tb.Fatal(err)
	}
}

// counts returns the requests and writes the sim saw since the last reset.
func (e *benchEstate) counts() (requests, writes int) {
	for _, r := range e.srv.Log() {
		requests++
		if r.Method != "GET" && r.Method != "HEAD" {
			writes++
		}
	}
	return requests, writes
}

// waves is how many rounds of concurrency clusters a pass over n needs.
func waves(n, concurrency int) int { return (n + concurrency - 1) / concurrency }

// lowerBound is the network's floor for a pass: the requests on one
// cluster's critical path, one round trip each, times the waves.
func lowerBound(perCluster, clusters, concurrency int) time.Duration {
	return time.Duration(perCluster*waves(clusters, concurrency)) * benchRTT
}

// reportPass reports wall time, requests and writes per pass and the
// ratio to the bound.
func reportPass(b *testing.B, e *benchEstate, wall time.Duration, passes int, bound time.Duration) {
	req, wr := e.counts()
	per := wall / time.Duration(passes)
	b.ReportMetric(float64(per.Milliseconds()), "ms/pass")
	b.ReportMetric(float64(req)/float64(passes), "requests/pass")
	b.ReportMetric(float64(wr)/float64(passes), "writes/pass")
	b.ReportMetric(float64(bound.Milliseconds()), "bound-ms")
	b.ReportMetric(float64(per)/float64(bound), "x-bound")
	b.ReportMetric(0, "ns/op") // ms/pass says it; ns/op would repeat it
}

// BenchmarkPassSteady is a daemon pass over an estate that is in sync:
// three reads per local cluster (GET /, GET /_cluster/settings,
// GET /_remote/info), sent at once, and no write. Bound: 1 round trip ×
// ceil(clusters / concurrency). The sizes are DESIGN §8's, 10 to 1,000
// clusters, and give the growth table of BENCHMARKS.md. cpu-ms/pass is the
// process's CPU per pass, engine and in-process sim together.
//
// concurrency=32 shows what the default of 8 costs: each cluster still
// sees its reads at once, the waves drop from 25 to 7.
func BenchmarkPassSteady(b *testing.B) {
	for _, c := range []struct{ n, concurrency int }{{10, 8}, {50, 8}, {100, 8}, {200, 8}, {1000, 8}, {200, 32}} {
		name := fmt.Sprintf("clusters=%d", c.n)
		if c.concurrency != 8 {
			name += fmt.Sprintf("/concurrency=%d", c.concurrency)
		}
		n := c.n
		b.Run(name, func(b *testing.B) {
			e := newBenchEstate(b, n, benchAliases)
			// The daemon keeps its Reconciler between passes; a steady
			// pass writes no ledger, so an in-memory one costs the same
			// and spares the setup the first pass's ledger saves.
			r := e.reconciler(c.concurrency, false)
			if _, err := r.Pass(b.Context(), e.load(), ModeApply, ""); err != nil {
				b.Fatal(err)
			}
			set := e.load()
			e.slow(benchRTT)
			e.srv.World.ResetLog()
			passes := 0
			var wall, cpu time.Duration
			for b.Loop() {
				start, cpu0 := time.Now(), processCPU()
				res, err := r.Pass(b.Context(), set, ModeRun, "")
				wall += time.Since(start)
				cpu += processCPU() - cpu0
				if err != nil {
					b.Fatal(err)
				}
				if rep := res.Report(drift.TriggerResync, ""); rep.Summary.InSync != n*benchAliases {
					b.Fatalf("not in sync: %+v", rep.Summary)
				}
				passes++
			}
			reportPass(b, e, wall, passes, lowerBound(1, n, r.opts.Concurrency)) // the three reads travel at once
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(passes), "cpu-ms/pass")
		})
	}
}

// BenchmarkPassFirst is the first pass over an estate with nothing
// configured: per local cluster the three reads, one PUT
// /_cluster/settings with all 25 aliases, one verify read (the evidence
// request). Bound: 3 round trips × ceil(clusters / concurrency), as
// since 344d4aa. Since 32785a9 the PUT's precondition (the settings and
// the cluster's identity) is read again right before it (DESIGN §4,
// execute), a fourth round trip on the critical path: BENCHMARKS.md gives
// the ratio to both.
// Each iteration builds a fresh world, outside the timer.
//
// ledger=disk is the daemon as shipped; ledger=memory takes the ledger's
// saves out to show what the network alone costs. The ledger is saved
// whole, twice per alias written, so its cost grows with the square of
// the estate: 200 clusters on disk take minutes and run only when
// ESREMOTE_BENCH_FULL is set (BENCHMARKS.md quotes a run).
func BenchmarkPassFirst(b *testing.B) {
	for _, c := range []struct {
		n    int
		disk bool
	}{{10, false}, {10, true}, {50, false}, {50, true}, {200, false}, {200, true}} {
		ledger := "memory"
		if c.disk {
			ledger = "disk"
		}
		b.Run(fmt.Sprintf("clusters=%d/ledger=%s", c.n, ledger), func(b *testing.B) {
			if c.disk && c.n > 50 && os.Getenv("ESREMOTE_BENCH_FULL") == "" {
				b.Skip("minutes long: set ESREMOTE_BENCH_FULL=1")
			}
			benchFirst(b, c.n, c.disk)
		})
	}
}

func benchFirst(b *testing.B, n int, disk bool) {
	var wall time.Duration
	var req, wr int
	passes := 0
	for b.Loop() {
		b.StopTimer()
		e := newBenchEstate(b, n, benchAliases)
		r := e.reconciler(0, disk)
		set := e.load()
		e.slow(benchRTT)
		b.StartTimer()
		start := time.Now()
		res, err := r.Pass(b.Context(), set, ModeApply, "")
		wall += time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if rep := res.Report(drift.TriggerStart, ""); rep.Summary.Corrected != n*benchAliases {
			b.Fatalf("not all created: %+v", rep.Summary)
		}
		q, w := e.counts()
		req, wr = req+q, wr+w
		passes++
		e.close()
		b.StartTimer()
	}
	per := wall / time.Duration(passes)
	bound := lowerBound(3, n, 8) // reads at once, the PUT, one verify read
	b.ReportMetric(float64(per.Milliseconds()), "ms/pass")
	b.ReportMetric(float64(req)/float64(passes), "requests/pass")
	b.ReportMetric(float64(wr)/float64(passes), "writes/pass")
	b.ReportMetric(float64(bound.Milliseconds()), "bound-ms")
	b.ReportMetric(float64(per)/float64(bound), "x-bound")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkObserve measures the reads alone over 200 clusters at
// concurrency 8 — what a steady-state pass is made of — as the engine does
// them: the three reads of a cluster at once, so one round trip per wave.
func BenchmarkObserve(b *testing.B) {
	const n, concurrency = 200, 8
	e := newBenchEstate(b, n, benchAliases)
	r := e.reconciler(concurrency, false)
	set := e.load()
	clients := make([]*es.Client, n)
	for i := range n {
		c, err := r.ESClient(set, set.Cluster(benchLocal(i)))
		if err != nil {
			b.Fatal(err)
		}
		clients[i] = c
	}
	e.slow(benchRTT)
	var wall time.Duration
	passes := 0
	for b.Loop() {
		start := time.Now()
		sem := make(chan struct{}, concurrency)
		var wg sync.WaitGroup
		for i, c := range clients {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				if _, err := observe.Read(b.Context(), c, benchLocal(i)); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		wall += time.Since(start)
		passes++
	}
	reportPass(b, e, wall, passes, lowerBound(1, n, concurrency))
}

// BenchmarkConvergence measures file saved → corrections applied through
// the daemon's own path: Watch (fsnotify) → Loop (debounce) → spec.Load →
// Pass. Each iteration is one edit that flips skip_unavailable on every
// alias of one local cluster (rotating); the clock stops when the sim
// answers that cluster's PUT /_cluster/settings. Target (DESIGN §8):
// p99 < debounce + 3 round trips + 50 ms.
//
// ledger=memory takes the ledger's saves (one per alias, before the PUT)
// off the critical path, to show their share. A file change starts a full
// pass, so in a larger estate the edited cluster also waits for its wave:
// clusters=50 shows it (ESREMOTE_BENCH_FULL only, for time).
func BenchmarkConvergence(b *testing.B) {
	for _, c := range []struct {
		n    int
		disk bool
	}{{1, true}, {8, true}, {8, false}, {50, true}} {
		ledger := "memory"
		if c.disk {
			ledger = "disk"
		}
		b.Run(fmt.Sprintf("clusters=%d/ledger=%s", c.n, ledger), func(b *testing.B) {
			if c.n > 8 && os.Getenv("ESREMOTE_BENCH_FULL") == "" {
				b.Skip("minutes long: set ESREMOTE_BENCH_FULL=1")
			}
			benchConvergence(b, c.n, c.disk)
		})
	}
}

func benchConvergence(b *testing.B, n int, disk bool) {
	e := newBenchEstate(b, n, benchAliases)
	r := e.reconciler(0, disk)
	if _, err := r.Pass(b.Context(), e.load(), ModeApply, ""); err != nil {
		b.Fatal(err)
	}
	e.slow(benchRTT)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes, err := daemon.Watch(ctx, e.dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	passed := make(chan daemon.PassRequest, 16)
	loop, err := daemon.NewLoop(daemon.LoopConfig{Dir: e.dir, Load: spec.Load, Changes: changes, Resync: time.Hour,
		Affected: daemon.AffectedLocals, // as esremote run does
		Pass: func(ctx context.Context, req daemon.PassRequest) (*drift.Report, error) {
			var res *Result
			var err error
			if req.Targets == nil {
				res, err = r.Pass(ctx, req.Set, ModeRun, "")
			} else {
				res, err = r.PassTargets(ctx, req.Set, ModeRun, req.Targets)
			}
			if err != nil {
				return nil, err
			}
			passed <- req
			return res.Report(req.Trigger, ""), nil
		}})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- loop.Run(ctx) }()
	<-passed // the start pass

	var lat []time.Duration
	flip := -1
	for b.Loop() {
		flip = (flip + 1) % n
		e.srv.World.ResetLog()
		saved := time.Now()
		e.writeLinks(flip)
		// Wait for the file pass; an event that straggles in from the
		// previous edit can only start a pass with the same set.
		for req := <-passed; req.Trigger != drift.TriggerFile; req = <-passed {
		}
		var applied time.Time
		for _, q := range e.srv.Log() {
			if q.Target == benchLocal(flip) && q.Endpoint == "PUT /_cluster/settings" {
				applied = q.Time
			}
		}
		if applied.IsZero() {
			b.Fatalf("edit %d: no PUT on %s", len(lat), benchLocal(flip))
		}
		lat = append(lat, applied.Sub(saved))
		// Undo the edit outside the timer, so each timed edit changes
		// one cluster.
		b.StopTimer()
		e.writeLinks(-1)
		for req := <-passed; req.Trigger != drift.TriggerFile; req = <-passed {
		}
		b.StartTimer()
	}
	cancel()
	<-done
	slices.Sort(lat)
	target := daemon.DefaultDebounceMin + 3*benchRTT + 50*time.Millisecond
	b.ReportMetric(ms(percentile(lat, 0.50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
	b.ReportMetric(ms(target), "target-ms")
	b.ReportMetric(float64(len(lat)), "edits")
	b.ReportMetric(0, "ns/op")
}

// processCPU is the CPU time (user + system) the benchmark's process has
// used so far: the engine's and the in-process sim's together, on the
// same CPUs. Per pass it says how much of a wave's time the CPUs take.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// percentile of sorted durations, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// newBenchAPIKeyEstate is an ECH/ECE world: locals ECH deployments, each
// with one managed-key API-key connection (and a role) to one shared ECE
// deployment. Its passes include the Cloud API (the remote's endpoint,
// every local's keystore on the first pass) and the remote's key reads.
func newBenchAPIKeyEstate(tb testing.TB, locals int) *benchEstate {
	tb.Helper()
	ws := sim.WorldSpec{ControlPlanes: map[string]sim.ControlPlaneSpec{sim.PlatformECH: {}, sim.PlatformECE: {}},
		Clusters: []sim.ClusterSpec{{Name: "ece-logs", Version: "8.19.3", Platform: sim.PlatformECE, Indices: []string{"logs-app"}}}}
	for i := range locals {
		ws.Clusters = append(ws.Clusters, sim.ClusterSpec{Name: benchLocal(i), Version: "8.19.3", Platform: sim.PlatformECH})
	}
	w, err := sim.NewWorld(ws)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := sim.Start(ctx, w)
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	e := &benchEstate{tb: tb, srv: srv, dir: tb.TempDir(), state: tb.TempDir(), env: map[string]string{},
		locals: locals, aliases: 1, cancel: cancel}
	tb.Cleanup(e.close)
	var b strings.Builder
	addrs := srv.Addresses()
	for _, name := range w.Clusters() {
		c := addrs.Clusters[name]
		pw := "ES_PASSWORD_" + envName(name)
		e.env[pw] = c.Password
		fmt.Fprintf(&b, "---\napiVersion: esremote/v1\nkind: Cluster\nname: %s\nelasticsearch:\n  url: %s\n  auth: {basic: {username: %s, password: {env: %s}}}\n", name, c.URL, c.Username, pw)
		cp := addrs.ControlPlanes[c.Platform]
		key := "CLOUD_KEY_" + envName(c.Platform)
		e.env[key] = cp.APIKey
		fmt.Fprintf(&b, "deployment:\n  platform: %s\n  api: %s\n  auth: {api_key: {env: %s}}\n  id: %s\n", c.Platform, cp.URL, key, c.DeploymentID)
		if c.RefID != "" {
			fmt.Fprintf(&b, "  ref_id: %s\n", c.RefID)
		}
	}
	e.write("clusters.yaml", b.String())
	b.Reset()
	for i := range locals {
		fmt.Fprintf(&b, "---\napiVersion: esremote/v1\nkind: Connection\nname: link-%03d\nlocal: %s\nalias: ece-logs\nremote: {cluster: ece-logs}\nsecurity: api_key\napi_key:\n  managed: true\n  access: {search: [{names: [\"logs-*\"]}]}\nsettings:\n  skip_unavailable: true\nroles:\n  - name: logs-reader\n    remote_indices: [{names: [\"logs-*\"], privileges: [read]}]\n", i, benchLocal(i))
	}
	e.write("links.yaml", b.String())
	return e
}

// BenchmarkPassAPIKey is the ECH/ECE API-key world: a first pass (per
// local a key created on the remote, its keystore entry written through
// the Cloud API, one settings PUT, a role), steady passes (evidence
// fresh) and an evidence pass (a minute later: the evidence is no longer
// fresh, one _resolve/cluster per local, sent with its reads).
//
// A steady pass sends, per local, GET /, GET /_cluster/settings,
// GET /_remote/info and GET /_security/role at once, and once per pass the
// remote's deployment through the ECE API (before the locals: it resolves
// the endpoint), and the remote's GET / and key list at once, started as
// soon as the first local is observed. Bound: the deployment read, then
// one round trip per wave of locals, the remote's reads overlapping the
// later waves (with one wave they add one): max(1 + waves, 3) round trips.
// The evidence pass has the same bound: each local's evidence request
// travels with its reads. The first pass's bound is not a clean formula
// (the Cloud API client paces itself); its figure is reported without one.
func BenchmarkPassAPIKey(b *testing.B) {
	for _, n := range []int{10, 50} {
		b.Run(fmt.Sprintf("clusters=%d", n), func(b *testing.B) {
			e := newBenchAPIKeyEstate(b, n)
			r := e.reconciler(0, false)
			r.opts.CloudRate, r.opts.CloudBurst = 1000, 1000 // the sim does not rate-limit
			set := e.load()
			e.slow(benchRTT)
			start := time.Now()
			res, err := r.Pass(b.Context(), set, ModeApply, "")
			if err != nil {
				b.Fatal(err)
			}
			first := time.Since(start)
			if rep := res.Report(drift.TriggerApply, ""); rep.Summary.Failed != 0 {
				b.Fatalf("first pass failed: %+v %+v", rep.Summary, rep.Errors)
			}
			firstReq, firstWr := e.counts()
			// The pass after apply asks each link again (its socket state
			// changed since the verify): outside the timer.
			if _, err := r.Pass(b.Context(), set, ModeRun, ""); err != nil {
				b.Fatal(err)
			}
			e.srv.World.ResetLog()
			passes := 0
			var wall time.Duration
			for b.Loop() {
				start := time.Now()
				res, err := r.Pass(b.Context(), set, ModeRun, "")
				wall += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				if rep := res.Report(drift.TriggerResync, ""); rep.PendingChanges() != 0 || rep.Summary.Failed != 0 {
					b.Fatalf("not in sync: %+v", rep.Summary)
				}
				passes++
			}
			w := waves(n, r.opts.Concurrency)
			bound := time.Duration(max(1+w, 3)) * benchRTT
			reportPass(b, e, wall, passes, bound)
			// The evidence pass: a minute later the evidence is no longer
			// fresh and each local is asked again, with its reads.
			b.StopTimer()
			e.srv.World.ResetLog()
			later := time.Now().Add(EvidenceFresh)
			r.opts.Now = func() time.Time { return later }
			start = time.Now()
			res, err = r.Pass(b.Context(), set, ModeRun, "")
			evidence := time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			if rep := res.Report(drift.TriggerResync, ""); rep.PendingChanges() != 0 || rep.Summary.Failed != 0 {
				b.Fatalf("not in sync: %+v", rep.Summary)
			}
			evidenceReq, _ := e.counts()
			b.ReportMetric(float64(evidence.Milliseconds()), "evidence-ms")
			b.ReportMetric(float64(evidenceReq), "evidence-requests")
			b.ReportMetric(float64(first.Milliseconds()), "first-ms")
			b.ReportMetric(float64(firstReq), "first-requests")
			b.ReportMetric(float64(firstWr), "first-writes")
		})
	}
}
