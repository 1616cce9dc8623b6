package drift

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Sink delivers alerts somewhere. The Alerter calls Send from one worker
// goroutine per sink, with a batch of transitions (or, for a sink that
// Resends, every firing alert); a Send that fails is retried with backoff
// unless its error is permanent (see [PermanentError]).
type Sink interface {
	// Name identifies the sink in logs; it holds no secret.
	Name() string
	// Resends reports whether the sink wants firing alerts again every
	// resend interval, as Alertmanager does.
	Resends() bool
	Send(ctx context.Context, alerts []Alert) error
}

// PermanentError marks a delivery that retrying cannot fix (the receiver
// rejected the request: a 4xx other than 408 and 429).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// AlertmanagerSink posts alerts to Alertmanager's v2 API
// (POST /api/v2/alerts). Firing alerts carry endsAt = now + 4×resend
// interval, as Prometheus sends them, so Alertmanager resolves them by
// itself only if esremote stops re-sending; resolved alerts carry the time
// they resolved.
type AlertmanagerSink struct {
	endpoint *url.URL
	client   *http.Client
	clock    Clock
	validFor time.Duration
}

// NewAlertmanagerSink returns the sink of the Alertmanager at base (e.g.
// "http://127.0.0.1:9093", or a URL ending in /api/v2/alerts). Firing alerts
// are re-sent every resend by the Alerter.
func NewAlertmanagerSink(base string, client *http.Client, clock Clock, resend time.Duration) (*AlertmanagerSink, error) {
	u, err := sinkURL("alertmanager", base)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(u.Path, "/api/v2/alerts") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/api/v2/alerts"
	}
	if clock == nil {
		clock = realClock{}
	}
	return &AlertmanagerSink{endpoint: u, client: client, clock: clock, validFor: 4 * resend}, nil
}

// Name is "alertmanager <scheme://host>".
func (s *AlertmanagerSink) Name() string { return "alertmanager " + redactURL(s.endpoint) }

// Resends is true: Alertmanager forgets alerts that are not re-sent.
func (s *AlertmanagerSink) Resends() bool { return true }

// Send posts the alerts as a JSON array.
func (s *AlertmanagerSink) Send(ctx context.Context, alerts []Alert) error {
	until := s.clock.Now().UTC().Add(s.validFor)
	out := make([]Alert, len(alerts))
	for i, a := range alerts {
		if !a.Resolved() {
			a.EndsAt = until
		}
		out[i] = a
	}
	body, err := marshal(out)
	if err != nil {
		return &PermanentError{fmt.Errorf("encode alerts: %w", err)}
	}
	return post(ctx, s.client, s.endpoint, body)
}

// WebhookSink posts alerts in the body of Alertmanager's webhook receiver
// (notify/webhook Message, version "4", over template.Data), so the
// consumers and dedup bridges written for Alertmanager read it unchanged.
// Each alert of a batch is one message, its own group, as Alertmanager
// sends with group_by: ['...']: groupKey is the root route's key and the
// alert's labels ({}:{alertname="…", …}), groupLabels and commonLabels are
// its labels, commonAnnotations its annotations, status its status, and
// truncatedAlerts is 0. A bridge keying on groupKey thus opens one incident
// per condition and closes it when that condition resolves, whatever else
// fires. Each alert carries its fingerprint as Alertmanager computes it
// (the labels' FNV-1a, prometheus/common model.LabelSet.Fingerprint);
// endsAt is 0001-01-01T00:00:00Z while it fires, as Alertmanager's
// webhook shows it.
//
//	{"receiver": "esremote", "status": "firing",
//	 "alerts": [{"status": "firing", "labels": {…}, "annotations": {…},
//	             "startsAt": "…", "endsAt": "0001-01-01T00:00:00Z",
//	             "generatorURL": "…", "fingerprint": "…"}],
//	 "groupLabels": {…}, "commonLabels": {…}, "commonAnnotations": {…},
//	 "externalURL": "…", "version": "4", "groupKey": "{}:{…}", "truncatedAlerts": 0}
//
// A batch that fails part-way is sent again whole: receivers see a message
// twice, as they do from Alertmanager's repeat_interval, and deduplicate
// on groupKey and status.
type WebhookSink struct {
	endpoint *url.URL
	client   *http.Client
	// externalURL is the Alerter's ExternalURL, the messages' externalURL.
	externalURL string
}

// NewWebhookSink returns the sink of the webhook at rawURL.
func NewWebhookSink(rawURL string, client *http.Client) (*WebhookSink, error) {
	u, err := sinkURL("webhook", rawURL)
	if err != nil {
		return nil, err
	}
	return &WebhookSink{endpoint: u, client: client}, nil
}

// Name is "webhook <scheme://host>".
func (s *WebhookSink) Name() string { return "webhook " + redactURL(s.endpoint) }

// Resends is false: a webhook hears of each transition once.
func (s *WebhookSink) Resends() bool { return false }

