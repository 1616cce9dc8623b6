package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
	"github.com/esremote/esremote/reconcile/statedir"
)

func runDemo(t *testing.T, edit func(*demo)) (string, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	d, err := startDemo(ctx, &out, t.TempDir(), time.Second, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer d.srv.Close()
	if edit != nil {
		edit(d)
	}
	err = d.run()
	secrets := demoSecrets(t, d.srv)
	for _, s := range secrets {
		if strings.Contains(out.String(), s) {
			t.Errorf("the demo printed a secret (%d characters)", len(s))
		}
	}
	return out.String(), err
}

// demoSecrets lists every secret value of the world after a run: the
// passwords and API keys esremote logged in with, and the cross-cluster
// keys it created and stored in keystores (encoded and decoded).
func demoSecrets(t *testing.T, srv *sim.Server) []string {
	t.Helper()
	var out []string
	add := func(s string) {
		if len(s) >= 8 {
			out = append(out, s)
		}
	}
	addrs := srv.Addresses()
	for name, c := range addrs.Clusters {
		add(c.Password)
		add(c.APIKey)
		if _, key, ok := strings.Cut(c.APIKey, ":"); ok {
			add(key)
		}
		ks, err := srv.World.Keystore(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range ks {
			add(v)
			if raw, err := base64.StdEncoding.DecodeString(v); err == nil {
				if _, key, ok := strings.Cut(string(raw), ":"); ok {
					add(key)
				}
			}
		}
	}
	for _, cp := range addrs.ControlPlanes {
		add(cp.APIKey)
		add(cp.Password)
	}
	add(srv.AdminToken())
	return out
}

// TestDemo runs the whole tour in-process: every step behaves as narrated
// and no secret reaches the output.
func TestDemo(t *testing.T) {
	var state string
	out, err := runDemo(t, func(d *demo) { state = d.state })
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	// The demo runs the commands' pipeline (operate): its applies are in
	// the state dir's history, as apply's are (issue 22: the demo had its
	// own pipeline, without scrub, history or request timeout).
	if entries, err := drift.NewHistory(state, 0, statedir.Files{}).List(); err != nil || len(entries) == 0 {
		t.Errorf("the demo's applies are not in its history: %d entries, %v", len(entries), err)
	}
	for _, want := range []string{
		"── Step 1: plan: what would esremote change? ──",
		"── Step 6: a connection leaves the specs; an operator adds an alias by hand ──",
		"skip_unavailable: false → true (external)",
		"? alias legacy-dr on ech-analytics: not created by esremote: left alone",
		"Every step behaved as expected.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo's output lacks %q\n%s", want, out)
		}
	}
}

// TestDemoFailsLoudly: when the world does not behave, the demo stops at
// the step that went wrong and says why.
func TestDemoFailsLoudly(t *testing.T) {
	out, err := runDemo(t, func(d *demo) {
		if _, err := d.srv.World.AddFault(sim.Fault{Target: "ech-analytics", Kind: sim.FaultStatus, Status: 503}); err != nil {
			t.Fatal(err)
		}
	})
	if err == nil {
		t.Fatalf("the demo succeeded against a failing cluster\n%s", out)
	}
	if msg := err.Error(); !strings.Contains(msg, "step 1 (plan") || !strings.Contains(msg, "ech-analytics") || !strings.Contains(msg, "503") {
		t.Errorf("error %q does not name the step, the cluster and the cause", msg)
	}
	if strings.Contains(out, "Every step behaved as expected") {
		t.Errorf("a failed demo claims success:\n%s", out)
	}
}
