package decide

import (
	"fmt"
	"strings"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// RemoteKeys is the Snapshot's part of a key decision: the remote
// cluster as observed (GET /, its esremote-* keys, or why not).
type RemoteKeys struct {
	Name string
	Info world.Info
	Keys []world.APIKey
	Err  error
}

// KeyInput is everything Key decides from.
type KeyInput struct {
	Conn *spec.Connection
	// The Snapshot's part.
	SelfManaged  bool               // the local cluster has no deployment: its keystore is not writable over REST
	LocalVersion string             // the local's GET / version.number
	Alias        world.RemoteStatus // the alias in the local's _remote/info: the keystore as far as ES shows it
	AliasLive    bool
	Health       drift.Health // the link's evidence (evidence.go)
	Refusal      string
	RefusedKey   string      // the API key id the refusal names (refusalKeyID)
	Proven       string      // the managed key the evidence proved in use
	Remote       *RemoteKeys // nil when the decision needs no remote (keyRemote)
	// The hand-made key's credential, resolved (or why not).
	Secret    spec.Secret
	SecretErr error
	// The ledger's part.
	Key          *ledger.KeyRecord
	Keystore     *ledger.Record // cluster.remote.<alias>.credentials as esremote last wrote it
	Installation string
	Now          time.Time
	Grace        time.Duration // KeystoreLoadGrace
	StuckAfter   time.Duration // RotationStuckAfter
	Overlap      time.Duration // RotationOverlap
}

// KeyDiff is Key's decision: the work for apply, and the changes and
// findings it shows (changes are in work.changes too, by role).
type KeyDiff struct {
	Work       *KeyWork
	Changes    []*Change
	Findings   []Finding
	Err        error // the connection cannot have its key (changes and work are then empty)
	Contested  bool
	Conflict   bool      // the keystore entry is someone else's: nothing of the connection is written
	Expiration time.Time // the live key's expiry, when it is kept
}

func (d *KeyDiff) add(ch *Change) *Change {
	d.Changes = append(d.Changes, ch)
	return ch
}

// conflictKeystore is Key's decision when the alias's keystore entry
// belongs to someone else (another installation, or a credential put
// there by hand): the key and keystore changes are shown as conflicts,
// never written, and the connection's settings are held too (Diff).
//
// recorded is set when this installation's ledger does record a key and
// keystore write for the link, but another installation holds a key for
// it too: the ledger proves what this one wrote, not what the entry holds
// since, so the entry is not this one's to overwrite.
func (d *KeyDiff) conflictKeystore(c *spec.Connection, name, remote string, sameLink []string, recorded bool) KeyDiff {
	whose := "a credential esremote did not write (Elasticsearch reports credentials for the alias)"
	if len(sameLink) > 0 {
		whose = "the key of another esremote installation (" + strings.Join(sameLink, ", ") + ")"
	}
	msg := fmt.Sprintf("the keystore entry %s on %s holds %s, and this installation's ledger has no record of it; a new key would overwrite it, so nothing of this connection is written",
		CredentialsKey(c.Alias), c.Local, whose)
	if recorded {
		msg = fmt.Sprintf("the keystore entry %s on %s may hold %s, written after this installation's; this installation's ledger proves only what it wrote, and a new key would overwrite the other's entry, so nothing of this connection is written",
			CredentialsKey(c.Alias), c.Local, whose)
	}
	// The other installation's key is not contested by this one: this
	// one writes nothing, so the conflict (a failure) is what it reports.
	d.Contested = false
	d.Conflict = true
	d.Work = nil
	d.Changes = append(d.Changes,
		&Change{Resource: drift.ResourceAPIKey, Target: remote, Key: name, Action: drift.ActionCreate, Origin: drift.OriginSpec, Err: ErrConflict},
		&Change{Resource: drift.ResourceKeystore, Target: c.Local, Key: CredentialsKey(c.Alias), Action: drift.ActionUpdate,
			Actual: drift.RedactedPrefix + " (not written by esremote)", Origin: drift.OriginSpec, Err: ErrConflict})
	d.Findings = append(d.Findings, Finding{Severity: "error", Code: CodeConflict,
		Message: msg,
		Fix:     fmt.Sprintf("run one writer: remove the connection from one installation's spec (or share one state store with --state-store), or adopt the alias with: esremote import %s --cluster %s --alias %s; if this host's ledger was lost (moved aside, the package purged), rebuild it from what is live: esremote state recover %s", SpecDirPlaceholder, c.Local, c.Alias, SpecDirPlaceholder)})
	return *d
}

func (d *KeyDiff) fail(err error) KeyDiff {
	d.Err, d.Work, d.Changes = err, nil, nil
	return *d
}

// Key decides the credential work of an api_key connection. It is
// pure: the same input always gives the same decision. Its rules:
//
//   - hand-made key: the keystore entry is (re)written when the ledger
//     has no committed record of this secret, or ES shows the alias
//     without credentials; a self-managed local gets an action_required
//     finding instead;
//   - managed key, per live key named like the connection's (classifyKey):
//     an orphan of this installation is invalidated, another
//     installation's key is reported (contested when it is for this very
//     link), never touched;
//   - the ledger's key: created when there is none, replaced when it was
//     never delivered, deleted, invalidated or expired, rotated when the
//     keystore lost it (or the local cluster provably uses another) or it
//     nears expiry, updated in place when its access differs;
//   - a new key always goes with a keystore write, and a rotated-out key
//     waits for proof before it is invalidated (finishRotation).
func Key(in KeyInput) KeyDiff {
	c := in.Conn
	d := KeyDiff{}
	if c.Security != spec.SecurityAPIKey || c.APIKey == nil || c.Policy == spec.PolicyDisabled {
		return d
	}
	now := in.Now
	if v, err := world.ParseVersion(in.LocalVersion); err == nil && !v.AtLeast(8, 14, 0) {
		d.Findings = append(d.Findings, APIKeyVersionFinding(c.Local, in.LocalVersion))
		return d.fail(fmt.Errorf("api_key security needs Elasticsearch 8.14 or later on both clusters; %s runs %s: upgrade it or use certificate security", c.Local, in.LocalVersion))
	}
	w := &KeyWork{KeystoreKey: CredentialsKey(c.Alias), Changes: map[string]*Change{}}
	d.Work = w

	if !c.APIKey.Managed {
		// A hand-made key: esremote only delivers it to the keystore.
		if c.APIKey.Credentials == nil {
			return d.fail(fmt.Errorf("api_key.managed is false but api_key.credentials names no secret"))
		}
		if in.SecretErr != nil {
			return d.fail(drift.Terminal(fmt.Errorf("api_key.credentials: %w", in.SecretErr)))
		}
		sec := in.Secret
		w.Secret = sec
		if in.SelfManaged {
			if f, ok := selfManagedFinding(c, in.AliasLive && in.Alias.HasCredentials); ok {
				d.Findings = append(d.Findings, f)
			}
			return d
		}
		rec := in.Keystore
		missing := in.AliasLive && !in.Alias.HasCredentials
		if rec == nil || rec.Pending || rec.Fingerprint != sec.Fingerprint() || missing {
			action, origin, actual := drift.ActionCreate, drift.OriginSpec, ""
			if rec != nil {
				action, actual = drift.ActionUpdate, drift.Redacted(rec.Fingerprint)
				if missing && rec.Fingerprint == sec.Fingerprint() {
					origin = drift.OriginExternal
				}
			}
			w.Keystore = true
			w.Changes["keystore"] = d.add(&Change{Resource: drift.ResourceKeystore, Target: c.Local, Key: w.KeystoreKey,
				Action: action, Actual: actual, Desired: drift.Redacted(sec.Fingerprint()), Origin: origin})
		}
		return d
	}

	// A managed key, created on the remote.
	if in.SelfManaged {
		return d.fail(fmt.Errorf("api_key.managed needs a local cluster with a deployment block: esremote delivers the key through the Cloud API keystore; for a self-managed local create the key yourself and set managed: false with credentials"))
	}
	rs := in.Remote
	if rs == nil {
		return d.fail(fmt.Errorf("api_key.managed needs remote.cluster: esremote must log in to the remote to create the key"))
	}
	if rs.Err != nil {
		return d.fail(fmt.Errorf("remote %s: %w", rs.Name, rs.Err))
	}
	if !rs.Info.Version.AtLeast(8, 14, 0) {
		d.Findings = append(d.Findings, APIKeyVersionFinding(rs.Name, rs.Info.Version.String()))
		return d.fail(fmt.Errorf("api_key security needs Elasticsearch 8.14 or later on both clusters; %s runs %s", rs.Name, rs.Info.Version))
	}
	w.Remote = rs.Name
	w.Access = AccessOf(c.APIKey.Access)
	w.AccessHash = AccessHash(w.Access)
	name := KeyName(c)
	rec := in.Key

	// Keys with our name and metadata that the ledger does not know were
	// left by a crash between create and record: invalidate them. Only
	// keys carrying this installation's id can be ours: another setup
	// (own specs, own state dir) may manage a connection of the same
	// name toward the same remote, and its keys are reported, never
	// touched.
	keystoreRec := in.Keystore
	var sameLink []string // ids of another installation's keys for this very link
	for _, k := range rs.Keys {
		switch classifyKey(k, name, rec, in.Installation, c.Local, c.Alias) {
		case keyNotOurs, keyRecorded:
			continue
		case keySameLinkOtherInstallation:
			sameLink = append(sameLink, k.ID)
			// Another installation manages this very link (same local,
			// same alias): two writers with two ledgers, each rewriting
			// the keystore entry with its own key. Both see the other's
			// key, so both report it.
			d.Contested = true
			d.Findings = append(d.Findings, Finding{Severity: "error", Code: CodeContestedByOther,
				Message: fmt.Sprintf("key %s (%s) on %s was made for this same link (%s → %s) by another esremote installation (%s): two writers with their own ledgers manage it",
					name, k.ID, rs.Name, c.Local, c.Alias, orNone(fmt.Sprint(k.Metadata[MetaInstallation]))),
				Fix: "run one writer: share one state store (--state-store) between the admin hosts, or remove the connection from one of the setups; if that installation is this host's own and its ledger was lost (moved aside, the package purged), rebuild the ledger from what is live: esremote state recover " + SpecDirPlaceholder})
			continue
		case keyOtherInstallation:
			d.Findings = append(d.Findings, Finding{Severity: "info", Code: CodeForeignKey,
				Message: fmt.Sprintf("key %s (%s) on %s was made by another esremote installation (%s); it is left alone", name, k.ID, rs.Name, orNone(fmt.Sprint(k.Metadata[MetaInstallation]))),
				Fix:     "nothing to do if another setup manages a link of the same name; if the installation was this host's own and its ledger was lost, rebuild it: esremote state recover " + SpecDirPlaceholder + "; otherwise invalidate the key by hand"})
			continue
		}
		w.Orphans = append(w.Orphans, k)
		w.Changes["orphan:"+k.ID] = d.add(&Change{Resource: drift.ResourceAPIKey, Target: rs.Name, Key: name + " (" + k.ID + ")",
			Action: drift.ActionDelete, Actual: "orphan key not in the ledger", Origin: drift.OriginSpec})
	}
	if rec == nil && keystoreRec == nil && (len(sameLink) > 0 || (in.AliasLive && in.Alias.HasCredentials)) {
		// This ledger has no key for the link and never wrote the
		// keystore entry, yet the alias already has a credential (ES
		// reports it) or another installation made a key for this very
		// link: the entry is someone else's. Creating a key would mean
		// overwriting it, so nothing of the connection is written.
		return d.conflictKeystore(c, name, rs.Name, sameLink, false)
	}
	var live *world.APIKey
	if rec != nil {
		for i := range rs.Keys {
			if rs.Keys[i].ID == rec.ID {
				live = &rs.Keys[i]
			}
		}
		w.Previous = rec.Previous
	}
	// What the evidence says of the keystore, by the key it names (DESIGN
	// §5, evidence names keys); a key the evidence does not name is lost
	// only by the fallback (KeystoreLost).
	named := namedKey(in, rec)
	lost := KeystoreLost(in, rec, keystoreRec)
	keyChange := func(action drift.Action, origin drift.Origin, actual, desired string) {
		w.Changes["key"] = d.add(&Change{Resource: drift.ResourceAPIKey, Target: rs.Name, Key: name,
			Action: action, Actual: actual, Desired: desired, Origin: origin})
	}
	desired := w.Access.Summary()
	if c.APIKey.Expiration > 0 {
		desired += ", expires after " + world.FormatTimeValue(c.APIKey.Expiration.D())
	}
	switch {
	case rec == nil:
		w.Kind = KeyCreate
		keyChange(drift.ActionCreate, drift.OriginSpec, "", desired)
	case rec.Pending:
		// Created, but the crash came before the keystore held it: its
		// secret is lost. Replace it, and invalidate the lost one.
		w.Kind = KeyCreate
		keyChange(drift.ActionCreate, drift.OriginSpec, "key "+rec.ID+" was never delivered", desired)
		if live != nil && !live.Invalidated {
			// Shown like any other change: the report says what apply
			// invalidates.
			w.Orphans = append(w.Orphans, *live)
			w.Changes["orphan:"+live.ID] = d.add(&Change{Resource: drift.ResourceAPIKey, Target: rs.Name, Key: name + " (" + live.ID + ")",
				Action: drift.ActionDelete, Actual: "key never delivered", Origin: drift.OriginSpec})
		}
		live = nil
	case live == nil:
		w.Kind = KeyCreate
		keyChange(drift.ActionCreate, drift.OriginExternal, "key "+rec.ID+" deleted", desired)
	case live.Invalidated:
		w.Kind = KeyCreate
		keyChange(drift.ActionCreate, drift.OriginExternal, "key "+rec.ID+" invalidated", desired)
	case live.Expired(now):
		w.Kind = KeyCreate
		keyChange(drift.ActionCreate, drift.OriginExternal, "key "+rec.ID+" expired "+live.Expiration.UTC().Format(time.DateOnly), desired)
	case keystoreRec == nil || keystoreRec.Pending || keystoreRec.Fingerprint != rec.Fingerprint:
		// The keystore no longer holds this key's secret, and ES never
		// shows a secret twice: a new key is the only way back.
		w.Kind = KeyRotate
		keyChange(drift.ActionUpdate, drift.OriginExternal, "keystore entry lost", "new key: "+desired)
	case named == keyNamedForeign:
		// The remote refused a key this ledger does not hold for the
		// link: someone wrote the keystore (a key pasted by hand). That
		// is proof enough, whatever the time since esremote's own write:
		// repair now, and remember the key, which nodes that have not
		// loaded the repair yet still send.
		w.Kind, w.Displaced = KeyRotate, in.RefusedKey
		keyChange(drift.ActionUpdate, drift.OriginExternal, "the local cluster sends key "+in.RefusedKey+", which esremote did not make for this link: "+in.Refusal, "new key: "+desired)
	case in.AliasLive && !in.Alias.HasCredentials && lost:
		w.Kind = KeyRotate
		keyChange(drift.ActionUpdate, drift.OriginExternal, "keystore entry lost", "new key: "+desired)
	case in.Health == drift.HealthUnauthorized && named == keyNamedNone && rec.Previous == nil && lost && live.Access != nil &&
		CanonicalAccess(*live.Access) == CanonicalAccess(WithCanary(w.Access, rec.ID)):
		// The key is live and valid, but a request for its canary is
		// refused with a refusal that names no key, long enough after
		// the keystore write (KeystoreLost): the fallback takes the
		// keystore for lost. Its secret is not known any more, so the
		// way back is a new key, proven before the old one is
		// invalidated. A refusal naming the current key is about access
		// (below, and CanaryPrivileges), never a new key.
		w.Kind = KeyRotate
		keyChange(drift.ActionUpdate, drift.OriginExternal, "the local cluster does not use key "+rec.ID+": "+in.Refusal, "new key: "+desired)
	case !live.Expiration.IsZero() && live.Expiration.Sub(now) <= c.APIKey.RotateBefore.D():
		w.Kind = KeyRotate
		keyChange(drift.ActionUpdate, drift.OriginSpec, "key "+rec.ID+" expires "+live.Expiration.UTC().Format(time.DateOnly), "new key: "+desired)
	case live.Access == nil || CanonicalAccess(*live.Access) != CanonicalAccess(WithCanary(w.Access, rec.ID)):
		w.Kind = KeyUpdate
		actual := ""
		if live.Access != nil {
			actual = live.Access.Summary()
		}
		origin := drift.OriginSpec
		if rec.AccessHash == w.AccessHash {
			origin = drift.OriginExternal
		}
		keyChange(drift.ActionUpdate, origin, actual, w.Access.Summary())
	}
	if len(sameLink) > 0 && (w.Kind == KeyCreate || w.Kind == KeyRotate) {
		// Another installation holds a key for this very link: it may
		// have written the keystore entry after this one did (the
		// canary refused, the entry "lost", this key gone are what its
		// write looks like from here). A new key means overwriting an
		// entry this installation cannot prove it wrote, so the
		// contested round writes nothing, on either side.
		d.Changes = nil
		return d.conflictKeystore(c, name, rs.Name, sameLink, true)
	}
	if CanaryAmbiguous(w.Access) {
		d.Findings = append(d.Findings, Finding{Severity: "warning", Code: CodeCanaryAmbiguous,
			Message: fmt.Sprintf("the access of key %s covers esremote's canary names (%s*): no request can prove which key the local cluster uses, so a rotation keeps the old key %s after the keystore write, and a wrong key in the keystore goes unnoticed while it has the same reach",
				name, CanaryPrefix, world.FormatTimeValue(max(in.Grace, in.Overlap))),
			Fix: "name the indices the key needs (e.g. logs-*) instead of a pattern such as * that also Matches " + CanaryPrefix + "*"})
	}
	if live != nil && w.Kind != KeyCreate {
		w.Live = live
		d.Expiration = live.Expiration
		if !live.Expiration.IsZero() {
			if left := live.Expiration.Sub(now); left <= 2*c.APIKey.RotateBefore.D() && w.Kind != KeyRotate {
				d.Findings = append(d.Findings, Finding{Severity: "warning", Code: CodeKeyExpiresSoon,
					Message: fmt.Sprintf("cross-cluster API key %s expires on %s; esremote rotates it %s before", name, live.Expiration.UTC().Format(time.RFC3339), world.FormatTimeValue(c.APIKey.RotateBefore.D()))})
			}
		}
	}
	if w.Kind == KeyCreate || w.Kind == KeyRotate {
		w.Keystore = true
		action := drift.ActionCreate
		if keystoreRec != nil {
			action = drift.ActionUpdate
		}
		w.Changes["keystore"] = d.add(&Change{Resource: drift.ResourceKeystore, Target: c.Local, Key: w.KeystoreKey,
			Action: action, Desired: drift.RedactedPrefix + " (the new key)", Origin: drift.OriginSpec})
	}
	if rec != nil && !rec.Pending && w.Kind == KeyNone && keystoreRec != nil && rec.ProvenAt.IsZero() && named == keyNamedNone && in.Health != drift.HealthConnected {
		if since := now.Sub(keystoreRec.WrittenAt); since >= in.Grace && rec.Previous == nil {
			d.Findings = append(d.Findings, Finding{Severity: "warning", Code: CodeKeystoreNotLoaded,
				Message: fmt.Sprintf("key %s was written to the keystore of %s %s ago and no request has shown it in use yet; the platform loads keystore changes on its own schedule and a new write would start its wait again, so esremote waits (it takes the entry for lost only %s after the write)",
					rec.ID, c.Local, since.Round(time.Second), world.FormatTimeValue(in.StuckAfter)),
				Fix: "check that the platform applied the keystore change of " + c.Local + " (its deployment's activity and its nodes' secure settings)"})
		}
	}
	if w.Previous != nil && (w.Kind == KeyNone || w.Kind == KeyUpdate) {
		d.rotationFinish(in, w, rec, keystoreRec, named, rs.Name, name)
	}
	return d
}

// Which key the evidence names (DESIGN §5, evidence names keys).
type keyNamed int

const (
	keyNamedNone    keyNamed = iota // no key: not refused, or a refusal naming none (the grace decides)
	keyNamedProven                  // the canary of the ledger's key was authorized: proven in use
	keyNamedCurrent                 // refused under the ledger's key: its access (or the local credential's), never a new key
	keyNamedOld                     // refused under the key the current one replaced: not loaded yet, wait
	keyNamedForeign                 // refused under a key this ledger does not hold for the link: someone wrote the keystore
)

// namedKey classifies the evidence by the key it names. The old key is
// the rotated-out one (Previous) or the key esremote's last write
// displaced (Displaced): a node that has not loaded the new value sends
// it.
func namedKey(in KeyInput, rec *ledger.KeyRecord) keyNamed {
	switch {
	case rec == nil || rec.Pending:
		return keyNamedNone
	case in.Proven != "" && in.Proven == rec.ID:
		return keyNamedProven
	case in.Health != drift.HealthUnauthorized || in.RefusedKey == "":
		return keyNamedNone
	case in.RefusedKey == rec.ID:
		return keyNamedCurrent
	case rec.Previous != nil && in.RefusedKey == rec.Previous.ID, rec.Displaced != "" && in.RefusedKey == rec.Displaced:
		return keyNamedOld
	}
	return keyNamedForeign
}

// KeystoreLost is the fallback for evidence that names no key (a node
// showing no credential, a refusal without a key id): the keystore entry
// counts as lost once the key was proven in use since its write and the
// grace has passed since that write (a node that has not loaded it yet
// shows nothing within it), or, never proven since the write, once
// RotationStuckAfter has passed: a platform that has not loaded a write
// is waited for, since writing again restarts its wait (issue 23: a
// 7-minute load and a 5-minute grace made a key a pass and never came up).
func KeystoreLost(in KeyInput, rec *ledger.KeyRecord, ks *ledger.Record) bool {
	if rec == nil || ks == nil {
		return false
	}
	since := in.Now.Sub(ks.WrittenAt)
	if !rec.ProvenAt.IsZero() {
		return since >= in.Grace
	}
	return since >= max(in.Grace, in.StuckAfter)
}

// rotationFinish decides whether the rotated-out key is invalidated in
// this pass (DESIGN §5, proof is per node): once the new key was proven
// in use, proven again now, and the window (RotationOverlap) has passed
// since the first proof, so that every node has had the window to load
// it. A key whose access covers the canary names cannot be proven: its
// rotation waits for a working link the window (at least the grace)
// after the keystore write. Until then the change is not planned, and an
// info finding says when the old key goes.
func (d *KeyDiff) rotationFinish(in KeyInput, w *KeyWork, rec *ledger.KeyRecord, ks *ledger.Record, named keyNamed, remote, name string) {
	now, prev := in.Now, w.Previous
	var due time.Time
	var why string
	switch {
	case CanaryAmbiguous(w.Access):
		if ks != nil {
			due = ks.WrittenAt.Add(max(in.Grace, in.Overlap))
		}
		why = "the key's access covers esremote's canary names, so no request can prove which key is in use: the old key goes once the link works " +
			world.FormatTimeValue(max(in.Grace, in.Overlap)) + " after the keystore write"
		if ks != nil && !now.Before(due) && in.Health == drift.HealthConnected {
			due = time.Time{}
			why = ""
		}
	case rec.ProvenAt.IsZero():
		why = "the new key " + rec.ID + " is not proven in use yet"
	case named != keyNamedProven:
		due = rec.ProvenAt.Add(in.Overlap)
		why = "the new key " + rec.ID + " was proven in use at " + rec.ProvenAt.UTC().Format(time.RFC3339) + " but not by this pass's evidence"
	case now.Before(rec.ProvenAt.Add(in.Overlap)):
		due = rec.ProvenAt.Add(in.Overlap)
		why = "the new key " + rec.ID + " is proven in use since " + rec.ProvenAt.UTC().Format(time.RFC3339) + "; a request proves it only on the node that coordinated it, so the old key stays valid for " +
			world.FormatTimeValue(in.Overlap) + " of proof, until every node has loaded the new one"
	}
	if why == "" {
		w.Finish = true
		w.Changes["previous"] = d.add(&Change{Resource: drift.ResourceAPIKey, Target: remote, Key: name + " (" + prev.ID + ")",
			Action: drift.ActionDelete, Actual: "rotated out", Origin: drift.OriginSpec})
		return
	}
	msg := "rotation of " + name + ": the old key " + prev.ID + " stays valid: " + why
	if !due.IsZero() {
		msg += "; it is invalidated at " + due.UTC().Format(time.RFC3339) + " at the earliest"
	}
	d.Findings = append(d.Findings, Finding{Severity: drift.SeverityInfo, Code: CodeRotationWindow, Message: msg})
}

// selfManagedFinding tells the operator how to install a hand-made key on
// a self-managed local cluster, which esremote cannot write over REST
// (none when ES shows the alias's credentials).
func selfManagedFinding(c *spec.Connection, present bool) (Finding, bool) {
	if present {
		return Finding{}, false
	}
	return Finding{Severity: "error", Code: CodeActionRequired,
		Message: fmt.Sprintf("the keystore of self-managed cluster %s has no cluster.remote.%s.credentials (Elasticsearch reports no cluster_credentials for the alias); esremote cannot write a self-managed keystore over REST", c.Local, c.Alias),
		Fix:     fmt.Sprintf("on every node run: bin/elasticsearch-keystore add cluster.remote.%s.credentials (paste the encoded cross-cluster API key), then POST /_nodes/reload_secure_settings (esremote apply calls it for you)", c.Alias)}, true
}

// Classes of a live key named like a connection's managed key.
type keyClass int

const (
	keyNotOurs                   keyClass = iota // another name, invalidated, or not managed by esremote
	keyRecorded                                  // the ledger's key (or the one it rotates out)
	keyOrphan                                    // this installation's, unknown to the ledger: invalidated
	keySameLinkOtherInstallation                 // another installation's, for this very link: contested
	keyOtherInstallation                         // another installation's: reported, never touched
)

// classifyKey decides whose a live key is (ownership rule: only keys of
// this installation can be orphans). It is pure.
func classifyKey(k world.APIKey, name string, rec *ledger.KeyRecord, installation, local, alias string) keyClass {
	switch {
	case k.Name != name || k.Invalidated || k.Metadata["managed_by"] != ManagedBy:
		return keyNotOurs
	case rec != nil && (k.ID == rec.ID || (rec.Previous != nil && k.ID == rec.Previous.ID)):
		return keyRecorded
	case k.Metadata[MetaInstallation] == installation:
		return keyOrphan
	case k.Metadata["local"] == local && k.Metadata["alias"] == alias:
		return keySameLinkOtherInstallation
	}
	return keyOtherInstallation
}

// orNone shows an empty value as "(unset)".
func orNone(s string) string {
	if s == "" {
		return "(unset)"
	}
	return s
}
