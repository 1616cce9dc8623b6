package daemon

import (
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
)

// An error about a remote (Local set) belongs to the local cluster that
// read it: a retry of that local cluster replaces it, and the outcome of
// the local cluster names the remote as its cause.
func TestRemoteErrorBelongsToItsLocal(t *testing.T) {
	at := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	prev := drift.New(drift.ModeRun, drift.TriggerResync, at)
	prev.Connections = []drift.Connection{{Name: "c", Local: "local-a", Alias: "r", Sync: drift.SyncFailed,
		Error: "remote remote-x: get cluster info on remote-x: network error"}}
	prev.Errors = []drift.ReportError{{Target: "remote-x", Local: "local-a", Message: "get cluster info on remote-x: network error"},
		{Target: "remote-y", Local: "local-b", Message: "get cluster info on remote-y: 503"}}

	outs := outcomes(prev, true)
	if o := outs["local-a"]; o == nil || o.cause != "remote-x" || o.why != "get cluster info on remote-x: network error" ||
		o.class != drift.ClassRetryable {
		t.Errorf("outcome of local-a = %+v, want caused by remote-x", o)
	}
	if _, ok := outs["remote-x"]; ok {
		t.Errorf("the remote became a target of its own to pass")
	}
	attrs := failingAttrs("local-a", outs["local-a"], "attempt", 1)
	want := []any{"target", "remote-x", "local", "local-a", "attempt", 1, "err", "get cluster info on remote-x: network error"}
	if len(attrs) != len(want) {
		t.Fatalf("attrs %v, want %v", attrs, want)
	}
	for i := range want {
		if attrs[i] != want[i] {
			t.Fatalf("attrs %v, want %v", attrs, want)
		}
	}

	part := drift.New(drift.ModeRun, TriggerRetry, at.Add(time.Second))
	part.Connections = []drift.Connection{{Name: "c", Local: "local-a", Alias: "r", Sync: drift.SyncInSync}}
	merged := mergeReport(prev, part, []string{"local-a"})
	if len(merged.Errors) != 1 || merged.Errors[0].Target != "remote-y" {
		t.Errorf("merged errors %+v: want remote-x's gone with local-a's retry, remote-y's kept", merged.Errors)
	}
}
