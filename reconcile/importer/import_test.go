package importer_test

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/importer"
	"github.com/esremote/esremote/reconcile/internal/worldtest"
	"github.com/esremote/esremote/reconcile/sim"
	"github.com/esremote/esremote/spec"
)

// handmadeWorld is the default world where an operator set up three
// aliases on ech-analytics by hand: an API-key link to the ECE deployment
// (its key in the keystore), a certificate link to the self-managed
// cluster with extra transport settings, and a sniff link.
func handmadeWorld(t *testing.T) (*testWorld, string) {
	t.Helper()
	tw := &testWorld{worldtest.New(t, sim.DefaultWorld())}
	tw.Fast("a hand-made setup that existed before esremote came, its keystore value loaded long ago; the platform's load delay of esremote's own writes is the subject of reconcile's TestAPIKeyLinkEndToEnd")
	w := tw.Srv.World
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
	tw.T.Helper()
	dir := tw.Env["CREDENTIALS_DIRECTORY"]
	if dir == "" {
		dir = tw.T.TempDir()
		tw.Env["CREDENTIALS_DIRECTORY"] = dir
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(value+"\n"), 0o600); err != nil {
		tw.T.Fatal(err)
	}
}

func (tw *testWorld) importAll(opts importer.Options) *importer.Result {
	tw.T.Helper()
	if opts.Cluster == "" {
		opts.Cluster = "ech-analytics"
	}
	res, err := importer.Import(context.Background(), tw.Reconciler(false), tw.Load(), opts)
	if err != nil {
		tw.T.Fatal(err)
	}
	return res
}

func statuses(res *importer.Result) map[string]string {
	out := map[string]string{}
	for _, a := range res.Aliases {
		out[a.Alias] = a.Status
	}
	return out
}

func TestImportThenPlanIsInSync(t *testing.T) {
	tw, encoded := handmadeWorld(t)
	tw.supplyCredential("ech-analytics-ece-prod-logs-ccs", encoded)
	tw.Srv.World.ResetLog()

	res := tw.importAll(importer.Options{})
	if w := tw.Writes(); len(w) != 0 {
		t.Fatalf("import wrote to the world: %v", w)
	}
	want := map[string]string{"ece-prod-logs": importer.Created, "onprem": importer.Created, "legacy": importer.Created}
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

	set := tw.Load()
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

	tw.Srv.World.ResetLog()
	plan := tw.Pass(reconcile.ModePlan)
	if n := plan.Plan.Changes(); n != 0 {
		t.Fatalf("plan after import has %d changes: %s", n, describePlan(plan.Plan))
	}
	if len(plan.Plan.Clusters[0].Unmanaged) != 0 {
		t.Fatalf("unmanaged after import: %+v", plan.Plan.Clusters[0].Unmanaged)
	}
	if w := tw.Writes(); len(w) != 0 {
		t.Fatalf("plan wrote: %v", w)
	}
}

