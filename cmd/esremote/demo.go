package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/esremote/esremote/internal/flagship"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/sim"
	"github.com/esremote/esremote/spec"

	"github.com/spf13/pflag"
)

func init() {
	register("demo", &command{
		exits:   "0 when every step behaved as narrated, 1 otherwise",
		summary: "the guided tour on the built-in simulated world",
		usage:   "demo [--verify-timeout 3s] [--keystore-reload-delay 2s]",
		flags:   cmdDemo,
	})
}

// The demo's connections. analytics-to-ece-logs is the flagship link
// (internal/flagship, the one the tests drive), the link Elastic's
// "connect ECH to a remote ECE cluster" guide builds by hand; the second
// link exists to be removed from the specs in the last step.
const (
	demoMainFile = "analytics-to-ece-logs.yaml"
	demoMainConn = `# ech-analytics (ECH) searches logs-* on ece-prod-logs (ECE) with a
# cross-cluster API key that esremote creates, stores and rotates.
` + flagship.Link
	demoOnpremFile = "analytics-to-onprem.yaml"
	demoOnpremConn = `# ech-analytics also reaches the self-managed onprem-search cluster
# through its remote cluster server port.
apiVersion: esremote/v1
kind: Connection
name: analytics-to-onprem
local: ech-analytics
alias: onprem
remote:
  cluster: onprem-search
  proxy_address: onprem-search.sim:9443
  server_name: onprem-search.sim
security: api_key
api_key:
  managed: true
  access:
    search: [{names: ["products"]}]
settings:
  skip_unavailable: true
`
)

// The out-of-band edits the demo's operator makes.
const (
	demoLocal        = "ech-analytics"
	demoDriftKey     = "cluster.remote.ece-prod-logs.skip_unavailable"
	demoDriftValue   = "false"
	demoHandmade     = "legacy-dr"
	demoHandmadeAddr = "dr.example.com:9400"
	demoRemovedAlias = "onprem"
)

// cmdDemo runs the guided tour. It exits 0 when every step behaved as
// the narration says it should, and 1 otherwise.
func cmdDemo(fs *pflag.FlagSet) runFunc {
	verify := fs.Duration("verify-timeout", 3*time.Second, "how long apply waits for a request through a written link to prove it")
	reload := fs.Duration("keystore-reload-delay", sim.UserDelays.KeystoreReloadDelay, "how long the simulated platform takes to load a keystore change (ECH/ECE reload on their own schedule)")
	return func(c *cli, pos []string) int {
		if len(pos) != 0 {
			c.usageOf("demo")
			return exitError
		}
		tmp, err := os.MkdirTemp("", "esremote-demo-")
		if err != nil {
			c.errorf("demo: %v", err)
			return exitError
		}
		defer os.RemoveAll(tmp)

		ctx, cancel := context.WithCancel(c.ctx)
		defer cancel()
		d, err := startDemo(ctx, c.stdout, tmp, *verify, *reload)
		if err != nil {
			c.errorf("demo: %v", err)
			return exitError
		}
		defer d.srv.Close()
		if err := d.run(); err != nil {
			c.errorf("demo: %v", err)
			c.hintf("the demo runs against an in-process simulation; this is a bug in esremote, please report it with the output above")
			return exitError
		}
		return exitOK
	}
}

// demo is one run of the tour: a simulated world, a spec dir for it and a
// state dir, all under a temporary directory.
type demo struct {
	ctx    context.Context
	out    io.Writer
	srv    *sim.Server
	specs  string // the spec dir
	state  string // the state dir (ownership ledger, reports)
	verify time.Duration
	step   int
}

