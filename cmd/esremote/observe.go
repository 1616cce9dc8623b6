package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/daemon"
	"github.com/esremote/esremote/spec"
)

// alertFlushTimeout bounds how long a stopping daemon waits for queued
// alerts to be delivered.
const alertFlushTimeout = 5 * time.Second

func init() {
	daemonFlags = append(daemonFlags, observeFlags)
}

// observeOptions are the metrics and alerting flags of `esremote run`
// (docs/alerting.md).
type observeOptions struct {
	alertmanagers stringList
	webhookFile   string
	slackFile     string
	labels        stringList
	resend        time.Duration
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Type() string { return "string" }

func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// observeFlags registers the alerting flags on run's flag set and returns
// the setup that serves /metrics and /status/last-change and sends alerts.
func observeFlags(fs *pflag.FlagSet) daemonSetup {
	o := &observeOptions{}
	fs.Var(&o.alertmanagers, "alertmanager-url", "Alertmanager base `URL` to send alerts to (repeatable)")
	fs.StringVar(&o.webhookFile, "webhook-url-file", "", "`file` holding the generic JSON webhook URL (mode 0600 or stricter)")
	fs.StringVar(&o.slackFile, "slack-webhook-url-file", "", "`file` holding the Slack-compatible webhook URL (mode 0600 or stricter)")
	fs.Var(&o.labels, "alert-label", "extra `key=value` label on every alert (repeatable)")
	fs.DurationVar(&o.resend, "alert-resend-interval", drift.DefaultResendInterval, "how often firing alerts are re-sent to Alertmanager")
	return o.setup
}

// alertConfig builds the Alerter's configuration from the flags. Its errors
// name files and flags, never a URL read from a file.
// Every alert carries a host label, the daemon's host name (os.Hostname),
// unless --alert-label sets one.
func (o *observeOptions) alertConfig(externalURL string, log *slog.Logger) (drift.AlertConfig, error) {
	cfg := drift.AlertConfig{
		AlertmanagerURLs: o.alertmanagers,
		ResendInterval:   o.resend,
		Logger:           log,
		ExternalURL:      externalURL,
	}
	if host, err := hostname(); err == nil && host != "" {
		cfg.Labels = map[string]string{"host": host}
	}
	if o.resend <= 0 {
		return cfg, errors.New("--alert-resend-interval must be positive")
	}
	for _, kv := range o.labels {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !validLabelName(k) || v == "" {
			return cfg, fmt.Errorf("--alert-label %q: want KEY=VALUE with KEY a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)", kv)
		}
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		cfg.Labels[k] = v
	}
	var err error
	if cfg.WebhookURL, err = o.readURLFile("--webhook-url-file", o.webhookFile); err != nil {
		return cfg, err
	}
	if cfg.SlackWebhookURL, err = o.readURLFile("--slack-webhook-url-file", o.slackFile); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// vcsRevision is the VCS revision the binary was built from ("" when the
// build has none), for esremote_build_info.
func vcsRevision() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			return s.Value
		}
	}
	return ""
}

// hostname is os.Hostname; tests replace it.
var hostname = os.Hostname

// readURLFile reads a secret URL from path with the checks of spec
// secrets: a regular file that group and others cannot read, not empty.
// An empty path reads nothing.
func (o *observeOptions) readURLFile(flagName, path string) (string, error) {
	if path == "" {
		return "", nil
	}
	s, err := spec.SecretRef{File: path}.Resolve(os.Getenv)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flagName, err)
	}
	return strings.TrimSpace(s.Reveal()), nil
}

