package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// managedConnectionWithRole is managedConnection with a role on the local
// cluster, so the first pass writes all four kinds: key, keystore,
// settings, role.
const managedConnectionWithRole = managedConnection + `roles:
  - name: logs-remote-reader
    remote_indices:
      - names: ["logs-*"]
        privileges: [read, read_cross_cluster]
`

// TestDaemonJournalAndRevertNotification runs the daemon against a
// simulated world with every sink configured:
//
//   - its journal (the log on stderr) has a line for each write of the
//     first pass, naming connection, resource, key and origin: the key
//     creation, the keystore write, the settings write and the role write
//     (issue 25, Done-when 3);
//   - a hand edit of a managed setting is reverted by a later pass, and
//     the revert reaches Alertmanager, the webhook and Slack as
//     EsremoteExternalEditReverted, with the setting, the hand-edited value
//     and the link to the connection's page; the journal's "hand edit
//     reverted" line names the setting, the old value, the new one and the
//     origin external (Done-when 2 and 4);
//   - no secret of the world is in the journal or the alerts.
func TestDaemonJournalAndRevertNotification(t *testing.T) {
	w := newSimWorld(t, managedConnectionWithRole)
	am, hook, slack := newWebhook(t), newWebhook(t), newWebhook(t)
	// A short resync: the pass after the hand edit comes on its own.
	d := w.start(t, "--debounce", "1h:1h", "--resync", "1s", "--alertmanager-url", am.srv.URL,
		"--webhook-url-file", hook.urlFile(t, "/hook?token=s3cret"), "--slack-webhook-url-file", slack.urlFile(t, "/services/T0/B0/s3cret"),
		"--external-url", "https://esremote.example.com/")
	d.firstPass()
	logs := d.logs

	// The first pass's writes, one journal line each.
	journal := logs.String()
	for _, want := range []string{
		`level=INFO msg="api key created" connection=analytics-to-ece-logs resource=api_key target=ece-prod-logs key=esremote-analytics-to-ece-logs action=create origin=spec`,
		`level=INFO msg="keystore entry written" connection=analytics-to-ece-logs resource=keystore target=ech-analytics key=cluster.remote.ece-prod-logs.credentials action=create origin=spec`,
		`level=INFO msg="cluster setting written" connection=analytics-to-ece-logs resource=cluster_setting target=ech-analytics key=cluster.remote.ece-prod-logs.mode action=create origin=spec old=(none) new=proxy`,
		`level=INFO msg="role written" connection=analytics-to-ece-logs resource=role target=ech-analytics key=logs-remote-reader action=create origin=spec`,
	} {
		if !strings.Contains(journal, want) {
			t.Errorf("journal lacks\n%s\nin:\n%s", want, journal)
		}
	}

	// Someone sets server_name by hand, as in Kibana's dev tools.
	const key = "cluster.remote.ece-prod-logs.server_name"
	if err := w.srv.World.SetSetting("ech-analytics", "persistent", key, "evil.example"); err != nil {
		t.Fatal(err)
	}
	for name, sink := range map[string]*webhook{"alertmanager": am, "webhook": hook, "slack": slack} {
		body := sink.wait(t, drift.AlertExternalEditReverted)
		for _, want := range []string{key, "evil.example", "https://esremote.example.com/connections/analytics-to-ece-logs"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: the revert's alert lacks %q:\n%s", name, want, body)
			}
		}
		if strings.Contains(body, "s3cret") {
			t.Errorf("%s: a webhook token in the alert", name)
		}
	}
	// The link's path is the connection's page on the daemon's listener
	// (--external-url is the proxy in front of it).
	const page = "/connections/analytics-to-ece-logs"
	if body := get(t, d.url(page)); !strings.Contains(body, "analytics-to-ece-logs") {
		t.Errorf("GET %s does not show the connection:\n%s", page, body)
	}
	reverted := regexp.MustCompile(`level=WARN msg="hand edit reverted" connection=analytics-to-ece-logs resource=cluster_setting target=ech-analytics key=` +
		regexp.QuoteMeta(key) + ` action=update origin=external old=evil.example new=\S+\n`)
	if !reverted.MatchString(logs.String()) {
		t.Errorf("journal lacks the revert of %s:\n%s", key, logs)
	}

	d.stop()
	out := logs.String()
	for _, sec := range w.secrets() {
		if sec != "" && strings.Contains(out, sec) {
			t.Errorf("a secret of the world (%d chars) is in the journal", len(sec))
		}
	}
	if strings.Contains(out, "s3cret") {
		t.Errorf("a webhook token is in the journal")
	}
	if strings.Contains(out, "alert links point to a loopback address") {
		t.Errorf("the loopback hint despite --external-url")
	}
}

// TestUnreachableRemoteIsATargetError: a remote that stops answering after
// the first pass is a report error of its own, so esremote_report_errors
// and EsremoteTargetError name it (not the local cluster that reads it),
// and the daemon's warning names it with the error, and the local cluster
// it passes again.
func TestUnreachableRemoteIsATargetError(t *testing.T) {
	w := newSimWorld(t, managedConnection)
	hook := newWebhook(t)
	d := w.start(t, "--debounce", "1h:1h", "--resync", "1s", "--webhook-url-file", hook.urlFile(t, "/hook"))
	d.firstPass()
	logs := d.logs

	// The remote resets every connection from now on.
	if _, err := w.srv.Fault(sim.Fault{Target: "ece-prod-logs", Kind: sim.FaultReset}); err != nil {
		t.Fatal(err)
	}
	body := hook.wait(t, `"target":"ece-prod-logs"`)
	if !strings.Contains(body, drift.AlertTargetError) || !strings.Contains(body, "get cluster info on ece-prod-logs") {
		t.Errorf("target error alert: %s", body)
	}
	metrics := get(t, d.url("/metrics"))
	if !strings.Contains(metrics, `esremote_report_errors{target="ece-prod-logs"} 1`+"\n") {
		t.Errorf("/metrics lacks the unreachable remote's error:\n%s", metrics)
	}
	if strings.Contains(metrics, `esremote_report_errors{target="ech-analytics"}`) {
		t.Errorf("/metrics blames the local cluster")
	}
	warn := regexp.MustCompile(`level=WARN msg="target failing; retrying later" target=ece-prod-logs local=ech-analytics class=retryable attempt=\d+ retry_in=\S+ err="get cluster info on ece-prod-logs: [^"]+"`)
	if !warn.MatchString(logs.String()) {
		t.Errorf("no warning naming the remote and its error:\n%s", logs)
	}
	d.stop()
}