// startDemo starts the default world and writes its spec dir under tmp:
// the clusters with their secrets in owner-only files, the CA of the
// world's TLS endpoints, and the two connections.
func startDemo(ctx context.Context, out io.Writer, tmp string, verify, reload time.Duration) (*demo, error) {
	w := sim.DefaultWorld()
	// The real delays, as `esremote sim` and the tests have them
	// (sim.UserDelays), with the keystore's from --keystore-reload-delay.
	sim.Delays{ConnectWait: sim.UserDelays.ConnectWait, KeystoreReloadDelay: reload}.Fill(w)
	srv, err := sim.Start(ctx, w, sim.WithTLS())
	if err != nil {
		return nil, fmt.Errorf("start the simulated world: %w", err)
	}
	d := &demo{ctx: ctx, out: out, srv: srv, specs: filepath.Join(tmp, "specs"), state: filepath.Join(tmp, "state"), verify: verify}
	if err := d.writeSpecs(); err != nil {
		srv.Close()
		return nil, err
	}
	return d, nil
}

func (d *demo) writeSpecs() error {
	secrets := filepath.Join(d.specs, "secrets")
	if err := os.MkdirAll(secrets, 0o700); err != nil {
		return fmt.Errorf("write specs: %w", err)
	}
	yaml, values := simClustersYAML(d.srv.Addresses(), "sim-ca.pem", func(name string) string {
		return "{file: secrets/" + name + "}"
	})
	for name, v := range values {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(v+"\n"), 0o600); err != nil {
			return fmt.Errorf("write secret %s: %w", name, err)
		}
	}
	files := map[string]string{
		"clusters.yaml": yaml,
		"sim-ca.pem":    string(d.srv.CACertPEM()),
		demoMainFile:    demoMainConn,
		demoOnpremFile:  demoOnpremConn,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(d.specs, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("write specs: %w", err)
		}
	}
	return nil
}

// simClustersYAML declares every cluster of a running world: basic auth
// for Elasticsearch, an API key for each control plane, caFile (relative
// to the spec dir) as the CA of both. ref renders the secret reference of
// a secret name ("es-<cluster>" or "cloud-<platform>"); the returned map
// holds each secret's value by name, for whoever stores them.
func simClustersYAML(addrs sim.Addresses, caFile string, ref func(name string) string) (string, map[string]string) {
	var b strings.Builder
	values := map[string]string{}
	b.WriteString("# The simulated world: every cluster esremote logs in to. The secrets are\n" +
		"# named here and read from files or the environment, never written in YAML.\n")
	for _, n := range slices.Sorted(maps.Keys(addrs.Clusters)) {
		c := addrs.Clusters[n]
		es := "es-" + n
		values[es] = c.Password
		fmt.Fprintf(&b, "---\napiVersion: esremote/v1\nkind: Cluster\nname: %s\nelasticsearch:\n  url: %s\n  auth: {basic: {username: %s, password: %s}}\n  ca_file: %s\n",
			n, c.URL, c.Username, ref(es), caFile)
		if c.DeploymentID == "" {
			// No deployment tells esremote where its remote-cluster server
			// listens: a Connection to it names the address itself.
			fmt.Fprintf(&b, "# Self-managed: a Connection whose remote is %s also sets\n"+
				"#   remote: {cluster: %s, proxy_address: \"%s:%d\", server_name: %s}\n"+
				"# (port %d for security: certificate).\n",
				n, n, c.Endpoint, sim.PortRemoteClusterServer, c.Endpoint, sim.PortProxyCertificate)
			continue
		}
		cp := addrs.ControlPlanes[c.Platform]
		cloud := "cloud-" + c.Platform
		values[cloud] = cp.APIKey
		fmt.Fprintf(&b, "deployment:\n  platform: %s\n  api: %s\n  auth: {api_key: %s}\n  id: %s\n  ca_file: %s\n",
			c.Platform, cp.URL, ref(cloud), c.DeploymentID, caFile)
		if c.RefID != "" {
			fmt.Fprintf(&b, "  ref_id: %s\n", c.RefID)
		}
	}
	return b.String(), values
}

