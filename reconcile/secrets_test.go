package reconcile

import (
	"bytes"
	"encoding/base64"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
	"github.com/esremote/esremote/reconcile/statedir"
)

// Every key the sim issued, every admin credential and every control-plane
// key stays out of logs (debug level), reports in every format, the
// ledger and every other file in the state dir, through creation, access
// update, out-of-band invalidation and rotation.
func TestNoSecretInAnyOutput(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("conn.yaml", apiKeyConn)
	var out bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	now := time.Now()
	run := func(mode Mode) {
		t.Helper()
		r, err := New(Options{StateDir: tw.state, Getenv: func(k string) string { return tw.env[k] }, Logger: logger,
			Now: func() time.Time { return now }, VerifyTimeout: 500 * time.Millisecond, VerifyInterval: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.Pass(t.Context(), tw.load(), mode, "")
		if err != nil {
			t.Fatal(err)
		}
		rep := res.Report(drift.TriggerApply, "")
		for _, write := range []func() error{
			func() error { return drift.WriteJSON(&out, rep) },
			func() error { return drift.WriteText(&out, rep, drift.TextOptions{All: true}) },
			func() error { return drift.WriteMarkdown(&out, rep) },
			func() error { _, err := drift.NewHistory(tw.state, 0, statedir.Files{}).Save(rep); return err },
		} {
			if err := write(); err != nil {
				t.Fatal(err)
			}
		}
	}
	run(ModePlan)
	run(ModeApply)
	tw.write("conn.yaml", strings.Replace(apiKeyConn, `"logs-*"]}]`, `"logs-*", "metrics-*"]}]`, 1))
	run(ModeApply)
	id := tw.reconciler(true).Ledger().Key("analytics-to-ece-logs").ID
	if err := tw.srv.World.InvalidateKey("ece-prod-logs", id); err != nil {
		t.Fatal(err)
	}
	run(ModePlan)
	run(ModeApply)
	now = now.Add(80 * 24 * time.Hour)
	tw.srv.World.Now = func() time.Time { return now }
	run(ModeApply)

	var secrets []string
	addEncoded := func(v string) {
		secrets = append(secrets, v)
		if raw, err := base64.StdEncoding.DecodeString(v); err == nil {
			if _, key, ok := strings.Cut(string(raw), ":"); ok {
				secrets = append(secrets, key)
			}
		}
	}
	for _, name := range []string{"ech-analytics", "ece-prod-logs", "onprem-search"} {
		ks, err := tw.srv.World.Keystore(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range ks {
			addEncoded(v)
		}
		info, _ := tw.srv.World.Cluster(name)
		addEncoded(info.APIKey)
		secrets = append(secrets, info.Password)
	}
	for _, cp := range tw.srv.Addresses().ControlPlanes {
		secrets = append(secrets, cp.APIKey)
	}
	if len(secrets) < 8 {
		t.Fatalf("only %d secrets collected; the scan would prove little", len(secrets))
	}
	err := filepath.WalkDir(tw.state, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out.WriteString("\n== " + p + "\n")
		out.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if len(s) < 8 {
			t.Fatalf("suspiciously short secret %q", s)
		}
		if i := bytes.Index(out.Bytes(), []byte(s)); i >= 0 {
			lo := max(0, i-80)
			t.Errorf("a secret appears in the outputs: …%s…", out.Bytes()[lo:i])
		}
	}
}
