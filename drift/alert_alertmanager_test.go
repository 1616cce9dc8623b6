package drift

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// alertmanagerConfig routes everything to a receiver that notifies no one:
// the test reads the alerts back from the API.
const alertmanagerConfig = `route:
  receiver: none
  group_wait: 1s
receivers:
  - name: none
`

// startAlertmanager runs the real Alertmanager (Debian package
// prometheus-alertmanager) on a free loopback port and returns its URL; it
// skips the test when the binary is not installed.
func startAlertmanager(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		if bin, err = exec.LookPath("alertmanager"); err != nil {
			skipWithout(t, "prometheus-alertmanager not on PATH (Debian package prometheus-alertmanager)")
		}
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(alertmanagerConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var out bytes.Buffer
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("alertmanager output:\n%s", out.String())
		}
	})
	base := "http://" + addr
	poll(t, 20*time.Second, "alertmanager ready", func() (bool, error) {
		select {
		case <-exited:
			return false, fmt.Errorf("alertmanager exited:\n%s", out.String())
		default:
		}
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	return base
}

// poll calls check until it reports done, fails, or the deadline passes. It
// is only for waiting on a real external process.
func poll(t *testing.T, within time.Duration, what string, check func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, err := check()
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// gettableAlert is the part of Alertmanager's GET /api/v2/alerts we check.
type gettableAlert struct {
	Fingerprint  string            `json:"fingerprint"`
	GeneratorURL string            `json:"generatorURL"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	Status       struct {
		State string `json:"state"`
	} `json:"status"`
}

func activeAlerts(t *testing.T, base string) []gettableAlert {
	t.Helper()
	resp, err := http.Get(base + "/api/v2/alerts?active=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var alerts []gettableAlert
	if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
		t.Fatal(err)
	}
	return alerts
}

// TestAlertmanagerIntegration sends a drifted report's alerts to a real
// Alertmanager, sees them arrive, then sees them resolved by the report of
// the pass that corrected the drift.
func TestAlertmanagerIntegration(t *testing.T) {
	base := startAlertmanager(t)
	a := startAlerter(t, AlertConfig{AlertmanagerURLs: []string{base}, Labels: map[string]string{"env": "test"},
		ExternalURL: "http://127.0.0.1:9477"})

	fired := a.Observe(planReport())
	flush(t, a)
	var got []gettableAlert
	poll(t, 20*time.Second, "the alerts in alertmanager", func() (bool, error) {
		got = activeAlerts(t, base)
		return len(got) == len(fired), nil
	})
	var names []string
	for _, al := range got {
		names = append(names, al.Labels["alertname"]+" "+cmpOr(al.Labels["connection"], al.Labels["target"]))
		if al.Status.State != "active" || al.Labels["env"] != "test" || al.Annotations["summary"] == "" {
			t.Errorf("alert in alertmanager: %+v", al)
		}
	}
	slices.Sort(names)
	want := []string{
		AlertKeyExpiring + " analytics-to-ece-logs",
		AlertDrifted + " analytics-to-ece-logs",
		AlertDrifted + " metrics-to-old",
		AlertTargetError + " ece-staging",
	}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("alertmanager holds %q, want %q", names, want)
	}

	// The pass that corrected everything.
	corrected := planReport()
	corrected.Mode = ModeRun
	corrected.Errors = nil
	for i := range corrected.Connections {
		c := &corrected.Connections[i]
		c.Sync, c.Health, c.Findings = SyncCorrected, HealthConnected, nil
		for j := range c.Changes {
			c.Changes[j].Applied = true
		}
	}
	// It reverted the hand edit of proxy_address (origin external): that
	// fires EsremoteExternalEditReverted as everything else resolves.
	var resolved, reverted int
	for _, al := range a.Observe(corrected) {
		switch {
		case al.Resolved():
			resolved++
		case al.Name() == AlertExternalEditReverted:
			reverted++
		default:
			t.Errorf("corrected report fired %s", al.Name())
		}
	}
	if resolved != len(fired) || reverted != 1 {
		t.Fatalf("corrected report resolved %d alerts and fired %d reverts, want %d and 1", resolved, reverted, len(fired))
	}
	flush(t, a)
	poll(t, 20*time.Second, "the alerts to resolve", func() (bool, error) {
		active := activeAlerts(t, base)
		return len(active) == 1 && active[0].Labels["alertname"] == AlertExternalEditReverted, nil
	})
}

// The fingerprint the webhook sends for an alert is the one Alertmanager
// computes for the same alert (GET /api/v2/alerts), and the link is the
// alert's generatorURL there.
func TestAlertmanagerFingerprints(t *testing.T) {
	base := startAlertmanager(t)
	a := startAlerter(t, AlertConfig{AlertmanagerURLs: []string{base}, Labels: map[string]string{"host": "admin-1"},
		ExternalURL: "https://esremote.example.com"})
	fired := a.Observe(planReport())
	flush(t, a)
	var got []gettableAlert
	poll(t, 20*time.Second, "the alerts in alertmanager", func() (bool, error) {
		got = activeAlerts(t, base)
		return len(got) == len(fired), nil
	})
	want := map[string]string{} // fingerprint → generatorURL
	for _, al := range fired {
		want[newWebhookMessage(al, "").Alerts[0].Fingerprint] = al.GeneratorURL
	}
	for _, al := range got {
		link, ok := want[al.Fingerprint]
		if !ok {
			t.Errorf("alertmanager's fingerprint %s of %v is not one the webhook sends (%v)", al.Fingerprint, al.Labels, want)
		} else if al.GeneratorURL != link || link == "" {
			t.Errorf("alertmanager holds generatorURL %q for %v, want %q", al.GeneratorURL, al.Labels, link)
		}
	}
}
