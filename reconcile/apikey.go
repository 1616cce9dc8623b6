package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/spec"
)

// Finding codes the engine emits (alerts and scripts match on them).
const (
	CodeKeyExpiresSoon     = "key_expires_soon"
	CodeActionRequired     = "action_required"
	CodeVersionTooOld      = "version_too_old"
	CodeRoleNotCovered     = "role_not_covered_by_key"
	CodeCertificateModel   = "certificate_model_deprecated"
	CodeInsecureSkipVerify = "insecure_skip_verify"
	CodeReloadFailed       = "reload_failed"
	CodeDisconnected       = "link_disconnected"
	CodeRotationStuck      = drift.CodeRotationStuck
	CodeCanaryAmbiguous    = "canary_ambiguous"
)

// ManagedBy is the metadata value marking API keys and roles esremote owns.
const ManagedBy = "esremote"

// MetaInstallation is the metadata field of API keys and roles that holds
// the installation id of the ledger that created them.
const MetaInstallation = "installation"

// keyPrefix names every cross-cluster API key esremote creates:
// "esremote-<connection>".
const keyPrefix = "esremote-"

// Key kinds of work, decided by diffKey.
const (
	keyNone   = ""
	keyCreate = "create" // no usable key: create one (first time, deleted, invalidated, secret lost)
	keyUpdate = "update" // access changed: update in place
	keyRotate = "rotate" // near expiry: create a new key, swap, verify, invalidate the old one
)

// keyWork is what a connection needs done about its credentials.
type keyWork struct {
	kind string
	// remote names the remote cluster (its state is in the pass's
	// Snapshot: the plan holds no client).
	remote     string
	access     es.CrossClusterAccess
	accessHash string
	live       *es.APIKey // the current key, when there is one
	orphans    []es.APIKey
	// keystore says the keystore entry must be (re)written: with the new
	// key's secret (managed) or with the credential (hand-made key).
	keystore    bool
	secret      spec.Secret // hand-made key
	keystoreKey string      // cluster.remote.<alias>.credentials
	// previous is an old key whose invalidation waits for a verified link.
	previous *KeyRecord
	changes  map[string]*Change // by role in the flow: "key", "keystore", "orphan:<id>", "previous"
}

// remoteState is one remote cluster as a pass sees it: its client,
// version and the keys esremote made there, read once per pass.
type remoteState struct {
	name   string
	once   sync.Once
	client *es.Client
	info   es.Info
	keys   []es.APIKey
	err    error
}

// remote returns the pass's view of a remote cluster, reading it once.
func (ps *passState) remote(ctx context.Context, cl *spec.Cluster) *remoteState {
	rs := ps.snap.remote(cl.Name)
	rs.once.Do(func() {
		rs.client, rs.err = ps.r.ESClient(ps.set, cl)
		if rs.err != nil {
			return
		}
		// GET / and the key list at once: one round trip. The keys are
		// only used once GET / proved which cluster answered.
		var (
			wg      sync.WaitGroup
			keys    []es.APIKey
			keysErr error
		)
		wg.Go(func() { keys, keysErr = rs.client.APIKeys(ctx, es.KeyQuery{Name: keyPrefix + "*"}) })
		rs.info, rs.err = ps.snap.info(ctx, cl.Name, rs.client)
		wg.Wait()
		if rs.err != nil {
			return
		}
		if rec := ps.r.ledger.ClusterUUID(cl.Name); rec != "" && rs.info.ClusterUUID != "" && rec != rs.info.ClusterUUID {
			rs.err = fmt.Errorf("%s: cluster %s now answers with cluster_uuid %s, but esremote's records are about cluster_uuid %s: no key is created or invalidated there",
				CodeIdentityChanged, cl.Name, rs.info.ClusterUUID, rec)
			return
		}
		rs.keys, rs.err = keys, keysErr
	})
	return rs
}

