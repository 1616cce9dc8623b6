package drift

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Alert names, the "alertname" label of every alert the [Alerter] sends.
// docs/alerting.md says when each fires and resolves.
const (
	// AlertDrifted fires while a connection's sync is drifted: differences
	// were found and left alone (the "report" policy, or a plan).
	AlertDrifted = "EsremoteConnectionDrifted"
	// AlertSyncFailed fires while a connection's sync is failed: it could
	// not be observed, or a correction failed.
	AlertSyncFailed = "EsremoteConnectionSyncFailed"
	// AlertDisconnected fires while a connection is configured as specified
	// (sync in_sync or corrected) but its health is disconnected.
	AlertDisconnected = "EsremoteConnectionDisconnected"
	// AlertContested fires while a connection's sync is contested: another
	// writer keeps changing what esremote writes.
	AlertContested = "EsremoteConnectionContested"
	// AlertKeyExpiring fires while a connection has a [CodeKeyExpiresSoon]
	// or [CodeKeyExpired] finding.
	AlertKeyExpiring = "EsremoteAPIKeyExpiring"
	// AlertCAExpiring fires while a connection has a [CodeCAExpiresSoon] or
	// [CodeCAExpired] finding.
	AlertCAExpiring = "EsremoteCAExpiring"
	// AlertTargetError fires while a report has an error for a target (a
	// cluster or deployment that could not be reached or read).
	AlertTargetError = "EsremoteTargetError"
	// AlertSpecInvalid fires from [Alerter.SpecInvalid] until
	// [Alerter.SpecValid]: the spec set was rejected and the daemon keeps
	// reconciling the last good one.
	AlertSpecInvalid = "EsremoteSpecInvalid"
	// AlertLeaderChanged fires when the holder of a shared state store's
	// lease changes (a leader died, was cut off or stopped; a standby took
	// over), and resolves with the next report: a change is an event.
	AlertLeaderChanged = "EsremoteLeaderChanged"
	// AlertSpecDiverged fires while this daemon's specs are neither the
	// ones the shared state store's leader last applied nor a
	// fast-forward of them (Leadership.SpecDiverged): it will not take the
	// lease until they agree.
	AlertSpecDiverged = "EsremoteSpecDiverged"
	// AlertRotationStuck fires while a connection has a [CodeRotationStuck]
	// finding: a key rotation not proven in use past the engine's bound
	// (the old key stays valid meanwhile).
	AlertRotationStuck = "EsremoteRotationStuck"
	// AlertExternalEditReverted fires when a pass wrote back a change of
	// origin external on a connection: someone edited what esremote
	// manages (in Kibana, with curl) and the daemon reverted it. It is an
	// event: the next report without such a revert resolves it.
	AlertExternalEditReverted = "EsremoteExternalEditReverted"
)

// Alert severities, the "severity" label.
const (
	AlertSeverityWarning  = "warning"
	AlertSeverityCritical = "critical"
)

// Alert is one alert in Alertmanager's shape. Its labels identify it (the
// same condition always has the same labels); EndsAt is zero while it fires
// and the time it resolved once it has.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Name is the alert's "alertname" label.
func (a Alert) Name() string { return a.Labels["alertname"] }

// Resolved reports whether the alert has resolved.
func (a Alert) Resolved() bool { return !a.EndsAt.IsZero() }

// key identifies the condition: its sorted labels.
func (a Alert) key() string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(a.Labels)) {
		fmt.Fprintf(&b, "%s=%q,", k, a.Labels[k])
	}
	return b.String()
}

func (a Alert) clone() Alert {
	a.Labels = maps.Clone(a.Labels)
	a.Annotations = maps.Clone(a.Annotations)
	return a
}