func TestImportTwiceChangesNothing(t *testing.T) {
	tw, encoded := handmadeWorld(t)
	tw.supplyCredential("ech-analytics-ece-prod-logs-ccs", encoded)
	tw.importAll(importer.Options{})
	ledger1, err := os.ReadFile(filepath.Join(tw.State, reconcile.LedgerFile))
	if err != nil {
		t.Fatal(err)
	}
	res := tw.importAll(importer.Options{})
	for _, a := range res.Aliases {
		if a.Status != importer.Unchanged {
			t.Errorf("second import: %s is %s, want unchanged", a.Alias, a.Status)
		}
	}
	ledger2, _ := os.ReadFile(filepath.Join(tw.State, reconcile.LedgerFile))
	if string(ledger1) != string(ledger2) {
		t.Errorf("second import rewrote the ledger:\n%s\n---\n%s", ledger1, ledger2)
	}
	files, _ := filepath.Glob(filepath.Join(tw.Dir, importer.Dir, "ech-analytics", "*"))
	if len(files) != 3 {
		t.Errorf("files after two imports: %v", files)
	}

	// An edited file is left alone, and --force puts it back.
	p := filepath.Join(tw.Dir, importer.Dir, "ech-analytics", "onprem.yaml")
	b, _ := os.ReadFile(p)
	edited := strings.Replace(string(b), `compress: "true"`, `compress: "false"`, 1)
	if edited == string(b) {
		t.Fatalf("no compress line in:\n%s", b)
	}
	tw.Write(filepath.Join(importer.Dir, "ech-analytics", "onprem.yaml"), edited)
	res = tw.importAll(importer.Options{Aliases: []string{"onprem"}})
	if got := statuses(res)["onprem"]; got != importer.Differs {
		t.Fatalf("edited file: status %s, want differs", got)
	}
	if now, _ := os.ReadFile(p); string(now) != edited {
		t.Fatalf("import changed an edited file without --force")
	}
	res = tw.importAll(importer.Options{Aliases: []string{"onprem"}, Force: true})
	if got := statuses(res)["onprem"]; got != importer.Updated {
		t.Fatalf("--force: status %s, want updated", got)
	}
}

func TestImportedAliasIsOwned(t *testing.T) {
	tw, encoded := handmadeWorld(t)
	tw.supplyCredential("ech-analytics-ece-prod-logs-ccs", encoded)
	tw.importAll(importer.Options{})

	// A spec edit is exactly one change of origin spec.
	p := filepath.Join(importer.Dir, "ech-analytics", "onprem.yaml")
	b, _ := os.ReadFile(filepath.Join(tw.Dir, p))
	tw.Write(p, strings.Replace(string(b), `compress: "true"`, `compress: "false"`, 1))
	changes := allChanges(tw.Pass(reconcile.ModePlan).Plan)
	if len(changes) != 1 || changes[0].Key != "cluster.remote.onprem.transport.compress" || changes[0].Origin != reconcile.OriginSpec || changes[0].Desired != "false" {
		t.Fatalf("after editing compress: %s", describeChanges(changes))
	}
	tw.Write(p, string(b))

	// A live change is external drift.
	if err := tw.Srv.World.SetSetting("ech-analytics", "persistent", "cluster.remote.legacy.node_connections", "5"); err != nil {
		t.Fatal(err)
	}
	changes = allChanges(tw.Pass(reconcile.ModePlan).Plan)
	if len(changes) != 1 || changes[0].Origin != reconcile.OriginExternal {
		t.Fatalf("after a live change: %s", describeChanges(changes))
	}
	if err := tw.Srv.World.SetSetting("ech-analytics", "persistent", "cluster.remote.legacy.node_connections", "2"); err != nil {
		t.Fatal(err)
	}

	// Removing the file deletes the alias it imported.
	tw.Remove(p)
	res := tw.Pass(reconcile.ModeApply)
	cp := res.Plan.Clusters[0]
	if len(cp.Deletions) != 1 || cp.Deletions[0].Alias != "onprem" {
		t.Fatalf("deletions = %+v, unmanaged = %+v", cp.Deletions, cp.Unmanaged)
	}
	m, _ := tw.Srv.World.Settings("ech-analytics", "persistent")
	for k := range m {
		if strings.HasPrefix(k, "cluster.remote.onprem.") {
			t.Errorf("%s still set after removing the file", k)
		}
	}
}

func TestImportWithoutCredentialPlansTheKeystore(t *testing.T) {
	tw, encoded := handmadeWorld(t)
	res := tw.importAll(importer.Options{Aliases: []string{"ece-prod-logs"}, DryRun: true})
	if len(res.Credentials) != 1 || res.Credentials[0].Present {
		t.Fatalf("credentials = %+v", res.Credentials)
	}
	if _, err := os.Stat(filepath.Join(tw.Dir, importer.Dir)); err == nil {
		t.Fatal("dry run wrote files")
	}
	tw.importAll(importer.Options{Aliases: []string{"ece-prod-logs"}})
	// Supplied after the import: the first plan delivers it to the
	// keystore, since esremote cannot know the keystore holds this key.
	tw.supplyCredential("ech-analytics-ece-prod-logs-ccs", encoded)
	changes := allChanges(tw.Pass(reconcile.ModePlan).Plan)
	if len(changes) != 1 || changes[0].Resource != reconcile.ResourceKeystore {
		t.Fatalf("plan: %s", describeChanges(changes))
	}
}