// run narrates the tour step by step and checks that each step did what
// the narration claims; the first surprise ends it with an error.
func (d *demo) run() error {
	d.intro()
	steps := []struct {
		title string
		run   func() error
	}{
		{"plan: what would esremote change?", d.firstPlan},
		{"apply: make the clusters match the specs", d.firstApply},
		{"plan again: nothing left to do", d.steadyPlan},
		{"an operator changes a setting behind esremote's back", d.externalDrift},
		{"apply corrects the drift", d.correctDrift},
		{"a connection leaves the specs; an operator adds an alias by hand", d.removeConnection},
	}
	for _, s := range steps {
		d.step++
		d.printf("\n── Step %d: %s ──\n\n", d.step, s.title)
		if err := s.run(); err != nil {
			return fmt.Errorf("step %d (%s): %w", d.step, s.title, err)
		}
	}
	d.printf("\n── Done ──\n\n")
	d.say("Every step behaved as expected. In production, `esremote run DIR` does the same on every change to the specs and on a resync timer, and alerts on drift it cannot fix.")
	d.say("Next: `esremote validate examples/api-key`, then read examples/README.md.")
	return nil
}

func (d *demo) intro() {
	d.printf("esremote demo: a guided tour on a simulated world (nothing leaves this machine)\n\n")
	d.say("The world has three clusters, served on 127.0.0.1 over TLS:")
	for _, n := range d.srv.World.Clusters() {
		info, _ := d.srv.World.Cluster(n)
		platform := map[string]string{sim.PlatformECH: "an Elastic Cloud Hosted deployment", sim.PlatformECE: "an Elastic Cloud Enterprise deployment"}[info.Platform]
		if platform == "" {
			platform = "a self-managed cluster"
		}
		d.printf("    %-14s %s, Elasticsearch %s\n", n, platform, info.Version)
	}
	d.printf("\n")
	d.say("The specs live in " + d.specs + ": clusters.yaml says how to log in (secrets in files next to it, readable only by you), and two Connection files say which links must exist. The main one:")
	d.indent(demoMainConn)
}

// show runs one pass, prints its report, and fails on the report's
// errors: the opening of every step.
func (d *demo) show(mode reconcile.Mode) (*drift.Report, error) {
	rep, err := d.pass(mode)
	if err != nil {
		return nil, err
	}
	d.report(rep)
	return rep, reportErrors(rep)
}

// firstPlan: nothing exists yet, so every setting is a create, and plan
// writes nothing.
func (d *demo) firstPlan() error {
	d.srv.World.ResetLog()
	rep, err := d.show(reconcile.ModePlan)
	if err != nil {
		return err
	}
	if rep.PendingChanges() == 0 {
		return errors.New("plan found nothing to change on an empty world")
	}
	for _, c := range rep.Connections {
		if c.Sync != drift.SyncDrifted {
			return fmt.Errorf("connection %s is %s, want drifted", c.Name, c.Sync)
		}
	}
	if w := d.writes(); len(w) > 0 {
		return fmt.Errorf("plan wrote to the clusters: %s", strings.Join(w, ", "))
	}
	d.say(fmt.Sprintf("Nothing is configured yet, so plan proposes %d changes (+ create, ~ update, - delete). It only read: the simulated clusters saw %d requests and no write. `esremote plan` exits 2 here (changes pending), which CI can use to flag a merge request.",
		rep.PendingChanges(), len(d.srv.World.Requests())))
	return nil
}

// firstApply: every connection is written (one PUT per local cluster)
// and verified.
func (d *demo) firstApply() error {
	d.srv.World.ResetLog()
	rep, err := d.show(reconcile.ModeApply)
	if err != nil {
		return err
	}
	for _, c := range rep.Connections {
		if c.Sync != drift.SyncCorrected {
			return fmt.Errorf("connection %s is %s after apply, want corrected", c.Name, c.Sync)
		}
	}
	d.say("apply wrote, in this order: " + strings.Join(d.writeCounts(), "; ") + ". Every setting of a cluster travels in one PUT /_cluster/settings, so a cluster never holds half a link.")
	d.health(rep)
	return nil
}

