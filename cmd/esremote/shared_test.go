package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/daemon"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/sim"
	"github.com/esremote/esremote/reconcile/state"
)

const skipKey = "cluster.remote.ece-prod-logs.skip_unavailable"

// sharedWorld is a simulated world and a spec dir for daemons sharing
// --state-store onprem-search.
type sharedWorld struct {
	t   *testing.T
	srv *sim.Server
	bin string
	dir string
	env []string
}

func newSharedWorld(t *testing.T) *sharedWorld {
	t.Helper()
	bin, err := exec.LookPath("esremote") // the test binary, linked by testscript.Main
	if err != nil {
		t.Fatal(err)
	}
	w := sim.DefaultWorld()
	sim.UserDelays.Fill(w) // as `esremote sim` serves it
	srv, err := sim.Start(context.Background(), w, sim.WithTLS())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sim-ca.pem"), srv.CACertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	yaml, values := simClustersYAML(srv.Addresses(), "sim-ca.pem", func(name string) string { return "{env: " + envName(name) + "}" })
	env := os.Environ()
	for n, v := range values {
		env = append(env, envName(n)+"="+v)
	}
	// The demo's flagship api_key link; the state store is onprem-search,
	// which no connection touches.
	for name, body := range map[string]string{"clusters.yaml": yaml, "conn.yaml": demoMainConn} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &sharedWorld{t: t, srv: srv, bin: bin, dir: dir, env: env}
}

// daemonProc is one `esremote run` process.
type daemonProc struct {
	cmd      *exec.Cmd
	addr     string
	stateDir string
	out      *logWatch
}

// holder is the process's name in the lease and in X-Opaque-Id.
func (d *daemonProc) holder() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, d.cmd.Process.Pid)
}

// start runs a daemon with its own state dir, sharing the store.
func (w *sharedWorld) start(ttl, resync time.Duration) *daemonProc {
	w.t.Helper()
	return w.startIn(w.dir, ttl, resync)
}

// startIn runs a daemon on the spec dir dir.
func (w *sharedWorld) startIn(dir string, ttl, resync time.Duration) *daemonProc {
	w.t.Helper()
	// The daemon picks its port and says which in its log: a port chosen
	// here and closed before the daemon binds it could be taken meanwhile
	// ("address already in use").
	d := &daemonProc{stateDir: w.t.TempDir(), out: newLogWatch()}
	d.cmd = exec.Command(w.bin, "run", "--listen", "127.0.0.1:0", "--state-dir", d.stateDir, "--state-store", "onprem-search",
		"--lease-ttl", ttl.String(), "--resync", resync.String(), "--debounce", "50ms:200ms", dir)
	d.cmd.Env = w.env
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() {
		_ = d.cmd.Process.Kill()
		_ = d.cmd.Wait()
		if w.t.Failed() {
			w.t.Logf("daemon %s output:\n%s", d.addr, d.out)
		}
	})
	select {
	case d.addr = <-d.out.addr:
	case <-time.After(failsafe):
		w.t.Fatalf("no listen address in the daemon's log:\n%s", d.out)
	}
	return d
}

// get returns the body of a GET on the daemon's API ("" on failure).
func (d *daemonProc) get(path string) string {
	resp, err := http.Get("http://" + d.addr + path)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return b.String()
}

// status is the daemon's last report (nil before its first pass or when
// it does not answer).
func (d *daemonProc) status() *drift.Report {
	resp, err := http.Get("http://" + d.addr + "/status")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil
	}
	r, err := drift.ReadJSON(resp.Body)
	if err != nil {
		return nil
	}
	return r
}

