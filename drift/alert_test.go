package drift

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock that moves only when the test advances it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	added   chan struct{}
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, added: make(chan struct{}, 1000)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	c.added <- struct{}{}
	return ch
}

// Advance moves the clock and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.waiters = slices.DeleteFunc(c.waiters, func(w fakeWaiter) bool {
		if w.at.After(c.now) {
			return false
		}
		w.ch <- c.now
		return true
	})
}

// waitTimers blocks until n timers are pending; it fails the test after a
// generous deadline instead of hanging.
func (c *fakeClock) waitTimers(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		got := len(c.waiters)
		c.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-c.added:
		case <-deadline:
			t.Fatalf("%d timers pending, want %d", got, n)
		}
	}
}

// receiver is an httptest server that records every request body and
// answers with the statuses in fail first, then 200.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	fail   []int
}

func newReceiver(t *testing.T, fail ...int) *receiver {
	rc := &receiver{fail: fail}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.bodies = append(rc.bodies, body)
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
		}
		if len(rc.fail) > 0 {
			code := rc.fail[0]
			rc.fail = rc.fail[1:]
			http.Error(w, "try later", code)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() [][]byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.bodies)
}

// startAlerter returns a running Alerter; the test's cleanup stops it.
func startAlerter(t *testing.T, cfg AlertConfig) *Alerter {
	t.Helper()
	a, err := NewAlerter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return a
}