// steadyPlan: after apply, plan finds nothing and sends only reads.
func (d *demo) steadyPlan() error {
	d.srv.World.ResetLog()
	rep, err := d.show(reconcile.ModePlan)
	if err != nil {
		return err
	}
	if n := rep.PendingChanges(); n > 0 {
		return fmt.Errorf("plan after apply still proposes %d changes", n)
	}
	if w := d.writes(); len(w) > 0 {
		return fmt.Errorf("plan wrote to the clusters: %s", strings.Join(w, ", "))
	}
	d.say(fmt.Sprintf("The clusters match the specs: no change, %d read requests, no write. `esremote plan` exits 0.", len(d.srv.World.Requests())))
	return nil
}

// externalDrift: a setting esremote wrote is changed on the cluster; plan
// names the drift external.
func (d *demo) externalDrift() error {
	d.say(fmt.Sprintf("During an incident someone runs, in Kibana's Dev Tools on %s:", demoLocal))
	d.indent(fmt.Sprintf("PUT _cluster/settings\n{\"persistent\": {%q: %s}}\n", demoDriftKey, demoDriftValue))
	if err := d.srv.World.SetSetting(demoLocal, "persistent", demoDriftKey, demoDriftValue); err != nil {
		return fmt.Errorf("edit the world: %w", err)
	}
	rep, err := d.show(reconcile.ModePlan)
	if err != nil {
		return err
	}
	ch, ok := findChange(rep, demoDriftKey)
	switch {
	case !ok:
		return fmt.Errorf("plan does not show the edit of %s", demoDriftKey)
	case ch.Origin != drift.OriginExternal:
		return fmt.Errorf("plan shows the edit of %s with origin %q, want external", demoDriftKey, ch.Origin)
	}
	d.say(fmt.Sprintf("plan found %s = %s where the specs say %s. The ownership ledger remembers what esremote wrote, so it knows the cluster changed, not the specs: the drift is marked (external). `esremote run` would alert on it.",
		demoDriftKey, ch.Actual, ch.Desired))
	return nil
}

// correctDrift: apply writes the spec value back, and only that.
func (d *demo) correctDrift() error {
	d.srv.World.ResetLog()
	rep, err := d.show(reconcile.ModeApply)
	if err != nil {
		return err
	}
	ch, ok := findChange(rep, demoDriftKey)
	if !ok || !ch.Applied {
		return fmt.Errorf("apply did not correct %s", demoDriftKey)
	}
	live, err := d.srv.World.Settings(demoLocal, "persistent")
	if err != nil {
		return fmt.Errorf("read the world: %w", err)
	}
	if got := fmt.Sprint(live[demoDriftKey]); got != ch.Desired {
		return fmt.Errorf("%s is %s on %s after apply, want %s", demoDriftKey, got, demoLocal, ch.Desired)
	}
	d.say(fmt.Sprintf("%s is %s again on %s. apply wrote: %s.", demoDriftKey, ch.Desired, demoLocal, strings.Join(d.writeCounts(), "; ")))
	return nil
}

