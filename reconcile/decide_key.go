package reconcile

// The decide stage for an api_key connection's credentials (key and
// keystore): diffKey, a pure function of the Snapshot and the ledger.

import (
	"fmt"
	"strings"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// planKey gathers what diffKey decides from (the connection, the
// Snapshot's part: the alias in _remote/info, the evidence, the remote's
// keys; the ledger's part: the key and keystore records, the installation
// id) and adds the decision to p. It reads nothing live: the remote was
// read by the observe stage (prefetchRemotes).
func (ps *passState) planKey(p *ConnectionPlan, local *spec.Cluster, obs *Observed) {
	c := p.Conn
	if c.Security != spec.SecurityAPIKey || c.APIKey == nil || p.Err != nil || c.Policy == spec.PolicyDisabled {
		return
	}
	in := keyInput{
		conn:         c,
		selfManaged:  local.Deployment == nil,
		localVersion: obs.Version,
		health:       p.Health,
		refusal:      p.Refusal,
		refusedKey:   p.RefusedKey,
		proven:       p.Proven,
		keystore:     ps.ledger.Keystore(c.Local, CredentialsKey(c.Alias)),
		key:          ps.ledger.Key(c.Name),
		installation: ps.ledger.Installation(),
		now:          ps.r.opts.Now(),
		grace:        ps.r.opts.KeystoreLoadGrace,
		stuckAfter:   ps.r.opts.RotationStuckAfter,
		overlap:      ps.r.opts.RotationOverlap,
	}
	in.alias, in.aliasLive = obs.Remote[c.Alias]
	if !c.APIKey.Managed && c.APIKey.Credentials != nil {
		in.secret, in.secretErr = c.APIKey.Credentials.Resolve(ps.r.opts.Getenv)
	}
	if rcl := keyRemote(ps.set, p, local, obs); rcl != nil {
		in.remote = &remoteKeys{name: rcl.Name, err: fmt.Errorf("not observed in this pass")}
		if rs := ps.snap.readRemote(rcl.Name); rs != nil {
			in.remote = &remoteKeys{name: rs.Name, info: rs.Info, keys: rs.Keys, err: rs.Err}
		}
	}
	d := diffKey(in)
	p.Changes = append(p.Changes, d.changes...)
	p.Findings = append(p.Findings, d.findings...)
	if d.contested {
		p.Contested = true
	}
	p.KeyConflict = d.conflict
	if !d.expiration.IsZero() {
		p.KeyExpiration = d.expiration
	}
	if d.err != nil {
		p.Err = d.err
		return
	}
	p.Key = d.work
}

// remoteKeys is the Snapshot's part of a key decision: the remote
// cluster as observed (GET /, its esremote-* keys, or why not).
type remoteKeys struct {
	name string
	info world.Info
	keys []world.APIKey
	err  error
}

// keyInput is everything diffKey decides from.
type keyInput struct {
	conn *spec.Connection
	// The Snapshot's part.
	selfManaged  bool         // the local cluster has no deployment: its keystore is not writable over REST
	localVersion string       // the local's GET / version.number
	alias        RemoteStatus // the alias in the local's _remote/info: the keystore as far as ES shows it
	aliasLive    bool
	health       drift.Health // the link's evidence (evidence.go)
	refusal      string
	refusedKey   string      // the API key id the refusal names (refusalKeyID)
	proven       string      // the managed key the evidence proved in use
	remote       *remoteKeys // nil when the decision needs no remote (keyRemote)
	// The hand-made key's credential, resolved (or why not).
	secret    spec.Secret
	secretErr error
	// The ledger's part.
	key          *KeyRecord
	keystore     *Record // cluster.remote.<alias>.credentials as esremote last wrote it
	installation string
	now          time.Time
	grace        time.Duration // KeystoreLoadGrace
	stuckAfter   time.Duration // RotationStuckAfter
	overlap      time.Duration // RotationOverlap
}

// keyDiff is diffKey's decision: the work for apply, and the changes and
// findings it shows (changes are in work.changes too, by role).
type keyDiff struct {
	work       *decide.KeyWork
	changes    []*Change
	findings   []Finding
	err        error // the connection cannot have its key (changes and work are then empty)
	contested  bool
	conflict   bool      // the keystore entry is someone else's: nothing of the connection is written
	expiration time.Time // the live key's expiry, when it is kept
}

func (d *keyDiff) add(ch *Change) *Change {
	d.changes = append(d.changes, ch)
	return ch
}

// conflictKeystore is diffKey's decision when the alias's keystore entry
// belongs to someone else (another installation, or a credential put
// there by hand): the key and keystore changes are shown as conflicts,
// never written, and the connection's settings are held too (Diff).
//
// recorded is set when this installation's ledger does record a key and
// keystore write for the link, but another installation holds a key for
// it too: the ledger proves what this one wrote, not what the entry holds
// since, so the entry is not this one's to overwrite.
func (d *keyDiff) conflictKeystore(c *spec.Connection, name, remote string, sameLink []string, recorded bool) keyDiff {
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
	d.contested = false
	d.conflict = true
	d.work = nil
	d.changes = append(d.changes,
		&Change{Resource: ResourceAPIKey, Target: remote, Key: name, Action: ActionCreate, Origin: OriginSpec, Err: errConflict},
		&Change{Resource: ResourceKeystore, Target: c.Local, Key: CredentialsKey(c.Alias), Action: ActionUpdate,
			Actual: drift.RedactedPrefix + " (not written by esremote)", Origin: OriginSpec, Err: errConflict})
	d.findings = append(d.findings, Finding{Severity: "error", Code: CodeConflict,
		Message: msg,
		Fix:     fmt.Sprintf("run one writer: remove the connection from one installation's spec (or share one state store with --state-store), or adopt the alias with: esremote import %s --cluster %s --alias %s; if this host's ledger was lost (moved aside, the package purged), rebuild it from what is live: esremote state recover %s", specDirPlaceholder, c.Local, c.Alias, specDirPlaceholder)})
	return *d
}

func (d *keyDiff) fail(err error) keyDiff {
	d.err, d.work, d.changes = err, nil, nil
	return *d
}

// diffKey decides the credential work of an api_key connection. It is
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
func diffKey(in keyInput) keyDiff {
	c := in.conn
	d := keyDiff{}
	if c.Security != spec.SecurityAPIKey || c.APIKey == nil || c.Policy == spec.PolicyDisabled {
		return d
	}
	now := in.now
	if v, err := world.ParseVersion(in.localVersion); err == nil && !v.AtLeast(8, 14, 0) {
		d.findings = append(d.findings, decide.APIKeyVersionFinding(c.Local, in.localVersion))
		return d.fail(fmt.Errorf("api_key security needs Elasticsearch 8.14 or later on both clusters; %s runs %s: upgrade it or use certificate security", c.Local, in.localVersion))
	}
	w := &decide.KeyWork{KeystoreKey: CredentialsKey(c.Alias), Changes: map[string]*Change{}}
	d.work = w

	if !c.APIKey.Managed {
		// A hand-made key: esremote only delivers it to the keystore.
		if c.APIKey.Credentials == nil {
			return d.fail(fmt.Errorf("api_key.managed is false but api_key.credentials names no secret"))
		}
		if in.secretErr != nil {
			return d.fail(drift.Terminal(fmt.Errorf("api_key.credentials: %w", in.secretErr)))
		}
		sec := in.secret
		w.Secret = sec
		if in.selfManaged {
			if f, ok := selfManagedFinding(c, in.aliasLive && in.alias.HasCredentials); ok {
				d.findings = append(d.findings, f)
			}
			return d
		}
		rec := in.keystore
		missing := in.aliasLive && !in.alias.HasCredentials
		if rec == nil || rec.Pending || rec.Fingerprint != sec.Fingerprint() || missing {
			action, origin, actual := ActionCreate, OriginSpec, ""
			if rec != nil {
				action, actual = ActionUpdate, drift.Redacted(rec.Fingerprint)
				if missing && rec.Fingerprint == sec.Fingerprint() {
					origin = OriginExternal
				}
			}
			w.Keystore = true
			w.Changes["keystore"] = d.add(&Change{Resource: ResourceKeystore, Target: c.Local, Key: w.KeystoreKey,
				Action: action, Actual: actual, Desired: drift.Redacted(sec.Fingerprint()), Origin: origin})
		}
		return d
	}

	// A managed key, created on the remote.
	if in.selfManaged {
		return d.fail(fmt.Errorf("api_key.managed needs a local cluster with a deployment block: esremote delivers the key through the Cloud API keystore; for a self-managed local create the key yourself and set managed: false with credentials"))
	}
	rs := in.remote
	if rs == nil {
		return d.fail(fmt.Errorf("api_key.managed needs remote.cluster: esremote must log in to the remote to create the key"))
	}
	if rs.err != nil {
		return d.fail(fmt.Errorf("remote %s: %w", rs.name, rs.err))
	}
	if !rs.info.Version.AtLeast(8, 14, 0) {
		d.findings = append(d.findings, decide.APIKeyVersionFinding(rs.name, rs.info.Version.String()))
		return d.fail(fmt.Errorf("api_key security needs Elasticsearch 8.14 or later on both clusters; %s runs %s", rs.name, rs.info.Version))
	}
	w.Remote = rs.name
	w.Access = accessOf(c.APIKey.Access)
	w.AccessHash = accessHash(w.Access)
	name := keyName(c)
	rec := in.key

	// Keys with our name and metadata that the ledger does not know were
	// left by a crash between create and record: invalidate them. Only
	// keys carrying this installation's id can be ours: another setup
	// (own specs, own state dir) may manage a connection of the same
	// name toward the same remote, and its keys are reported, never
	// touched.
	keystoreRec := in.keystore
	var sameLink []string // ids of another installation's keys for this very link
	for _, k := range rs.keys {
		switch classifyKey(k, name, rec, in.installation, c.Local, c.Alias) {
		case keyNotOurs, keyRecorded:
			continue
		case keySameLinkOtherInstallation:
			sameLink = append(sameLink, k.ID)
			// Another installation manages this very link (same local,
			// same alias): two writers with two ledgers, each rewriting
			// the keystore entry with its own key. Both see the other's
			// key, so both report it.
			d.contested = true
			d.findings = append(d.findings, Finding{Severity: "error", Code: CodeContestedByOther,
				Message: fmt.Sprintf("key %s (%s) on %s was made for this same link (%s → %s) by another esremote installation (%s): two writers with their own ledgers manage it",
					name, k.ID, rs.name, c.Local, c.Alias, orNone(fmt.Sprint(k.Metadata[MetaInstallation]))),
				Fix: "run one writer: share one state store (--state-store) between the admin hosts, or remove the connection from one of the setups; if that installation is this host's own and its ledger was lost (moved aside, the package purged), rebuild the ledger from what is live: esremote state recover " + specDirPlaceholder})
			continue
		case keyOtherInstallation:
			d.findings = append(d.findings, Finding{Severity: "info", Code: CodeForeignKey,
				Message: fmt.Sprintf("key %s (%s) on %s was made by another esremote installation (%s); it is left alone", name, k.ID, rs.name, orNone(fmt.Sprint(k.Metadata[MetaInstallation]))),
				Fix:     "nothing to do if another setup manages a link of the same name; if the installation was this host's own and its ledger was lost, rebuild it: esremote state recover " + specDirPlaceholder + "; otherwise invalidate the key by hand"})
			continue
		}
		w.Orphans = append(w.Orphans, k)
		w.Changes["orphan:"+k.ID] = d.add(&Change{Resource: ResourceAPIKey, Target: rs.name, Key: name + " (" + k.ID + ")",
			Action: ActionDelete, Actual: "orphan key not in the ledger", Origin: OriginSpec})
	}
	if rec == nil && keystoreRec == nil && (len(sameLink) > 0 || (in.aliasLive && in.alias.HasCredentials)) {
		// This ledger has no key for the link and never wrote the
		// keystore entry, yet the alias already has a credential (ES
		// reports it) or another installation made a key for this very
		// link: the entry is someone else's. Creating a key would mean
		// overwriting it, so nothing of the connection is written.
		return d.conflictKeystore(c, name, rs.name, sameLink, false)
	}
	var live *world.APIKey
	if rec != nil {
		for i := range rs.keys {
			if rs.keys[i].ID == rec.ID {
				live = &rs.keys[i]
			}
		}
		w.Previous = rec.Previous
	}
	// What the evidence says of the keystore, by the key it names (DESIGN
	// §5, evidence names keys); a key the evidence does not name is lost
	// only by the fallback (keystoreLost).
	named := namedKey(in, rec)
	lost := keystoreLost(in, rec, keystoreRec)
	keyChange := func(action drift.Action, origin drift.Origin, actual, desired string) {
		w.Changes["key"] = d.add(&Change{Resource: ResourceAPIKey, Target: rs.name, Key: name,
			Action: action, Actual: actual, Desired: desired, Origin: origin})
	}
	desired := w.Access.Summary()
	if c.APIKey.Expiration > 0 {
		desired += ", expires after " + world.FormatTimeValue(c.APIKey.Expiration.D())
	}
	switch {
	case rec == nil:
		w.Kind = keyCreate
		keyChange(ActionCreate, OriginSpec, "", desired)
	case rec.Pending:
		// Created, but the crash came before the keystore held it: its
		// secret is lost. Replace it, and invalidate the lost one.
		w.Kind = keyCreate
		keyChange(ActionCreate, OriginSpec, "key "+rec.ID+" was never delivered", desired)
		if live != nil && !live.Invalidated {
			// Shown like any other change: the report says what apply
			// invalidates.
			w.Orphans = append(w.Orphans, *live)
			w.Changes["orphan:"+live.ID] = d.add(&Change{Resource: ResourceAPIKey, Target: rs.name, Key: name + " (" + live.ID + ")",
				Action: ActionDelete, Actual: "key never delivered", Origin: OriginSpec})
		}
		live = nil
	case live == nil:
		w.Kind = keyCreate
		keyChange(ActionCreate, OriginExternal, "key "+rec.ID+" deleted", desired)
	case live.Invalidated:
		w.Kind = keyCreate
		keyChange(ActionCreate, OriginExternal, "key "+rec.ID+" invalidated", desired)
	case live.Expired(now):
		w.Kind = keyCreate
		keyChange(ActionCreate, OriginExternal, "key "+rec.ID+" expired "+live.Expiration.UTC().Format(time.DateOnly), desired)
	case keystoreRec == nil || keystoreRec.Pending || keystoreRec.Fingerprint != rec.Fingerprint:
		// The keystore no longer holds this key's secret, and ES never
		// shows a secret twice: a new key is the only way back.
		w.Kind = keyRotate
		keyChange(ActionUpdate, OriginExternal, "keystore entry lost", "new key: "+desired)
	case named == keyNamedForeign:
		// The remote refused a key this ledger does not hold for the
		// link: someone wrote the keystore (a key pasted by hand). That
		// is proof enough, whatever the time since esremote's own write:
		// repair now, and remember the key, which nodes that have not
		// loaded the repair yet still send.
		w.Kind, w.Displaced = keyRotate, in.refusedKey
		keyChange(ActionUpdate, OriginExternal, "the local cluster sends key "+in.refusedKey+", which esremote did not make for this link: "+in.refusal, "new key: "+desired)
	case in.aliasLive && !in.alias.HasCredentials && lost:
		w.Kind = keyRotate
		keyChange(ActionUpdate, OriginExternal, "keystore entry lost", "new key: "+desired)
	case in.health == HealthUnauthorized && named == keyNamedNone && rec.Previous == nil && lost && live.Access != nil &&
		canonicalAccess(*live.Access) == canonicalAccess(withCanary(w.Access, rec.ID)):
		// The key is live and valid, but a request for its canary is
		// refused with a refusal that names no key, long enough after
		// the keystore write (keystoreLost): the fallback takes the
		// keystore for lost. Its secret is not known any more, so the
		// way back is a new key, proven before the old one is
		// invalidated. A refusal naming the current key is about access
		// (below, and decide.CanaryPrivileges), never a new key.
		w.Kind = keyRotate
		keyChange(ActionUpdate, OriginExternal, "the local cluster does not use key "+rec.ID+": "+in.refusal, "new key: "+desired)
	case !live.Expiration.IsZero() && live.Expiration.Sub(now) <= c.APIKey.RotateBefore.D():
		w.Kind = keyRotate
		keyChange(ActionUpdate, OriginSpec, "key "+rec.ID+" expires "+live.Expiration.UTC().Format(time.DateOnly), "new key: "+desired)
	case live.Access == nil || canonicalAccess(*live.Access) != canonicalAccess(withCanary(w.Access, rec.ID)):
		w.Kind = keyUpdate
		actual := ""
		if live.Access != nil {
			actual = live.Access.Summary()
		}
		origin := OriginSpec
		if rec.AccessHash == w.AccessHash {
			origin = OriginExternal
		}
		keyChange(ActionUpdate, origin, actual, w.Access.Summary())
	}
	if len(sameLink) > 0 && (w.Kind == keyCreate || w.Kind == keyRotate) {
		// Another installation holds a key for this very link: it may
		// have written the keystore entry after this one did (the
		// canary refused, the entry "lost", this key gone are what its
		// write looks like from here). A new key means overwriting an
		// entry this installation cannot prove it wrote, so the
		// contested round writes nothing, on either side.
		d.changes = nil
		return d.conflictKeystore(c, name, rs.name, sameLink, true)
	}
	if canaryAmbiguous(w.Access) {
		d.findings = append(d.findings, Finding{Severity: "warning", Code: CodeCanaryAmbiguous,
			Message: fmt.Sprintf("the access of key %s covers esremote's canary names (%s*): no request can prove which key the local cluster uses, so a rotation keeps the old key %s after the keystore write, and a wrong key in the keystore goes unnoticed while it has the same reach",
				name, canaryPrefix, world.FormatTimeValue(max(in.grace, in.overlap))),
			Fix: "name the indices the key needs (e.g. logs-*) instead of a pattern such as * that also matches " + canaryPrefix + "*"})
	}
	if live != nil && w.Kind != keyCreate {
		w.Live = live
		d.expiration = live.Expiration
		if !live.Expiration.IsZero() {
			if left := live.Expiration.Sub(now); left <= 2*c.APIKey.RotateBefore.D() && w.Kind != keyRotate {
				d.findings = append(d.findings, Finding{Severity: "warning", Code: CodeKeyExpiresSoon,
					Message: fmt.Sprintf("cross-cluster API key %s expires on %s; esremote rotates it %s before", name, live.Expiration.UTC().Format(time.RFC3339), world.FormatTimeValue(c.APIKey.RotateBefore.D()))})
			}
		}
	}
	if w.Kind == keyCreate || w.Kind == keyRotate {
		w.Keystore = true
		action := ActionCreate
		if keystoreRec != nil {
			action = ActionUpdate
		}
		w.Changes["keystore"] = d.add(&Change{Resource: ResourceKeystore, Target: c.Local, Key: w.KeystoreKey,
			Action: action, Desired: drift.RedactedPrefix + " (the new key)", Origin: OriginSpec})
	}
	if rec != nil && !rec.Pending && w.Kind == keyNone && keystoreRec != nil && rec.ProvenAt.IsZero() && named == keyNamedNone && in.health != HealthConnected {
		if since := now.Sub(keystoreRec.WrittenAt); since >= in.grace && rec.Previous == nil {
			d.findings = append(d.findings, Finding{Severity: "warning", Code: CodeKeystoreNotLoaded,
				Message: fmt.Sprintf("key %s was written to the keystore of %s %s ago and no request has shown it in use yet; the platform loads keystore changes on its own schedule and a new write would start its wait again, so esremote waits (it takes the entry for lost only %s after the write)",
					rec.ID, c.Local, since.Round(time.Second), world.FormatTimeValue(in.stuckAfter)),
				Fix: "check that the platform applied the keystore change of " + c.Local + " (its deployment's activity and its nodes' secure settings)"})
		}
	}
	if w.Previous != nil && (w.Kind == keyNone || w.Kind == keyUpdate) {
		d.rotationFinish(in, w, rec, keystoreRec, named, rs.name, name)
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
func namedKey(in keyInput, rec *KeyRecord) keyNamed {
	switch {
	case rec == nil || rec.Pending:
		return keyNamedNone
	case in.proven != "" && in.proven == rec.ID:
		return keyNamedProven
	case in.health != HealthUnauthorized || in.refusedKey == "":
		return keyNamedNone
	case in.refusedKey == rec.ID:
		return keyNamedCurrent
	case rec.Previous != nil && in.refusedKey == rec.Previous.ID, rec.Displaced != "" && in.refusedKey == rec.Displaced:
		return keyNamedOld
	}
	return keyNamedForeign
}

// keystoreLost is the fallback for evidence that names no key (a node
// showing no credential, a refusal without a key id): the keystore entry
// counts as lost once the key was proven in use since its write and the
// grace has passed since that write (a node that has not loaded it yet
// shows nothing within it), or, never proven since the write, once
// RotationStuckAfter has passed: a platform that has not loaded a write
// is waited for, since writing again restarts its wait (issue 23: a
// 7-minute load and a 5-minute grace made a key a pass and never came up).
func keystoreLost(in keyInput, rec *KeyRecord, ks *Record) bool {
	if rec == nil || ks == nil {
		return false
	}
	since := in.now.Sub(ks.WrittenAt)
	if !rec.ProvenAt.IsZero() {
		return since >= in.grace
	}
	return since >= max(in.grace, in.stuckAfter)
}

// rotationFinish decides whether the rotated-out key is invalidated in
// this pass (DESIGN §5, proof is per node): once the new key was proven
// in use, proven again now, and the window (RotationOverlap) has passed
// since the first proof, so that every node has had the window to load
// it. A key whose access covers the canary names cannot be proven: its
// rotation waits for a working link the window (at least the grace)
// after the keystore write. Until then the change is not planned, and an
// info finding says when the old key goes.
func (d *keyDiff) rotationFinish(in keyInput, w *decide.KeyWork, rec *KeyRecord, ks *Record, named keyNamed, remote, name string) {
	now, prev := in.now, w.Previous
	var due time.Time
	var why string
	switch {
	case canaryAmbiguous(w.Access):
		if ks != nil {
			due = ks.WrittenAt.Add(max(in.grace, in.overlap))
		}
		why = "the key's access covers esremote's canary names, so no request can prove which key is in use: the old key goes once the link works " +
			world.FormatTimeValue(max(in.grace, in.overlap)) + " after the keystore write"
		if ks != nil && !now.Before(due) && in.health == HealthConnected {
			due = time.Time{}
			why = ""
		}
	case rec.ProvenAt.IsZero():
		why = "the new key " + rec.ID + " is not proven in use yet"
	case named != keyNamedProven:
		due = rec.ProvenAt.Add(in.overlap)
		why = "the new key " + rec.ID + " was proven in use at " + rec.ProvenAt.UTC().Format(time.RFC3339) + " but not by this pass's evidence"
	case now.Before(rec.ProvenAt.Add(in.overlap)):
		due = rec.ProvenAt.Add(in.overlap)
		why = "the new key " + rec.ID + " is proven in use since " + rec.ProvenAt.UTC().Format(time.RFC3339) + "; a request proves it only on the node that coordinated it, so the old key stays valid for " +
			world.FormatTimeValue(in.overlap) + " of proof, until every node has loaded the new one"
	}
	if why == "" {
		w.Finish = true
		w.Changes["previous"] = d.add(&Change{Resource: ResourceAPIKey, Target: remote, Key: name + " (" + prev.ID + ")",
			Action: ActionDelete, Actual: "rotated out", Origin: OriginSpec})
		return
	}
	msg := "rotation of " + name + ": the old key " + prev.ID + " stays valid: " + why
	if !due.IsZero() {
		msg += "; it is invalidated at " + due.UTC().Format(time.RFC3339) + " at the earliest"
	}
	d.findings = append(d.findings, Finding{Severity: drift.SeverityInfo, Code: CodeRotationWindow, Message: msg})
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
func classifyKey(k world.APIKey, name string, rec *KeyRecord, installation, local, alias string) keyClass {
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