// reports are the reports the daemon saved (its history) of passes that
// observed the world after since, oldest first.
func (d *daemonProc) reports(t *testing.T, since time.Time) []*drift.Report {
	t.Helper()
	list, err := drift.NewHistory(d.stateDir, 0, nil).List()
	if err != nil {
		t.Fatal(err)
	}
	var out []*drift.Report
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].Time.Before(since) {
			continue
		}
		r, err := readReportFile(list[i].Path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // pruned since List (the history keeps the last 50)
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// waitFor polls cond every 20ms until it holds and returns how long that
// took, for the log: no test asserts it. failsafe turns a hang into a
// failure.
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > failsafe {
			t.Fatalf("%s: not within the failsafe (%s)", what, failsafe)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// applied reports whether the connection's change of key was written.
func applied(c drift.Connection, key string) bool {
	for _, ch := range c.Changes {
		if ch.Key == key && ch.Applied {
			return true
		}
	}
	return false
}

func role(r *drift.Report) string {
	if r == nil || r.Leadership == nil {
		return ""
	}
	return r.Leadership.Role
}

// writesBy lists the write requests a process sent (by its X-Opaque-Id),
// to the clusters and control planes, not counting the state store's own
// lease and ledger documents.
func (w *sharedWorld) writesBy(holder string, since time.Time) []sim.Request {
	var out []sim.Request
	for _, r := range w.srv.Log() {
		if r.OpaqueID != holder || r.Time.Before(since) || !es.IsWrite(r.Method, r.Path) {
			continue
		}
		if r.Target == "onprem-search" && strings.HasPrefix(r.Path, "/esremote-state/") {
			continue
		}
		out = append(out, r)
	}
	return out
}

func (w *sharedWorld) setting(key string) string {
	s, err := w.srv.World.Settings("ech-analytics", "persistent")
	if err != nil {
		w.t.Fatal(err)
	}
	v, _ := s[key].(string)
	return v
}

// Two `esremote run` sharing a store: exactly one leads and writes; the
// standby writes nothing (the sim's log, by X-Opaque-Id) and reports the
// drift it sees; kill -9 of the leader → the standby leads, and its pass
// at takeover corrects a drift made meanwhile.
func TestSharedStoreFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two daemons")
	}
	w := newSharedWorld(t)
	const ttl, resync = 1500 * time.Millisecond, 1 * time.Second
	a := w.start(ttl, resync)
	waitFor(t, "a leads and has applied", func() bool {
		return role(a.status()) == drift.RoleLeader && w.setting(skipKey) == "true"
	})
	b := w.start(ttl, resync)
	waitFor(t, "b stands by behind a", func() bool {
		r := b.status()
		return role(r) == drift.RoleStandby && r.Leadership.Holder == a.holder()
	})

	// A drift while both run: the leader corrects it, the standby only
	// reports; one leader all along.
	bStart := time.Now()
	if err := w.srv.World.SetSetting("ech-analytics", "persistent", skipKey, "false"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the leader corrects the drift", func() bool { return w.setting(skipKey) == "true" })
	for range 5 {
		ra, rb := a.status(), b.status()
		if role(ra) == role(rb) {
			t.Fatalf("a is %q and b is %q; want exactly one leader", role(ra), role(rb))
		}
		time.Sleep(resync / 4)
	}
	if got := w.writesBy(b.holder(), time.Time{}); len(got) > 0 {
		t.Fatalf("the standby wrote: %+v", got)
	}
	if got := w.writesBy(a.holder(), bStart); len(got) == 0 {
		t.Fatal("no write from the leader: the correction came from nowhere")
	}

	// kill -9 of the leader; a drift made at once.
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if err := w.srv.World.SetSetting("ech-analytics", "persistent", skipKey, "false"); err != nil {
		t.Fatal(err)
	}
	// The standby leads. How soon (a TTL after it last saw the lease
	// change, so within TTL + one retry period of a's last renewal) is
	// proven on a fake clock by reconcile/state's
	// TestLeaseElectsOneAndFailsOver and TestLeaseNextStepTakesOverAtExpiry;
	// here it is only logged, since a wall-clock bound on two processes
	// measures the machine's load as much as the lease.
	led := waitFor(t, "b leads", func() bool { return role(b.status()) == drift.RoleLeader })
	// … and its next pass corrects the drift: the first pass b ran as
	// leader (mode run, in its history) found it and wrote it back.
	var first *drift.Report
	waitFor(t, "b saves a report of a pass as leader", func() bool {
		for _, r := range b.reports(t, killed) {
			if r.Mode == drift.ModeRun {
				first = r
				return true
			}
		}
		return false
	})
	t.Logf("kill -9 of the leader → the standby leads in %s (TTL %s, resync %s); its first pass as leader (trigger %s) observed %s after the kill",
		led.Round(time.Millisecond), ttl, resync, first.Trigger, first.GeneratedAt.Sub(killed).Round(time.Millisecond))
	// It is the pass b asks for as it takes over, not the next resync.
	if first.Trigger != daemon.TriggerLeader {
		t.Errorf("b's first pass as leader has trigger %s; want %s, the pass at takeover", first.Trigger, daemon.TriggerLeader)
	}
	if c := first.Connections; len(c) != 1 || c[0].Sync != drift.SyncCorrected || !applied(c[0], skipKey) {
		t.Errorf("b's first pass as leader (trigger %s): %+v; want the drift corrected by it", first.Trigger, c)
	}
	if got := w.setting(skipKey); got != "true" {
		t.Errorf("%s is %q after b's pass as leader; want true", skipKey, got)
	}
	if got := w.writesBy(b.holder(), killed); len(got) == 0 {
		t.Fatal("the drift was corrected, but not by b")
	}
	if m := b.get("/metrics"); !strings.Contains(m, "\nesremote_leader 1\n") {
		t.Errorf("/metrics of the new leader lacks esremote_leader 1")
	}
	r := b.status()
	if r.Leadership.Holder != b.holder() || r.Leadership.Expires.IsZero() {
		t.Errorf("b's /status leadership: %+v", r.Leadership)
	}
	raw, _ := json.Marshal(r)
	if !strings.Contains(string(raw), `"leadership":{"role":"leader","holder":"`+b.holder()+`","expires":"`) {
		t.Errorf("/status JSON lacks the leadership block: %s", raw)
	}
}

// A leader cut off from the store cluster (every request to it fails)
// stops writing before its lease can expire: drift made after that stays
// uncorrected, and the log shows no write of it past the deadline.
func TestSharedStoreLeaderCutOff(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a daemon")
	}
	w := newSharedWorld(t)
	const ttl, resync = 1500 * time.Millisecond, 300 * time.Millisecond
	a := w.start(ttl, resync)
	waitFor(t, "a leads and has applied", func() bool {
		return role(a.status()) == drift.RoleLeader && w.setting(skipKey) == "true"
	})
	// The store cluster goes away (for everyone: b would not reach it either).
	if _, err := w.srv.World.AddFault(sim.Fault{Target: "onprem-search", Kind: sim.FaultStatus, Status: 503}); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	// Keep making drift: the leader corrects it while it may write.
	flips := 0
	for time.Since(cut) < 2*ttl {
		if w.setting(skipKey) == "true" {
			if err := w.srv.World.SetSetting("ech-analytics", "persistent", skipKey, "false"); err != nil {
				t.Fatal(err)
			}
			flips++
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The last successful renewal was before the cut: the lease it wrote
	// expires by cut + TTL. No write may leave a after that.
	if late := w.writesBy(a.holder(), cut.Add(ttl)); len(late) > 0 {
		t.Fatalf("the cut-off leader wrote after its lease could expire (cut at %s): %+v", cut.Format(time.StampMilli), late)
	}
	if w.setting(skipKey) != "false" {
		t.Fatal("the drift was corrected after the deadline")
	}
	// esremote_leader follows the lease, not the last report.
	if m := a.get("/metrics"); !strings.Contains(m, "\nesremote_leader 0\n") {
		t.Errorf("/metrics of the cut-off leader lacks esremote_leader 0")
	}
	if !strings.Contains(a.out.String(), "msg=leadership role=standby holder="+a.holder()) {
		t.Errorf("a did not log that it stands by after losing the store")
	}
	// /status follows the lease, and its passes, which now fail (a cannot
	// read the ledger to tell what it owns), still report: the error, and
	// the connection as not observed since the cut. No stale good report.
	r := a.status()
	if r == nil || r.Leadership == nil {
		t.Fatalf("/status of the cut-off leader: %+v", r)
	}
	raw, _ := json.Marshal(r.Leadership)
	if r.Leadership.Role != drift.RoleStandby || !strings.Contains(r.Leadership.Error, "503") {
		t.Errorf("/status leadership of the cut-off leader: %s; want standby with the lease's error", raw)
	}
	if !r.GeneratedAt.After(cut) {
		t.Errorf("/status report made at %s, before the cut at %s: a stale report", r.GeneratedAt, cut)
	}
	if len(r.Connections) != 1 || r.Connections[0].Sync != drift.SyncFailed || r.Connections[0].Health != drift.HealthUnknown ||
		!regexp.MustCompile(`^not observed since \S+ \(then [a-z_]+, [a-z]+\): the pass at \S+ could not run: read ledger`).MatchString(r.Connections[0].Error) {
		t.Errorf("/status connections of the cut-off leader: %+v; want failed, health unknown, not observed", r.Connections)
	}
	if len(r.Errors) == 0 || r.Errors[0].Target != "onprem-search" || !strings.Contains(r.Errors[0].Message, "read ledger") {
		t.Errorf("/status errors of the cut-off leader: %+v; want the store's", r.Errors)
	}
	// esremote status says the same.
	cmd := exec.Command(w.bin, "status", "--listen", a.addr)
	cmd.Env = w.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("esremote status: %v\n%s", err, out)
	}
	for _, want := range []string{"failed  unknown", "  not observed since ", "Standby: this daemon cannot reach the state store's lease (read lease", "error: onprem-search: the pass could not run: read ledger"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("esremote status lacks %q:\n%s", want, out)
		}
	}
	t.Logf("%d drifts made after the cut; writes by a after it: %d", flips, len(w.writesBy(a.holder(), cut)))
}