// Clock is the time source of an Alerter; tests inject a fake one.
type Clock interface {
	Now() time.Time
	// After is time.After on this clock.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Defaults of AlertConfig.
const (
	// DefaultResendInterval is Prometheus's default resend delay. Firing
	// alerts sent to Alertmanager are valid for 4 intervals (their endsAt),
	// so one lost re-send does not resolve them.
	DefaultResendInterval = time.Minute
	// DefaultAlertQueue is how many batches a sink holds while it is slow or
	// down; more are dropped with a log line. A batch is one pass's
	// transitions, so this is hours of passes.
	DefaultAlertQueue = 100
	// DefaultAlertAttempts is how often a batch is tried before it is dropped:
	// with the default backoff, about four minutes of trying.
	DefaultAlertAttempts = 8
	// DefaultAlertBackoff and DefaultAlertBackoffMax bound the wait between
	// attempts, which doubles from the first to the second.
	DefaultAlertBackoff    = time.Second
	DefaultAlertBackoffMax = 2 * time.Minute
	// DefaultAlertTimeout bounds one HTTP request to a sink.
	DefaultAlertTimeout = 10 * time.Second
)

// AlertConfig configures an Alerter. The daemon fills it from its flags
// (docs/alerting.md); URLs of the generic and Slack webhooks usually embed a
// token, so the daemon reads them from files or systemd credentials and they
// never appear in logs or errors (only their scheme and host do).
type AlertConfig struct {
	// AlertmanagerURLs are Alertmanager base URLs ("http://127.0.0.1:9093");
	// alerts are posted to <url>/api/v2/alerts of each, with re-sends.
	AlertmanagerURLs []string
	// WebhookURL receives every transition as a JSON object in the shape of
	// Alertmanager's own webhook ({"version": "4", "status", "alerts": […]}).
	WebhookURL string
	// SlackWebhookURL receives every transition as {"text": "…"} (Slack,
	// Mattermost, Rocket.Chat incoming webhooks).
	SlackWebhookURL string
	// Sinks are further sinks, e.g. for tests.
	Sinks []Sink

	// Labels are added to every alert (e.g. {"env": "prod"}); the alert's
	// own labels win over them.
	Labels map[string]string
	// ExternalURL is the URL under which people reach the daemon's status
	// page (Prometheus's and Alertmanager's --web.external-url). Every
	// alert links there: a connection's alert to ExternalURL/connections/
	// NAME (its page), the others to ExternalURL/. It is the webhook's
	// externalURL too. Empty leaves the links out.
	ExternalURL string
	// ResendInterval is how often firing alerts are sent to Alertmanager
	// again; zero means DefaultResendInterval. It must be well below
	// Alertmanager's resolve_timeout only if endsAt were not sent; esremote
	// sends endsAt = now + 4×ResendInterval.
	ResendInterval time.Duration

	QueueSize   int           // zero means DefaultAlertQueue
	MaxAttempts int           // zero means DefaultAlertAttempts
	Backoff     time.Duration // zero means DefaultAlertBackoff
	BackoffMax  time.Duration // zero means DefaultAlertBackoffMax
	Timeout     time.Duration // zero means DefaultAlertTimeout

	// HTTPClient sends the requests; nil means a client with Timeout.
	HTTPClient *http.Client
	// Clock is the time source; nil means the real clock.
	Clock Clock
	// Logger receives delivery problems; nil discards them.
	Logger *slog.Logger
}

// Enabled reports whether any sink is configured.
func (c AlertConfig) Enabled() bool {
	return len(c.AlertmanagerURLs) > 0 || c.WebhookURL != "" || c.SlackWebhookURL != "" || len(c.Sinks) > 0
}

// Alerter turns reports into alerts on transitions: an alert is sent when
// its condition starts and when it clears, never again on every pass that
// finds the same thing (Alertmanager sinks also get firing alerts re-sent
// every ResendInterval, as Alertmanager requires). Deliveries are
// asynchronous, one queue and worker per sink, retried with capped
// exponential backoff; Observe, SpecInvalid and SpecValid never block on a
// sink.
//
// The state of what fires lives in memory: after a restart the first report
// fires again what is still wrong (Alertmanager deduplicates it), and what
// cleared while the daemon was down resolves in Alertmanager when its endsAt
// passes.
//
// An Alerter is safe for concurrent use. Deliveries happen while [Alerter.Run]
// runs.
type Alerter struct {
	clock  Clock
	log    *slog.Logger
	labels map[string]string
	extURL string // ExternalURL without a trailing slash
	resend time.Duration
	sinks  []*deliverer

	mu     sync.Mutex
	firing map[string]Alert // by key
	// holder is the lease holder of the last report with a leadership
	// ("" before one).
	holder string
}

// NewAlerter checks cfg and returns an Alerter with a queue per sink. Its
// errors never contain a webhook URL.
func NewAlerter(cfg AlertConfig) (*Alerter, error) {
	a := &Alerter{
		clock:  cfg.Clock,
		log:    cfg.Logger,
		labels: maps.Clone(cfg.Labels),
		extURL: strings.TrimSuffix(cfg.ExternalURL, "/"),
		resend: cmp.Or(cfg.ResendInterval, DefaultResendInterval),
		firing: map[string]Alert{},
	}
	if a.clock == nil {
		a.clock = realClock{}
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.resend < 0 {
		return nil, errors.New("alerting: resend interval must be positive")
	}
	if a.extURL != "" {
		if u, err := url.Parse(a.extURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("alerting: external url %q: want an absolute http or https URL without query", cfg.ExternalURL)
		}
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: cmp.Or(cfg.Timeout, DefaultAlertTimeout)}
	}
	var sinks []Sink
	var errs []error
	for _, u := range cfg.AlertmanagerURLs {
		s, err := NewAlertmanagerSink(u, client, a.clock, a.resend)
		errs = append(errs, err)
		sinks = append(sinks, s)
	}
	if cfg.WebhookURL != "" {
		s, err := NewWebhookSink(cfg.WebhookURL, client)
		if s != nil {
			s.externalURL = a.extURL
		}
		errs = append(errs, err)
		sinks = append(sinks, s)
	}
	if cfg.SlackWebhookURL != "" {
		s, err := NewSlackSink(cfg.SlackWebhookURL, client)
		errs = append(errs, err)
		sinks = append(sinks, s)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("alerting: %w", err)
	}
	sinks = append(sinks, cfg.Sinks...)
	for _, s := range sinks {
		a.sinks = append(a.sinks, newDeliverer(s, cfg, a.clock, a.log))
	}
	return a, nil
}

// Run delivers alerts and re-sends firing ones to the sinks that want it
// until ctx is done; it returns nil then. Batches still queued are lost:
// call [Alerter.Flush] first to deliver them. Run must be called once.
func (a *Alerter) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, d := range a.sinks {
		wg.Go(func() { d.run(ctx) })
	}
	defer wg.Wait()
	resending := slices.ContainsFunc(a.sinks, func(d *deliverer) bool { return d.sink.Resends() })
	if !resending {
		<-ctx.Done()
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-a.clock.After(a.resend):
			if firing := a.Firing(); len(firing) > 0 {
				for _, d := range a.sinks {
					if d.sink.Resends() {
						d.enqueue(firing)
					}
				}
			}
		}
	}
}

