package drift

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"
)

// The operator examples (examples/prometheus, examples/grafana) are checked
// here because they are built on the series this package exposes.

const (
	rulesDir      = "../examples/prometheus"
	dashboardFile = "../examples/grafana/esremote.json"
)

// scrapeSeries are Prometheus' own series of every scrape target.
var scrapeSeries = map[string]bool{"up": true}

// exposedSeries is every series name the daemon's registry exposes: the
// families of a Metrics that has seen a load, expiries and an apply pass,
// histogram families with their _bucket, _sum and _count series, and the
// runtime collectors' series.
func exposedSeries(t *testing.T) map[string]bool {
	t.Helper()
	m := observedMetrics()
	esr, err := m.gather()
	if err != nil {
		t.Fatal(err)
	}
	// A vector without children is not gathered: make sure the fixture
	// filled every collector the Metrics struct holds.
	collector := reflect.TypeFor[prometheus.Collector]()
	fields := 0
	for f := range reflect.TypeFor[Metrics]().Fields() {
		if f.Type.Implements(collector) && f.Type != reflect.TypeFor[*prometheus.Registry]() {
			fields++
		}
	}
	if len(esr) != fields {
		t.Fatalf("gathered %d esremote families, Metrics holds %d collectors: make observedMetrics fill the new one", len(esr), fields)
	}
	rt, err := m.runtime.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range append(esr, rt...) {
		names[mf.GetName()] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[mf.GetName()+s] = true
			}
		}
	}
	return names
}

var (
	// promqlStrings, promqlBraces and promqlRanges remove what holds no
	// metric name: string literals, label matchers, range and subquery
	// durations.
	promqlStrings = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	promqlBraces  = regexp.MustCompile(`\{[^}]*\}`)
	promqlRanges  = regexp.MustCompile(`\[[^\]]*\]`)
	// promqlLabelLists removes the label lists of aggregations and
	// vector matching: by (job), on (connection), group_left (local).
	promqlLabelLists = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlIdent      = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promqlKeywords   = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true,
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
		"inf": true, "nan": true, "Inf": true, "NaN": true, "atan2": true}
)

// metricNames returns the metric names an expression selects: identifiers
// that are neither functions (followed by "("), keywords, label names nor
// part of a number or duration. The expression is assumed to parse (promtool
// checks that separately).
func metricNames(expr string) []string {
	e := promqlStrings.ReplaceAllString(expr, `""`)
	e = promqlLabelLists.ReplaceAllString(e, " ")
	// A selector's braces may follow its name directly; keep the name.
	e = promqlBraces.ReplaceAllString(e, " ")
	e = promqlRanges.ReplaceAllString(e, " ")
	var names []string
	for _, loc := range promqlIdent.FindAllStringIndex(e, -1) {
		id := e[loc[0]:loc[1]]
		if loc[0] > 0 && strings.ContainsAny(e[loc[0]-1:loc[0]], "0123456789.") {
			continue // 5m, 1e3, 0.5
		}
		if rest := strings.TrimLeft(e[loc[1]:], " \t\n"); strings.HasPrefix(rest, "(") || promqlKeywords[id] {
			continue
		}
		if !slices.Contains(names, id) {
			names = append(names, id)
		}
	}
	return names
}

func TestMetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`(esremote_connection_synced == 0) * on (connection) group_left (local, alias) max by (connection, local, alias) (esremote_connection_info{sync="a b"})`: {"esremote_connection_synced", "esremote_connection_info"},
		`histogram_quantile(0.95, sum by (le) (rate(esremote_reconcile_duration_seconds_bucket{job=~"x"}[5m])))`:                                                 {"esremote_reconcile_duration_seconds_bucket"},
		`esremote_api_key_expiry_timestamp_seconds - time() < 7 * 86400 > 0`:                                                                                     {"esremote_api_key_expiry_timestamp_seconds"},
		`count(up > 0) or vector(0)`:                              {"up"},
		`max_over_time(foo:bar[1h:5m] offset 1d) unless bool baz`: {"foo:bar", "baz"},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("metricNames(%s) = %q, want %q", expr, got, want)
		}
	}
}

// promtool returns the path of promtool or skips (fails in CI).
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		skipWithout(t, "promtool not on PATH (Debian package prometheus)")
	}
	return p
}