// The write gate itself fences a leader in the middle of a pass: the
// store stays reachable for the ledger, but the lease document does not
// answer (503 on it alone), so the leader cannot renew. A pass that began
// while it led records its intent in the ledger, and that save lands, but
// slowly (it outlasts the renew deadline); the settings write that follows
// is refused by the gate on the engine's client and never sent.
func TestSharedStoreWriteGateFencesMidPass(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a daemon")
	}
	w := newSharedWorld(t)
	// Renewals every second: when the lease stops answering, a still
	// leads for at least another second, time for a pass to begin.
	const ttl, resync = 3 * time.Second, 200 * time.Millisecond
	a := w.start(ttl, resync)
	// Steady state: a leader's pass found nothing to do, so no ledger save
	// of the first apply is still under way.
	waitFor(t, "a leads and its passes find nothing to do", func() bool {
		r := a.status()
		return role(r) == drift.RoleLeader && r.Mode == drift.ModeRun && len(r.Connections) == 1 && r.Connections[0].Sync == drift.SyncInSync
	})
	leaseDoc := "/" + state.Index + "/_doc/" + state.LeaseID
	ledgerDoc := "/" + state.Index + "/_doc/" + state.LedgerID
	for _, f := range []sim.Fault{
		{Target: "onprem-search", Path: leaseDoc, Kind: sim.FaultStatus, Status: 503},
		// The next ledger save takes a whole TTL: a's renew deadline
		// passes while it is in flight, whenever a last renewed.
		{Target: "onprem-search", Method: "PUT", Path: ledgerDoc, Kind: sim.FaultLatency, Latency: ttl, Times: 1},
	} {
		if _, err := w.srv.World.AddFault(f); err != nil {
			t.Fatal(err)
		}
	}
	cut := time.Now()
	if err := w.srv.World.SetSetting("ech-analytics", "persistent", skipKey, "false"); err != nil {
		t.Fatal(err)
	}
	var fenced *drift.Report
	waitFor(t, "a's pass with the settings write refused", func() bool {
		for _, r := range a.reports(t, cut) {
			for _, c := range r.Connections {
				for _, ch := range c.Changes {
					if ch.Key == skipKey && strings.Contains(ch.Error, "not sent") {
						fenced = r
						return true
					}
				}
			}
		}
		return false
	})
	// The ledger save before the write reached the store and landed: the
	// store was reachable, only the lease was not.
	var saved bool
	for _, r := range w.srv.Log() {
		if r.OpaqueID == a.holder() && r.Method == "PUT" && r.Path == ledgerDoc && !r.Time.Before(cut) && r.Status == 200 {
			saved = true
		}
	}
	if !saved {
		t.Error("no ledger save by a landed after the lease stopped answering: the gate was not what stopped the write")
	}
	// Nothing a sent changed a cluster after the lease stopped answering:
	// the one write its pass attempted was refused before it left.
	if late := w.writesBy(a.holder(), cut); len(late) > 0 {
		t.Fatalf("a wrote after its lease stopped answering (at %s): %+v", cut.Format(time.StampMilli), late)
	}
	if got := w.setting(skipKey); got != "false" {
		t.Errorf("%s is %q: the fenced write landed", skipKey, got)
	}
	c := fenced.Connections[0]
	t.Logf("pass %s (mode %s): %s %s: %s", fenced.Trigger, fenced.Mode, c.Name, c.Sync, lastError(c))
	if fenced.Mode != drift.ModeRun || c.Sync != drift.SyncFailed {
		t.Errorf("the fenced pass: mode %s, sync %s; want a leader's pass (run) whose correction failed", fenced.Mode, c.Sync)
	}
	if !strings.Contains(a.out.String(), "not sent: not the leader") {
		t.Errorf("a's log does not say the write was not sent")
	}
}