// Flush waits until every queued batch has been delivered or dropped, or ctx
// is done. The daemon calls it on shutdown, before it stops Run.
func (a *Alerter) Flush(ctx context.Context) error {
	for _, d := range a.sinks {
		select {
		case <-d.idleChan():
		case <-ctx.Done():
			return fmt.Errorf("flush alerts: %w", ctx.Err())
		}
	}
	return nil
}

// compareAlerts orders alerts by connection, then those of targets, then the
// rest; within each by name, then all labels.
func compareAlerts(x, y Alert) int {
	group := func(a Alert) int {
		switch {
		case a.Labels["connection"] != "":
			return 0
		case a.Labels["target"] != "":
			return 1
		}
		return 2
	}
	return cmp.Or(cmp.Compare(group(x), group(y)), strings.Compare(x.Labels["connection"], y.Labels["connection"]),
		strings.Compare(x.Labels["target"], y.Labels["target"]),
		strings.Compare(x.Name(), y.Name()), strings.Compare(x.key(), y.key()))
}

// Firing returns the alerts that fire now, in the order of Observe's.
func (a *Alerter) Firing() []Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Alert, 0, len(a.firing))
	for _, al := range a.firing {
		out = append(out, al.clone())
	}
	slices.SortFunc(out, compareAlerts)
	return out
}