// prefetchRemotes starts the reads of the remotes the managed keys of a
// local cluster's connections live on, as soon as that cluster is
// observed, under the conditions keyRemote names (a managed key, a
// deployment-backed local on 8.14 or later, a declared remote, an endpoint
// and settings that could be prepared): the remote's reads then travel
// while the other local clusters are observed, instead of after them on
// every link's path. Each remote is still read once (remoteState).
func (ps *passState) prefetchRemotes(ctx context.Context, local *spec.Cluster, conns []*spec.Connection, obs *Observed) {
	if local.Deployment == nil {
		return
	}
	if v, err := es.ParseVersion(obs.Version); err == nil && !v.AtLeast(8, 14, 0) {
		return
	}
	for _, c := range conns {
		if c.Security != spec.SecurityAPIKey || c.APIKey == nil || !c.APIKey.Managed || c.Policy == spec.PolicyDisabled {
			continue
		}
		rcl := ps.set.Cluster(c.Remote.Cluster)
		if rcl == nil {
			continue
		}
		ep := ps.endpoints[c.Remote.Cluster]
		if ep.err != nil && c.Remote.ProxyAddress == "" {
			continue
		}
		if _, err := Desire(c, ep.Endpoint); err != nil {
			continue
		}
		ps.reads.Go(func() { ps.remote(ctx, rcl) })
	}
}

// accessOf converts a spec's access block into Elasticsearch's.
func accessOf(a spec.Access) es.CrossClusterAccess {
	var out es.CrossClusterAccess
	for _, s := range a.Search {
		out.Search = append(out.Search, es.SearchAccess{Names: slices.Clone(s.Names), Query: esQuery(s.Query),
			FieldSecurity: esFieldSecurity(s.FieldSecurity), AllowRestrictedIndices: trueOrNil(s.AllowRestrictedIndices)})
	}
	for _, r := range a.Replication {
		out.Replication = append(out.Replication, es.ReplicationAccess{Names: slices.Clone(r.Names),
			AllowRestrictedIndices: trueOrNil(r.AllowRestrictedIndices)})
	}
	return out
}

// The spec-to-ES conversions that keys and roles share.

func esQuery(q string) json.RawMessage {
	if q == "" {
		return nil
	}
	return json.RawMessage(q)
}

func esFieldSecurity(fs *spec.FieldSecurity) *es.FieldSecurity {
	if fs == nil {
		return nil
	}
	return &es.FieldSecurity{Grant: fs.Grant, Except: fs.Except}
}

// trueOrNil leaves allow_restricted_indices out unless it is true (ES's
// default is false, and GET always returns it).
func trueOrNil(b bool) *bool {
	if !b {
		return nil
	}
	return &b
}

// canonicalQuery renders a DLS query the same whether ES returns it as a
// JSON string holding the object (GET) or the object itself (the spec).
func canonicalQuery(q json.RawMessage) string {
	if len(q) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(q, &s) != nil {
		s = string(q)
	}
	var v any
	if json.Unmarshal([]byte(s), &v) == nil {
		b, _ := json.Marshal(v)
		return string(b)
	}
	return s
}

// canonicalAccess renders access the same way whatever ES added to it
// (allow_restricted_indices: false on every entry, names order, the DLS
// query as a string or an object), so that live and desired compare.
func canonicalAccess(a es.CrossClusterAccess) string {
	type entry struct {
		Names      []string `json:"n"`
		Query      string   `json:"q,omitempty"`
		Grant      []string `json:"g,omitempty"`
		Except     []string `json:"e,omitempty"`
		Restricted bool     `json:"r,omitempty"`
	}
	conv := func(names []string, q json.RawMessage, fs *es.FieldSecurity, r *bool) entry {
		e := entry{Names: slices.Sorted(slices.Values(names)), Restricted: r != nil && *r, Query: canonicalQuery(q)}
		if fs != nil {
			e.Grant, e.Except = slices.Sorted(slices.Values(fs.Grant)), slices.Sorted(slices.Values(fs.Except))
		}
		return e
	}
	var c struct {
		S []entry `json:"s,omitempty"`
		R []entry `json:"r,omitempty"`
	}
	for _, s := range a.Search {
		c.S = append(c.S, conv(s.Names, s.Query, s.FieldSecurity, s.AllowRestrictedIndices))
	}
	for _, r := range a.Replication {
		c.R = append(c.R, conv(r.Names, nil, nil, r.AllowRestrictedIndices))
	}
	b, _ := json.Marshal(c)
	return string(b)
}

