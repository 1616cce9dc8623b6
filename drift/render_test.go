package drift

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./drift -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./drift -update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

var at = time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)

// planReport is what `esremote plan` could say about a small estate.
func planReport() *Report {
	r := New(ModePlan, TriggerPlan, at)
	r.SpecDigest = "sha256:5f0c6e1d2b3a49876f0e1d2c3b4a5968778695a4b3c2d1e0f9e8d7c6b5a49382"
	r.SpecRevision = "git:9f2c1e0"
	r.Connections = []Connection{
		{
			Name: "search-to-archive", Local: "ech-search", Alias: "archive",
			Security: "api_key", Policy: "enforce", Sync: SyncInSync, Health: HealthConnected,
		},
		{
			Name: "analytics-to-ece-logs", Local: "ech-analytics", Alias: "ece-prod-logs",
			Security: "api_key", Policy: "enforce", Sync: SyncDrifted, Health: HealthConnected,
			Changes: []Change{
				{Resource: ResourceClusterSetting, Target: "ech-analytics", Key: "cluster.remote.ece-prod-logs.skip_unavailable",
					Action: ActionCreate, Desired: "true", Origin: OriginSpec},
				{Resource: ResourceClusterSetting, Target: "ech-analytics", Key: "cluster.remote.ece-prod-logs.proxy_address",
					Action: ActionUpdate, Actual: "a542ab.192.168.44.10.ip.es.io:9400", Desired: "a542ab.192.168.44.10.ip.es.io:9443", Origin: OriginExternal},
				{Resource: ResourceAPIKey, Target: "ece-prod-logs", Key: "esremote-analytics-to-ece-logs",
					Action: ActionCreate, Desired: Redacted("sha256:ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12"), Origin: OriginSpec},
			},
			Findings: []Finding{
				{Severity: SeverityInfo, Code: "keystore_reload", Message: "the keystore entry takes effect after a secure-settings reload"},
				{Severity: SeverityWarning, Code: "key_expires_soon", Message: "the cross-cluster API key expires in 9 days",
					Fix: "apply rotates it; rotate_before is 14d"},
			},
		},
		{
			Name: "metrics-to-old", Local: "ech-metrics", Alias: "old|metrics",
			Security: "certificate", Policy: "report", Sync: SyncDrifted, Health: HealthUnknown,
			Changes: []Change{
				{Resource: ResourceRole, Target: "ech-metrics", Key: "old-reader", Action: ActionDelete,
					Actual: `{"remote_indices":[{"names":["metrics-*"]}]}`, Origin: OriginSpec},
				{Resource: ResourceClusterSetting, Target: "ech-metrics", Key: "cluster.remote.old|metrics.mode",
					Action: ActionDelete, Actual: "proxy", Origin: OriginSpec},
			},
		},
	}
	r.Unmanaged = []Unmanaged{{Target: "ech-analytics", Kind: "alias", Name: "hand_made", Reason: "not in the ledger"}}
	r.Errors = []ReportError{{Target: "ece-staging", Message: "get /_cluster/settings: 503 Service Unavailable"}}
	r.Sort()
	r.Tally()
	return r
}

// applyReport is planReport after an apply where one write failed and the
// "report" policy held one connection back.
func applyReport() *Report {
	r := planReport()
	r.Mode, r.Trigger = ModeApply, TriggerApply
	for i := range r.Connections {
		c := &r.Connections[i]
		switch c.Name {
		case "analytics-to-ece-logs":
			c.Sync, c.Health = SyncFailed, HealthDisconnected
			for j := range c.Changes {
				ch := &c.Changes[j]
				if ch.Resource == ResourceClusterSetting && ch.Action == ActionUpdate {
					ch.Error = "put cluster settings on ech-analytics: 400 illegal_argument_exception"
				} else {
					ch.Applied = true
				}
			}
			c.Findings = append(c.Findings, Finding{Severity: SeverityError, Code: "not_connected",
				Message: "_remote/info says ece-prod-logs is not connected", Fix: "esremote doctor connections/ analytics-to-ece-logs"})
			c.Error = "1 change failed"
		}
	}
	r.Sort()
	r.Tally()
	return r
}

func inSyncReport() *Report {
	r := New(ModeRun, TriggerResync, at)
	r.SpecDigest = "sha256:00aa"
	for _, n := range []string{"c", "a", "b"} {
		r.Connections = append(r.Connections, Connection{Name: "link-" + n, Local: "local-" + n, Alias: "remote-" + n,
			Security: "api_key", Policy: "enforce", Sync: SyncInSync, Health: HealthConnected})
	}
	r.Sort()
	r.Tally()
	return r
}