// webhookAlert is an alert as Alertmanager's template.Alert encodes it:
// every field present, endsAt zero while firing.
type webhookAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// webhookMessage is Alertmanager's webhook Message: template.Data's fields
// first (it is embedded), then version, groupKey and truncatedAlerts.
type webhookMessage struct {
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"`
	Alerts            []webhookAlert    `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   uint64            `json:"truncatedAlerts"`
}

// webhookReceiver is the receiver name of every message.
const webhookReceiver = "esremote"

// rootRouteKey is the key of Alertmanager's root route (an empty matcher
// set), the first half of every groupKey.
const rootRouteKey = "{}"

// newWebhookMessage is the message of one alert, its own group.
func newWebhookMessage(a Alert, externalURL string) webhookMessage {
	ls := model.LabelSet{}
	for k, v := range a.Labels {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	status := alertStatus(a)
	return webhookMessage{
		Receiver: webhookReceiver,
		Status:   status,
		Alerts: []webhookAlert{{Status: status, Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.StartsAt,
			EndsAt: a.EndsAt, GeneratorURL: a.GeneratorURL, Fingerprint: ls.Fingerprint().String()}},
		GroupLabels:       a.Labels,
		CommonLabels:      a.Labels,
		CommonAnnotations: a.Annotations,
		ExternalURL:       externalURL,
		Version:           "4",
		GroupKey:          rootRouteKey + ":" + ls.String(),
	}
}

// Send posts one message per alert, in order; it stops at the first
// failure (the deliverer retries the batch).
func (s *WebhookSink) Send(ctx context.Context, alerts []Alert) error {
	for _, a := range alerts {
		body, err := marshal(newWebhookMessage(a, s.externalURL))
		if err != nil {
			return &PermanentError{fmt.Errorf("encode alerts: %w", err)}
		}
		if err := post(ctx, s.client, s.endpoint, body); err != nil {
			return err
		}
	}
	return nil
}

// SlackSink posts every batch of transitions as {"text": "…"}, one line per
// alert (and its description and fix indented), to a Slack-compatible
// incoming webhook.
type SlackSink struct {
	endpoint *url.URL
	client   *http.Client
}

// NewSlackSink returns the sink of the incoming webhook at rawURL.
func NewSlackSink(rawURL string, client *http.Client) (*SlackSink, error) {
	u, err := sinkURL("slack webhook", rawURL)
	if err != nil {
		return nil, err
	}
	return &SlackSink{endpoint: u, client: client}, nil
}

// Name is "slack <scheme://host>".
func (s *SlackSink) Name() string { return "slack " + redactURL(s.endpoint) }

// Resends is false: a chat hears of each transition once.
func (s *SlackSink) Resends() bool { return false }

// Send posts the batch as one message.
func (s *SlackSink) Send(ctx context.Context, alerts []Alert) error {
	body, err := marshal(map[string]string{"text": slackText(alerts)})
	if err != nil {
		return &PermanentError{fmt.Errorf("encode alerts: %w", err)}
	}
	return post(ctx, s.client, s.endpoint, body)
}

// slackText renders alerts as Slack mrkdwn:
//
//	*[FIRING:critical] EsremoteConnectionSyncFailed* a (l → r) could not …
//	> description line
//	> fix: …
//	> <https://esremote.example/connections/a|page of a>
//	> host: admin-1
func slackText(alerts []Alert) string {
	var b strings.Builder
	for i, a := range alerts {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "*[%s:%s] %s* %s", strings.ToUpper(alertStatus(a)), a.Labels["severity"], a.Name(),
			slackEscape(a.Annotations["summary"]))
		for line := range strings.SplitSeq(a.Annotations["description"], "\n") {
			if line != "" {
				b.WriteString("\n> " + slackEscape(line))
			}
		}
		if fix := a.Annotations["fix"]; fix != "" && !a.Resolved() {
			b.WriteString("\n> fix: " + slackEscape(fix))
		}
		if a.GeneratorURL != "" {
			what := "status page"
			if c := a.Labels["connection"]; c != "" {
				what = "page of " + c
			}
			fmt.Fprintf(&b, "\n> <%s|%s>", slackLinkEscape(a.GeneratorURL), slackEscape(what))
		}
		if host := a.Labels["host"]; host != "" {
			b.WriteString("\n> host: " + slackEscape(host))
		}
	}
	return b.String()
}

// slackLinkEscape makes a URL safe inside <URL|text>: the mrkdwn escapes,
// and "|", which would end the URL.
var slackLinkEscape = strings.NewReplacer("&", "&amp;", "<", "%3C", ">", "%3E", "|", "%7C").Replace

// slackEscape escapes the three characters Slack's mrkdwn reserves.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

func alertStatus(a Alert) string {
	if a.Resolved() {
		return "resolved"
	}
	return "firing"
}

// sinkURL parses a sink's URL; its errors never show the URL, which may
// carry a token.
func sinkURL(what, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s url: not a URL", what)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s url: want an absolute http or https URL", what)
	}
	return u, nil
}

// maxErrorBody bounds how much of a refusal's body an error quotes.
const maxErrorBody = 256

// post sends body as JSON to u. Its errors name the endpoint by scheme and
// host only; a 4xx other than 408 and 429 is a PermanentError.
func post(ctx context.Context, client *http.Client, u *url.URL, body []byte) error {
	where := redactURL(u)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return &PermanentError{fmt.Errorf("post alerts to %s: bad request", where)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "esremote")
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error quotes the whole URL: keep only its cause.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return fmt.Errorf("post alerts to %s: %w", where, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	io.Copy(io.Discard, resp.Body) // reuse the connection
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("post alerts to %s: %s: %s", where, resp.Status, strings.TrimSpace(string(msg)))
	if resp.StatusCode >= 400 && resp.StatusCode < 500 &&
		resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests {
		return &PermanentError{err}
	}
	return err
}