func accessHash(a es.CrossClusterAccess) string {
	sum := sha256.Sum256([]byte(canonicalAccess(a)))
	return hex.EncodeToString(sum[:8])
}

func keyName(c *spec.Connection) string { return keyPrefix + c.Name }

// CredentialsKey is the keystore setting holding an alias's cross-cluster
// API key: cluster.remote.<alias>.credentials.
func CredentialsKey(alias string) string { return es.RemoteKey(alias, "credentials") }

// keyRemote is the remote cluster whose keys a connection's key decision
// needs read, or nil when the decision reads none (not a managed key, a
// local too old for api_key security, a self-managed local, no
// remote.cluster: diffKey then decides without it).
func keyRemote(set *spec.Set, p *ConnectionPlan, local *spec.Cluster, obs *Observed) *spec.Cluster {
	c := p.Conn
	if c.Security != spec.SecurityAPIKey || c.APIKey == nil || p.Err != nil || c.Policy == spec.PolicyDisabled ||
		!c.APIKey.Managed || local.Deployment == nil {
		return nil
	}
	if v, err := es.ParseVersion(obs.Version); err == nil && !v.AtLeast(8, 14, 0) {
		return nil
	}
	return set.Cluster(c.Remote.Cluster)
}

// observeKeyRemotes reads, once per pass, each remote cluster a managed
// key of these connections lives on (GET / and its esremote-* keys), so
// that planKey decides from the Snapshot alone.
func (ps *passState) observeKeyRemotes(ctx context.Context, cps []*ConnectionPlan, local *spec.Cluster, obs *Observed) {
	for _, p := range cps {
		if rcl := keyRemote(ps.set, p, local, obs); rcl != nil {
			ps.remote(ctx, rcl)
		}
	}
}

// planKey gathers what diffKey decides from (the connection, the
// Snapshot's part: the alias in _remote/info, the evidence, the remote's
// keys; the ledger's part: the key and keystore records, the installation
// id) and adds the decision to p. It reads nothing live: the remote was
// read by observeKeyRemotes.
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
		refusal:      p.refusal,
		keystore:     ps.r.ledger.Keystore(c.Local, CredentialsKey(c.Alias)),
		key:          ps.r.ledger.Key(c.Name),
		installation: ps.r.ledger.Installation(),
		now:          ps.r.opts.Now(),
		grace:        ps.r.opts.KeystoreLoadGrace,
	}
	in.alias, in.aliasLive = obs.Remote[c.Alias]
	if !c.APIKey.Managed && c.APIKey.Credentials != nil {
		in.secret, in.secretErr = c.APIKey.Credentials.Resolve(ps.r.opts.Getenv)
	}
	if rcl := keyRemote(ps.set, p, local, obs); rcl != nil {
		in.remote = &remoteKeys{name: rcl.Name, err: fmt.Errorf("not observed in this pass")}
		if rs := ps.snap.readRemote(rcl.Name); rs != nil {
			in.remote = &remoteKeys{name: rs.name, info: rs.info, keys: rs.keys, err: rs.err}
		}
	}
	d := diffKey(in)
	p.Changes = append(p.Changes, d.changes...)
	p.Findings = append(p.Findings, d.findings...)
	if d.contested {
		p.Contested = true
	}
	p.keyConflict = d.conflict
	if !d.expiration.IsZero() {
		p.KeyExpiration = d.expiration
	}
	if d.err != nil {
		p.Err = d.err
		return
	}
	p.key = d.work
}

// remoteKeys is the Snapshot's part of a key decision: the remote
// cluster as observed (GET /, its esremote-* keys, or why not).
type remoteKeys struct {
	name string
	info es.Info
	keys []es.APIKey
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
}