// Observe compares the report of a full pass with what fires: it fires the
// alerts whose condition is new, resolves those whose condition cleared,
// queues both for every sink and returns them (sorted by connection,
// target and name; nil when
// nothing changed). A condition that persists changes nothing, although its
// annotations follow the latest report for re-sends. The daemon calls it
// after every pass; a nil report changes nothing.
func (a *Alerter) Observe(r *Report) []Alert {
	if r == nil {
		return nil
	}
	want := map[string]Alert{}
	for _, c := range r.Connections {
		for _, al := range connectionAlerts(c) {
			want[al.key()] = al
		}
	}
	for _, e := range r.Errors {
		al := newAlert(AlertTargetError, AlertSeverityCritical, map[string]string{"target": e.Target},
			"esremote could not read or write target "+e.Target, e.Message, "")
		if prev, ok := want[al.key()]; ok { // several errors for one target: one alert, each message once
			al.Annotations["description"] = prev.Annotations["description"]
			if !slices.Contains(strings.Split(prev.Annotations["description"], "\n"), e.Message) {
				al.Annotations["description"] += "\n" + e.Message
			}
		}
		want[al.key()] = al
	}
	if ld := r.Leadership; ld != nil && ld.SpecDiverged != "" {
		al := newAlert(AlertSpecDiverged, AlertSeverityCritical, nil,
			"this esremote's specs diverge from the ones the leader last applied: it will not lead",
			ld.SpecDiverged,
			"update this host's spec checkout (git pull) to the applied commit or a descendant; until then, if the leader stops, nobody corrects drift")
		want[al.key()] = al
	}
	if ld := r.Leadership; ld != nil {
		a.mu.Lock()
		prev := a.holder
		a.holder = ld.Holder
		a.mu.Unlock()
		if prev != "" && ld.Holder != prev {
			who := ld.Holder
			if who == "" {
				who = "nobody"
			}
			al := newAlert(AlertLeaderChanged, AlertSeverityWarning, map[string]string{"holder": ld.Holder},
				fmt.Sprintf("the state store's leader changed from %s to %s", prev, who),
				fmt.Sprintf("this daemon is now %s; the lease expires at %s", ld.Role, ld.Expires.UTC().Format(time.RFC3339)),
				"check why "+prev+" stopped leading (host down, cut off from the state store cluster, stopped)")
			want[al.key()] = al
		}
	}
	return a.transition(want, func(al Alert) bool { return al.Name() != AlertSpecInvalid })
}

// SpecInvalid fires AlertSpecInvalid with the loader's problems
// ("file:line:col: message", the first ten in the description), unless it
// fires already. The daemon calls it when a reload is rejected.
func (a *Alerter) SpecInvalid(problems []string) []Alert {
	const shown = 10
	desc := strings.Join(problems[:min(len(problems), shown)], "\n")
	if len(problems) > shown {
		desc += fmt.Sprintf("\n… and %d more", len(problems)-shown)
	}
	al := newAlert(AlertSpecInvalid, AlertSeverityWarning, nil,
		fmt.Sprintf("the spec set is invalid (%d problems); esremote keeps reconciling the last good set", len(problems)),
		desc, "run esremote validate on the spec directory and fix what it reports")
	return a.transition(map[string]Alert{al.key(): al}, isSpecInvalid)
}

