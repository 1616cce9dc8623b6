package reconcile

import (
	"testing"
	"time"

	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/spec"
)

// A stamp's prefix names the alias, the target and the keystore write: a
// new keystore write (another fingerprint, or the same one written again)
// makes another prefix, so cached evidence is not reused across it.
func TestStampPrefixNamesTheKeystoreWrite(t *testing.T) {
	r, err := New(Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	c := &spec.Connection{Name: "link", Local: "hub", Alias: "logs"}
	if got, want := r.stampPrefix(c, "*"), "logs|*||"; got != want {
		t.Errorf("no keystore write: %q, want %q", got, want)
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	set := func(fp string, at time.Time) {
		if err := r.ledger.SetKeystore("hub", CredentialsKey("logs"), &ledger.Record{Fingerprint: fp, WrittenAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	set("fp1", at)
	first := r.stampPrefix(c, "esremote-canary-k1")
	if want := "logs|esremote-canary-k1|fp1@2026-03-01T11:00:00.123456789Z|"; first != want {
		t.Errorf("keystore written: %q, want %q", first, want)
	}
	set("fp1", at.Add(time.Second))
	if again := r.stampPrefix(c, "esremote-canary-k1"); again == first {
		t.Errorf("the same value written again keeps the prefix %q", again)
	}
	set("fp2", at)
	if other := r.stampPrefix(c, "esremote-canary-k1"); other == first {
		t.Errorf("another value keeps the prefix %q", other)
	}
}