// POST /-/reload makes the daemon apply now, specs unchanged: what the
// hint of a refused apply (or migrate) tells the operator to do. With a
// resync of an hour, only the reload's pass can correct the drift.
func TestReloadAppliesNow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a daemon")
	}
	w := newSharedWorld(t)
	// The lease lasts an hour. With 1.5s, a renewal slower than a third
	// of it (500ms, as under load) left a moment with no lease held: the
	// reload pass's write was refused in it, or a's standby-then-leader
	// takeover pass corrected the drift below before the reload's pass
	// could. The lease is not what this test is about, and a sole daemon
	// takes it at once whatever its TTL.
	a := w.start(time.Hour, time.Hour)
	// Settled: the pass a asks for as it takes the lease has run (it
	// follows the start pass, which may have run as leader or not), and
	// the spec is applied. No other pass comes before the resync, so the
	// drift below is the reload's pass's to correct. (Waiting for a report
	// that says corrected raced the takeover pass, which replaced it with
	// in sync within milliseconds.)
	waitFor(t, "a leads, its takeover pass has run and the spec is applied", func() bool {
		r := a.status()
		return role(r) == drift.RoleLeader && r.Mode == drift.ModeRun && r.Trigger == daemon.TriggerLeader && w.setting(skipKey) == "true"
	})
	if err := w.srv.World.SetSetting("ech-analytics", "persistent", skipKey, "false"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+a.addr+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /-/reload: %s", resp.Status)
	}
	// The setting is written mid-pass and the report published when the
	// pass ends: wait for the report of the reload's pass, which must be
	// the one that wrote the correction (asserting on the status as soon
	// as the world changed raced the end of the pass).
	waitFor(t, "the reload's pass corrects the drift and is reported", func() bool {
		r := a.status()
		return w.setting(skipKey) == "true" && r != nil && r.Trigger == daemon.TriggerReload &&
			len(r.Connections) == 1 && applied(r.Connections[0], skipKey)
	})
}

