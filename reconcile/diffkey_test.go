package reconcile

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/es"
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
	v, err := es.ParseVersion("8.19.3")
	if err != nil {
		t.Fatal(err)
	}
	meta := func(inst, local, alias string) map[string]any {
		return map[string]any{"managed_by": ManagedBy, MetaInstallation: inst, "local": local, "alias": alias}
	}
	want := accessOf(access)
	// key is the ledger's key k1 as ES returns it: its access with its canary.
	key := func(mod func(*es.APIKey)) es.APIKey {
		a := withCanary(want, "k1")
		k := es.APIKey{ID: "k1", Name: "esremote-c", Metadata: meta("me", "l", "a"), Access: &a}
		if mod != nil {
			mod(&k)
		}
		return k
	}
	rec := func(mod func(*KeyRecord)) *KeyRecord {
		r := &KeyRecord{Local: "l", Alias: "a", Remote: "r", ID: "k1", Name: "esremote-c", Fingerprint: "sha256:k1", AccessHash: accessHash(want)}
		if mod != nil {
			mod(r)
		}
		return r
	}
	delivered := &Record{Fingerprint: "sha256:k1", Connection: "c", WrittenAt: now.Add(-time.Hour)}
	remote := func(keys ...es.APIKey) *remoteKeys {
		return &remoteKeys{name: "r", info: es.Info{ClusterUUID: "u-r", Version: v}, keys: keys}
	}
	base := func(mod func(*keyInput)) keyInput {
		in := keyInput{conn: managed(access), localVersion: "8.19.3", aliasLive: true, alias: RemoteStatus{Connected: true, HasCredentials: true},
			health: HealthConnected, remote: remote(key(nil)), key: rec(nil), keystore: delivered, installation: "me", now: now, grace: grace,
			stuckAfter: 30 * time.Minute, overlap: 15 * time.Minute}
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
		in   keyInput
		want outcome
	}{
		{"steady: the ledger's key, live, delivered, same access: nothing", base(nil), outcome{}},
		{"no record, the alias has no credential yet: create, and deliver to the keystore", base(func(in *keyInput) {
			in.key, in.keystore, in.remote, in.alias = nil, nil, remote(), RemoteStatus{}
		}), outcome{kind: keyCreate, changes: []string{"api_key create esremote-c spec", keystoreNew}}},
		{"no record, no alias yet: create, and deliver to the keystore", base(func(in *keyInput) {
			in.key, in.keystore, in.remote, in.aliasLive, in.alias = nil, nil, remote(), false, RemoteStatus{}
		}), outcome{kind: keyCreate, changes: []string{"api_key create esremote-c spec", keystoreNew}}},
		{"no record, ES reports a credential esremote never wrote: conflict, no key, no keystore write", base(func(in *keyInput) {
			in.key, in.keystore, in.remote = nil, nil, remote()
		}), outcome{changes: []string{"api_key create esremote-c spec", keystoreReplace}, findings: []string{CodeConflict}}},
		{"no record, another installation's key for this very link (credential not loaded yet): conflict, no key, no keystore write", base(func(in *keyInput) {
			in.key, in.keystore, in.alias = nil, nil, RemoteStatus{}
			in.remote = remote(key(func(k *es.APIKey) { k.ID, k.Metadata = "k8", meta("other", "l", "a") }))
		}), outcome{changes: []string{"api_key create esremote-c spec", keystoreReplace}, findings: []string{CodeContestedByOther, CodeConflict}}},
		{"no key record but the keystore entry is this installation's (a hand-made key turned managed): create, replace the entry", base(func(in *keyInput) {
			in.key, in.remote = nil, remote()
		}), outcome{kind: keyCreate, changes: []string{"api_key create esremote-c spec", keystoreReplace}}},
		{"record pending (a crash before delivery): replace, the lost key is an orphan", base(func(in *keyInput) { in.key = rec(func(r *KeyRecord) { r.Pending = true }) }),
			outcome{kind: keyCreate, changes: []string{"api_key create esremote-c spec", "api_key delete esremote-c (k1) spec", keystoreReplace}, orphans: []string{"k1"}}},
		{"recorded key deleted on the remote: replace", base(func(in *keyInput) { in.remote = remote() }),
			outcome{kind: keyCreate, changes: []string{"api_key create esremote-c external", keystoreReplace}}},
		{"recorded key invalidated by hand: replace", base(func(in *keyInput) { in.remote = remote(key(func(k *es.APIKey) { k.Invalidated = true })) }),
			outcome{kind: keyCreate, changes: []string{"api_key create esremote-c external", keystoreReplace}}},
		{"recorded key expired: replace", base(func(in *keyInput) { in.remote = remote(key(func(k *es.APIKey) { k.Expiration = now.Add(-time.Hour) })) }),
			outcome{kind: keyCreate, changes: []string{"api_key create esremote-c external", keystoreReplace}}},
		{"keystore record lost: rotate (a secret is never shown twice)", base(func(in *keyInput) { in.keystore = nil }),
			outcome{kind: keyRotate, changes: []string{"api_key update esremote-c external", keystoreNew}}},
		{"keystore holds another secret: rotate", base(func(in *keyInput) { in.keystore = &Record{Fingerprint: "sha256:other", WrittenAt: now.Add(-time.Hour)} }),
			outcome{kind: keyRotate, changes: []string{"api_key update esremote-c external", keystoreReplace}}},
		{"ES shows no credentials for the alias: rotate", base(func(in *keyInput) { in.alias.HasCredentials = false }),
			outcome{kind: keyRotate, changes: []string{"api_key update esremote-c external", keystoreReplace}}},
		{"no credentials yet, within the keystore load grace: not lost", base(func(in *keyInput) {
			in.alias.HasCredentials = false
			in.keystore = &Record{Fingerprint: "sha256:k1", WrittenAt: now.Add(-time.Minute)}
		}), outcome{}},
		{"the canary refused with no key named, long after the write (the fallback): rotate", base(func(in *keyInput) { in.health, in.refusal = HealthUnauthorized, "401" }),
			outcome{kind: keyRotate, changes: []string{"api_key update esremote-c external", keystoreReplace}}},
		{"canary refused with no key named, within the grace: wait", base(func(in *keyInput) {
			in.health = HealthUnauthorized
			in.keystore = &Record{Fingerprint: "sha256:k1", WrittenAt: now.Add(-time.Minute)}
		}), outcome{}},
		{"no credentials, never proven, past the grace but not RotationStuckAfter (a slow platform): wait, said", base(func(in *keyInput) {
			in.alias.HasCredentials, in.health = false, HealthDisconnected
			in.keystore = &Record{Fingerprint: "sha256:k1", WrittenAt: now.Add(-(grace + 7*time.Minute))}
		}), outcome{findings: []string{CodeKeystoreNotLoaded}}},
		{"no credentials, proven in use since the write, past the grace: lost, rotate", base(func(in *keyInput) {
			in.alias.HasCredentials, in.health = false, HealthDisconnected
			in.keystore = &Record{Fingerprint: "sha256:k1", WrittenAt: now.Add(-(grace + time.Minute))}
			in.key = rec(func(r *KeyRecord) { r.ProvenAt = now.Add(-grace) })
		}), outcome{kind: keyRotate, changes: []string{"api_key update esremote-c external", keystoreReplace}}},
		{"refused under a key esremote never made, within the grace of its own write: repaired now", base(func(in *keyInput) {
			in.health, in.refusedKey = HealthUnauthorized, "k-by-hand"
			in.keystore = &Record{Fingerprint: "sha256:k1", WrittenAt: now.Add(-time.Minute)}
		}), outcome{kind: keyRotate, changes: []string{"api_key update esremote-c external", keystoreReplace}}},
		{"refused under the key a repair displaced (a node not loaded yet): wait, never rewrite", base(func(in *keyInput) {
			in.health, in.refusedKey = HealthUnauthorized, "k-by-hand"
			in.key = rec(func(r *KeyRecord) { r.Displaced = "k-by-hand" })
		}), outcome{}},
		{"refused under the old key long after the write (a node not loaded yet): wait, never rewrite", base(func(in *keyInput) {
			in.health, in.refusedKey = HealthUnauthorized, "k0"
			in.key = rec(func(r *KeyRecord) { r.Previous = &KeyRecord{ID: "k0"} })
			in.remote = remote(key(nil), key(func(k *es.APIKey) { k.ID = "k0" }))
		}), outcome{findings: []string{CodeRotationWindow}}},
		{"refused under the current key, its access as desired: an access problem, no new key", base(func(in *keyInput) {
			in.health, in.refusedKey = HealthUnauthorized, "k1"
		}), outcome{}},
		{"refused under the current key, its canary gone from its access: updated in place", base(func(in *keyInput) {
			in.health, in.refusedKey = HealthUnauthorized, "k1"
			in.remote = remote(key(func(k *es.APIKey) { a := want; k.Access = &a }))
		}), outcome{kind: keyUpdate, changes: []string{"api_key update esremote-c external"}}},
		{"near expiry: rotate by the spec", base(func(in *keyInput) {
			in.remote = remote(key(func(k *es.APIKey) { k.Expiration = now.Add(24 * time.Hour) }))
		}), outcome{kind: keyRotate, changes: []string{"api_key update esremote-c spec", keystoreReplace}}},
		{"within twice rotate_before: kept, with a warning", base(func(in *keyInput) {
			in.remote = remote(key(func(k *es.APIKey) { k.Expiration = now.Add(20 * 24 * time.Hour) }))
		}), outcome{findings: []string{CodeKeyExpiresSoon}}},
		{"the spec changed the access: update in place", base(func(in *keyInput) {
			in.conn = managed(spec.Access{Search: []spec.AccessEntry{{Names: []string{"metrics-*"}}}})
		}), outcome{kind: keyUpdate, changes: []string{"api_key update esremote-c spec"}}},
		{"the access was changed on the cluster: update in place back", base(func(in *keyInput) {
			in.remote = remote(key(func(k *es.APIKey) {
				k.Access = &es.CrossClusterAccess{Search: []es.SearchAccess{{Names: []string{"*"}}}}
			}))
		}), outcome{kind: keyUpdate, changes: []string{"api_key update esremote-c external"}}},
		{"this installation's key unknown to the ledger: orphan, invalidated", base(func(in *keyInput) {
			in.remote = remote(key(nil), key(func(k *es.APIKey) { k.ID = "k9" }))
		}), outcome{changes: []string{"api_key delete esremote-c (k9) spec"}, orphans: []string{"k9"}}},
		{"another installation's key for another link: reported, untouched", base(func(in *keyInput) {
			in.remote = remote(key(nil), key(func(k *es.APIKey) { k.ID, k.Metadata = "k8", meta("other", "l2", "a") }))
		}), outcome{findings: []string{CodeForeignKey}}},
		{"another installation's key for this very link: contested, untouched", base(func(in *keyInput) {
			in.remote = remote(key(nil), key(func(k *es.APIKey) { k.ID, k.Metadata = "k8", meta("other", "l", "a") }))
		}), outcome{findings: []string{CodeContestedByOther}, contest: true}},
		// Both installations hold keys for the link (issue 24): the other's
		// write of the keystore entry looks like a refused canary or a lost
		// key from here. The contested round writes nothing on either side.
		{"both installations hold keys, the canary is refused: conflict, no new key, no keystore write", base(func(in *keyInput) {
			in.health, in.refusal = HealthUnauthorized, "401"
			in.remote = remote(key(nil), key(func(k *es.APIKey) { k.ID, k.Metadata = "k8", meta("other", "l", "a") }))
		}), outcome{changes: []string{"api_key create esremote-c spec", keystoreReplace}, findings: []string{CodeContestedByOther, CodeConflict}}},
		{"both installations hold keys, this one's invalidated: conflict, no new key, no keystore write", base(func(in *keyInput) {
			in.remote = remote(key(func(k *es.APIKey) { k.Invalidated = true }), key(func(k *es.APIKey) { k.ID, k.Metadata = "k8", meta("other", "l", "a") }))
		}), outcome{changes: []string{"api_key create esremote-c spec", keystoreReplace}, findings: []string{CodeContestedByOther, CodeConflict}}},
		{"a key not managed by esremote: not ours, not reported", base(func(in *keyInput) {
			in.remote = remote(key(nil), key(func(k *es.APIKey) { k.ID, k.Metadata = "k7", map[string]any{} }))
		}), outcome{}},
		{"a rotated-out key, the new one proven over the window and again now: invalidated (planned now)", base(func(in *keyInput) {
			in.key = rec(func(r *KeyRecord) { r.Previous, r.ProvenAt = &KeyRecord{ID: "k0"}, now.Add(-16*time.Minute) })
			in.remote = remote(key(nil), key(func(k *es.APIKey) { k.ID = "k0" }))
			in.proven = "k1"
		}), outcome{changes: []string{"api_key delete esremote-c (k0) spec"}}},
		{"a rotated-out key, the new one proven 5 minutes ago: kept for the window", base(func(in *keyInput) {
			in.key = rec(func(r *KeyRecord) { r.Previous, r.ProvenAt = &KeyRecord{ID: "k0"}, now.Add(-5*time.Minute) })
			in.remote = remote(key(nil), key(func(k *es.APIKey) { k.ID = "k0" }))
			in.proven = "k1"
		}), outcome{findings: []string{CodeRotationWindow}}},
		{"a rotated-out key, the window over but this pass's evidence not a proof: kept", base(func(in *keyInput) {
			in.key = rec(func(r *KeyRecord) { r.Previous, r.ProvenAt = &KeyRecord{ID: "k0"}, now.Add(-16*time.Minute) })
			in.remote = remote(key(nil), key(func(k *es.APIKey) { k.ID = "k0" }))
		}), outcome{findings: []string{CodeRotationWindow}}},
		{"access covering the canary names: warned", base(func(in *keyInput) {
			in.conn = managed(spec.Access{Search: []spec.AccessEntry{{Names: []string{"*"}}}})
		}), outcome{kind: keyUpdate, changes: []string{"api_key update esremote-c spec"}, findings: []string{CodeCanaryAmbiguous}}},
		{"local older than 8.14: error", base(func(in *keyInput) { in.localVersion = "8.13.4" }), outcome{err: "8.14 or later"}},
		{"remote older than 8.14: error", base(func(in *keyInput) {
			old, _ := es.ParseVersion("8.12.0")
			in.remote.info.Version = old
		}), outcome{err: "r runs 8.12.0"}},
		{"remote not readable: error, nothing decided", base(func(in *keyInput) { in.remote.err = errors.New("503") }), outcome{err: "remote r: 503"}},
		{"no remote.cluster: error", base(func(in *keyInput) { in.remote = nil }), outcome{err: "needs remote.cluster"}},
		{"managed key, self-managed local: error", base(func(in *keyInput) { in.selfManaged = true }), outcome{err: "needs a local cluster with a deployment block"}},
		{"report-only and disabled connections are decided alike; disabled has no key work", base(func(in *keyInput) {
			c := managed(access)
			c.Policy = spec.PolicyDisabled
			in.conn = c
		}), outcome{}},
		{"hand-made key, never delivered: keystore written", keyInput{conn: handMade, secret: secret, now: now},
			outcome{changes: []string{"keystore create cluster.remote.a.credentials spec"}}},
		{"hand-made key, delivered: nothing", keyInput{conn: handMade, secret: secret, now: now, aliasLive: true, alias: RemoteStatus{HasCredentials: true},
			keystore: &Record{Fingerprint: secret.Fingerprint()}}, outcome{}},
		{"hand-made key, secret changed: keystore rewritten", keyInput{conn: handMade, secret: secret, now: now,
			keystore: &Record{Fingerprint: "sha256:old"}}, outcome{changes: []string{"keystore update cluster.remote.a.credentials spec"}}},
		{"hand-made key, removed from the keystore by hand: rewritten", keyInput{conn: handMade, secret: secret, now: now, aliasLive: true,
			keystore: &Record{Fingerprint: secret.Fingerprint()}}, outcome{changes: []string{"keystore update cluster.remote.a.credentials external"}}},
		{"hand-made key, secret unresolvable: error", keyInput{conn: handMade, secretErr: errors.New("KEY is not set"), now: now}, outcome{err: "api_key.credentials: KEY is not set"}},
		{"hand-made key, self-managed local without it: action required", keyInput{conn: handMade, secret: secret, selfManaged: true, aliasLive: true, now: now},
			outcome{findings: []string{CodeActionRequired}}},
		{"hand-made key, self-managed local with it: nothing", keyInput{conn: handMade, secret: secret, selfManaged: true, aliasLive: true,
			alias: RemoteStatus{HasCredentials: true}, now: now}, outcome{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := diffKey(tc.in)
			var got outcome
			if d.err != nil {
				got.err = d.err.Error()
				if !strings.Contains(got.err, tc.want.err) || tc.want.err == "" {
					t.Fatalf("error %q, want one with %q", got.err, tc.want.err)
				}
				if d.work != nil || len(d.changes) > 0 {
					t.Fatalf("an error with work or changes: %+v", d)
				}
				return
			}
			if tc.want.err != "" {
				t.Fatalf("no error, want %q", tc.want.err)
			}
			if d.work != nil {
				got.kind = d.work.Kind
				for _, k := range d.work.Orphans {
					got.orphans = append(got.orphans, k.ID)
				}
				// Every change shown is one apply will find by its role.
				for _, ch := range d.changes {
					if !slices.ContainsFunc(mapValues(d.work.Changes), func(c *Change) bool { return c == ch }) {
						t.Errorf("change %+v has no role in the key work", ch)
					}
				}
			}
			for _, ch := range d.changes {
				got.changes = append(got.changes, fmt.Sprintf("%s %s %s %s", ch.Resource, ch.Action, ch.Key, ch.Origin))
			}
			for _, f := range d.findings {
				got.findings = append(got.findings, f.Code)
			}
			got.contest = d.contested
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
	v, _ := es.ParseVersion("8.19.3")
	rec := &KeyRecord{ID: "k1", Fingerprint: "sha256:k1", Pending: true, Previous: &KeyRecord{ID: "k0"}}
	in := keyInput{conn: &spec.Connection{Name: "c", Local: "l", Alias: "a", Security: spec.SecurityAPIKey,
		APIKey: &spec.APIKey{Managed: true, Access: spec.Access{Search: []spec.AccessEntry{{Names: []string{"logs-*"}}}}}},
		localVersion: "8.19.3", remote: &remoteKeys{name: "r", info: es.Info{Version: v},
			keys: []es.APIKey{{ID: "k1", Name: "esremote-c", Metadata: map[string]any{"managed_by": ManagedBy, MetaInstallation: "me"}}}},
		key: rec, installation: "me", now: now}
	before := fmt.Sprintf("%+v %+v %+v", *rec, *rec.Previous, in.remote.keys)
	a, b := diffKey(in), diffKey(in)
	if after := fmt.Sprintf("%+v %+v %+v", *rec, *rec.Previous, in.remote.keys); after != before {
		t.Fatalf("diffKey changed its input:\n%s\n%s", before, after)
	}
	show := func(d keyDiff) string {
		s := fmt.Sprint(d.work.Kind, len(d.work.Orphans), d.findings, d.err)
		for _, ch := range d.changes {
			s += fmt.Sprintf(" %+v", *ch)
		}
		return s
	}
	if show(a) != show(b) {
		t.Fatalf("two decisions from one input differ:\n%s\n%s", show(a), show(b))
	}
	if a.work.Kind != keyCreate || drift.Action(a.changes[0].Action) != ActionCreate {
		t.Fatalf("a pending record is replaced: %s", show(a))
	}
}

// One row per rule of the keystore removals: only esremote's recorded
// credentials entries of aliases no connection declares go, once.
func TestDiffKeystoreRemovals(t *testing.T) {
	rec := func(conn string) *Record { return &Record{Fingerprint: "sha256:x", Connection: conn} }
	for _, tc := range []struct {
		name     string
		entries  []keystoreEntry
		declared map[string]bool
		handled  map[string]bool
		want     []string // "conn alias setting"
	}{
		{"a declared alias keeps its entry", []keystoreEntry{{setting: "cluster.remote.a.credentials", rec: rec("c")}}, map[string]bool{"a": true}, nil, nil},
		{"a renamed alias: its old entry goes", []keystoreEntry{{setting: "cluster.remote.old.credentials", rec: rec("c")}}, map[string]bool{"new": true}, nil,
			[]string{"c old cluster.remote.old.credentials"}},
		{"removed with its key already: not twice", []keystoreEntry{{setting: "cluster.remote.a.credentials", rec: rec("c")}}, nil,
			map[string]bool{"cluster.remote.a.credentials": true}, nil},
		{"an entry of no known connection is named by its alias", []keystoreEntry{{setting: "cluster.remote.a.credentials", rec: rec("")}}, nil, nil,
			[]string{"(alias a) a cluster.remote.a.credentials"}},
		{"another setting is never touched", []keystoreEntry{{setting: "xpack.something", rec: rec("c")}, {setting: "cluster.remote.a.other", rec: rec("c")}}, nil, nil, nil},
	} {
		var got []string
		for _, e := range diffKeystoreRemovals("l", tc.entries, tc.declared, tc.handled) {
			if e.change.Action != ActionDelete || e.change.Target != "l" || e.change.Key != e.setting {
				t.Errorf("%s: change %+v", tc.name, *e.change)
			}
			got = append(got, e.conn+" "+e.alias+" "+e.setting)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// A removed connection's key is invalidated, and its keystore entry
// removed only where esremote recorded delivering it.
func TestDiffRemovedKeys(t *testing.T) {
	key := &KeyRecord{Local: "l", Alias: "a", Remote: "r", ID: "k1", Name: "esremote-c"}
	got := diffRemovedKeys("l", []removedKey{{conn: "c", key: key, keystore: &Record{Fingerprint: "sha256:x"}}, {conn: "d", key: key}})
	var show []string
	for _, rk := range got {
		for _, ch := range rk.changes {
			show = append(show, fmt.Sprintf("%s: %s %s %s %s", rk.conn, ch.Resource, ch.Action, ch.Target, ch.Key))
		}
	}
	want := []string{"c: api_key delete r esremote-c (k1)", "c: keystore delete l cluster.remote.a.credentials", "d: api_key delete r esremote-c (k1)"}
	if fmt.Sprint(show) != fmt.Sprint(want) {
		t.Fatalf("%q\nwant %q", show, want)
	}
}
