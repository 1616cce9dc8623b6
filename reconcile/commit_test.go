package reconcile

import (
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// commitFailingStore saves a ledger's intents (a save that adds pending
// records) and fails its commits (a save that has fewer than the last):
// the disk filled up between a write's intent and its commit.
type commitFailingStore struct {
	FileStore
	mu      sync.Mutex
	on      bool
	pending int
}

var pendingRecord = regexp.MustCompile(`"pending":\s*true`)

func (s *commitFailingStore) Save(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(pendingRecord.FindAll(b, -1))
	if s.on && n < s.pending {
		return errors.New("write ledger.json: no space left on device")
	}
	s.pending = n
	return s.FileStore.Save(b)
}

// A write whose ledger commit fails is reported, not claimed clean: the
// role is on the cluster, its change says the ledger could not record it,
// and the connection is not "corrected" (issue 22: ledger pending/commit
// go through one helper that reports a failed commit; the role's commit
// error was dropped).
func TestFailedCommitIsReported(t *testing.T) {
	tw := newTestWorld(t, sim.DefaultWorld())
	store := &commitFailingStore{FileStore: FileStore{Dir: tw.state}}
	r, err := New(Options{Store: store, Getenv: func(k string) string { return tw.env[k] }, VerifyTimeout: 500e6, VerifyInterval: 10e6})
	if err != nil {
		t.Fatal(err)
	}
	tw.write("conn.yaml", strings.Replace(apiKeyConn, "roles:\n  - name: logs-remote-reader", "roles:\n  - name: other-reader", 1))
	if _, err := r.Pass(t.Context(), tw.load(), ModeApply, ""); err != nil {
		t.Fatal(err)
	}
	tw.write("conn.yaml", apiKeyConn) // a new role (and the old one's deletion)
	store.mu.Lock()
	store.on = true
	store.mu.Unlock()
	res, err := r.Pass(t.Context(), tw.load(), ModeApply, "")
	if err != nil {
		t.Fatal(err)
	}
	if !roleOn(tw, "ech-analytics", "logs-remote-reader") {
		t.Fatal("the role was not written: the test proves nothing")
	}
	// The connection's entry and the entry of what its old role left.
	want := map[string]string{
		"logs-remote-reader": "role logs-remote-reader on ech-analytics: written, but the ledger could not record it: save ledger: write ledger.json: no space left on device",
		"other-reader":       "deletion of role other-reader on ech-analytics: written, but the ledger could not record it: save ledger: write ledger.json: no space left on device",
	}
	for _, c := range res.Report(drift.TriggerApply, "").Connections {
		for _, ch := range c.Changes {
			if ch.Resource != drift.ResourceRole {
				continue
			}
			if ch.Error != want[ch.Key] || !ch.Applied {
				t.Errorf("role %s: applied %v, error %q; want applied, error %q", ch.Key, ch.Applied, ch.Error, want[ch.Key])
			}
			delete(want, ch.Key)
			if c.Sync != drift.SyncFailed {
				t.Errorf("%s: reported %s although the ledger did not record its write", c.Name, c.Sync)
			}
		}
	}
	if len(want) > 0 {
		t.Errorf("no change reported for %v", want)
	}
}
