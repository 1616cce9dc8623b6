package reconcile

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/sim"
)

// Crash safety (DESIGN §9): a process killed at any point of a write flow
// converges on the next pass, leaks no key and loses no trust entry.
//
// The engine runs in this process, so a kill is simulated exactly: every
// request goes through a proxy that counts the writes; at the chosen
// write it copies the state dir as it is on disk at that instant (what a
// SIGKILL would leave), cancels the pass and forwards nothing more. The
// write itself is either never sent ("before") or sent and answered by
// the server but the answer lost ("after"). Recovery is a fresh
// Reconciler on the copied state dir, as after a restart. Between two
// HTTP writes the engine only writes its ledger, so the before/after
// points of every write cover every step of a flow:
//
//	key create │ ledger pending │ keystore PATCH │ ledger commit │ role PUT │ settings PUT │ verify │ old key invalidate
//	trust PUT local │ trust PUT remote │ settings PUT
//
// cmd/esremote's TestSIGKILLDuringRotation does one real SIGKILL of the
// binary.

// crashProxy sits in front of every sim endpoint and kills the pass at
// its at-th write request.
type crashProxy struct {
	t     *testing.T
	state string // the live state dir

	mu      sync.Mutex
	at      int  // crash at this write (1-based); 0 never
	after   bool // forward the write, then crash before the answer arrives
	writes  []string
	crashed bool
	snap    string // the state dir as the crash left it
	cancel  context.CancelFunc
}

func isWrite(r *http.Request) bool { return r.Method != http.MethodGet && r.Method != http.MethodHead }

// front starts a proxy to upstream and returns its URL.
func (cp *crashProxy) front(upstream string) string {
	u, err := url.Parse(upstream)
	if err != nil {
		cp.t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = nil
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		cp.mu.Lock()
		if cp.crashed {
			cp.mu.Unlock()
			http.Error(rw, "process is dead", http.StatusServiceUnavailable)
			return
		}
		crashNow := false
		if isWrite(r) {
			cp.writes = append(cp.writes, r.Method+" "+u.Host+" "+r.URL.Path)
			crashNow = len(cp.writes) == cp.at
		}
		cp.mu.Unlock()
		if !crashNow {
			rp.ServeHTTP(rw, r)
			return
		}
		if cp.after {
			rp.ServeHTTP(httptest.NewRecorder(), r)
		}
		cp.crash()
		http.Error(rw, "process is dead", http.StatusServiceUnavailable)
	}))
	cp.t.Cleanup(srv.Close)
	return srv.URL
}