// removeConnection: the owned alias of a removed connection is deleted;
// an alias made by hand is reported and left alone.
func (d *demo) removeConnection() error {
	d.say(fmt.Sprintf("Two things happen at once. A merge request deletes %s from the specs, and an operator adds a disaster-recovery alias %q to %s by hand:", demoOnpremFile, demoHandmade, demoLocal))
	handmade := map[string]string{
		"cluster.remote." + demoHandmade + ".mode":          "proxy",
		"cluster.remote." + demoHandmade + ".proxy_address": demoHandmadeAddr,
	}
	d.indent(fmt.Sprintf("PUT _cluster/settings\n{\"persistent\": {\"cluster.remote.%s.mode\": \"proxy\", \"cluster.remote.%s.proxy_address\": %q}}\n",
		demoHandmade, demoHandmade, demoHandmadeAddr))
	for k, v := range handmade {
		if err := d.srv.World.SetSetting(demoLocal, "persistent", k, v); err != nil {
			return fmt.Errorf("edit the world: %w", err)
		}
	}
	if err := os.Remove(filepath.Join(d.specs, demoOnpremFile)); err != nil {
		return fmt.Errorf("remove %s: %w", demoOnpremFile, err)
	}
	d.srv.World.ResetLog()
	rep, err := d.show(reconcile.ModeApply)
	if err != nil {
		return err
	}

	deleted := map[string]int{} // by resource
	for _, c := range rep.Connections {
		if c.Local != demoLocal || c.Alias != demoRemovedAlias {
			continue
		}
		for _, ch := range c.Changes {
			if ch.Action != drift.ActionDelete || !ch.Applied {
				return fmt.Errorf("removed connection %s: %s %s %s was not applied as a delete", c.Name, ch.Action, ch.Resource, ch.Key)
			}
			deleted[string(ch.Resource)]++
		}
	}
	if len(deleted) == 0 {
		return fmt.Errorf("apply did not delete the alias %s of the removed connection", demoRemovedAlias)
	}
	unmanaged := slices.ContainsFunc(rep.Unmanaged, func(u drift.Unmanaged) bool {
		return u.Target == demoLocal && u.Kind == "alias" && u.Name == demoHandmade
	})
	if !unmanaged {
		return fmt.Errorf("the hand-made alias %s is not listed as unmanaged", demoHandmade)
	}
	live, err := d.srv.World.Settings(demoLocal, "persistent")
	if err != nil {
		return fmt.Errorf("read the world: %w", err)
	}
	for k, v := range handmade {
		if fmt.Sprint(live[k]) != v {
			return fmt.Errorf("the hand-made %s was changed to %v", k, live[k])
		}
	}
	for k := range live {
		if strings.HasPrefix(k, "cluster.remote."+demoRemovedAlias+".") {
			return fmt.Errorf("%s is still set on %s", k, demoLocal)
		}
	}
	var what []string
	for _, r := range slices.Sorted(maps.Keys(deleted)) {
		what = append(what, fmt.Sprintf("%d× %s", deleted[r], r))
	}
	d.say(fmt.Sprintf("esremote deleted what it had created for the removed connection (%s), because its ledger says it wrote them and they still hold what it wrote.",
		strings.Join(what, ", ")))
	d.say(fmt.Sprintf("The alias %s is not in the ledger: esremote lists it as unmanaged and does not touch it. Anything esremote did not create, or that someone changed since, is never deleted.", demoHandmade))
	return nil
}

// pass runs one pass through the plan and apply commands' pipeline
// (operate): a fresh Reconciler over the state dir, the specs loaded from
// disk, the report scrubbed and, for an apply, saved in the history.
func (d *demo) pass(mode reconcile.Mode) (*drift.Report, error) {
	set, problems, err := spec.Load(d.specs)
	if err != nil {
		var b strings.Builder
		for _, p := range problems {
			b.WriteString("\n" + p.String())
		}
		return nil, fmt.Errorf("load specs: %v%s", err, b.String())
	}
	opts := reconcile.Options{
		StateDir:      d.state,
		ReadOnly:      mode == reconcile.ModePlan,
		VerifyTimeout: d.verify,
		// Only the files of the spec dir hold secrets; the environment is
		// not consulted.
		Getenv: func(string) string { return "" },
	}
	_, rep, err := operate(d.ctx, opts, set, mode, "", d.specs, nil, func(err error) { d.printf("    (cannot save the report: %v)\n", err) })
	if err != nil {
		return nil, err
	}
	cmd := "plan"
	if mode == reconcile.ModeApply {
		cmd = "apply"
	}
	d.printf("$ esremote %s %s\n\n", cmd, d.specs)
	return rep, nil
}