func TestRenderGolden(t *testing.T) {
	reports := map[string]func() *Report{"plan": planReport, "apply": applyReport, "insync": inSyncReport}
	for name, mk := range reports {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteText(&buf, mk(), TextOptions{}); err != nil {
				t.Fatal(err)
			}
			golden(t, name+".txt.golden", buf.Bytes())

			buf.Reset()
			if err := WriteJSON(&buf, mk()); err != nil {
				t.Fatal(err)
			}
			golden(t, name+".json.golden", buf.Bytes())

			buf.Reset()
			if err := WriteMarkdown(&buf, mk()); err != nil {
				t.Fatal(err)
			}
			golden(t, name+".md.golden", buf.Bytes())
		})
	}
	t.Run("all", func(t *testing.T) {
		var buf bytes.Buffer
		if err := WriteText(&buf, inSyncReport(), TextOptions{All: true}); err != nil {
			t.Fatal(err)
		}
		golden(t, "insync-all.txt.golden", buf.Bytes())
	})
	t.Run("color", func(t *testing.T) {
		var buf bytes.Buffer
		if err := WriteText(&buf, applyReport(), TextOptions{Color: true}); err != nil {
			t.Fatal(err)
		}
		golden(t, "apply-color.txt.golden", buf.Bytes())
	})
}

func TestTextNoColorByDefault(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteText(&buf, applyReport(), TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "\x1b") {
		t.Errorf("escape sequence in uncoloured output:\n%s", buf.String())
	}
}

// TestHostileValues checks that values a cluster returns cannot inject
// terminal escapes, extra lines or Markdown structure.
func TestHostileValues(t *testing.T) {
	r := New(ModePlan, TriggerPlan, at)
	evil := "x\x1b[2J\nFAKE LINE|`*_<b>"
	r.Connections = []Connection{{Name: "n", Local: "l", Alias: "a", Sync: SyncDrifted, Health: HealthUnknown,
		Changes:  []Change{{Resource: ResourceClusterSetting, Target: "l", Key: "k", Action: ActionUpdate, Actual: evil, Desired: "y"}},
		Findings: []Finding{{Severity: SeverityWarning, Code: "c", Message: evil}},
		Error:    evil}}
	r.Errors = []ReportError{{Target: "t", Message: evil}}
	r.Unmanaged = []Unmanaged{{Target: "t", Kind: "alias", Name: evil}}
	r.Tally()

	var text bytes.Buffer
	if err := WriteText(&text, r, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text.String(), "\x1b") {
		t.Errorf("text holds an escape sequence:\n%q", text.String())
	}
	for _, line := range strings.Split(text.String(), "\n") {
		if strings.HasPrefix(line, "FAKE") {
			t.Errorf("text lets a value start a line:\n%s", text.String())
		}
	}

	var md bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(md.String(), "\x1b") || strings.Contains(stripCodeSpans(md.String()), "<b>") {
		t.Errorf("markdown holds raw markup:\n%s", md.String())
	}
	for _, line := range strings.Split(md.String(), "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		// Count unescaped pipes: every row of a table has the header's count.
		if n := strings.Count(line, "|") - strings.Count(line, `\|`); n != strings.Count(headerOf(md.String(), line), "|") {
			t.Errorf("row has %d cells boundaries, header differs: %q", n, line)
		}
	}
}

// stripCodeSpans removes inline code, where Markdown shows markup literally.
func stripCodeSpans(s string) string {
	var b strings.Builder
	for s != "" {
		i := strings.IndexByte(s, '`')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		n := len(s[i:]) - len(strings.TrimLeft(s[i:], "`"))
		fence := s[i : i+n]
		rest := s[i+n:]
		j := strings.Index(rest, fence)
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		s = rest[j+n:]
	}
	return b.String()
}

// headerOf returns the header row of the table holding line.
func headerOf(doc, line string) string {
	lines := strings.Split(doc, "\n")
	header := ""
	for _, l := range lines {
		if !strings.HasPrefix(l, "|") {
			header = ""
			continue
		}
		if header == "" {
			header = l
		}
		if l == line {
			return header
		}
	}
	return ""
}

func TestSummaryLine(t *testing.T) {
	cases := []struct {
		name string
		r    *Report
		want string
	}{
		{"plan", planReport(), "Plan: 2 to add, 1 to change, 2 to delete. 1 error."},
		{"apply", applyReport(), "Applied: 2 added, 0 changed, 0 deleted. 1 failed. 2 not applied. 1 connection failed. 1 connection not connected. 1 error."},
		{"insync", inSyncReport(), "No changes. 3 connections in sync."},
		{"empty", New(ModePlan, TriggerPlan, at), "No changes. 0 connections in sync."},
	}
	one := inSyncReport()
	one.Connections[0].Sync, one.Connections[0].Health = SyncFailed, HealthUnknown
	one.Connections[0].Error = "get /: connection refused"
	one.Tally()
	cases = append(cases, struct {
		name string
		r    *Report
		want string
	}{"failed-no-changes", one, "No changes. 2 of 3 connections in sync. 1 connection failed."})
	for _, c := range cases {
		if got := summaryLine(c.r); got != c.want {
			t.Errorf("%s: summary\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}
