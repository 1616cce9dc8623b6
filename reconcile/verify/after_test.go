package verify

import (
	"context"
	"slices"
	"testing"

	"github.com/esremote/esremote/drift"
)

// After a keystore reload, _remote/info is read again: which aliases now
// show their credentials, as plain data.
func TestCredentials(t *testing.T) {
	f := &fakeLocal{sockets: map[string]bool{"logs": true, "metrics": true}, credentials: map[string]bool{"logs": true}}
	got, err := Credentials(context.Background(), newLocal(t, f))
	if err != nil {
		t.Fatal(err)
	}
	if !got["logs"] || got["metrics"] || len(got) != 2 {
		t.Errorf("credentials %v, want logs only (of logs and metrics)", got)
	}
}

// A contested link is asked once with any index, whatever key is in use.
func TestAnyIndex(t *testing.T) {
	f := &fakeLocal{loadedAfter: 100}
	got, ok := AnyIndex(context.Background(), asker(), newLocal(t, f), "8.19.3", "logs")
	if !ok || got.Health != drift.HealthConnected || got.Evidence.Request != "GET /_resolve/cluster/logs:*" {
		t.Errorf("AnyIndex = %+v, %v; want connected on GET /_resolve/cluster/logs:*", got, ok)
	}
	if !slices.Equal(f.asked, []string{"logs:*"}) {
		t.Errorf("requests %q, want one for logs:*", f.asked)
	}
}
