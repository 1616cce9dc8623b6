package reconcile

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/esremote/esremote/reconcile/sim"
	"github.com/esremote/esremote/spec"
)

// handmadeWorld is the default world where an operator set up three
// aliases on ech-analytics by hand: an API-key link to the ECE deployment
// (its key in the keystore), a certificate link to the self-managed
// cluster with extra transport settings, and a sniff link.
func handmadeWorld(t *testing.T) (*testWorld, string) {
	t.Helper()
	tw := newTestWorld(t, sim.DefaultWorld())
	w := tw.srv.World
	ece, _ := w.Cluster("ece-prod-logs")
	set := func(k string, v any) {
		t.Helper()
		if err := w.SetSetting("ech-analytics", "persistent", "cluster.remote."+k, v); err != nil {
			t.Fatal(err)
		}
	}
	set("ece-prod-logs.mode", "proxy")
	set("ece-prod-logs.proxy_address", ece.Endpoint+":9443")
	set("ece-prod-logs.server_name", ece.Endpoint)
	set("ece-prod-logs.skip_unavailable", "true")
	set("ece-prod-logs.proxy_socket_connections", "18")
	_, encoded, err := w.CreateCrossClusterKey("ece-prod-logs", "made-by-hand", `{"search":[{"names":["logs-*"]}]}`, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetKeystore("ech-analytics", "cluster.remote.ece-prod-logs.credentials", encoded); err != nil {
		t.Fatal(err)
	}
	set("onprem.mode", "proxy")
	set("onprem.proxy_address", "onprem-search.sim:9400")
	set("onprem.server_name", "onprem-search.sim")
	set("onprem.transport.compress", "true")
	set("onprem.transport.ping_schedule", "30s")
	set("legacy.mode", "sniff")
	set("legacy.seeds", []string{"onprem-search.sim:9300", "onprem-b.sim:9300"})
	set("legacy.node_connections", "2")
	return tw, encoded
}

// supplyCredential puts the hand-made key where the imported spec names
// it: $CREDENTIALS_DIRECTORY/ech-analytics-ece-prod-logs-ccs.
func (tw *testWorld) supplyCredential(name, value string) {
	tw.t.Helper()
	dir := tw.env["CREDENTIALS_DIRECTORY"]
	if dir == "" {
		dir = tw.t.TempDir()
		tw.env["CREDENTIALS_DIRECTORY"] = dir
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(value+"\n"), 0o600); err != nil {
		tw.t.Fatal(err)
	}
}

func (tw *testWorld) importAll(opts ImportOptions) *ImportResult {
	tw.t.Helper()
	if opts.Cluster == "" {
		opts.Cluster = "ech-analytics"
	}
	res, err := tw.reconciler(false).Import(context.Background(), tw.load(), opts)
	if err != nil {
		tw.t.Fatal(err)
	}
	return res
}

func statuses(res *ImportResult) map[string]string {
	out := map[string]string{}
	for _, a := range res.Aliases {
		out[a.Alias] = a.Status
	}
	return out
}

func TestImportThenPlanIsInSync(t *testing.T) {
	tw, encoded := handmadeWorld(t)
	tw.supplyCredential("ech-analytics-ece-prod-logs-ccs", encoded)
	tw.srv.World.ResetLog()

	res := tw.importAll(ImportOptions{})
	if w := tw.writes(); len(w) != 0 {
		t.Fatalf("import wrote to the world: %v", w)
	}
	want := map[string]string{"ece-prod-logs": ImportCreated, "onprem": ImportCreated, "legacy": ImportCreated}
	if got := statuses(res); !maps.Equal(got, want) {
		t.Fatalf("statuses = %v, want %v", got, want)
	}
	if len(res.Credentials) != 1 || res.Credentials[0].Name != "ech-analytics-ece-prod-logs-ccs" || !res.Credentials[0].Present {
		t.Fatalf("credentials = %+v", res.Credentials)
	}
	for _, a := range res.Aliases {
		if len(a.Notes) > 0 {
			t.Errorf("%s: notes %v, want none", a.Alias, a.Notes)
		}
	}

	set := tw.load()
	byAlias := map[string]*spec.Connection{}
	for _, c := range set.Connections {
		byAlias[c.Alias] = c
	}
	if c := byAlias["ece-prod-logs"]; c == nil || c.Remote.Cluster != "ece-prod-logs" || c.Remote.ProxyAddress != "" ||
		c.Security != spec.SecurityAPIKey || c.APIKey.Managed || c.APIKey.Credentials.Credential != "ech-analytics-ece-prod-logs-ccs" {
		t.Errorf("ece-prod-logs imported as %+v", c)
	}
	if c := byAlias["onprem"]; c == nil || c.Security != spec.SecurityCertificate || c.Remote.ProxyAddress != "onprem-search.sim:9400" || c.Settings.Compress != "true" {
		t.Errorf("onprem imported as %+v", c)
	}
	if c := byAlias["legacy"]; c == nil || c.Settings.Mode != spec.ModeSniff || len(c.Remote.Seeds) != 2 || c.Settings.NodeConnections == nil {
		t.Errorf("legacy imported as %+v", c)
	}

	tw.srv.World.ResetLog()
	plan := tw.pass(ModePlan)
	if n := plan.Plan.Changes(); n != 0 {
		t.Fatalf("plan after import has %d changes: %s", n, describePlan(plan.Plan))
	}
	if len(plan.Plan.Clusters[0].Unmanaged) != 0 {
		t.Fatalf("unmanaged after import: %+v", plan.Plan.Clusters[0].Unmanaged)
	}
	if w := tw.writes(); len(w) != 0 {
		t.Fatalf("plan wrote: %v", w)
	}
}

func TestImportTwiceChangesNothing(t *testing.T) {
	tw, encoded := handmadeWorld(t)
	tw.supplyCredential("ech-analytics-ece-prod-logs-ccs", encoded)
	tw.importAll(ImportOptions{})
	ledger1, err := os.ReadFile(filepath.Join(tw.state, LedgerFile))
	if err != nil {
		t.Fatal(err)
	}
	res := tw.importAll(ImportOptions{})
	for _, a := range res.Aliases {
		if a.Status != ImportUnchanged {
			t.Errorf("second import: %s is %s, want unchanged", a.Alias, a.Status)
		}
	}
	ledger2, _ := os.ReadFile(filepath.Join(tw.state, LedgerFile))
	if string(ledger1) != string(ledger2) {
		t.Errorf("second import rewrote the ledger:\n%s\n---\n%s", ledger1, ledger2)
	}
	files, _ := filepath.Glob(filepath.Join(tw.dir, ImportDir, "ech-analytics", "*"))
	if len(files) != 3 {
		t.Errorf("files after two imports: %v", files)
	}

	// An edited file is left alone, and --force puts it back.
	p := filepath.Join(tw.dir, ImportDir, "ech-analytics", "onprem.yaml")
	b, _ := os.ReadFile(p)
	edited := strings.Replace(string(b), `compress: "true"`, `compress: "false"`, 1)
	if edited == string(b) {
		t.Fatalf("no compress line in:\n%s", b)
	}
	tw.write(filepath.Join(ImportDir, "ech-analytics", "onprem.yaml"), edited)
	res = tw.importAll(ImportOptions{Aliases: []string{"onprem"}})
	if got := statuses(res)["onprem"]; got != ImportDiffers {
		t.Fatalf("edited file: status %s, want differs", got)
	}
	if now, _ := os.ReadFile(p); string(now) != edited {
		t.Fatalf("import changed an edited file without --force")
	}
	res = tw.importAll(ImportOptions{Aliases: []string{"onprem"}, Force: true})
	if got := statuses(res)["onprem"]; got != ImportUpdated {
		t.Fatalf("--force: status %s, want updated", got)
	}
}

func TestImportedAliasIsOwned(t *testing.T) {
	tw, encoded := handmadeWorld(t)
	tw.supplyCredential("ech-analytics-ece-prod-logs-ccs", encoded)
	tw.importAll(ImportOptions{})

	// A spec edit is exactly one change of origin spec.
	p := filepath.Join(ImportDir, "ech-analytics", "onprem.yaml")
	b, _ := os.ReadFile(filepath.Join(tw.dir, p))
	tw.write(p, strings.Replace(string(b), `compress: "true"`, `compress: "false"`, 1))
	changes := allChanges(tw.pass(ModePlan).Plan)
	if len(changes) != 1 || changes[0].Key != "cluster.remote.onprem.transport.compress" || changes[0].Origin != OriginSpec || changes[0].Desired != "false" {
		t.Fatalf("after editing compress: %s", describeChanges(changes))
	}
	tw.write(p, string(b))

	// A live change is external drift.
	if err := tw.srv.World.SetSetting("ech-analytics", "persistent", "cluster.remote.legacy.node_connections", "5"); err != nil {
		t.Fatal(err)
	}
	changes = allChanges(tw.pass(ModePlan).Plan)
	if len(changes) != 1 || changes[0].Origin != OriginExternal {
		t.Fatalf("after a live change: %s", describeChanges(changes))
	}
	if err := tw.srv.World.SetSetting("ech-analytics", "persistent", "cluster.remote.legacy.node_connections", "2"); err != nil {
		t.Fatal(err)
	}

	// Removing the file deletes the alias it imported.
	tw.remove(p)
	res := tw.pass(ModeApply)
	cp := res.Plan.Clusters[0]
	if len(cp.Deletions) != 1 || cp.Deletions[0].Alias != "onprem" {
		t.Fatalf("deletions = %+v, unmanaged = %+v", cp.Deletions, cp.Unmanaged)
	}
	m, _ := tw.srv.World.Settings("ech-analytics", "persistent")
	for k := range m {
		if strings.HasPrefix(k, "cluster.remote.onprem.") {
			t.Errorf("%s still set after removing the file", k)
		}
	}
}

func TestImportWithoutCredentialPlansTheKeystore(t *testing.T) {
	tw, encoded := handmadeWorld(t)
	res := tw.importAll(ImportOptions{Aliases: []string{"ece-prod-logs"}, DryRun: true})
	if len(res.Credentials) != 1 || res.Credentials[0].Present {
		t.Fatalf("credentials = %+v", res.Credentials)
	}
	if _, err := os.Stat(filepath.Join(tw.dir, ImportDir)); err == nil {
		t.Fatal("dry run wrote files")
	}
	tw.importAll(ImportOptions{Aliases: []string{"ece-prod-logs"}})
	// Supplied after the import: the first plan delivers it to the
	// keystore, since esremote cannot know the keystore holds this key.
	tw.supplyCredential("ech-analytics-ece-prod-logs-ccs", encoded)
	changes := allChanges(tw.pass(ModePlan).Plan)
	if len(changes) != 1 || changes[0].Resource != ResourceKeystore {
		t.Fatalf("plan: %s", describeChanges(changes))
	}
}

func TestImportSkipsDeclaredAliases(t *testing.T) {
	tw, _ := handmadeWorld(t)
	tw.write("legacy.yaml", `apiVersion: esremote/v1
kind: Connection
name: legacy-link
local: ech-analytics
alias: legacy
remote: {seeds: ["onprem-search.sim:9300"]}
security: certificate
settings: {mode: sniff}
`)
	res := tw.importAll(ImportOptions{})
	if got := statuses(res)["legacy"]; got != ImportSkipped {
		t.Fatalf("legacy: %s, want skipped", got)
	}
	if _, err := os.Stat(filepath.Join(tw.dir, ImportDir, "ech-analytics", "legacy.yaml")); err == nil {
		t.Fatal("a declared alias was imported")
	}
	if _, err := tw.reconciler(false).Import(context.Background(), tw.load(), ImportOptions{Cluster: "nope"}); err == nil {
		t.Fatal("an undeclared cluster imported")
	}
	if _, err := tw.reconciler(false).Import(context.Background(), tw.load(), ImportOptions{Cluster: "ech-analytics", Aliases: []string{"nope"}}); err == nil {
		t.Fatal("an unknown alias imported")
	}
}

func TestImportQuote(t *testing.T) {
	for in, want := range map[string]string{
		"onprem-search.sim:9400": "onprem-search.sim:9400",
		"true":                   `"true"`,
		"18":                     `"18"`,
		"a: b":                   `"a: b"`,
		"-x":                     `"-x"`,
		"":                       `""`,
	} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func allChanges(p *Plan) []*Change {
	var out []*Change
	for _, cp := range p.Clusters {
		for _, c := range cp.Connections {
			out = append(out, c.Changes...)
			if c.Err != nil {
				out = append(out, &Change{Key: "error: " + c.Err.Error()})
			}
		}
		for _, d := range cp.Deletions {
			out = append(out, d.Changes...)
		}
	}
	return out
}

func describeChanges(cs []*Change) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString("\n\t" + c.Resource + " " + c.Action + " " + c.Key + " " + c.Actual + " → " + c.Desired + " (" + c.Origin + ")")
	}
	return b.String()
}

func describePlan(p *Plan) string { return describeChanges(allChanges(p)) }

// What plan will still show after an import is announced in its notes:
// transient values (made persistent) and the trust of a certificate link
// between two declared deployments.
func TestImportNotesWhatPlanStillShows(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	w := tw.srv.World
	ece, _ := w.Cluster("ece-prod-logs")
	for k, v := range map[string]string{"mode": "proxy", "proxy_address": ece.Endpoint + ":9400", "server_name": ece.Endpoint} {
		if err := w.SetSetting("ech-analytics", "persistent", "cluster.remote.logs."+k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.SetSetting("ech-analytics", "transient", "cluster.remote.logs.skip_unavailable", "true"); err != nil {
		t.Fatal(err)
	}
	res := tw.importAll(ImportOptions{})
	notes := strings.Join(res.Aliases[0].Notes, "\n")
	for _, want := range []string{"has transient settings (skip_unavailable)", "manages the trust on both sides"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if c := tw.load().Connections[0]; c.Remote.Cluster != "ece-prod-logs" || c.Remote.ProxyAddress != "" || c.Settings.SkipUnavailable == nil {
		t.Errorf("imported as %+v", c)
	}
}