// keyDiff is diffKey's decision: the work for apply, and the changes and
// findings it shows (changes are in work.changes too, by role).
type keyDiff struct {
	work       *keyWork
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
func (d *keyDiff) conflictKeystore(c *spec.Connection, name, remote string, sameLink []string) keyDiff {
	whose := "a credential esremote did not write (Elasticsearch reports credentials for the alias)"
	if len(sameLink) > 0 {
		whose = "the key of another esremote installation (" + strings.Join(sameLink, ", ") + ")"
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
		Message: fmt.Sprintf("the keystore entry %s on %s holds %s, and this installation's ledger has no record of it; a new key would overwrite it, so nothing of this connection is written",
			CredentialsKey(c.Alias), c.Local, whose),
		Fix: fmt.Sprintf("run one writer: remove the connection from one installation's spec (or share one state store with --state-store), or adopt the alias with: esremote import %s --cluster %s --alias %s", specDirPlaceholder, c.Local, c.Alias)})
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
	if v, err := es.ParseVersion(in.localVersion); err == nil && !v.AtLeast(8, 14, 0) {
		return d.fail(fmt.Errorf("api_key security needs Elasticsearch 8.14 or later on both clusters; %s runs %s: upgrade it or use certificate security", c.Local, in.localVersion))
	}
	w := &keyWork{keystoreKey: CredentialsKey(c.Alias), changes: map[string]*Change{}}
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
		w.secret = sec
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
			w.keystore = true
			w.changes["keystore"] = d.add(&Change{Resource: ResourceKeystore, Target: c.Local, Key: w.keystoreKey,
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
		return d.fail(fmt.Errorf("api_key security needs Elasticsearch 8.14 or later on both clusters; %s runs %s", rs.name, rs.info.Version))
	}
	w.remote = rs.name
	w.access = accessOf(c.APIKey.Access)
	w.accessHash = accessHash(w.access)
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
				Fix: "run one writer: share one state store (--state-store) between the admin hosts, or remove the connection from one of the setups"})
			continue
		case keyOtherInstallation:
			d.findings = append(d.findings, Finding{Severity: "info", Code: CodeForeignKey,
				Message: fmt.Sprintf("key %s (%s) on %s was made by another esremote installation (%s); it is left alone", name, k.ID, rs.name, orNone(fmt.Sprint(k.Metadata[MetaInstallation]))),
				Fix:     "nothing to do if another setup manages a link of the same name; otherwise invalidate the key by hand"})
			continue
		}
		w.orphans = append(w.orphans, k)
		w.changes["orphan:"+k.ID] = d.add(&Change{Resource: ResourceAPIKey, Target: rs.name, Key: name + " (" + k.ID + ")",
			Action: ActionDelete, Actual: "orphan key not in the ledger", Origin: OriginSpec})
	}
	if rec == nil && keystoreRec == nil && (len(sameLink) > 0 || (in.aliasLive && in.alias.HasCredentials)) {
		// This ledger has no key for the link and never wrote the
		// keystore entry, yet the alias already has a credential (ES
		// reports it) or another installation made a key for this very
		// link: the entry is someone else's. Creating a key would mean
		// overwriting it, so nothing of the connection is written.
		return d.conflictKeystore(c, name, rs.name, sameLink)
	}
	var live *es.APIKey
	if rec != nil {
		for i := range rs.keys {
			if rs.keys[i].ID == rec.ID {
				live = &rs.keys[i]
			}
		}
		w.previous = rec.Previous
	}
	// loading: esremote wrote the keystore so recently that the platform
	// may not have loaded it yet (ECH/ECE reload on their own schedule):
	// a credential the nodes do not show yet is not lost.
	loading := keystoreRec != nil && now.Sub(keystoreRec.WrittenAt) < in.grace
	keyChange := func(action drift.Action, origin drift.Origin, actual, desired string) {
		w.changes["key"] = d.add(&Change{Resource: ResourceAPIKey, Target: rs.name, Key: name,
			Action: action, Actual: actual, Desired: desired, Origin: origin})
	}
	desired := w.access.Summary()
	if c.APIKey.Expiration > 0 {
		desired += ", expires after " + es.FormatTimeValue(c.APIKey.Expiration.D())
	}
	switch {
	case rec == nil:
		w.kind = keyCreate
		keyChange(ActionCreate, OriginSpec, "", desired)
	case rec.Pending:
		// Created, but the crash came before the keystore held it: its
		// secret is lost. Replace it, and invalidate the lost one.
		w.kind = keyCreate
		keyChange(ActionCreate, OriginSpec, "key "+rec.ID+" was never delivered", desired)
		if live != nil && !live.Invalidated {
			w.orphans = append(w.orphans, *live)
		}
		live = nil
	case live == nil:
		w.kind = keyCreate
		keyChange(ActionCreate, OriginExternal, "key "+rec.ID+" deleted", desired)
	case live.Invalidated:
		w.kind = keyCreate
		keyChange(ActionCreate, OriginExternal, "key "+rec.ID+" invalidated", desired)
	case live.Expired(now):
		w.kind = keyCreate
		keyChange(ActionCreate, OriginExternal, "key "+rec.ID+" expired "+live.Expiration.UTC().Format(time.DateOnly), desired)
	case keystoreRec == nil || keystoreRec.Pending || keystoreRec.Fingerprint != rec.Fingerprint || (in.aliasLive && !in.alias.HasCredentials && !loading):
		// The keystore no longer holds this key's secret, and ES never
		// shows a secret twice: a new key is the only way back.
		w.kind = keyRotate
		keyChange(ActionUpdate, OriginExternal, "keystore entry lost", "new key: "+desired)
	case in.health == HealthUnauthorized && rec.Previous == nil && !loading && live.Access != nil &&
		canonicalAccess(*live.Access) == canonicalAccess(withCanary(w.access, rec.ID)):
		// The key is live and valid, but a request for its canary is
		// refused: the keystore holds another key (or none the remote
		// accepts), and _remote/info cannot tell. Its secret is not known
		// any more, so the way back is a new key, proven before the old
		// one is invalidated.
		w.kind = keyRotate
		keyChange(ActionUpdate, OriginExternal, "the local cluster does not use key "+rec.ID+": "+in.refusal, "new key: "+desired)
	case !live.Expiration.IsZero() && live.Expiration.Sub(now) <= c.APIKey.RotateBefore.D():
		w.kind = keyRotate
		keyChange(ActionUpdate, OriginSpec, "key "+rec.ID+" expires "+live.Expiration.UTC().Format(time.DateOnly), "new key: "+desired)
	case live.Access == nil || canonicalAccess(*live.Access) != canonicalAccess(withCanary(w.access, rec.ID)):
		w.kind = keyUpdate
		actual := ""
		if live.Access != nil {
			actual = live.Access.Summary()
		}
		origin := OriginSpec
		if rec.AccessHash == w.accessHash {
			origin = OriginExternal
		}
		keyChange(ActionUpdate, origin, actual, w.access.Summary())
	}
	if canaryAmbiguous(w.access) {
		d.findings = append(d.findings, Finding{Severity: "warning", Code: CodeCanaryAmbiguous,
			Message: fmt.Sprintf("the access of key %s covers esremote's canary names (%s*): no request can prove which key the local cluster uses, so a rotation keeps the old key %s after the keystore write, and a wrong key in the keystore goes unnoticed while it has the same reach",
				name, canaryPrefix, in.grace),
			Fix: "name the indices the key needs (e.g. logs-*) instead of a pattern such as * that also matches " + canaryPrefix + "*"})
	}
	if live != nil && w.kind != keyCreate {
		w.live = live
		d.expiration = live.Expiration
		if !live.Expiration.IsZero() {
			if left := live.Expiration.Sub(now); left <= 2*c.APIKey.RotateBefore.D() && w.kind != keyRotate {
				d.findings = append(d.findings, Finding{Severity: "warning", Code: CodeKeyExpiresSoon,
					Message: fmt.Sprintf("cross-cluster API key %s expires on %s; esremote rotates it %s before", name, live.Expiration.UTC().Format(time.RFC3339), es.FormatTimeValue(c.APIKey.RotateBefore.D()))})
			}
		}
	}
	if w.kind == keyCreate || w.kind == keyRotate {
		w.keystore = true
		action := ActionCreate
		if keystoreRec != nil {
			action = ActionUpdate
		}
		w.changes["keystore"] = d.add(&Change{Resource: ResourceKeystore, Target: c.Local, Key: w.keystoreKey,
			Action: action, Desired: drift.RedactedPrefix + " (the new key)", Origin: OriginSpec})
	}
	if w.previous != nil {
		w.changes["previous"] = d.add(&Change{Resource: ResourceAPIKey, Target: rs.name, Key: name + " (" + w.previous.ID + ")",
			Action: ActionDelete, Actual: "rotated out", Origin: OriginSpec})
	}
	return d
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