// validLabelName reports whether s is a Prometheus label name that is not
// reserved (__…).
func validLabelName(s string) bool {
	if s == "" || strings.HasPrefix(s, "__") {
		return false
	}
	for i, r := range s {
		if !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || i > 0 && '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// setup wires metrics and alerts into the daemon:
//
//   - GET /metrics serves drift.Metrics, which observes every pass (with
//     its duration; a pass that could not run counts as a failure), every
//     load of the spec set and every pass's API key expiries;
//   - GET /status/last-change serves when each connection last had
//     changes applied, from the history in the state dir;
//   - with any sink configured, an Alerter hears every report and every
//     rejected or accepted load, and is flushed (alertFlushTimeout) when
//     the daemon stops.
func (o *observeOptions) setup(_ *daemon.Loop, x *daemonExtras, log *slog.Logger) error {
	cfg, err := o.alertConfig(x.ExternalURL, log.With("component", "alerts"))
	if err != nil {
		return err
	}
	obs := &observer{metrics: drift.NewMetrics(), dir: x.Dir}
	obs.metrics.SetResync(x.Resync)
	obs.metrics.SetBuildInfo(version, runtime.Version(), vcsRevision())
	if cfg.Enabled() {
		a, err := drift.NewAlerter(cfg)
		if err != nil {
			return err
		}
		obs.alerter = a
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan struct{})
		go func() {
			defer close(ran)
			_ = a.Run(ctx)
		}()
		x.OnStop = append(x.OnStop, func() {
			fctx, fcancel := context.WithTimeout(context.Background(), alertFlushTimeout)
			if err := a.Flush(fctx); err != nil {
				log.Warn("alerts not all delivered before stopping", "err", err)
			}
			fcancel()
			cancel()
			<-ran
		})
		log.Info("alerting", "sinks", sinkNames(cfg), "resend_interval", cfg.ResendInterval.String(), "external_url", cfg.ExternalURL,
			"host", cfg.Labels["host"])
		if u, err := url.Parse(cfg.ExternalURL); err == nil && loopbackAddr(u.Host) {
			log.Warn("alert links point to a loopback address, which opens only on this host; set --external-url", "external_url", cfg.ExternalURL)
		}
	}
	if x.Leadership != nil {
		obs.metrics.FollowLeadership(x.Leadership)
	}
	x.Handlers["GET /metrics"] = obs.metrics.Handler()
	x.Handlers["GET /status/last-change"] = lastChangeHandler(drift.NewHistory(x.StateDir, 0, nil))
	x.OnPass = append(x.OnPass, obs.pass)
	x.OnReport = append(x.OnReport, obs.report)
	x.OnLoad = append(x.OnLoad, obs.load)
	x.OnError = append(x.OnError, func(_ string, class drift.Class) { obs.metrics.CountError(class) })
	return nil
}

// sinkNames names the configured sinks by kind and count only: webhook
// URLs embed tokens.
func sinkNames(cfg drift.AlertConfig) string {
	var out []string
	if n := len(cfg.AlertmanagerURLs); n > 0 {
		out = append(out, fmt.Sprintf("alertmanager×%d", n))
	}
	if cfg.WebhookURL != "" {
		out = append(out, "webhook")
	}
	if cfg.SlackWebhookURL != "" {
		out = append(out, "slack")
	}
	return strings.Join(out, ",")
}

// observer feeds the daemon's passes, reports and loads to the metrics and
// the alerter.
type observer struct {
	metrics *drift.Metrics
	alerter *drift.Alerter // nil without sinks
	dir     string         // the spec dir, the target of reload errors

	mu      sync.Mutex
	elapsed time.Duration // of the pass whose report is saved next
}

// pass records a pass as it ends: the API key and CA expiries of its
// connections (a connection without one loses its series). Its duration
// is kept for report, which sees the merged report, or the report the
// loop made of a pass that could not run (a failure: it has an error).
func (o *observer) pass(res *reconcile.Result, rep *drift.Report, elapsed time.Duration, err error) {
	if err != nil || res == nil || rep == nil {
		// The loop makes and saves the report of a pass that could not
		// run (its error, its connections not observed): report counts it
		// then, as a failure, once.
		o.mu.Lock()
		o.elapsed = elapsed
		o.mu.Unlock()
		return
	}
	// The pass's own report: the saved one may be a retry's merged into
	// the last full pass, which repeats changes already counted.
	o.metrics.ObserveCorrections(rep)
	keys, cas := res.KeyExpirations(), res.CAExpirations()
	for _, c := range rep.Connections {
		o.metrics.SetKeyExpiry(c.Name, keys[c.Name])
		o.metrics.SetCAExpiry(c.Name, cas[c.Name])
	}
	o.mu.Lock()
	o.elapsed = elapsed
	o.mu.Unlock()
}

// report records a saved report. Errors of the spec directory (a rejected
// reload) are left out: the reload metrics and the EsremoteSpecInvalid
// alert cover them, so they do not also count as a failing target.
func (o *observer) report(r *drift.Report) {
	o.mu.Lock()
	elapsed := o.elapsed
	o.elapsed = 0
	o.mu.Unlock()
	if slices.ContainsFunc(r.Errors, func(e drift.ReportError) bool { return e.Target == o.dir }) {
		c := *r
		c.Errors = slices.DeleteFunc(slices.Clone(r.Errors), func(e drift.ReportError) bool { return e.Target == o.dir })
		r = &c
	}
	o.metrics.Observe(r, elapsed)
	if o.alerter != nil {
		o.alerter.Observe(r)
	}
}

// load records a load of the spec set.
func (o *observer) load(problems []string, at time.Time) {
	o.metrics.ObserveReload(problems == nil, at)
	if o.alerter == nil {
		return
	}
	if problems != nil {
		o.alerter.SpecInvalid(problems)
	} else {
		o.alerter.SpecValid()
	}
}

// lastChangeResponse is the body of GET /status/last-change.
type lastChangeResponse struct {
	// Connections maps each connection that had changes applied in the
	// reports the history keeps to the time of the latest such pass.
	Connections map[string]time.Time `json:"connections"`
	// Reports is how many reports of the history were read.
	Reports int `json:"reports"`
}

// lastChangeHandler serves when each connection last had changes applied,
// computed from the history at each request (see lastChanges).
func lastChangeHandler(h *drift.History) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		changes, n, err := lastChanges(h)
		if err != nil && n == 0 {
			http.Error(w, "read history: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(lastChangeResponse{Connections: changes, Reports: n})
	})
}
