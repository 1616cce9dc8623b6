package decide

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// One row per rule of diffKey: the connection, the Snapshot's part (the
// alias in _remote/info, the evidence, the remote's keys) and the ledger's
// part (key and keystore records, installation) in; the key work, its
// changes and findings out. diffKey is pure, so nothing here runs a
// cluster.
func TestDiffKey(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	const grace = 10 * time.Minute
	access := spec.Access{Search: []spec.AccessEntry{{Names: []string{"logs-*"}}}}
	managed := func(a spec.Access) *spec.Connection {
		return &spec.Connection{Name: "c", Local: "l", Alias: "a", Security: spec.SecurityAPIKey,
			Remote: spec.Remote{Cluster: "r"},
			APIKey: &spec.APIKey{Managed: true, Access: a, RotateBefore: spec.Duration(14 * 24 * time.Hour)}}
	}
	handMade := &spec.Connection{Name: "c", Local: "l", Alias: "a", Security: spec.SecurityAPIKey,
		APIKey: &spec.APIKey{Credentials: &spec.SecretRef{Env: "KEY"}}}
	secret := spec.NewSecret("hand-made-encoded-key")
	v, err := world.ParseVersion("8.19.3")
	if err != nil {
		t.Fatal(err)
	}
	meta := func(inst, local, alias string) map[string]any {
		return map[string]any{"managed_by": ManagedBy, MetaInstallation: inst, "local": local, "alias": alias}
	}
	want := AccessOf(access)
	// key is the ledger's key k1 as ES returns it: its access with its canary.
	key := func(mod func(*world.APIKey)) world.APIKey {
		a := WithCanary(want, "k1")
		k := world.APIKey{ID: "k1", Name: "esremote-c", Metadata: meta("me", "l", "a"), Access: &a}
		if mod != nil {
			mod(&k)
		}
		return k
	}
	rec := func(mod func(*ledger.KeyRecord)) *ledger.KeyRecord {
		r := &ledger.KeyRecord{Local: "l", Alias: "a", Remote: "r", ID: "k1", Name: "esremote-c", Fingerprint: "sha256:k1", AccessHash: AccessHash(want)}
		if mod != nil {
			mod(r)
		}
		return r
	}
	delivered := &ledger.Record{Fingerprint: "sha256:k1", Connection: "c", WrittenAt: now.Add(-time.Hour)}
	remote := func(keys ...world.APIKey) *RemoteKeys {
		return &RemoteKeys{Name: "r", Info: world.Info{ClusterUUID: "u-r", Version: v}, Keys: keys}
	}
	base := func(mod func(*KeyInput)) KeyInput {
		in := KeyInput{Conn: managed(access), LocalVersion: "8.19.3", AliasLive: true, Alias: world.RemoteStatus{Connected: true, HasCredentials: true},
			Health: drift.HealthConnected, Remote: remote(key(nil)), Key: rec(nil), Keystore: delivered, Installation: "me", Now: now, Grace: grace,
			StuckAfter: 30 * time.Minute, Overlap: 15 * time.Minute}
		if mod != nil {
			mod(&in)
		}
		return in
	}
	type outcome struct {
		kind     string
		changes  []string // resource action key origin
		findings []string // codes
		err      string   // a part of the error
		orphans  []string
		contest  bool
	}
	keystoreNew := "keystore create cluster.remote.a.credentials spec"
	keystoreReplace := "keystore update cluster.remote.a.credentials spec"
	for _, tc := range []struct {
		name string
		in   KeyInput
		want outcome
	}{
		{"steady: the ledger's key, live, delivered, same access: nothing", base(nil), outcome{}},
		{"no record, the alias has no credential yet: create, and deliver to the keystore", base(func(in *KeyInput) {
			in.Key, in.Keystore, in.Remote, in.Alias = nil, nil, remote(), world.RemoteStatus{}
		}), outcome{kind: KeyCreate, changes: []string{"api_key create esremote-c spec", keystoreNew}}},
		{"no record, no alias yet: create, and deliver to the keystore", base(func(in *KeyInput) {
			in.Key, in.Keystore, in.Remote, in.AliasLive, in.Alias = nil, nil, remote(), false, world.RemoteStatus{}
		}), outcome{kind: KeyCreate, changes: []string{"api_key create esremote-c spec", keystoreNew}}},
		{"no record, ES reports a credential esremote never wrote: conflict, no key, no keystore write", base(func(in *KeyInput) {
			in.Key, in.Keystore, in.Remote = nil, nil, remote()
		}), outcome{changes: []string{"api_key create esremote-c spec", keystoreReplace}, findings: []string{CodeConflict}}},
		{"no record, another installation's key for this very link (credential not loaded yet): conflict, no key, no keystore write", base(func(in *KeyInput) {
			in.Key, in.Keystore, in.Alias = nil, nil, world.RemoteStatus{}
			in.Remote = remote(key(func(k *world.APIKey) { k.ID, k.Metadata = "k8", meta("other", "l", "a") }))
		}), outcome{changes: []string{"api_key create esremote-c spec", keystoreReplace}, findings: []string{CodeContestedByOther, CodeConflict}}},
		{"no key record but the keystore entry is this installation's (a hand-made key turned managed): create, replace the entry", base(func(in *KeyInput) {
			in.Key, in.Remote = nil, remote()
		}), outcome{kind: KeyCreate, changes: []string{"api_key create esremote-c spec", keystoreReplace}}},
		{"record pending (a crash before delivery): replace, the lost key is an orphan", base(func(in *KeyInput) { in.Key = rec(func(r *ledger.KeyRecord) { r.Pending = true }) }),
			outcome{kind: KeyCreate, changes: []string{"api_key create esremote-c spec", "api_key delete esremote-c (k1) spec", keystoreReplace}, orphans: []string{"k1"}}},
		{"recorded key deleted on the remote: replace", base(func(in *KeyInput) { in.Remote = remote() }),
			outcome{kind: KeyCreate, changes: []string{"api_key create esremote-c external", keystoreReplace}}},
		{"recorded key invalidated by hand: replace", base(func(in *KeyInput) { in.Remote = remote(key(func(k *world.APIKey) { k.Invalidated = true })) }),
			outcome{kind: KeyCreate, changes: []string{"api_key create esremote-c external", keystoreReplace}}},
		{"recorded key expired: replace", base(func(in *KeyInput) {
			in.Remote = remote(key(func(k *world.APIKey) { k.Expiration = now.Add(-time.Hour) }))
		}),
			outcome{kind: KeyCreate, changes: []string{"api_key create esremote-c external", keystoreReplace}}},
		{"keystore record lost: rotate (a secret is never shown twice)", base(func(in *KeyInput) { in.Keystore = nil }),
			outcome{kind: KeyRotate, changes: []string{"api_key update esremote-c external", keystoreNew}}},
		{"keystore holds another secret: rotate", base(func(in *KeyInput) {
			in.Keystore = &ledger.Record{Fingerprint: "sha256:other", WrittenAt: now.Add(-time.Hour)}
		}),
			outcome{kind: KeyRotate, changes: []string{"api_key update esremote-c external", keystoreReplace}}},
		{"ES shows no credentials for the alias: rotate", base(func(in *KeyInput) { in.Alias.HasCredentials = false }),
			outcome{kind: KeyRotate, changes: []string{"api_key update esremote-c external", keystoreReplace}}},
		{"no credentials yet, within the keystore load grace: not lost", base(func(in *KeyInput) {
			in.Alias.HasCredentials = false
			in.Keystore = &ledger.Record{Fingerprint: "sha256:k1", WrittenAt: now.Add(-time.Minute)}
		}), outcome{}},
		{"the canary refused with no key named, long after the write (the fallback): rotate", base(func(in *KeyInput) { in.Health, in.Refusal = drift.HealthUnauthorized, "401" }),
			outcome{kind: KeyRotate, changes: []string{"api_key update esremote-c external", keystoreReplace}}},
		{"canary refused with no key named, within the grace: wait", base(func(in *KeyInput) {
			in.Health = drift.HealthUnauthorized
			in.Keystore = &ledger.Record{Fingerprint: "sha256:k1", WrittenAt: now.Add(-time.Minute)}
		}), outcome{}},
		{"no credentials, never proven, past the grace but not RotationStuckAfter (a slow platform): wait, said", base(func(in *KeyInput) {
			in.Alias.HasCredentials, in.Health = false, drift.HealthDisconnected
			in.Keystore = &ledger.Record{Fingerprint: "sha256:k1", WrittenAt: now.Add(-(grace + 7*time.Minute))}
		}), outcome{findings: []string{CodeKeystoreNotLoaded}}},
		{"no credentials, proven in use since the write, past the grace: lost, rotate", base(func(in *KeyInput) {
			in.Alias.HasCredentials, in.Health = false, drift.HealthDisconnected
			in.Keystore = &ledger.Record{Fingerprint: "sha256:k1", WrittenAt: now.Add(-(grace + time.Minute))}
			in.Key = rec(func(r *ledger.KeyRecord) { r.ProvenAt = now.Add(-grace) })
		}), outcome{kind: KeyRotate, changes: []string{"api_key update esremote-c external", keystoreReplace}}},
		{"refused under a key esremote never made, within the grace of its own write: repaired now", base(func(in *KeyInput) {
			in.Health, in.RefusedKey = drift.HealthUnauthorized, "k-by-hand"
			in.Keystore = &ledger.Record{Fingerprint: "sha256:k1", WrittenAt: now.Add(-time.Minute)}
		}), outcome{kind: KeyRotate, changes: []string{"api_key update esremote-c external", keystoreReplace}}},
		{"refused under the key a repair displaced (a node not loaded yet): wait, never rewrite", base(func(in *KeyInput) {
			in.Health, in.RefusedKey = drift.HealthUnauthorized, "k-by-hand"
			in.Key = rec(func(r *ledger.KeyRecord) { r.Displaced = "k-by-hand" })
		}), outcome{}},
		{"refused under the old key long after the write (a node not loaded yet): wait, never rewrite", base(func(in *KeyInput) {
			in.Health, in.RefusedKey = drift.HealthUnauthorized, "k0"
			in.Key = rec(func(r *ledger.KeyRecord) { r.Previous = &ledger.KeyRecord{ID: "k0"} })
			in.Remote = remote(key(nil), key(func(k *world.APIKey) { k.ID = "k0" }))
		}), outcome{findings: []string{CodeRotationWindow}}},
		{"refused under the current key, its access as desired: an access problem, no new key", base(func(in *KeyInput) {
			in.Health, in.RefusedKey = drift.HealthUnauthorized, "k1"
		}), outcome{}},
		{"refused under the current key, its canary gone from its access: updated in place", base(func(in *KeyInput) {
			in.Health, in.RefusedKey = drift.HealthUnauthorized, "k1"
			in.Remote = remote(key(func(k *world.APIKey) { a := want; k.Access = &a }))
		}), outcome{kind: KeyUpdate, changes: []string{"api_key update esremote-c external"}}},
		{"near expiry: rotate by the spec", base(func(in *KeyInput) {
			in.Remote = remote(key(func(k *world.APIKey) { k.Expiration = now.Add(24 * time.Hour) }))
		}), outcome{kind: KeyRotate, changes: []string{"api_key update esremote-c spec", keystoreReplace}}},
		{"within twice rotate_before: kept, with a warning", base(func(in *KeyInput) {
			in.Remote = remote(key(func(k *world.APIKey) { k.Expiration = now.Add(20 * 24 * time.Hour) }))
		}), outcome{findings: []string{CodeKeyExpiresSoon}}},
		{"the spec changed the access: update in place", base(func(in *KeyInput) {
			in.Conn = managed(spec.Access{Search: []spec.AccessEntry{{Names: []string{"metrics-*"}}}})
		}), outcome{kind: KeyUpdate, changes: []string{"api_key update esremote-c spec"}}},
		{"the access was changed on the cluster: update in place back", base(func(in *KeyInput) {
			in.Remote = remote(key(func(k *world.APIKey) {
				k.Access = &world.CrossClusterAccess{Search: []world.SearchAccess{{Names: []string{"*"}}}}
			}))
		}), outcome{kind: KeyUpdate, changes: []string{"api_key update esremote-c external"}}},
		{"this installation's key unknown to the ledger: orphan, invalidated", base(func(in *KeyInput) {
			in.Remote = remote(key(nil), key(func(k *world.APIKey) { k.ID = "k9" }))
		}), outcome{changes: []string{"api_key delete esremote-c (k9) spec"}, orphans: []string{"k9"}}},
		{"another installation's key for another link: reported, untouched", base(func(in *KeyInput) {
			in.Remote = remote(key(nil), key(func(k *world.APIKey) { k.ID, k.Metadata = "k8", meta("other", "l2", "a") }))
		}), outcome{findings: []string{CodeForeignKey}}},
		{"another installation's key for this very link: contested, untouched", base(func(in *KeyInput) {
			in.Remote = remote(key(nil), key(func(k *world.APIKey) { k.ID, k.Metadata = "k8", meta("other", "l", "a") }))
		}), outcome{findings: []string{CodeContestedByOther}, contest: true}},
		// Both installations hold keys for the link (issue 24): the other's
		// write of the keystore entry looks like a refused canary or a lost
		// key from here. The contested round writes nothing on either side.
		{"both installations hold keys, the canary is refused: conflict, no new key, no keystore write", base(func(in *KeyInput) {
			in.Health, in.Refusal = drift.HealthUnauthorized, "401"
			in.Remote = remote(key(nil), key(func(k *world.APIKey) { k.ID, k.Metadata = "k8", meta("other", "l", "a") }))
		}), outcome{changes: []string{"api_key create esremote-c spec", keystoreReplace}, findings: []string{CodeContestedByOther, CodeConflict}}},
		{"both installations hold keys, this one's invalidated: conflict, no new key, no keystore write", base(func(in *KeyInput) {
			in.Remote = remote(key(func(k *world.APIKey) { k.Invalidated = true }), key(func(k *world.APIKey) { k.ID, k.Metadata = "k8", meta("other", "l", "a") }))
		}), outcome{changes: []string{"api_key create esremote-c spec", keystoreReplace}, findings: []string{CodeContestedByOther, CodeConflict}}},
		{"a key not managed by esremote: not ours, not reported", base(func(in *KeyInput) {
			in.Remote = remote(key(nil), key(func(k *world.APIKey) { k.ID, k.Metadata = "k7", map[string]any{} }))
		}), outcome{}},
		{"a rotated-out key, the new one proven over the window and again now: invalidated (planned now)", base(func(in *KeyInput) {
			in.Key = rec(func(r *ledger.KeyRecord) {
				r.Previous, r.ProvenAt = &ledger.KeyRecord{ID: "k0"}, now.Add(-16*time.Minute)
			})
			in.Remote = remote(key(nil), key(func(k *world.APIKey) { k.ID = "k0" }))
			in.Proven = "k1"
		}), outcome{changes: []string{"api_key delete esremote-c (k0) spec"}}},
		{"a rotated-out key, the new one proven 5 minutes ago: kept for the window", base(func(in *KeyInput) {
			in.Key = rec(func(r *ledger.KeyRecord) {
				r.Previous, r.ProvenAt = &ledger.KeyRecord{ID: "k0"}, now.Add(-5*time.Minute)
			})
			in.Remote = remote(key(nil), key(func(k *world.APIKey) { k.ID = "k0" }))
			in.Proven = "k1"
		}), outcome{findings: []string{CodeRotationWindow}}},
		{"a rotated-out key, the window over but this pass's evidence not a proof: kept", base(func(in *KeyInput) {
			in.Key = rec(func(r *ledger.KeyRecord) {
				r.Previous, r.ProvenAt = &ledger.KeyRecord{ID: "k0"}, now.Add(-16*time.Minute)
			})
			in.Remote = remote(key(nil), key(func(k *world.APIKey) { k.ID = "k0" }))
		}), outcome{findings: []string{CodeRotationWindow}}},
		{"access covering the canary names: warned", base(func(in *KeyInput) {
			in.Conn = managed(spec.Access{Search: []spec.AccessEntry{{Names: []string{"*"}}}})
		}), outcome{kind: KeyUpdate, changes: []string{"api_key update esremote-c spec"}, findings: []string{CodeCanaryAmbiguous}}},
		{"local older than 8.14: error", base(func(in *KeyInput) { in.LocalVersion = "8.13.4" }), outcome{err: "8.14 or later"}},
		{"remote older than 8.14: error", base(func(in *KeyInput) {
			old, _ := world.ParseVersion("8.12.0")
			in.Remote.Info.Version = old
		}), outcome{err: "r runs 8.12.0"}},
		{"remote not readable: error, nothing decided", base(func(in *KeyInput) { in.Remote.Err = errors.New("503") }), outcome{err: "remote r: 503"}},
		{"no remote.cluster: error", base(func(in *KeyInput) { in.Remote = nil }), outcome{err: "needs remote.cluster"}},
		{"managed key, self-managed local: error", base(func(in *KeyInput) { in.SelfManaged = true }), outcome{err: "needs a local cluster with a deployment block"}},
		{"report-only and disabled connections are decided alike; disabled has no key work", base(func(in *KeyInput) {
			c := managed(access)
			c.Policy = spec.PolicyDisabled
			in.Conn = c
		}), outcome{}},
		{"hand-made key, never delivered: keystore written", KeyInput{Conn: handMade, Secret: secret, Now: now},
			outcome{changes: []string{"keystore create cluster.remote.a.credentials spec"}}},
		{"hand-made key, delivered: nothing", KeyInput{Conn: handMade, Secret: secret, Now: now, AliasLive: true, Alias: world.RemoteStatus{HasCredentials: true},
			Keystore: &ledger.Record{Fingerprint: secret.Fingerprint()}}, outcome{}},
		{"hand-made key, secret changed: keystore rewritten", KeyInput{Conn: handMade, Secret: secret, Now: now,
			Keystore: &ledger.Record{Fingerprint: "sha256:old"}}, outcome{changes: []string{"keystore update cluster.remote.a.credentials spec"}}},
		{"hand-made key, removed from the keystore by hand: rewritten", KeyInput{Conn: handMade, Secret: secret, Now: now, AliasLive: true,
			Keystore: &ledger.Record{Fingerprint: secret.Fingerprint()}}, outcome{changes: []string{"keystore update cluster.remote.a.credentials external"}}},
		{"hand-made key, secret unresolvable: error", KeyInput{Conn: handMade, SecretErr: errors.New("KEY is not set"), Now: now}, outcome{err: "api_key.credentials: KEY is not set"}},
		{"hand-made key, self-managed local without it: action required", KeyInput{Conn: handMade, Secret: secret, SelfManaged: true, AliasLive: true, Now: now},
			outcome{findings: []string{CodeActionRequired}}},
		{"hand-made key, self-managed local with it: nothing", KeyInput{Conn: handMade, Secret: secret, SelfManaged: true, AliasLive: true,
			Alias: world.RemoteStatus{HasCredentials: true}, Now: now}, outcome{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Key(tc.in)
			var got outcome
			if d.Err != nil {
				got.err = d.Err.Error()
				if !strings.Contains(got.err, tc.want.err) || tc.want.err == "" {
					t.Fatalf("error %q, want one with %q", got.err, tc.want.err)
				}
				if d.Work != nil || len(d.Changes) > 0 {
					t.Fatalf("an error with work or changes: %+v", d)
				}
				return
			}
			if tc.want.err != "" {
				t.Fatalf("no error, want %q", tc.want.err)
			}
			if d.Work != nil {
				got.kind = d.Work.Kind
				for _, k := range d.Work.Orphans {
					got.orphans = append(got.orphans, k.ID)
				}
				// Every change shown is one apply will find by its role.
				for _, ch := range d.Changes {
					if !slices.ContainsFunc(mapValues(d.Work.Changes), func(c *Change) bool { return c == ch }) {
						t.Errorf("change %+v has no role in the key work", ch)
					}
				}
			}
			for _, ch := range d.Changes {
				got.changes = append(got.changes, fmt.Sprintf("%s %s %s %s", ch.Resource, ch.Action, ch.Key, ch.Origin))
			}
			for _, f := range d.Findings {
				got.findings = append(got.findings, f.Code)
			}
			got.contest = d.Contested
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func mapValues[K comparable, V any](m map[K]V) []V {
	var out []V
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// diffKey is pure: the same input gives the same decision, and deciding
// does not change the input (the ledger's records, the observed keys).
func TestDiffKeyIsPure(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	v, _ := world.ParseVersion("8.19.3")
	rec := &ledger.KeyRecord{ID: "k1", Fingerprint: "sha256:k1", Pending: true, Previous: &ledger.KeyRecord{ID: "k0"}}
	in := KeyInput{Conn: &spec.Connection{Name: "c", Local: "l", Alias: "a", Security: spec.SecurityAPIKey,
		APIKey: &spec.APIKey{Managed: true, Access: spec.Access{Search: []spec.AccessEntry{{Names: []string{"logs-*"}}}}}},
		LocalVersion: "8.19.3", Remote: &RemoteKeys{Name: "r", Info: world.Info{Version: v},
			Keys: []world.APIKey{{ID: "k1", Name: "esremote-c", Metadata: map[string]any{"managed_by": ManagedBy, MetaInstallation: "me"}}}},
		Key: rec, Installation: "me", Now: now}
	before := fmt.Sprintf("%+v %+v %+v", *rec, *rec.Previous, in.Remote.Keys)
	a, b := Key(in), Key(in)
	if after := fmt.Sprintf("%+v %+v %+v", *rec, *rec.Previous, in.Remote.Keys); after != before {
		t.Fatalf("diffKey changed its input:\n%s\n%s", before, after)
	}
	show := func(d KeyDiff) string {
		s := fmt.Sprint(d.Work.Kind, len(d.Work.Orphans), d.Findings, d.Err)
		for _, ch := range d.Changes {
			s += fmt.Sprintf(" %+v", *ch)
		}
		return s
	}
	if show(a) != show(b) {
		t.Fatalf("two decisions from one input differ:\n%s\n%s", show(a), show(b))
	}
	if a.Work.Kind != KeyCreate || drift.Action(a.Changes[0].Action) != drift.ActionCreate {
		t.Fatalf("a pending record is replaced: %s", show(a))
	}
}

// One row per rule of the keystore removals: only esremote's recorded
// credentials entries of aliases no connection declares go, once.
func TestDiffKeystoreRemovals(t *testing.T) {
	rec := func(conn string) *ledger.Record { return &ledger.Record{Fingerprint: "sha256:x", Connection: conn} }
	for _, tc := range []struct {
		name     string
		entries  []KeystoreEntry
		declared map[string]bool
		handled  map[string]bool
		want     []string // "conn alias setting"
	}{
		{"a declared alias keeps its entry", []KeystoreEntry{{Setting: "cluster.remote.a.credentials", Rec: rec("c")}}, map[string]bool{"a": true}, nil, nil},
		{"a renamed alias: its old entry goes", []KeystoreEntry{{Setting: "cluster.remote.old.credentials", Rec: rec("c")}}, map[string]bool{"new": true}, nil,
			[]string{"c old cluster.remote.old.credentials"}},
		{"removed with its key already: not twice", []KeystoreEntry{{Setting: "cluster.remote.a.credentials", Rec: rec("c")}}, nil,
			map[string]bool{"cluster.remote.a.credentials": true}, nil},
		{"an entry of no known connection is named by its alias", []KeystoreEntry{{Setting: "cluster.remote.a.credentials", Rec: rec("")}}, nil, nil,
			[]string{"(alias a) a cluster.remote.a.credentials"}},
		{"another setting is never touched", []KeystoreEntry{{Setting: "xpack.something", Rec: rec("c")}, {Setting: "cluster.remote.a.other", Rec: rec("c")}}, nil, nil, nil},
	} {
		var got []string
		for _, e := range KeystoreRemovals("l", tc.entries, tc.declared, tc.handled) {
			if e.Change.Action != drift.ActionDelete || e.Change.Target != "l" || e.Change.Key != e.Setting {
				t.Errorf("%s: change %+v", tc.name, *e.Change)
			}
			got = append(got, e.Conn+" "+e.Alias+" "+e.Setting)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// A removed connection's key is invalidated, and its keystore entry
// removed only where esremote recorded delivering it.
func TestDiffRemovedKeys(t *testing.T) {
	key := &ledger.KeyRecord{Local: "l", Alias: "a", Remote: "r", ID: "k1", Name: "esremote-c"}
	got := RemovedKeys("l", []RemovedKey{{Conn: "c", Key: key, Keystore: &ledger.Record{Fingerprint: "sha256:x"}}, {Conn: "d", Key: key}})
	var show []string
	for _, rk := range got {
		for _, ch := range rk.Changes {
			show = append(show, fmt.Sprintf("%s: %s %s %s %s", rk.Conn, ch.Resource, ch.Action, ch.Target, ch.Key))
		}
	}
	want := []string{"c: api_key delete r esremote-c (k1)", "c: keystore delete l cluster.remote.a.credentials", "d: api_key delete r esremote-c (k1)"}
	if fmt.Sprint(show) != fmt.Sprint(want) {
		t.Fatalf("%q\nwant %q", show, want)
	}
}

// One row per ownership rule of keys: only keys of this installation that
// the ledger does not know are orphans.
func TestClassifyKey(t *testing.T) {
	meta := func(inst, local, alias string) map[string]any {
		m := map[string]any{"managed_by": ManagedBy, "local": local, "alias": alias}
		if inst != "" {
			m[MetaInstallation] = inst
		}
		return m
	}
	rec := &ledger.KeyRecord{ID: "k1", Previous: &ledger.KeyRecord{ID: "k0"}}
	for _, tc := range []struct {
		name string
		key  world.APIKey
		rec  *ledger.KeyRecord
		want keyClass
	}{
		{"the ledger's key", world.APIKey{ID: "k1", Name: "esremote-c", Metadata: meta("me", "l", "a")}, rec, keyRecorded},
		{"the key being rotated out", world.APIKey{ID: "k0", Name: "esremote-c", Metadata: meta("me", "l", "a")}, rec, keyRecorded},
		{"ours, unknown to the ledger (a crash): orphan", world.APIKey{ID: "k2", Name: "esremote-c", Metadata: meta("me", "l", "a")}, rec, keyOrphan},
		{"ours, no ledger record at all: orphan", world.APIKey{ID: "k2", Name: "esremote-c", Metadata: meta("me", "l", "a")}, nil, keyOrphan},
		{"another installation, same link: contested", world.APIKey{ID: "k3", Name: "esremote-c", Metadata: meta("other", "l", "a")}, rec, keySameLinkOtherInstallation},
		{"another installation, another link: left alone", world.APIKey{ID: "k3", Name: "esremote-c", Metadata: meta("other", "l2", "a")}, rec, keyOtherInstallation},
		{"no installation id (before ids): left alone", world.APIKey{ID: "k4", Name: "esremote-c", Metadata: meta("", "l2", "a")}, rec, keyOtherInstallation},
		{"not managed by esremote", world.APIKey{ID: "k5", Name: "esremote-c", Metadata: map[string]any{}}, rec, keyNotOurs},
		{"invalidated already", world.APIKey{ID: "k6", Name: "esremote-c", Invalidated: true, Metadata: meta("me", "l", "a")}, rec, keyNotOurs},
		{"another connection's name", world.APIKey{ID: "k7", Name: "esremote-d", Metadata: meta("me", "l", "a")}, rec, keyNotOurs},
	} {
		if got := classifyKey(tc.key, "esremote-c", tc.rec, "me", "l", "a"); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