// applyKey runs the credential flow of one connection, before the cluster
// settings are written: key on the remote, then the local keystore.
func (ps *passState) applyKey(ctx context.Context, p *ConnectionPlan, local *spec.Cluster) error {
	w := p.key
	if w == nil || !p.writes() {
		return nil
	}
	c := p.Conn
	led := ps.r.ledger
	now := ps.r.opts.Now()
	fail := func(ch *Change, err error) error {
		if ch != nil {
			ch.Err = err
		}
		return err
	}
	if !c.APIKey.Managed {
		if !w.keystore {
			return nil
		}
		cc, err := ps.r.CloudClient(ps.set, local)
		if err != nil {
			return fail(w.changes["keystore"], err)
		}
		prevKS := led.Keystore(c.Local, w.keystoreKey)
		if err := led.SetKeystore(c.Local, w.keystoreKey, &Record{Fingerprint: w.secret.Fingerprint(), Connection: c.Name, Pending: true, WrittenAt: now}); err != nil {
			return fail(w.changes["keystore"], fmt.Errorf("not written: %w", err))
		}
		if err := cc.SetKeystore(ctx, local.Deployment.ID, local.Deployment.RefID, map[string]string{w.keystoreKey: w.secret.Reveal()}, nil); err != nil {
			_ = led.SetKeystore(c.Local, w.keystoreKey, prevKS)
			return fail(w.changes["keystore"], fmt.Errorf("write keystore of %s: %w", c.Local, err))
		}
		w.changes["keystore"].Applied = true
		return led.SetKeystore(c.Local, w.keystoreKey, &Record{Fingerprint: w.secret.Fingerprint(), Connection: c.Name, WrittenAt: now})
	}
	rs := ps.snap.remote(w.remote)
	rc := rs.client
	name := keyName(c)
	meta := map[string]any{"managed_by": ManagedBy, MetaInstallation: led.Installation(), "connection": c.Name, "local": c.Local, "alias": c.Alias, "access_hash": w.accessHash}
	for _, k := range w.orphans {
		ch := w.changes["orphan:"+k.ID]
		if _, err := rc.InvalidateAPIKeys(ctx, k.ID); err != nil {
			fail(ch, fmt.Errorf("invalidate orphan key %s on %s: %w", k.ID, w.remote, err))
			continue
		}
		if ch != nil {
			ch.Applied = true
		}
	}
	switch w.kind {
	case keyUpdate:
		ch := w.changes["key"]
		access := withCanary(w.access, w.live.ID)
		if _, err := rc.UpdateCrossClusterAPIKey(ctx, w.live.ID, es.CrossClusterKeyUpdate{Access: &access, Metadata: meta}); err != nil {
			return fail(ch, fmt.Errorf("update key %s on %s: %w", name, w.remote, err))
		}
		ch.Applied = true
		rec := led.Key(c.Name)
		rec.AccessHash = w.accessHash
		return led.SetKey(c.Name, rec)
	case keyCreate, keyRotate:
		ch := w.changes["key"]
		// Ledger first: the key's ID only exists once it is created, so
		// the intent and the remote's identity are saved before the
		// request; a key created but never recorded is then an orphan of
		// this installation, invalidated by the next pass.
		if err := led.SetClusterUUID(w.remote, rs.info.ClusterUUID); err != nil {
			return fail(ch, fmt.Errorf("not created: %w", err))
		}
		if err := led.SetKeyIntent(c.Name, now); err != nil {
			return fail(ch, fmt.Errorf("not created: %w", err))
		}
		req := es.CrossClusterKeyRequest{Name: name, Access: w.access, Metadata: meta}
		if c.APIKey.Expiration > 0 {
			req.Expiration = es.FormatTimeValue(c.APIKey.Expiration.D())
		}
		created, err := rc.CreateCrossClusterAPIKey(ctx, req)
		if err != nil {
			return fail(ch, fmt.Errorf("create key %s on %s: %w", name, w.remote, err))
		}
		// The key now travels to the keystore: an echo of that request
		// must not put it in a report.
		spec.Remember(created.Encoded.Reveal())
		// Its canary (evidence.go) can only name it once its id is known:
		// an update by the owner adds it. Should that fail, the key works
		// all the same; the next pass sees the canary missing and adds it.
		canary := withCanary(w.access, created.ID)
		if _, err := rc.UpdateCrossClusterAPIKey(ctx, created.ID, es.CrossClusterKeyUpdate{Access: &canary, Metadata: meta}); err != nil {
			ps.r.opts.Logger.Warn("add the canary to the new key", "key", created.ID, "err", err)
		}
		old := led.Key(c.Name)
		rec := &KeyRecord{Local: c.Local, Alias: c.Alias, Remote: w.remote, ID: created.ID, Name: name, Fingerprint: Fingerprint(created.Encoded.Reveal()),
			AccessHash: w.accessHash, Expiration: created.Expiration, Pending: true, CreatedAt: now, Delivered: old.DeliveredKeyID()}
		if w.kind == keyRotate && old != nil {
			// The old key keeps the link up until the new one is verified.
			prev := *old
			prev.Previous, prev.Pending = nil, false
			rec.Previous = &prev
		} else if old != nil && old.Previous != nil {
			rec.Previous = old.Previous
		}
		if err := led.SetKey(c.Name, rec); err != nil {
			return fail(ch, err)
		}
		ch.Applied = true
		ch.Desired = "key " + created.ID + " (" + ch.Desired + ")"
		kch := w.changes["keystore"]
		cc, err := ps.r.CloudClient(ps.set, local)
		if err != nil {
			return fail(kch, err)
		}
		prevKS := led.Keystore(c.Local, w.keystoreKey)
		if err := led.SetKeystore(c.Local, w.keystoreKey, &Record{Fingerprint: rec.Fingerprint, Connection: c.Name, Pending: true, WrittenAt: now}); err != nil {
			return fail(kch, fmt.Errorf("not written: %w", err))
		}
		if err := cc.SetKeystore(ctx, local.Deployment.ID, local.Deployment.RefID, map[string]string{w.keystoreKey: created.Encoded.Reveal()}, nil); err != nil {
			// The keystore still holds what it held: give its record back.
			_ = led.SetKeystore(c.Local, w.keystoreKey, prevKS)
			return fail(kch, fmt.Errorf("write keystore of %s: %w", c.Local, err))
		}
		kch.Applied = true
		kch.Desired = drift.Redacted(rec.Fingerprint)
		if err := led.SetKeystore(c.Local, w.keystoreKey, &Record{Fingerprint: rec.Fingerprint, Connection: c.Name, WrittenAt: now}); err != nil {
			return err
		}
		rec.Pending, rec.Delivered = false, ""
		p.KeyExpiration = created.Expiration
		w.previous = rec.Previous
		if w.previous != nil && w.changes["previous"] == nil {
			w.changes["previous"] = p.add(&Change{Resource: ResourceAPIKey, Target: w.remote, Key: name + " (" + w.previous.ID + ")",
				Action: ActionDelete, Actual: "rotated out", Origin: OriginSpec})
		}
		return led.SetKey(c.Name, rec)
	}
	return nil
}