// crash freezes the state dir as it is now and stops the pass.
func (cp *crashProxy) crash() {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	cp.crashed = true
	cp.snap = cp.t.TempDir()
	copyDir(cp.t, cp.state, cp.snap)
	if cp.cancel != nil {
		cp.cancel()
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// crashWorld is a test world whose clusters.yaml points at crash proxies.
type crashWorld struct {
	*testWorld
	proxy *crashProxy
	now   time.Time
	// foreign is each deployment's trust entries esremote does not own,
	// as the setup left them.
	foreign map[string]string
}

func newCrashWorld(t *testing.T, conn string) *crashWorld {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.fast("counts and crashes the writes of one flow at each step; the platform's keystore load delay is the subject of TestRotationByProofWithKeystoreReloadDelay and TestKeystoreLoadingIsReportedAsLoading")
	cw := &crashWorld{testWorld: tw, proxy: &crashProxy{t: t, state: tw.state}, now: time.Now()}
	tw.srv.World.Now = func() time.Time { return cw.now }
	tw.frontEndpoints(cw.proxy.front)
	tw.write("conn.yaml", conn)
	return cw
}

// pass runs one pass on stateDir with a fresh Reconciler (a restart).
func (cw *crashWorld) pass(ctx context.Context, stateDir string, mode Mode) *drift.Report {
	cw.t.Helper()
	r, err := New(Options{StateDir: stateDir, ReadOnly: mode == ModePlan, Getenv: func(k string) string { return cw.env[k] },
		Now: func() time.Time { return cw.now }, VerifyTimeout: 2 * time.Second, VerifyInterval: 10 * time.Millisecond})
	if err != nil {
		cw.t.Fatal(err)
	}
	res, err := r.Pass(ctx, cw.load(), mode, "")
	if err != nil {
		cw.t.Fatal(err)
	}
	return res.Report(drift.TriggerApply, "")
}

// crashAt runs one apply pass that dies at the at-th write and returns
// the state dir the crash left.
func (cw *crashWorld) crashAt(at int, after bool) string {
	cw.t.Helper()
	ctx, cancel := context.WithCancel(cw.t.Context())
	defer cancel()
	cw.proxy.mu.Lock()
	cw.proxy.at, cw.proxy.after, cw.proxy.writes, cw.proxy.cancel = at, after, nil, cancel
	cw.proxy.mu.Unlock()
	cw.pass(ctx, cw.state, ModeApply)
	cw.proxy.mu.Lock()
	defer cw.proxy.mu.Unlock()
	if !cw.proxy.crashed {
		cw.t.Fatalf("the pass made only %d writes, no crash at %d: %v", len(cw.proxy.writes), at, cw.proxy.writes)
	}
	cw.proxy.crashed, cw.proxy.at, cw.proxy.cancel = false, 0, nil
	return cw.proxy.snap
}

// recover restarts on stateDir until a pass changes nothing, and returns
// the final plan's report.
func (cw *crashWorld) recover(stateDir, conn string) drift.Connection {
	cw.t.Helper()
	for range 3 {
		cw.pass(cw.t.Context(), stateDir, ModeApply)
	}
	// A rotation's old key goes once the new one has been proven over
	// the window (DESIGN §5, proof is per node): one more pass after it.
	cw.now = cw.now.Add(DefaultRotationOverlap + time.Minute)
	cw.pass(cw.t.Context(), stateDir, ModeApply)
	rep := cw.pass(cw.t.Context(), stateDir, ModePlan)
	c := findConn(cw.t, rep, conn)
	if rep.PendingChanges() != 0 || c.Health != drift.HealthConnected {
		cw.t.Fatalf("not converged after a restart: sync %s health %s error %q\n%+v\n%+v", c.Sync, c.Health, c.Error, c.Changes, c.Findings)
	}
	return c
}

// checkKeys proves nothing leaked: the only valid cross-cluster key on
// the remote is the one the ledger records, the local keystore holds its
// secret, and no record is pending.
func (cw *crashWorld) checkKeys(stateDir, conn, local, remote string) {
	cw.t.Helper()
	led, err := OpenLedger(stateDir)
	if err != nil {
		cw.t.Fatal(err)
	}
	rec := led.Key(conn)
	if rec == nil || rec.Pending || rec.Previous != nil {
		cw.t.Fatalf("ledger key record: %+v", rec)
	}
	var active []string
	for _, k := range cw.srv.World.State()[remote].APIKeys {
		if k.Active && k.Type == "cross_cluster" {
			active = append(active, k.ID)
		}
	}
	if len(active) != 1 || active[0] != rec.ID {
		cw.t.Fatalf("valid esremote keys on %s: %v; the ledger knows only %s", remote, active, rec.ID)
	}
	ks, err := cw.srv.World.Keystore(local)
	if err != nil {
		cw.t.Fatal(err)
	}
	ck := CredentialsKey("ece-prod-logs")
	if Fingerprint(ks[ck]) != rec.Fingerprint {
		cw.t.Fatalf("keystore of %s does not hold the ledger's key", local)
	}
	if r := led.Keystore(local, ck); r == nil || r.Fingerprint != rec.Fingerprint || r.Pending {
		cw.t.Fatalf("ledger keystore record: %+v, key %s", r, rec.Fingerprint)
	}
}

// release removes the connection from the specs and applies: everything
// esremote wrote must go (ownership survived the crash, pending records
// included: a pending record whose value is live is owned, see Ledger),
// and nothing else.
func (cw *crashWorld) release(stateDir, local, alias string) {
	cw.t.Helper()
	cw.remove("conn.yaml")
	cw.pass(cw.t.Context(), stateDir, ModeApply)
	st, err := cw.srv.World.Settings(local, "persistent")
	if err != nil {
		cw.t.Fatal(err)
	}
	for k := range st {
		if strings.HasPrefix(k, es.RemoteKey(alias, "")) {
			cw.t.Errorf("after the connection left the specs %s still has %s: ownership was lost", local, k)
		}
	}
}

// writesOf counts the writes of one clean pass of a flow.
func writesOf(t *testing.T, setup func(*crashWorld), conn string) []string {
	cw := newCrashWorld(t, conn)
	setup(cw)
	cw.proxy.mu.Lock()
	cw.proxy.writes = nil
	cw.proxy.mu.Unlock()
	cw.pass(t.Context(), cw.state, ModeApply)
	cw.proxy.mu.Lock()
	defer cw.proxy.mu.Unlock()
	return cw.proxy.writes
}

// forEveryCrashPoint runs check after a crash before and after each write
// of the flow setup leads to.
func forEveryCrashPoint(t *testing.T, conn string, minWrites int, setup func(*crashWorld), check func(*crashWorld, string)) {
	writes := writesOf(t, setup, conn)
	t.Logf("writes of the flow: %v", writes)
	if len(writes) < minWrites {
		t.Fatalf("the flow made %d writes, want at least %d: %v", len(writes), minWrites, writes)
	}
	for i, w := range writes {
		for _, after := range []bool{false, true} {
			name := fmt.Sprintf("%d-before-%s", i+1, w)
			if after {
				name = fmt.Sprintf("%d-after-%s", i+1, w)
			}
			t.Run(strings.NewReplacer("/", "_", " ", "_").Replace(name), func(t *testing.T) {
				cw := newCrashWorld(t, conn)
				setup(cw)
				snap := cw.crashAt(i+1, after)
				check(cw, snap)
			})
		}
	}
}

// The first apply of a managed-key link: key create, ledger pending,
// keystore PATCH, ledger commit, role PUT, settings PUT, verify.
func TestCrashDuringKeyCreate(t *testing.T) {
	forEveryCrashPoint(t, apiKeyConn, 4, func(*crashWorld) {}, func(cw *crashWorld, snap string) {
		cw.recover(snap, "analytics-to-ece-logs")
		cw.checkKeys(snap, "analytics-to-ece-logs", "ech-analytics", "ece-prod-logs")
		cw.release(snap, "ech-analytics", "ece-prod-logs")
		for _, k := range cw.srv.World.State()["ece-prod-logs"].APIKeys {
			if k.Active && k.Type == "cross_cluster" {
				cw.t.Errorf("key %s still valid after the connection left the specs", k.ID)
			}
		}
	})
}

// A rotation near expiry: new key create, ledger pending, keystore PATCH,
// ledger commit, verify, old key invalidate.
func TestCrashDuringKeyRotation(t *testing.T) {
	setup := func(cw *crashWorld) {
		cw.pass(cw.t.Context(), cw.state, ModeApply)
		cw.now = cw.now.Add(80 * 24 * time.Hour)
	}
	forEveryCrashPoint(t, apiKeyConn, 3, setup, func(cw *crashWorld, snap string) {
		cw.recover(snap, "analytics-to-ece-logs")
		cw.checkKeys(snap, "analytics-to-ece-logs", "ech-analytics", "ece-prod-logs")
	})
}

// A certificate link's trust: PUT on the local deployment, PUT on the
// remote one, then the settings. A hand-made entry on each side must
// survive every crash.
func TestCrashDuringTrustUpdate(t *testing.T) {
	setup := func(cw *crashWorld) {
		handMade(cw.t, cw.srv.World)
		cw.foreign = map[string]string{}
		for _, name := range []string{"ech-analytics", "ece-prod-logs"} {
			cw.foreign[name] = foreignEntries(cw.t, cw.srv.World, name)
		}
	}
	forEveryCrashPoint(t, certConn, 3, setup, func(cw *crashWorld, snap string) {
		cw.recover(snap, "analytics-to-logs-cert")
		w := cw.srv.World
		_, env, _ := w.ControlPlaneCA(sim.PlatformECE)
		_, org, _ := w.ControlPlaneCA(sim.PlatformECH)
		if directOf(trustOf(cw.t, w, "ech-analytics"), "ECE", env) == nil || directOf(trustOf(cw.t, w, "ece-prod-logs"), "ESS", org) == nil {
			cw.t.Fatal("a trust entry esremote wrote is missing")
		}
		for _, name := range []string{"ech-analytics", "ece-prod-logs"} {
			if got := foreignEntries(cw.t, w, name); got != cw.foreign[name] {
				cw.t.Fatalf("trust entries esremote does not own changed on %s:\n%s\nwant\n%s", name, got, cw.foreign[name])
			}
		}
		led, err := OpenLedger(snap)
		if err != nil {
			cw.t.Fatal(err)
		}
		for _, name := range []string{"ech-analytics", "ece-prod-logs"} {
			info, _ := w.Cluster(name)
			if len(led.TrustEntries(info.DeploymentID)) == 0 {
				cw.t.Errorf("ledger has no trust entry for %s", name)
			}
		}
		// Ownership survived: releasing the link removes esremote's
		// entries and keeps the others.
		cw.release(snap, "ech-analytics", "ece-prod-logs")
		if directOf(trustOf(cw.t, w, "ech-analytics"), "ECE", env) != nil || directOf(trustOf(cw.t, w, "ece-prod-logs"), "ESS", org) != nil {
			cw.t.Error("esremote's trust entries survived the release: ownership was lost in the crash")
		}
		for _, name := range []string{"ech-analytics", "ece-prod-logs"} {
			if got := foreignEntries(cw.t, w, name); got != cw.foreign[name] {
				cw.t.Fatalf("release changed entries esremote does not own on %s:\n%s", name, got)
			}
		}
	})
}
