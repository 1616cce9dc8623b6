package drift

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
)

// esremoteSeries renders the esremote_* series (not the runtime ones) in the
// text exposition format.
func esremoteSeries(t *testing.T, m *Metrics) []byte {
	t.Helper()
	mfs, err := m.gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// observedMetrics is Metrics after a first load and an apply pass.
func observedMetrics() *Metrics {
	m := NewMetrics()
	m.ObserveReload(true, at.Add(-time.Minute))
	m.SetKeyExpiry("analytics-to-ece-logs", at.Add(9*24*time.Hour))
	m.SetCAExpiry("metrics-to-old", at.Add(300*24*time.Hour))
	r := applyReport()
	r.Leadership = &Leadership{Role: RoleLeader, Holder: "admin-1:4242", Expires: at.Add(30 * time.Second)}
	m.ObserveCorrections(r)
	m.Observe(r, 1500*time.Millisecond)
	m.SetResync(5 * time.Minute)
	m.SetBuildInfo("1.2.3", "go1.26.0", "9f2c1e0")
	return m
}

// esremote_leader follows the role of each report that has one, and is
// absent for a daemon without a shared store.
func TestMetricsLeader(t *testing.T) {
	m := NewMetrics()
	m.Observe(inSyncReport(), time.Second)
	if strings.Contains(string(esremoteSeries(t, m)), "esremote_leader") {
		t.Fatal("esremote_leader without a shared store")
	}
	for _, tc := range []struct {
		role, want string
	}{{RoleStandby, "esremote_leader 0"}, {RoleLeader, "esremote_leader 1"}, {RoleStandby, "esremote_leader 0"}} {
		r := inSyncReport()
		r.Leadership = &Leadership{Role: tc.role, Holder: "admin-1:4242"}
		m.Observe(r, time.Second)
		if got := string(esremoteSeries(t, m)); !strings.Contains(got, tc.want+"\n") {
			t.Fatalf("role %s: want %q in\n%s", tc.role, tc.want, got)
		}
	}
}

func TestMetricsGolden(t *testing.T) {
	golden(t, "metrics_apply.golden", esremoteSeries(t, observedMetrics()))
}

func TestMetricsDropConnectionsThatLeft(t *testing.T) {
	m := observedMetrics()
	m.ObserveReload(false, at)
	m.Observe(inSyncReport(), 200*time.Millisecond)
	got := string(esremoteSeries(t, m))
	for _, gone := range []string{"analytics-to-ece-logs", "metrics-to-old", "search-to-archive", "ece-staging", `kind="alias"`} {
		if strings.Contains(got, gone) {
			t.Errorf("series of %s survived a report without it:\n%s", gone, got)
		}
	}
	for _, want := range []string{
		`esremote_connection_info{alias="remote-a",connection="link-a",health="connected",local="local-a",policy="enforce",security="api_key",sync="in_sync"} 1`,
		`esremote_connections{sync="in_sync"} 3`,
		`esremote_connections{sync="failed"} 0`,
		`esremote_reconcile_passes_total{result="success"} 1`,
		`esremote_reconcile_passes_total{result="failure"} 1`,
		`esremote_reconcile_duration_seconds_count 2`,
		`esremote_config_last_reload_successful 0`,
		// The last success keeps its time when a reload fails.
		`esremote_config_last_reload_success_timestamp_seconds 1.79572314e+09`,
		// Corrections are a counter: they survive the report that made them.
		`esremote_drift_corrections_total{origin="spec",resource="api_key"} 1`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("missing %s in:\n%s", want, got)
		}
	}
}