// TestExampleRules runs promtool's own checks on the example alerting rules
// (check rules: syntax and PromQL; test rules: every alert fires when it
// should, with its labels and annotations, and not before) and checks that
// every series they name is one the daemon exposes.
func TestExampleRules(t *testing.T) {
	pt := promtool(t)
	for _, args := range [][]string{
		{"check", "rules", "esremote-rules.yml"},
		{"test", "rules", "esremote-rules.test.yml"},
	} {
		cmd := exec.Command(pt, args...)
		cmd.Dir = rulesDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	var file struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	b, err := os.ReadFile(filepath.Join(rulesDir, "esremote-rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	exposed := exposedSeries(t)
	alerts := 0
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			alerts++
			names := metricNames(r.Expr)
			if len(names) == 0 {
				t.Errorf("%s: expression names no series: %s", r.Alert, r.Expr)
			}
			for _, n := range names {
				switch {
				case exposed[n], scrapeSeries[n]:
				default:
					t.Errorf("%s: %s is not a series the daemon exposes", r.Alert, n)
				}
			}
		}
	}
	// The conditions issue 19 asks the rules to cover.
	for _, want := range []string{"EsremoteDriftNotCorrected", "EsremoteLinkDown", "EsremoteAPIKeyExpiring",
		"EsremoteCAExpiring", "EsremoteRotationStuck", "EsremoteNotPassing", "EsremoteConnectionContested", "EsremoteNoLeader", "EsremoteDown"} {
		if !slices.ContainsFunc(file.Groups, func(g struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		}) bool {
			return slices.ContainsFunc(g.Rules, func(r struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			}) bool {
				return r.Alert == want
			})
		}) {
			t.Errorf("no rule %s", want)
		}
	}
	t.Logf("%d alerting rules", alerts)

	// docs/alerting.md lists every rule.
	doc, err := os.ReadFile(filepath.Join("..", "docs", "alerting.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			if !strings.Contains(string(doc), "`"+r.Alert+"`") {
				t.Errorf("docs/alerting.md does not list %s", r.Alert)
			}
		}
	}
}

// dashboardExprs returns every PromQL expression of a Grafana dashboard,
// keyed by where it is ("panel 3 \"Sync\" A", "variable connection"):
// panel targets (also inside collapsed rows) and query variables, whose
// label_values(SELECTOR, label) contributes its selector.
func dashboardExprs(t *testing.T, b []byte) map[string]string {
	t.Helper()
	type target struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	}
	type panel struct {
		ID      int      `json:"id"`
		Title   string   `json:"title"`
		Targets []target `json:"targets"`
		Panels  []panel  `json:"panels"`
	}
	var d struct {
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	exprs := map[string]string{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				exprs[fmt.Sprintf("panel %d %q %s", p.ID, p.Title, tg.RefID)] = tg.Expr
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	labelValues := regexp.MustCompile(`^label_values\((.*),\s*\w+\)$`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			_ = json.Unmarshal(v.Query, &q.Query) // older dashboards: a plain string
		}
		if m := labelValues.FindStringSubmatch(q.Query); m != nil {
			q.Query = m[1]
		}
		exprs["variable "+v.Name] = q.Query
	}
	return exprs
}

// grafanaVars replaces Grafana's variables with values PromQL accepts, as
// Grafana would before sending the query.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h",
	"$job", ".*", "$connection", ".*", "${datasource}", "prometheus")

// TestDashboard checks the Grafana dashboard: every PromQL expression in it
// parses (promtool check rules, each expression as a recording rule) and
// every series it names is one the daemon exposes; and it has the panels
// the issue asks for.
func TestDashboard(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	exprs := dashboardExprs(t, b)
	if len(exprs) < 10 {
		t.Fatalf("found %d expressions in the dashboard; the extraction is broken", len(exprs))
	}
	exposed := exposedSeries(t)
	var where []string
	for w := range exprs {
		where = append(where, w)
	}
	slices.Sort(where)
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	for i, w := range where {
		expr := grafanaVars.Replace(exprs[w])
		if strings.Contains(expr, "$") {
			t.Errorf("%s: unknown Grafana variable in %s", w, expr)
		}
		names := metricNames(expr)
		if len(names) == 0 {
			t.Errorf("%s: names no series: %s", w, expr)
		}
		for _, n := range names {
			if !exposed[n] {
				t.Errorf("%s: %s is not a series the daemon exposes", w, n)
			}
		}
		rules = append(rules, rule{Record: fmt.Sprintf("dashboard:expr_%d", i), Expr: expr})
	}

	pt := promtool(t)
	out, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "dashboard.rules.yml")
	if err := os.WriteFile(f, out, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(pt, "check", "rules", f).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules on the dashboard's expressions: %v\n%s", err, out)
	}

	// What the dashboard is for (issue 19): one panel for each.
	var all strings.Builder
	for _, w := range where {
		all.WriteString(exprs[w] + "\n")
	}
	for what, series := range map[string]string{
		"estate overview":            "esremote_connections{",
		"sync over time":             "esremote_connection_synced{",
		"health over time":           "esremote_connection_connected{",
		"corrections":                "esremote_drift_corrections_total{",
		"key expiry":                 "esremote_api_key_expiry_timestamp_seconds{",
		"CA expiry":                  "esremote_ca_expiry_timestamp_seconds{",
		"pass durations":             "esremote_reconcile_duration_seconds_bucket{",
		"leadership":                 "esremote_leader{",
		"a table of the connections": "esremote_connection_info{",
	} {
		if !strings.Contains(all.String(), series) {
			t.Errorf("no panel shows %s (%s)", what, series)
		}
	}
}