// report prints a report's text form, indented.
func (d *demo) report(rep *drift.Report) {
	var b bytes.Buffer
	if err := drift.WriteText(&b, rep, drift.TextOptions{All: true}); err != nil {
		d.printf("    (cannot render the report: %v)\n", err)
		return
	}
	d.indent(b.String())
}

// health says, connection by connection, what the report says about the
// links: connected, or why not.
func (d *demo) health(rep *drift.Report) {
	var down []drift.Connection
	for _, c := range rep.Connections {
		if c.Health == drift.HealthConnected {
			ev := "GET /_remote/info on " + c.Local + " says so"
			if c.Evidence != nil {
				ev = c.Evidence.Request + " on " + c.Local + ": " + c.Evidence.Answer
			}
			d.say(fmt.Sprintf("%s: verified connected by a request through the link (%s).", c.Name, ev))
		} else {
			down = append(down, c)
		}
	}
	for _, c := range down {
		why := ""
		for _, f := range c.Findings {
			if f.Severity != drift.SeverityInfo {
				why = " " + f.Code + ": " + f.Message
				break
			}
		}
		d.say(fmt.Sprintf("%s: configured but %s after the verify timeout (%s).%s", c.Name, c.Health, d.verify, why))
	}
	if len(down) > 0 {
		d.say("`esremote apply` exits 3 in that case (converged, a link not connected); `esremote doctor` walks the link step by step.")
	} else {
		d.say("`esremote apply` exits 0: converged and every link connected.")
	}
}

// writes lists the write requests the world received since its log was
// last reset.
func (d *demo) writes() []string {
	var out []string
	for _, r := range d.srv.World.Requests() {
		if r.Method != "GET" && r.Method != "HEAD" {
			out = append(out, r.Target+" "+r.Endpoint)
		}
	}
	return out
}

// writeCounts groups writes() as "1× PUT /_cluster/settings on ech-analytics",
// in the order they were first sent.
func (d *demo) writeCounts() []string {
	var order []string
	n := map[string]int{}
	for _, w := range d.writes() {
		if n[w] == 0 {
			order = append(order, w)
		}
		n[w]++
	}
	out := make([]string, 0, len(order))
	for _, w := range order {
		target, endpoint, _ := strings.Cut(w, " ")
		out = append(out, fmt.Sprintf("%d× %s on %s", n[w], endpoint, target))
	}
	if len(out) == 0 {
		return []string{"nothing"}
	}
	return out
}

// say prints one explanation paragraph.
func (d *demo) say(s string) { d.printf("%s\n\n", s) }

// indent prints text indented by four spaces, followed by a blank line.
func (d *demo) indent(text string) {
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if l == "" {
			d.printf("\n")
			continue
		}
		d.printf("    %s\n", l)
	}
	d.printf("\n")
}

func (d *demo) printf(format string, a ...any) { fmt.Fprintf(d.out, format, a...) }

// reportErrors turns the errors and failed connections of a report into
// one error.
func reportErrors(rep *drift.Report) error {
	var msgs []string
	for _, e := range rep.Errors {
		msgs = append(msgs, e.Target+": "+e.Message)
	}
	for _, c := range rep.Connections {
		if c.Sync == drift.SyncFailed {
			msg := c.Name + " failed"
			if c.Error != "" {
				msg += ": " + c.Error
			}
			for _, ch := range c.Changes {
				if ch.Error != "" {
					msg += "; " + ch.Key + ": " + ch.Error
				}
			}
			msgs = append(msgs, msg)
		}
	}
	if len(msgs) > 0 {
		return errors.New(strings.Join(msgs, "; "))
	}
	return nil
}

// findChange finds the change of a key in any connection of a report.
func findChange(rep *drift.Report, key string) (drift.Change, bool) {
	for _, c := range rep.Connections {
		for _, ch := range c.Changes {
			if ch.Key == key {
				return ch, true
			}
		}
	}
	return drift.Change{}, false
}