// SpecValid resolves AlertSpecInvalid if it fires. The daemon calls it after
// every successful load.
func (a *Alerter) SpecValid() []Alert {
	return a.transition(nil, isSpecInvalid)
}

func isSpecInvalid(al Alert) bool { return al.Name() == AlertSpecInvalid }

// transition makes the firing alerts that scope selects equal to want and
// queues what changed.
func (a *Alerter) transition(want map[string]Alert, scope func(Alert) bool) []Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now().UTC()
	var changed []Alert
	for k, al := range a.firing {
		if !scope(al) {
			continue
		}
		if w, ok := want[k]; ok {
			al.Annotations = w.Annotations
			a.firing[k] = al
			continue
		}
		delete(a.firing, k)
		al.EndsAt = now
		changed = append(changed, al)
	}
	for k, al := range want {
		if _, ok := a.firing[k]; ok {
			continue
		}
		for n, v := range a.labels {
			if _, own := al.Labels[n]; !own {
				al.Labels[n] = v
			}
		}
		al.StartsAt = now
		al.GeneratorURL = a.link(al)
		a.firing[k] = al
		changed = append(changed, al)
	}
	if len(changed) == 0 {
		return nil
	}
	slices.SortFunc(changed, compareAlerts)
	for i := range changed {
		changed[i] = changed[i].clone()
	}
	for _, d := range a.sinks {
		d.enqueue(changed)
	}
	for _, al := range changed {
		state := "firing"
		if al.Resolved() {
			state = "resolved"
		}
		attrs := []any{"alert", al.Name()}
		for _, k := range []string{"connection", "target"} {
			if v := al.Labels[k]; v != "" {
				attrs = append(attrs, k, v)
			}
		}
		a.log.Info("alert "+state, attrs...)
	}
	return slices.Clip(changed)
}

// link is the page an alert points to: its connection's page, else the
// status page; "" without an external URL.
func (a *Alerter) link(al Alert) string {
	if a.extURL == "" {
		return ""
	}
	if c := al.Labels["connection"]; c != "" {
		return ConnectionURL(a.extURL, c)
	}
	return a.extURL + "/"
}

// ConnectionURL is the address of a connection's page under the daemon's
// external URL base: base/connections/NAME, the name path-escaped.
func ConnectionURL(base, connection string) string {
	return strings.TrimSuffix(base, "/") + "/connections/" + url.PathEscape(connection)
}

// newAlert builds an alert; key is added to the labels when not empty.
func newAlert(name, severity string, labels map[string]string, summary, description, fix string) Alert {
	l := map[string]string{"alertname": name, "severity": severity}
	maps.Copy(l, labels)
	ann := map[string]string{"summary": summary}
	if description != "" {
		ann["description"] = description
	}
	if fix != "" {
		ann["fix"] = fix
	}
	return Alert{Labels: l, Annotations: ann}
}