func flush(t *testing.T, a *Alerter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func names(alerts []Alert) []string {
	var out []string
	for _, a := range alerts {
		s := a.Name() + " " + cmpOr(a.Labels["connection"], a.Labels["target"])
		if a.Resolved() {
			s += " resolved"
		}
		out = append(out, s)
	}
	return out
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestAlerterTransitions(t *testing.T) {
	clock := newFakeClock(at)
	a, err := NewAlerter(AlertConfig{Clock: clock, Labels: map[string]string{"env": "prod", "severity": "ignored"}})
	if err != nil {
		t.Fatal(err)
	}
	got := a.Observe(planReport())
	want := []string{
		AlertKeyExpiring + " analytics-to-ece-logs",
		AlertDrifted + " analytics-to-ece-logs",
		AlertDrifted + " metrics-to-old",
		AlertTargetError + " ece-staging",
	}
	if !slices.Equal(names(got), want) {
		t.Errorf("plan fired %q, want %q", names(got), want)
	}
	if got[0].Labels["env"] != "prod" || got[0].Labels["severity"] != AlertSeverityWarning || !got[0].StartsAt.Equal(at) {
		t.Errorf("first alert %+v", got[0])
	}
	if got := a.Observe(planReport()); got != nil {
		t.Errorf("same report again fired %q", names(got))
	}

	clock.Advance(time.Minute)
	got = a.Observe(applyReport())
	want = []string{
		AlertDrifted + " analytics-to-ece-logs resolved",
		AlertSyncFailed + " analytics-to-ece-logs",
	}
	if !slices.Equal(names(got), want) {
		t.Errorf("apply fired %q, want %q", names(got), want)
	}
	if !got[0].EndsAt.Equal(at.Add(time.Minute)) || !got[0].StartsAt.Equal(at) {
		t.Errorf("resolved alert %+v", got[0])
	}
	if d := got[1].Annotations["description"]; !strings.Contains(d, "400 illegal_argument_exception") {
		t.Errorf("sync failed description %q", d)
	}

	// Configured right but disconnected, then a CA expiry instead of a key.
	r := inSyncReport()
	r.Connections[0].Health = HealthDisconnected
	r.Connections[0].Findings = []Finding{{Severity: SeverityWarning, Code: "proxy_unreachable", Message: "9443 refused", Fix: "check the proxy"}}
	r.Connections[1].Sync = SyncContested
	r.Connections[1].Changes = []Change{{Resource: ResourceClusterSetting, Key: "cluster.remote.remote-b.mode"}}
	r.Connections[2].Findings = []Finding{{Severity: SeverityError, Code: CodeCAExpired, Message: "the CA expired"}}
	got = a.Observe(r)
	want = []string{
		AlertKeyExpiring + " analytics-to-ece-logs resolved",
		AlertSyncFailed + " analytics-to-ece-logs resolved",
		AlertDrifted + " metrics-to-old resolved",
		AlertTargetError + " ece-staging resolved",
		AlertDisconnected + " link-a",
		AlertContested + " link-b",
		AlertCAExpiring + " link-c",
	}
	if !slices.Equal(slices.Sorted(slices.Values(names(got))), slices.Sorted(slices.Values(want))) {
		t.Errorf("fired %q, want %q", names(got), want)
	}
	for _, al := range got {
		switch al.Name() {
		case AlertDisconnected:
			if al.Annotations["fix"] != "check the proxy" || al.Labels["severity"] != AlertSeverityCritical {
				t.Errorf("disconnected alert %+v", al)
			}
		case AlertCAExpiring:
			if al.Labels["severity"] != AlertSeverityCritical {
				t.Errorf("expired CA alert %+v", al)
			}
		}
	}
	if n := len(a.Firing()); n != 3 {
		t.Errorf("%d alerts firing, want 3", n)
	}

	if got := names(a.SpecInvalid([]string{"a.yaml:3:5: unknown field"})); !slices.Equal(got, []string{AlertSpecInvalid + " "}) {
		t.Errorf("SpecInvalid fired %q", got)
	}
	if got := a.SpecInvalid([]string{"a.yaml:3:5: unknown field", "b.yaml:1:1: x"}); got != nil {
		t.Errorf("SpecInvalid again fired %q", names(got))
	}
	if got := a.Observe(r); got != nil {
		t.Errorf("Observe touched the spec alert: %q", names(got))
	}
	if got := names(a.SpecValid()); !slices.Equal(got, []string{AlertSpecInvalid + "  resolved"}) {
		t.Errorf("SpecValid resolved %q", got)
	}
	if got := a.SpecValid(); got != nil {
		t.Errorf("SpecValid again: %q", names(got))
	}
}

// TestAlerterDeliveries counts what the sinks receive over several passes
// that find the same thing: each transition once, plus Alertmanager's
// re-send when the interval passes.
func TestAlerterDeliveries(t *testing.T) {
	clock := newFakeClock(at)
	am, hook, slack := newReceiver(t), newReceiver(t), newReceiver(t)
	a := startAlerter(t, AlertConfig{AlertmanagerURLs: []string{am.URL}, WebhookURL: hook.URL + "/hook/secret-token",
		SlackWebhookURL: slack.URL + "/services/T0/B0/secret", Clock: clock, ResendInterval: 5 * time.Minute})

	for range 5 {
		a.Observe(planReport())
	}
	flush(t, a)
	// The webhook gets one message per alert (each its own group, as
	// Alertmanager's group_by: ['...']): 4 alerts fired.
	if n, h, s := len(am.requests()), len(hook.requests()), len(slack.requests()); n != 1 || h != 4 || s != 1 {
		t.Fatalf("after 5 identical passes: alertmanager %d, webhook %d, slack %d deliveries, want 1, 4, 1", n, h, s)
	}

	// Not yet time to re-send.
	clock.waitTimers(t, 1)
	clock.Advance(4 * time.Minute)
	a.Observe(planReport())
	flush(t, a)
	if n := len(am.requests()); n != 1 {
		t.Fatalf("alertmanager got %d deliveries before the resend interval, want 1", n)
	}
	// The re-send: Run queues it before it waits for the next interval.
	clock.Advance(time.Minute)
	clock.waitTimers(t, 1)
	flush(t, a)
	reqs := am.requests()
	if len(reqs) != 2 {
		t.Fatalf("alertmanager got %d deliveries after the resend interval, want 2", len(reqs))
	}
	var resent []Alert
	if err := json.Unmarshal(reqs[1], &resent); err != nil {
		t.Fatal(err)
	}
	if len(resent) != 4 || !resent[0].StartsAt.Equal(at) || !resent[0].EndsAt.Equal(at.Add(25*time.Minute)) {
		t.Errorf("re-sent %d alerts, first %+v; want 4 starting at %v, valid until +25m", len(resent), resent[0], at)
	}

	for range 3 {
		a.Observe(inSyncReport())
	}
	flush(t, a)
	if n, h, s := len(am.requests()), len(hook.requests()), len(slack.requests()); n != 3 || h != 8 || s != 2 {
		t.Errorf("after resolving: alertmanager %d, webhook %d, slack %d deliveries, want 3, 8, 2", n, h, s)
	}
	var resolved []Alert
	if err := json.Unmarshal(am.requests()[2], &resolved); err != nil {
		t.Fatal(err)
	}
	for _, al := range resolved {
		if !al.EndsAt.Equal(at.Add(5 * time.Minute)) {
			t.Errorf("resolved %s ends at %v, want %v", al.Name(), al.EndsAt, at.Add(5*time.Minute))
		}
	}
	// Nothing fires: the next interval sends nothing.
	clock.Advance(5 * time.Minute)
	clock.waitTimers(t, 1)
	flush(t, a)
	if n := len(am.requests()); n != 3 {
		t.Errorf("alertmanager got %d deliveries with nothing firing, want 3", n)
	}
}

func TestAlertBodies(t *testing.T) {
	clock := newFakeClock(at)
	am, hook, slack := newReceiver(t), newReceiver(t), newReceiver(t)
	a := startAlerter(t, AlertConfig{AlertmanagerURLs: []string{am.URL + "/"}, WebhookURL: hook.URL, SlackWebhookURL: slack.URL,
		Clock: clock, ExternalURL: "https://esremote.example.com/", ResendInterval: time.Hour,
		Labels: map[string]string{"host": "admin-1"}})
	a.Observe(planReport())
	flush(t, a) // Alertmanager's endsAt depends on when the batch is sent
	clock.Advance(time.Minute)
	a.Observe(applyReport())
	flush(t, a)
	clock.Advance(time.Minute)
	a.Observe(revertReport())
	flush(t, a)
	for name, rc := range map[string]*receiver{"alertmanager": am, "webhook": hook, "slack": slack} {
		var buf bytes.Buffer
		for _, b := range rc.requests() {
			if err := json.Indent(&buf, b, "", "  "); err != nil {
				t.Fatalf("%s body is not JSON: %v\n%s", name, err, b)
			}
			buf.WriteString("\n")
		}
		golden(t, "alert_"+name+".golden", buf.Bytes())
	}
}

// logBuffer collects a logger's output for assertions.
func logBuffer() (*slog.Logger, *lockedBuffer) {
	var buf lockedBuffer
	return slog.New(slog.NewTextHandler(&buf, nil)), &buf
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestWebhookRetriesWithBackoff(t *testing.T) {
	clock := newFakeClock(at)
	hook := newReceiver(t, http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusBadGateway)
	log, logs := logBuffer()
	a := startAlerter(t, AlertConfig{WebhookURL: hook.URL + "/hooks/secret-token", Clock: clock, Logger: log,
		Backoff: time.Second, BackoffMax: 3 * time.Second})
	a.Observe(planReport())
	for i, wait := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second} {
		clock.waitTimers(t, 1)
		clock.Advance(wait - time.Nanosecond)
		if n := len(hook.requests()); n != i+1 {
			t.Fatalf("%d requests before backoff %d of %v, want %d", n, i+1, wait, i+1)
		}
		clock.Advance(time.Nanosecond)
	}
	flush(t, a)
	// Each attempt stops at its first failed message; the fourth sends
	// the batch's 4 messages.
	reqs := hook.requests()
	if len(reqs) != 7 {
		t.Fatalf("%d requests, want 7 (3 failures, then the 4 messages)", len(reqs))
	}
	for _, b := range reqs[1:4] {
		if !bytes.Equal(b, reqs[0]) {
			t.Errorf("a retry sent a different body:\n%s\n%s", b, reqs[0])
		}
	}
	var msg webhookMessage
	if err := json.Unmarshal(reqs[3], &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Status != "firing" || len(msg.Alerts) != 1 || msg.Alerts[0].Status != "firing" {
		t.Errorf("webhook message %+v", msg)
	}
	if l := logs.String(); !strings.Contains(l, "retrying") || strings.Contains(l, "secret-token") {
		t.Errorf("logs lack retries or show the URL's token:\n%s", l)
	}
}

func TestDeliveryGivesUp(t *testing.T) {
	for name, tc := range map[string]struct {
		fail     []int
		attempts int
		timers   int
	}{
		"refused":      {fail: []int{http.StatusBadRequest}, attempts: 1},
		"out of tries": {fail: []int{500, 500, 500}, attempts: 3, timers: 2},
	} {
		t.Run(name, func(t *testing.T) {
			clock := newFakeClock(at)
			hook := newReceiver(t, tc.fail...)
			log, logs := logBuffer()
			a := startAlerter(t, AlertConfig{SlackWebhookURL: hook.URL + "/services/secret", Clock: clock, Logger: log, MaxAttempts: 3})
			a.Observe(planReport())
			for range tc.timers {
				clock.waitTimers(t, 1)
				clock.Advance(DefaultAlertBackoffMax)
			}
			flush(t, a)
			if n := len(hook.requests()); n != tc.attempts {
				t.Errorf("%d attempts, want %d", n, tc.attempts)
			}
			if l := logs.String(); !strings.Contains(l, "alert delivery dropped") || strings.Contains(l, "secret") {
				t.Errorf("logs lack the drop or show the URL's token:\n%s", l)
			}
		})
	}
}

func TestDeliveryUnreachableHidesURL(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	s, err := NewSlackSink(srv.URL+"/services/T0/B0/secret-token", http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), nil)
	if err == nil || strings.Contains(err.Error(), "secret-token") || !strings.Contains(err.Error(), srv.Listener.Addr().String()) {
		t.Errorf("error %v: want the host without the path", err)
	}
}

func TestQueueFullDrops(t *testing.T) {
	log, logs := logBuffer()
	rc := newReceiver(t)
	// Not running: nothing leaves the queue.
	a, err := NewAlerter(AlertConfig{WebhookURL: rc.URL, QueueSize: 1, Clock: newFakeClock(at), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	a.Observe(planReport())
	a.Observe(inSyncReport())
	if !strings.Contains(logs.String(), "alert queue full") {
		t.Errorf("no drop logged:\n%s", logs)
	}
}

func TestNewAlerterRejectsBadURLs(t *testing.T) {
	_, err := NewAlerter(AlertConfig{WebhookURL: "hooks.example.com/secret-token", SlackWebhookURL: "ftp://x/secret-token",
		AlertmanagerURLs: []string{"http://127.0.0.1:9093"}})
	if err == nil || strings.Contains(err.Error(), "secret-token") || !strings.Contains(err.Error(), "slack webhook url") {
		t.Errorf("error %v", err)
	}
}

// A change of the state store's leader fires EsremoteLeaderChanged once,
// naming both holders, and the next report resolves it; the first report
// (a daemon starting) and an unchanged holder fire nothing.
func TestAlerterLeaderChanged(t *testing.T) {
	clock := newFakeClock(at)
	a, err := NewAlerter(AlertConfig{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	report := func(role, holder string) *Report {
		r := inSyncReport()
		r.Leadership = &Leadership{Role: role, Holder: holder, Expires: at.Add(30 * time.Second)}
		return r
	}
	if got := a.Observe(report(RoleStandby, "admin-1:100")); got != nil {
		t.Fatalf("first report fired %q", names(got))
	}
	if got := a.Observe(report(RoleStandby, "admin-1:100")); got != nil {
		t.Fatalf("same leader fired %q", names(got))
	}
	got := a.Observe(report(RoleLeader, "admin-2:200"))
	if len(got) != 1 || got[0].Name() != AlertLeaderChanged || got[0].Resolved() || got[0].Labels["holder"] != "admin-2:200" ||
		!strings.Contains(got[0].Annotations["summary"], "from admin-1:100 to admin-2:200") ||
		!strings.Contains(got[0].Annotations["description"], "now leader") {
		t.Fatalf("leader change: %+v", got)
	}
	clock.Advance(time.Minute)
	got = a.Observe(report(RoleLeader, "admin-2:200"))
	if len(got) != 1 || got[0].Name() != AlertLeaderChanged || !got[0].Resolved() {
		t.Fatalf("next report: %q; want the change resolved", names(got))
	}
}

// An unauthorized link (the remote refuses its key) alerts like a
// disconnected one; a rotation_stuck finding fires EsremoteRotationStuck
// while the link is rotating.
func TestAlerterUnauthorizedAndRotationStuck(t *testing.T) {
	a, err := NewAlerter(AlertConfig{Clock: newFakeClock(at)})
	if err != nil {
		t.Fatal(err)
	}
	r := inSyncReport()
	r.Connections[0].Health = HealthUnauthorized
	r.Connections[0].Findings = []Finding{{Severity: SeverityError, Code: "link_disconnected", Message: "the remote refuses the key", Fix: "run esremote apply"}}
	r.Connections[1].Health = HealthRotating
	r.Connections[1].Findings = []Finding{{Severity: SeverityError, Code: CodeRotationStuck, Message: "key k2 still not in use", Fix: "check the reload"}}
	got := names(a.Observe(r))
	want := []string{AlertDisconnected + " " + r.Connections[0].Name, AlertRotationStuck + " " + r.Connections[1].Name}
	if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Errorf("fired %q, want %q", got, want)
	}
}

// revertReport is a daemon's pass that reverted hand edits on link-a (a
// setting and the keystore entry, whose values are fingerprints) and
// corrected a spec change on link-b.
func revertReport() *Report {
	r := inSyncReport()
	r.Connections[0].Sync = SyncCorrected
	r.Connections[0].Changes = []Change{
		{Resource: ResourceClusterSetting, Target: "local-a", Key: "cluster.remote.remote-a.server_name", Action: ActionUpdate,
			Actual: "evil.example", Desired: "remote-a.example", Origin: OriginExternal, Applied: true},
		{Resource: ResourceKeystore, Target: "local-a", Key: "cluster.remote.remote-a.credentials", Action: ActionUpdate,
			Actual:  Redacted("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
			Desired: Redacted("sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"), Origin: OriginExternal, Applied: true},
	}
	r.Connections[1].Sync = SyncCorrected
	r.Connections[1].Changes = []Change{{Resource: ResourceRole, Target: "local-b", Key: "reader", Action: ActionCreate,
		Desired: `{"remote_indices":[]}`, Origin: OriginSpec, Applied: true}}
	r.Sort()
	r.Tally()
	return r
}

// A pass that reverted a hand edit notifies: EsremoteExternalEditReverted
// names each reverted change with its old and new value, links to the
// connection's page, and resolves with the next report; a spec change
// corrected is no such event.
func TestAlerterExternalEditReverted(t *testing.T) {
	clock := newFakeClock(at)
	a, err := NewAlerter(AlertConfig{Clock: clock, ExternalURL: "https://esremote.example.com/base/"})
	if err != nil {
		t.Fatal(err)
	}
	got := a.Observe(revertReport())
	if len(got) != 1 || got[0].Name() != AlertExternalEditReverted || got[0].Labels["connection"] != "link-a" || got[0].Resolved() {
		t.Fatalf("fired %q, want %s link-a", names(got), AlertExternalEditReverted)
	}
	al := got[0]
	wantDesc := `keystore cluster.remote.remote-a.credentials on local-a: "<redacted> sha256:01234567" → "<redacted> sha256:fedcba98"` + "\n" +
		`cluster_setting cluster.remote.remote-a.server_name on local-a: "evil.example" → "remote-a.example"`
	if d := al.Annotations["description"]; d != wantDesc {
		t.Errorf("description:\n%s\nwant:\n%s", d, wantDesc)
	}
	if !strings.Contains(al.Annotations["summary"], "reverted 2 changes") {
		t.Errorf("summary %q", al.Annotations["summary"])
	}
	if al.GeneratorURL != "https://esremote.example.com/base/connections/link-a" {
		t.Errorf("link %q", al.GeneratorURL)
	}
	clock.Advance(time.Minute)
	got = a.Observe(inSyncReport())
	if len(got) != 1 || got[0].Name() != AlertExternalEditReverted || !got[0].Resolved() {
		t.Errorf("next pass: %q; want the revert resolved", names(got))
	}
}

// Links: a connection's alert points to its page (the name path-escaped),
// others to the status page; without an external URL there is no link; a
// bad external URL is refused.
func TestAlertLinks(t *testing.T) {
	a, err := NewAlerter(AlertConfig{Clock: newFakeClock(at), ExternalURL: "http://10.0.0.5:9477"})
	if err != nil {
		t.Fatal(err)
	}
	r := planReport()
	r.Connections[0].Name = "logs/eu west" // analytics-to-ece-logs
	for _, al := range a.Observe(r) {
		want := "http://10.0.0.5:9477/"
		switch al.Labels["connection"] {
		case "logs/eu west":
			want = "http://10.0.0.5:9477/connections/logs%2Feu%20west"
		case "metrics-to-old":
			want = "http://10.0.0.5:9477/connections/metrics-to-old"
		}
		if al.GeneratorURL != want {
			t.Errorf("%s %s links to %q, want %q", al.Name(), al.Labels["connection"], al.GeneratorURL, want)
		}
	}
	b, err := NewAlerter(AlertConfig{Clock: newFakeClock(at)})
	if err != nil {
		t.Fatal(err)
	}
	for _, al := range b.Observe(planReport()) {
		if al.GeneratorURL != "" {
			t.Errorf("no external URL, but %s links to %q", al.Name(), al.GeneratorURL)
		}
	}
	for _, bad := range []string{"esremote.example.com", "ftp://x", "http://x/?q=1"} {
		if _, err := NewAlerter(AlertConfig{ExternalURL: bad}); err == nil || !strings.Contains(err.Error(), "external url") {
			t.Errorf("external url %q: err %v", bad, err)
		}
	}
}