// Every correction counter exists at zero before its first increment, so
// increase() sees that increment: by resource and origin from the start,
// by connection and origin from the first report with the connection. A
// connection that leaves the specs loses its counters.
func TestMetricsCorrectionsStartAtZero(t *testing.T) {
	m := NewMetrics()
	got := string(esremoteSeries(t, m))
	for _, want := range []string{
		`esremote_drift_corrections_total{origin="external",resource="cluster_setting"} 0`,
		`esremote_drift_corrections_total{origin="spec",resource="keystore"} 0`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("a new Metrics lacks %s", want)
		}
	}
	m.Observe(inSyncReport(), time.Second)
	if got := testutil.ToFloat64(m.connCorrections.WithLabelValues("link-a", "external")); got != 0 ||
		!strings.Contains(string(esremoteSeries(t, m)), `esremote_connection_corrections_total{connection="link-a",origin="external"} 0`+"\n") {
		t.Fatalf("link-a's external corrections not exported at zero after its first report")
	}
	r := inSyncReport()
	r.Connections[0].Sync = SyncCorrected
	r.Connections[0].Changes = []Change{{Resource: ResourceClusterSetting, Target: "local-a", Key: "cluster.remote.remote-a.mode",
		Action: ActionUpdate, Actual: "sniff", Desired: "proxy", Origin: OriginExternal, Applied: true},
		{Resource: ResourceRole, Target: "local-a", Key: "r", Action: ActionUpdate, Origin: OriginExternal, Error: "403"}}
	m.ObserveCorrections(r)
	m.Observe(r, time.Second)
	for _, want := range []string{
		`esremote_connection_corrections_total{connection="link-a",origin="external"} 1`,
		`esremote_connection_corrections_total{connection="link-b",origin="external"} 0`,
		`esremote_drift_corrections_total{origin="external",resource="cluster_setting"} 1`,
		`esremote_drift_corrections_total{origin="external",resource="role"} 0`, // failed, not applied
	} {
		if got := string(esremoteSeries(t, m)); !strings.Contains(got, want+"\n") {
			t.Errorf("after a revert: missing %s", want)
		}
	}
	r = inSyncReport()
	r.Connections = r.Connections[1:]
	m.Observe(r, time.Second)
	if got := string(esremoteSeries(t, m)); strings.Contains(got, `connection="link-a"`) {
		t.Errorf("link-a left the specs but its series stay:\n%s", got)
	}
}

// The resync interval is absent until the daemon sets it.
func TestMetricsResync(t *testing.T) {
	m := NewMetrics()
	if strings.Contains(string(esremoteSeries(t, m)), "esremote_resync_interval_seconds ") {
		t.Error("resync interval exported before SetResync")
	}
	m.SetResync(90 * time.Second)
	if !strings.Contains(string(esremoteSeries(t, m)), "esremote_resync_interval_seconds 90\n") {
		t.Error("resync interval not exported")
	}
}

func TestMetricsNilReportIsAFailedPass(t *testing.T) {
	m := observedMetrics()
	m.Observe(nil, time.Second)
	if got := testutil.ToFloat64(m.passes.WithLabelValues(PassFailure)); got != 2 {
		t.Errorf("failures = %v, want 2", got)
	}
	// The per-connection series of the last report stay.
	if got := testutil.ToFloat64(m.synced.WithLabelValues("search-to-archive")); got != 1 {
		t.Errorf("search-to-archive synced = %v, want 1", got)
	}
}

func TestMetricsExpiryRemoved(t *testing.T) {
	m := observedMetrics()
	m.SetKeyExpiry("analytics-to-ece-logs", time.Time{})
	if n := testutil.CollectAndCount(m.keyExpiry); n != 0 {
		t.Errorf("%d key expiry series after clearing, want 0", n)
	}
}

// scrape returns the body of a GET of the metrics handler.
func scrape(t *testing.T, m *Metrics) []byte {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, body)
	}
	return body
}

func TestMetricsHandler(t *testing.T) {
	body := string(scrape(t, observedMetrics()))
	for _, want := range []string{"esremote_connection_info{", "go_goroutines ", "process_"} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

// TestPromtoolCheckMetrics runs `promtool check metrics` (Debian package
// prometheus) on a scrape; it is skipped where promtool is not installed.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		skipWithout(t, "promtool not on PATH (Debian package prometheus)")
	}
	m := observedMetrics()
	m.Observe(inSyncReport(), 3*time.Second)
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(scrape(t, m))
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// skipWithout skips a test that needs an external tool, unless
// ESREMOTE_REQUIRE_TOOLS is set (CI sets it after installing them): there
// a missing tool is a failure, not a silent skip.
func skipWithout(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("ESREMOTE_REQUIRE_TOOLS") != "" {
		t.Fatal(why + " (ESREMOTE_REQUIRE_TOOLS is set)")
	}
	t.Skip(why)
}