// connectionAlerts lists the conditions that hold for c.
func connectionAlerts(c Connection) []Alert {
	labels := map[string]string{"connection": c.Name, "local": c.Local, "alias": c.Alias}
	link := fmt.Sprintf("%s (%s → %s)", c.Name, c.Local, c.Alias)
	var out []Alert
	switch c.Sync {
	case SyncDrifted:
		pending := 0
		for _, ch := range c.Changes {
			if ch.Pending() {
				pending++
			}
		}
		out = append(out, newAlert(AlertDrifted, AlertSeverityWarning, labels,
			link+" differs from its spec and was not corrected",
			fmt.Sprintf("%d changes pending under policy %q", pending, c.Policy),
			"run esremote plan to see them; esremote apply, or the daemon under policy enforce, corrects them"))
	case SyncFailed:
		desc := c.Error
		for _, ch := range c.Changes {
			if ch.Error != "" {
				desc = strings.TrimSpace(desc + "\n" + string(ch.Resource) + " " + ch.Key + ": " + ch.Error)
			}
		}
		out = append(out, newAlert(AlertSyncFailed, AlertSeverityCritical, labels,
			link+" could not be observed or corrected", desc, firstFix(c, SeverityError)))
	case SyncContested:
		var keys []string
		for _, ch := range c.Changes {
			keys = append(keys, ch.Key)
		}
		out = append(out, newAlert(AlertContested, AlertSeverityWarning, labels,
			"another writer keeps changing "+link+"; esremote stopped correcting it",
			strings.Join(slices.Compact(slices.Sorted(slices.Values(keys))), "\n"),
			"find the other writer (another daemon, Terraform, a person) and make one of them the owner"))
	}
	if reverted := RevertedEdits(c); len(reverted) > 0 {
		var lines []string
		for _, ch := range reverted {
			lines = append(lines, DescribeRevert(ch))
		}
		out = append(out, newAlert(AlertExternalEditReverted, AlertSeverityWarning, labels,
			fmt.Sprintf("someone changed %s by hand; esremote reverted %s", link, plural(len(reverted), "change")),
			strings.Join(lines, "\n"),
			"change the spec instead (policy enforce reverts hand edits of what esremote manages), or set the connection's policy to report"))
	}
	if c.Health.Unhealthy() && (c.Sync == SyncInSync || c.Sync == SyncCorrected) {
		desc, fix := "", ""
		if f, ok := firstFinding(c, SeverityError, SeverityWarning); ok {
			desc, fix = f.Message, f.Fix
		}
		out = append(out, newAlert(AlertDisconnected, AlertSeverityCritical, labels,
			link+" is configured as specified but not connected", desc,
			cmp.Or(fix, "run esremote doctor on the spec directory and "+c.Name)))
	}
	for _, f := range c.Findings {
		var name, severity string
		switch f.Code {
		case CodeKeyExpiresSoon:
			name, severity = AlertKeyExpiring, AlertSeverityWarning
		case CodeKeyExpired:
			name, severity = AlertKeyExpiring, AlertSeverityCritical
		case CodeCAExpiresSoon:
			name, severity = AlertCAExpiring, AlertSeverityWarning
		case CodeCAExpired:
			name, severity = AlertCAExpiring, AlertSeverityCritical
		case CodeRotationStuck:
			name, severity = AlertRotationStuck, AlertSeverityWarning
		default:
			continue
		}
		if slices.ContainsFunc(out, func(a Alert) bool { return a.Name() == name && a.Labels["severity"] == severity }) {
			continue
		}
		out = append(out, newAlert(name, severity, labels, link+": "+f.Message, "", f.Fix))
	}
	return out
}

// RevertedEdits are the changes of c that a pass wrote back after someone
// edited them outside esremote: origin external, applied.
func RevertedEdits(c Connection) []Change {
	var out []Change
	for _, ch := range c.Changes {
		if ch.Origin == OriginExternal && ch.Applied {
			out = append(out, ch)
		}
	}
	return out
}

// DescribeRevert says what a reverted change did, for alerts and the
// journal: `cluster_setting cluster.remote.x.mode on local-a: "sniff" →
// "proxy"`. Values are the report's, where secrets are already
// fingerprints; an absent side reads (none).
func DescribeRevert(ch Change) string {
	val := func(s string) string {
		if s == "" {
			return "(none)"
		}
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s %s on %s: %s → %s", ch.Resource, ch.Key, ch.Target, val(ch.Actual), val(ch.Desired))
}

// firstFinding returns the first finding of c with one of the severities,
// in that order of preference.
func firstFinding(c Connection, severities ...Severity) (Finding, bool) {
	for _, s := range severities {
		for _, f := range c.Findings {
			if f.Severity == s {
				return f, true
			}
		}
	}
	return Finding{}, false
}

func firstFix(c Connection, s Severity) string {
	f, _ := firstFinding(c, s)
	return f.Fix
}

// redactURL shows a sink's URL as scheme and host only: webhook paths and
// user info carry tokens.
func redactURL(u *url.URL) string {
	return u.Scheme + "://" + u.Host
}