// Two daemons whose --lease-ttl differ, as mid-way through a config
// rollout (issue 24: 60s and 6s; here 3s and 300ms, the same ratio, so the
// test takes seconds): the short-TTL standby waits the holder's TTL as the
// lease records it, so it never leads beside the holder, which renews
// every second (its own TTL would have had it take over after 300ms of
// no change); and it says its flag differs, in /status, the metrics and
// the log.
func TestSharedStoreDifferentTTLs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two daemons")
	}
	w := newSharedWorld(t)
	a := w.start(3*time.Second, time.Second)
	waitFor(t, "a leads", func() bool { return role(a.status()) == drift.RoleLeader })
	b := w.start(300*time.Millisecond, time.Second)
	waitFor(t, "b stands by behind a", func() bool {
		r := b.status()
		return role(r) == drift.RoleStandby && r.Leadership.Holder == a.holder()
	})
	deadline := time.Now().Add(2500 * time.Millisecond)
	for time.Now().Before(deadline) {
		ra, rb := a.status(), b.status()
		if role(rb) == drift.RoleLeader || (rb != nil && rb.Leadership.Holder != a.holder()) {
			t.Fatalf("b took the lease of a, whose TTL is 3s: a %+v, b %+v", ra.Leadership, rb.Leadership)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := w.writesBy(b.holder(), time.Time{}); len(got) > 0 {
		t.Fatalf("the standby wrote: %+v", got)
	}
	ld := b.status().Leadership
	if ld.HolderTTL != "3s" || !strings.Contains(ld.TTLMismatch, "--lease-ttl 300ms differs from the holder's 3s") {
		t.Errorf("b's /status leadership: %+v", ld)
	}
	if m := a.status().Leadership; m.TTLMismatch != "" {
		t.Errorf("the leader reports a mismatch: %+v", m)
	}
	if got := b.get("/metrics"); !strings.Contains(got, "esremote_lease_ttl_mismatch 1") {
		t.Errorf("b's metrics lack esremote_lease_ttl_mismatch 1")
	}
	if !strings.Contains(b.out.String(), "lease ttl differs from the holder's") {
		t.Errorf("b's log does not say its TTL differs:\n%s", b.out)
	}
}
