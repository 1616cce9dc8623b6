package reconcile

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// A settings PUT of ten aliases toward unreachable remotes: real
// Elasticsearch waits for each alias's connection on every node
// (RemoteClusterService.updateRemoteCluster, up to 10 s each), so the PUT
// outlasts its ack timeout and answers acknowledged:false with the
// settings stored. The client sized its own deadline past the ack timeout,
// so it gets that answer, not a timeout; apply reports the change as not
// confirmed (never as applied, never as failed-and-not-written), and the
// next pass observes the settings in place and writes nothing: one PUT in
// all.
func TestSettingsPutConnectWaitNeitherMisreportsNorWritesTwice(t *testing.T) {
	w := sim.DefaultWorld()
	w.SetConnectWait(30 * time.Millisecond) // 10 aliases: 300 ms, past the 150 ms ack timeout
	tw := newTestWorld(t, w)
	for i := range 10 {
		tw.write(fmt.Sprintf("gone%d.yaml", i), fmt.Sprintf(`apiVersion: esremote/v1
kind: Connection
name: to-gone-%d
local: onprem-search
alias: gone-%d
remote: {proxy_address: "gone-%d.example.com:9300", server_name: gone-%d.example.com}
security: certificate
`, i, i, i, i))
	}
	rec, err := New(Options{StateDir: tw.state, Getenv: func(k string) string { return tw.env[k] },
		RequestTimeout: 150 * time.Millisecond, VerifyTimeout: 50 * time.Millisecond, VerifyInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tw.srv.World.ResetLog()
	res, err := rec.Pass(context.Background(), tw.load(), ModeApply, "")
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Report(drift.TriggerApply, "")
	for i := range 10 {
		c := findConn(t, rep, fmt.Sprintf("to-gone-%d", i))
		for _, ch := range c.Changes {
			if ch.Resource != "cluster_setting" {
				continue
			}
			if ch.Applied {
				t.Errorf("%s %s reported applied on acknowledged:false", c.Name, ch.Key)
			}
			if ch.Error == "" || !strings.Contains(ch.Error, "may be committed") {
				t.Errorf("%s %s: error %q, want it to say the change may be committed", c.Name, ch.Key, ch.Error)
			}
		}
		if c.Health == drift.HealthConnected {
			t.Errorf("%s reported connected", c.Name)
		}
	}
	s, _ := tw.srv.World.Settings("onprem-search", "persistent")
	if s["cluster.remote.gone-9.proxy_address"] != "gone-9.example.com:9300" {
		t.Fatalf("the settings were not stored: %v", s)
	}
	// The next pass observes before deciding: nothing left to write.
	res, err = rec.Pass(context.Background(), tw.load(), ModeApply, "")
	if err != nil {
		t.Fatal(err)
	}
	puts := tw.srv.World.CountRequests("onprem-search", "PUT /_cluster/settings")
	if puts != 1 {
		t.Errorf("%d settings PUTs over two passes, want 1", puts)
	}
	if n := res.Report(drift.TriggerApply, "").PendingChanges(); n != 0 {
		t.Errorf("second pass still has %d changes", n)
	}
}

// A client timeout on the settings PUT is "maybe committed" too: here the
// PUT lands after the client gave up. The report says so, and the next pass
// observes the settings in place instead of writing them again.
func TestSettingsPutClientTimeoutIsMaybeCommitted(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	tw.write("gone.yaml", `apiVersion: esremote/v1
kind: Connection
name: to-gone
local: onprem-search
alias: gone
remote: {proxy_address: "gone.example.com:9300", server_name: gone.example.com}
security: certificate
`)
	if _, err := tw.srv.World.AddFault(sim.Fault{Target: "onprem-search", Method: "PUT", Path: "/_cluster/settings",
		Kind: sim.FaultLatency, Latency: 300 * time.Millisecond, Times: 1}); err != nil {
		t.Fatal(err)
	}
	rec, err := New(Options{StateDir: tw.state, Getenv: func(k string) string { return tw.env[k] },
		RequestTimeout: 100 * time.Millisecond, VerifyTimeout: 20 * time.Millisecond, VerifyInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	res, err := rec.Pass(context.Background(), tw.load(), ModeApply, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range findConn(t, res.Report(drift.TriggerApply, ""), "to-gone").Changes {
		if ch.Applied || !strings.Contains(ch.Error, "the change may be committed") {
			t.Errorf("%s: applied %t, error %q", ch.Key, ch.Applied, ch.Error)
		}
	}
	// Wait for the late PUT to land; the deadline only turns a PUT that
	// never lands into a failure (no duration is asserted: the 2 s this
	// allowed measured the machine's load as much as the PUT).
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, _ := tw.srv.World.Settings("onprem-search", "persistent")
		if s["cluster.remote.gone.proxy_address"] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the late PUT never landed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	tw.srv.World.ResetLog()
	if _, err := rec.Pass(context.Background(), tw.load(), ModeApply, ""); err != nil {
		t.Fatal(err)
	}
	if n := tw.srv.World.CountRequests("onprem-search", "PUT /_cluster/settings"); n != 0 {
		t.Errorf("the next pass wrote the settings again (%d PUTs)", n)
	}
}