// finishRotation invalidates the rotated-out key once a request through
// the link was authorized under the new key (its canary, evidence.go):
// there is never a moment when the key the local cluster uses is invalid.
func (ps *passState) finishRotation(ctx context.Context, p *ConnectionPlan) {
	w := p.key
	if w == nil || w.previous == nil || !p.writes() || w.remote == "" {
		return
	}
	ch := w.changes["previous"]
	if canaryAmbiguous(w.access) {
		// The key's own access grants every canary, the old key's too: a
		// request cannot tell which key is in use. The old key goes only
		// once the link works and the platform has had the whole grace
		// period to load the new one.
		ks := ps.r.ledger.Keystore(p.Conn.Local, CredentialsKey(p.Conn.Alias))
		if p.Health != HealthConnected || ks == nil || ps.r.opts.Now().Sub(ks.WrittenAt) < ps.r.opts.KeystoreLoadGrace {
			if ch != nil {
				ch.Err = fmt.Errorf("kept until %s after the keystore write: the key's access covers esremote's canary names, so no request can prove which key is in use", ps.r.opts.KeystoreLoadGrace)
			}
			return
		}
	} else if rec := ps.r.ledger.Key(p.Conn.Name); rec == nil || p.proven != rec.ID {
		// No proof that the local cluster uses the new key: a keystore
		// change loads on the platform's schedule, and the connection
		// stays up on the old key meanwhile (a value change does not
		// rebuild it). Invalidating the old key now could cut the link.
		if ch != nil {
			ch.Err = fmt.Errorf("kept until a request proves the local cluster uses the new key")
		}
		return
	}
	if _, err := ps.snap.remote(w.remote).client.InvalidateAPIKeys(ctx, w.previous.ID); err != nil && !es.IsNotFound(err) {
		if ch != nil {
			ch.Err = fmt.Errorf("invalidate rotated-out key %s: %w", w.previous.ID, err)
		}
		return
	}
	if ch != nil {
		ch.Applied = true
	}
	if rec := ps.r.ledger.Key(p.Conn.Name); rec != nil {
		rec.Previous = nil
		_ = ps.r.ledger.SetKey(p.Conn.Name, rec)
	}
}