func TestImportSkipsDeclaredAliases(t *testing.T) {
	tw, _ := handmadeWorld(t)
	tw.Write("legacy.yaml", `apiVersion: esremote/v1
kind: Connection
name: legacy-link
local: ech-analytics
alias: legacy
remote: {seeds: ["onprem-search.sim:9300"]}
security: certificate
settings: {mode: sniff}
`)
	res := tw.importAll(importer.Options{})
	if got := statuses(res)["legacy"]; got != importer.Skipped {
		t.Fatalf("legacy: %s, want skipped", got)
	}
	if _, err := os.Stat(filepath.Join(tw.Dir, importer.Dir, "ech-analytics", "legacy.yaml")); err == nil {
		t.Fatal("a declared alias was imported")
	}
	if _, err := importer.Import(context.Background(), tw.Reconciler(false), tw.Load(), importer.Options{Cluster: "nope"}); err == nil {
		t.Fatal("an undeclared cluster imported")
	}
	if _, err := importer.Import(context.Background(), tw.Reconciler(false), tw.Load(), importer.Options{Cluster: "ech-analytics", Aliases: []string{"nope"}}); err == nil {
		t.Fatal("an unknown alias imported")
	}
}

func allChanges(p *reconcile.Plan) []*reconcile.Change {
	var out []*reconcile.Change
	for _, cp := range p.Clusters {
		for _, c := range cp.Connections {
			out = append(out, c.Changes...)
			if c.Err != nil {
				out = append(out, &reconcile.Change{Key: "error: " + c.Err.Error()})
			}
		}
		for _, d := range cp.Deletions {
			out = append(out, d.Changes...)
		}
	}
	return out
}

func describeChanges(cs []*reconcile.Change) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString("\n\t" + string(c.Resource) + " " + string(c.Action) + " " + c.Key + " " + c.Actual + " → " + c.Desired + " (" + string(c.Origin) + ")")
	}
	return b.String()
}

func describePlan(p *reconcile.Plan) string { return describeChanges(allChanges(p)) }

// What plan will still show after an import is announced in its notes:
// transient values (made persistent) and the trust of a certificate link
// between two declared deployments.
func TestImportNotesWhatPlanStillShows(t *testing.T) {
	tw := &testWorld{worldtest.New(t, sim.DefaultWorld())}
	tw.Fast("a hand-made setup that existed before esremote came, its keystore value loaded long ago; the platform's load delay of esremote's own writes is the subject of reconcile's TestAPIKeyLinkEndToEnd")
	w := tw.Srv.World
	ece, _ := w.Cluster("ece-prod-logs")
	for k, v := range map[string]string{"mode": "proxy", "proxy_address": ece.Endpoint + ":9400", "server_name": ece.Endpoint} {
		if err := w.SetSetting("ech-analytics", "persistent", "cluster.remote.logs."+k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.SetSetting("ech-analytics", "transient", "cluster.remote.logs.skip_unavailable", "true"); err != nil {
		t.Fatal(err)
	}
	res := tw.importAll(importer.Options{})
	notes := strings.Join(res.Aliases[0].Notes, "\n")
	for _, want := range []string{"has transient settings (skip_unavailable)", "manages the trust on both sides"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if c := tw.Load().Connections[0]; c.Remote.Cluster != "ece-prod-logs" || c.Remote.ProxyAddress != "" || c.Settings.SkipUnavailable == nil {
		t.Errorf("imported as %+v", c)
	}
}

// testWorld adds the importer's own helpers to the shared harness.
type testWorld struct{ *worldtest.World }
