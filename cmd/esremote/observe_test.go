package main

// testscript command of the status scripts:
//
//	status-daemon DIR   serve DIR/status.json at GET /status (503 when it is missing) and
//	                    DIR/last-change.json at GET /status/last-change (404 when missing),
//	                    as a daemon would; set STATUS_ADDR to its host:port

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/daemon"
	"github.com/esremote/esremote/reconcile/statedir"
)

func init() {
	scriptCmds["status-daemon"] = cmdStatusDaemon
}

func cmdStatusDaemon(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: status-daemon DIR")
	}
	dir := ts.MkAbs(args[0])
	serve := func(name string, missing int, msg string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				http.Error(w, msg, missing)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write(b)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /status", serve("status.json", http.StatusServiceUnavailable, "no pass has finished yet"))
	mux.Handle("GET /status/last-change", serve("last-change.json", http.StatusNotFound, "404 page not found"))
	srv := httptest.NewServer(mux)
	ts.Defer(srv.Close)
	ts.Setenv("STATUS_ADDR", strings.TrimPrefix(srv.URL, "http://"))
}

// TestRunMetricsAndAlerts runs the daemon in-process against a simulated
// world: /metrics has the connection's series and passes promtool, the key
// expiry reaches it, /status/last-change and the status table name the
// connection, a rejected reload shows in the reload metric and fires
// EsremoteSpecInvalid at the webhook, and the resolved alert is delivered
// before the daemon exits (the flush at stop).
func TestRunMetricsAndAlerts(t *testing.T) {
	w := newSimWorld(t, managedConnection)
	specs, state := w.specs, w.state
	hook := newWebhook(t)
	d := w.start(t, "--debounce", "1h:1h", "--webhook-url-file", hook.urlFile(t, "/hook?token=s3cret"),
		"--alert-label", "env=test", "--alert-resend-interval", "30s")
	next, addr, logs := d.next, d.addr, d.logs
	if msg := d.firstPass(); !strings.Contains(msg, "STATUS=1 in sync, 0 drifted, 0 failed") {
		t.Fatalf("first pass: %q\n%s", msg, logs)
	}

	// Everything the daemon lets out is kept for the secret scan at the end.
	var outputs bytes.Buffer
	metrics := get(t, "http://"+addr+"/metrics")
	outputs.WriteString(metrics)
	outputs.WriteString(get(t, "http://"+addr+"/status"))
	for _, want := range []string{
		`esremote_connection_info{alias="ece-prod-logs",connection="analytics-to-ece-logs",health="`,
		`,local="ech-analytics",policy="enforce",security="api_key",sync="`,
		`esremote_connection_synced{connection="analytics-to-ece-logs"} 1`,
		`esremote_api_key_expiry_timestamp_seconds{connection="analytics-to-ece-logs"} `,
		`esremote_reconcile_passes_total{result="success"} 1`,
		`esremote_reconcile_duration_seconds_count 1`,
		`esremote_config_last_reload_successful 1`,
		`esremote_connections{sync="in_sync"}`,
		fmt.Sprintf("esremote_resync_interval_seconds %g\n", daemon.DefaultResync.Seconds()),
		`esremote_build_info{goversion="` + runtime.Version() + `",revision="`,
		// At zero from the first pass, so the first revert after a start counts.
		`esremote_connection_corrections_total{connection="analytics-to-ece-logs",origin="external"} 0` + "\n",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	checkMetricsWithPromtool(t, metrics)

	// The first pass created the key and wrote the settings: a change.
	var lc lastChangeResponse
	if err := json.Unmarshal([]byte(get(t, "http://"+addr+"/status/last-change")), &lc); err != nil {
		t.Fatal(err)
	}
	if lc.Reports != 1 || lc.Connections["analytics-to-ece-logs"].IsZero() {
		t.Errorf("last change = %+v", lc)
	}
	var out, errb bytes.Buffer
	sc := &cli{ctx: t.Context(), stdout: &out, stderr: &errb, getenv: os.Getenv}
	if got := runCommand("status", sc, []string{"--listen", addr}); got != exitOK {
		t.Fatalf("status = %d: %s", got, errb.String())
	}
	row := fmt.Sprintf("analytics-to-ece-logs  ech-analytics → ece-prod-logs  corrected  connected  %s", stamp(lc.Connections["analytics-to-ece-logs"]))
	if !strings.Contains(out.String(), row) || !strings.Contains(out.String(), "1 connection: 0 in sync, 0 drifted, 1 corrected, 0 failed; 0 unhealthy") {
		t.Errorf("status table:\n%s\nwant row %q", out.String(), row)
	}

	// A bad save, reloaded: the reload metric drops, the alert fires.
	writeFile(t, filepath.Join(specs, "bad.yaml"), "apiVersion: esremote/v1\nkind: Connection\nname: [\n", 0o644)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	body := hook.wait(t, drift.AlertSpecInvalid)
	outputs.WriteString(body)
	if !strings.Contains(body, `"status":"firing"`) || !strings.Contains(body, `"env":"test"`) || !strings.Contains(body, "bad.yaml") {
		t.Errorf("spec invalid alert: %s", body)
	}
	if strings.Contains(body, drift.AlertTargetError) {
		t.Errorf("a rejected reload also fired %s: %s", drift.AlertTargetError, body)
	}
	if m := get(t, "http://"+addr+"/metrics"); !strings.Contains(m, "esremote_config_last_reload_successful 0") {
		t.Errorf("reload failure not in /metrics")
	}
	next("READY=1")

	// Fixed and reloaded, then stopped at once: the resolved alert is
	// delivered before run returns.
	if err := os.Remove(filepath.Join(specs, "bad.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	next("READY=1")
	d.stopOK()
	var resolved bool
	for len(hook.bodies) > 0 {
		b := <-hook.bodies
		outputs.WriteString(b)
		if strings.Contains(b, `"status":"resolved"`) && strings.Contains(b, drift.AlertSpecInvalid) {
			resolved = true
		}
	}
	if !resolved {
		t.Errorf("the resolved alert was not delivered before run returned")
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Errorf("the webhook token reached the log:\n%s", logs)
	}
	// No --external-url: the links are the listener's, and the log says so.
	if !strings.Contains(logs.String(), `msg="alert links point to a loopback address, which opens only on this host; set --external-url" external_url=http://`+addr) {
		t.Errorf("no hint about the loopback alert links:\n%s", logs)
	}
	// No secret the test used — the sim's passwords and API keys, the
	// control planes' keys, the cross-cluster key delivered to the
	// keystore, the webhook token — in the logs, /metrics, /status, the
	// status table, the alert bodies or any file of the state dir.
	outputs.WriteString(logs.String())
	outputs.WriteString(out.String())
	stateFiles(t, state, &outputs)
	for _, sec := range append(w.secrets(), "s3cret") {
		if sec != "" && strings.Contains(outputs.String(), sec) {
			t.Errorf("a secret (%d chars) reached the daemon's outputs", len(sec))
		}
	}
}

// checkMetricsWithPromtool runs `promtool check metrics` on a scrape.
func checkMetricsWithPromtool(t *testing.T, metrics string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("ESREMOTE_REQUIRE_TOOLS") != "" {
			t.Fatal("promtool is not installed (ESREMOTE_REQUIRE_TOOLS is set)")
		}
		t.Log("promtool is not installed: /metrics not checked with it")
		return
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(metrics)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestAlertFlags(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open")
	writeFile(t, open, "https://hooks.example/T000/s3cret\n", 0o644)
	private := filepath.Join(dir, "private")
	writeFile(t, private, "https://hooks.example/T000/s3cret\n", 0o600)

	for _, tc := range []struct {
		name string
		opts observeOptions
		want string // error substring; "" for none
	}{
		{"ok", observeOptions{alertmanagers: stringList{"http://127.0.0.1:9093", "http://127.0.0.1:9094"},
			slackFile: private, labels: stringList{"env=prod"}, resend: time.Minute}, ""},
		{"readable by others", observeOptions{webhookFile: open, resend: time.Minute},
			"--webhook-url-file: secret file: " + open + " is readable by group or others"},
		{"missing", observeOptions{slackFile: filepath.Join(dir, "nope"), resend: time.Minute},
			"--slack-webhook-url-file: secret file: "},
		{"bad label", observeOptions{labels: stringList{"2x=y"}, resend: time.Minute}, `--alert-label "2x=y"`},
		{"no value", observeOptions{labels: stringList{"env"}, resend: time.Minute}, `--alert-label "env"`},
		{"resend", observeOptions{}, "--alert-resend-interval must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := tc.opts.alertConfig("https://esremote.example.com", nil)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				host, _ := os.Hostname()
				if cfg.SlackWebhookURL != "https://hooks.example/T000/s3cret" || cfg.Labels["env"] != "prod" ||
					cfg.ExternalURL != "https://esremote.example.com" || len(cfg.AlertmanagerURLs) != 2 ||
					host == "" || cfg.Labels["host"] != host {
					t.Errorf("config = %+v", cfg)
				}
				if s := sinkNames(cfg); s != "alertmanager×2,slack" {
					t.Errorf("sinks = %q", s)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the secret URL is in the error: %v", err)
			}
		})
	}
}

// --alert-label host=NAME replaces the host name the daemon puts on every
// alert (a container's host name says nothing).
func TestAlertHostLabelOverride(t *testing.T) {
	o := observeOptions{labels: stringList{"host=admin-1.example"}, resend: time.Minute}
	cfg, err := o.alertConfig("", nil)
	if err != nil || cfg.Labels["host"] != "admin-1.example" {
		t.Errorf("config %+v, %v: want host admin-1.example", cfg, err)
	}
}

// TestLastChanges: the latest report with applied changes per connection;
// a retry's copy of a connection it did not retry does not count.
func TestLastChanges(t *testing.T) {
	dir := t.TempDir()
	h := drift.NewHistory(dir, 0, statedir.Files{})
	t0 := time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	applied := []drift.Change{{Resource: drift.ResourceClusterSetting, Key: "cluster.remote.a.mode", Applied: true}}
	conn := func(name, local string, ch []drift.Change) drift.Connection {
		return drift.Connection{Name: name, Local: local, Sync: drift.SyncCorrected, Changes: ch}
	}
	save := func(at time.Time, trigger drift.Trigger, conns ...drift.Connection) {
		r := drift.New(drift.ModeRun, trigger, at)
		r.Connections = conns
		r.Tally()
		if _, err := h.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	save(t0, drift.TriggerStart, conn("a", "x", applied), conn("b", "y", nil))
	// b's target failed and is retried; a is copied unchanged.
	save(t0.Add(time.Minute), daemon.TriggerRetry, conn("a", "x", applied), conn("b", "y", applied))
	save(t0.Add(2*time.Minute), drift.TriggerResync, conn("a", "x", nil), conn("b", "y", nil), conn("c", "z", nil))

	got, n, err := lastChanges(h)
	if err != nil || n != 3 {
		t.Fatalf("lastChanges: %d reports, %v", n, err)
	}
	want := map[string]time.Time{"a": t0, "b": t0.Add(time.Minute)}
	if len(got) != len(want) || !got["a"].Equal(want["a"]) || !got["b"].Equal(want["b"]) {
		t.Errorf("last changes = %v, want %v", got, want)
	}
}

// A pass that could not run counts once as a failure: the loop saves a
// report of it (its error, its connections not observed), which the
// metrics see; the pass hook itself counts nothing.
func TestFailedPassCountsOnce(t *testing.T) {
	obs := &observer{metrics: drift.NewMetrics(), dir: "specs"}
	obs.pass(nil, nil, 2*time.Second, errors.New("read ledger: 503"))
	r := drift.New(drift.ModeRun, drift.TriggerResync, time.Now())
	r.Connections = []drift.Connection{{Name: "c", Local: "l", Alias: "a", Sync: drift.SyncFailed, Health: drift.HealthUnknown}}
	r.Errors = []drift.ReportError{{Target: "onprem-search", Message: "the pass could not run: read ledger: 503"}}
	r.Tally()
	obs.report(r)
	rec := httptest.NewRecorder()
	obs.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`esremote_reconcile_passes_total{result="failure"} 1` + "\n",
		"esremote_reconcile_duration_seconds_count 1\n",
		"esremote_reconcile_duration_seconds_sum 2\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, `result="success"`) && !strings.Contains(body, `esremote_reconcile_passes_total{result="success"} 0`) {
		t.Errorf("the failed pass counted as a success too")
	}
}

// A retry's report merged into the last full pass repeats the changes of
// the connections it did not retry: corrections count from each pass's own
// report, so the revert of link-a counts once, not again with the retry of
// link-b's cluster.
func TestCorrectionsCountOncePerPass(t *testing.T) {
	obs := &observer{metrics: drift.NewMetrics(), dir: "specs"}
	full := drift.New(drift.ModeRun, drift.TriggerResync, time.Now())
	full.Connections = []drift.Connection{
		{Name: "link-a", Local: "local-a", Alias: "r", Sync: drift.SyncCorrected, Health: drift.HealthConnected,
			Changes: []drift.Change{{Resource: drift.ResourceClusterSetting, Target: "local-a", Key: "cluster.remote.r.mode",
				Action: drift.ActionUpdate, Actual: "sniff", Desired: "proxy", Origin: drift.OriginExternal, Applied: true}}},
		{Name: "link-b", Local: "local-b", Alias: "r", Sync: drift.SyncFailed, Health: drift.HealthUnknown},
	}
	obs.pass(&reconcile.Result{Plan: &reconcile.Plan{}}, full, time.Second, nil)
	obs.report(full)
	retry := drift.New(drift.ModeRun, daemon.TriggerRetry, time.Now())
	retry.Connections = []drift.Connection{{Name: "link-b", Local: "local-b", Alias: "r", Sync: drift.SyncInSync, Health: drift.HealthConnected}}
	obs.pass(&reconcile.Result{Plan: &reconcile.Plan{}}, retry, time.Second, nil)
	merged := *retry
	merged.Connections = append([]drift.Connection{full.Connections[0]}, retry.Connections...)
	obs.report(&merged)
	rec := httptest.NewRecorder()
	obs.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		`esremote_connection_corrections_total{connection="link-a",origin="external"} 1`,
		`esremote_connection_corrections_total{connection="link-b",origin="external"} 0`,
		`esremote_drift_corrections_total{origin="external",resource="cluster_setting"} 1`,
	} {
		if !strings.Contains(rec.Body.String(), want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