// reloadSelfManaged asks a self-managed cluster to reload its keystore
// when an api_key alias has no credentials yet: the operator may have
// added them with elasticsearch-keystore since the last pass. It returns
// the connections the reload was for, so apply verifies them.
func (ps *passState) reloadSelfManaged(ctx context.Context, client *es.Client, local *spec.Cluster, cp *ClusterPlan) []*ConnectionPlan {
	if local.Deployment != nil {
		return nil
	}
	var waiting []*ConnectionPlan
	for _, p := range cp.Connections {
		for _, f := range p.Findings {
			if f.Code == CodeActionRequired && p.writes() {
				waiting = append(waiting, p)
				break
			}
		}
	}
	if len(waiting) == 0 {
		return nil
	}
	failures, err := client.ReloadSecureSettings(ctx)
	msg := ""
	switch {
	case err != nil:
		msg = err.Error()
	case len(failures) > 0:
		var names []string
		for _, f := range failures {
			names = append(names, f.String())
		}
		msg = "nodes failed to reload secure settings: " + strings.Join(names, "; ")
	}
	if msg == "" {
		return waiting
	}
	for _, p := range waiting {
		p.Findings = append(p.Findings, Finding{Severity: "error", Code: CodeReloadFailed, Message: msg,
			Fix: "fix the keystore on the named nodes (same value on every node), then run apply again"})
	}
	return nil
}

// settleActionRequired drops the action_required finding of connections
// whose credentials Elasticsearch now reports (after a reload).
func settleActionRequired(ctx context.Context, client *es.Client, waiting []*ConnectionPlan) {
	if len(waiting) == 0 {
		return
	}
	info, err := client.RemoteInfo(ctx)
	if err != nil {
		return
	}
	for _, p := range waiting {
		if !info[p.Conn.Alias].HasCredentials() {
			continue
		}
		p.Findings = slices.DeleteFunc(p.Findings, func(f Finding) bool { return f.Code == CodeActionRequired })
	}
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
func classifyKey(k es.APIKey, name string, rec *KeyRecord, installation, local, alias string) keyClass {
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
