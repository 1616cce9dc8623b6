// Package recovery rebuilds a lost ownership ledger from what is live
// (`esremote state recover`, DESIGN §2 and §9 "losing the ledger is
// survivable").
//
// A state dir without its ledger (moved aside, purged with the package, a
// file holding null) gets a new installation id, and from then on the
// engine sees its own keys as another installation's and refuses to
// write. Recovery reads the clusters of a spec set (Read: keys, roles,
// alias settings, keystore entry names, cluster UUIDs; it writes nothing
// anywhere) and decides, purely (Match), which live objects it can prove
// are esremote's: keys and roles carry the installation id and the
// connection in their metadata, an alias is the connection's when its
// live settings are exactly what the spec writes. Whatever it cannot
// prove is listed with why and left out of the ledger: the engine then
// treats it as unmanaged or a conflict, the safe side.
//
// It uses only the engine's exported API and the adapters.
package recovery

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/spec"
)

// Kinds of the objects recovery reports.
const (
	KindInstallation = "installation"
	KindKey          = "key"
	KindAlias        = "alias"
	KindRole         = "role"
	KindKeystore     = "keystore"
	KindCluster      = "cluster_uuid"
)

// Live is what Read found on the clusters of a spec set: Match's input.
type Live struct {
	// UUIDs: cluster → cluster_uuid (GET /).
	UUIDs map[string]string
	// Keys: remote cluster → its API keys named esremote-* (not
	// invalidated ones).
	Keys map[string][]es.APIKey
	// Roles: local cluster → its roles.
	Roles map[string]map[string]es.Role
	// Persistent and Transient: local cluster → its flat
	// cluster.remote.* settings.
	Persistent, Transient map[string]map[string]string
	// Keystore: local cluster with a deployment → the names of its
	// keystore entries (Cloud API keystore GET; values are never read).
	Keystore map[string]map[string]bool
	// Desired: connection → what the spec writes under its alias (the
	// remote's endpoint resolved), as the engine computes it.
	Desired map[string]*reconcile.DesiredAlias
	// Credentials: connection with a hand-made key (managed: false) →
	// the fingerprint of the credential the spec names, when it resolves.
	Credentials map[string]string
	// Errors: what could not be read (a cluster, a connection's desired
	// settings) → why. Match proves nothing that depends on it.
	Errors map[string]string
}

// Item is one object recovery recovered, or could not prove.
type Item struct {
	Kind       string `json:"kind"`
	Target     string `json:"target,omitempty"` // the cluster it lives on
	Name       string `json:"name"`
	Connection string `json:"connection,omitempty"`
	// Why: what proves it (recovered) or why it is left out.
	Why string `json:"why"`
}

// Result is a rebuilt ledger and the account of it.
type Result struct {
	// Installation is the rebuilt ledger's installation id; Source says
	// where it comes from (the keys and roles, --installation, or new).
	Installation string `json:"installation"`
	Source       string `json:"installation_source"`
	// Ambiguous lists the installation ids live objects of the spec's
	// connections carry when there is more than one: recovery picks none
	// and writes no ledger (the operator chooses with --installation).
	Ambiguous    []string `json:"ambiguous_installations,omitempty"`
	Recovered    []Item   `json:"recovered"`
	NotRecovered []Item   `json:"not_recovered"`
	// Errors are reads that failed: no ledger is written then.
	Errors []string `json:"errors,omitempty"`

	ledger *reconcile.Ledger
}

// OK reports whether the ledger can be written: every read answered and
// the installation id is known.
func (r *Result) OK() bool { return len(r.Errors) == 0 && len(r.Ambiguous) == 0 && r.ledger != nil }

// Document is the rebuilt ledger as a store saves it (nil unless OK).
func (r *Result) Document() ([]byte, error) {
	if !r.OK() {
		return nil, nil
	}
	return r.ledger.Document()
}

// Ledger is the rebuilt ledger (in memory; nil unless OK).
func (r *Result) Ledger() *reconcile.Ledger {
	if !r.OK() {
		return nil
	}
	return r.ledger
}

func (r *Result) recovered(kind, target, name, conn, why string) {
	r.Recovered = append(r.Recovered, Item{Kind: kind, Target: target, Name: name, Connection: conn, Why: why})
}

func (r *Result) notRecovered(kind, target, name, conn, why string) {
	r.NotRecovered = append(r.NotRecovered, Item{Kind: kind, Target: target, Name: name, Connection: conn, Why: why})
}

// RecoveredKeystoreFingerprint is what the rebuilt ledger records as the
// fingerprint of a managed key and of the keystore entry holding it: the
// secret cannot be read back, so both get the same stand-in, derived from
// the key's id (never from a secret). The engine compares the two and
// finds them equal; whether the keystore really holds that key is proven
// by the link's evidence at the next pass (a refused canary makes the
// engine replace the key).
func RecoveredKeystoreFingerprint(keyID string) string {
	return reconcile.Fingerprint("esremote state recover: key " + keyID)
}

// meta reads a string metadata field ("" when absent or not a string).
func meta(m map[string]any, field string) string {
	s, _ := m[field].(string)
	return s
}

// Match rebuilds the ledger from live objects, purely: the same input
// gives the same ledger and the same account. installation, when not "",
// is the operator's choice (--installation) and overrides what the keys
// and roles say. now stamps the records.
func Match(set *spec.Set, live *Live, installation string, now time.Time) *Result {
	res := &Result{}
	for _, what := range slices.Sorted(maps.Keys(live.Errors)) {
		res.Errors = append(res.Errors, what+": "+live.Errors[what])
	}
	conns := map[string]*spec.Connection{}
	for _, c := range set.Connections {
		conns[c.Name] = c
	}

	// The installation id: the one the live objects of the spec's
	// connections carry, never a guess among several.
	votes := map[string][]string{} // id → what carries it
	for _, remote := range slices.Sorted(maps.Keys(live.Keys)) {
		for _, k := range live.Keys[remote] {
			c := conns[strings.TrimPrefix(k.Name, "esremote-")]
			// Only a key made for the spec's very link votes: another
			// setup may manage a connection of the same name elsewhere.
			if id := meta(k.Metadata, reconcile.MetaInstallation); id != "" && meta(k.Metadata, "managed_by") == reconcile.ManagedBy &&
				c != nil && k.Name == reconcile.ManagedKeyName(c) && meta(k.Metadata, reconcile.MetaLocal) == c.Local && meta(k.Metadata, reconcile.MetaAlias) == c.Alias {
				votes[id] = append(votes[id], "key "+k.ID+" on "+remote)
			}
		}
	}
	for _, local := range slices.Sorted(maps.Keys(live.Roles)) {
		for _, name := range slices.Sorted(maps.Keys(live.Roles[local])) {
			m := live.Roles[local][name].Metadata
			if id := meta(m, reconcile.MetaInstallation); id != "" && meta(m, "managed_by") == reconcile.ManagedBy && conns[meta(m, reconcile.MetaConnection)] != nil {
				votes[id] = append(votes[id], "role "+name+" on "+local)
			}
		}
	}
	switch ids := slices.Sorted(maps.Keys(votes)); {
	case installation != "":
		res.Installation, res.Source = installation, "given with --installation"
	case len(ids) == 1:
		res.Installation = ids[0]
		res.Source = fmt.Sprintf("kept: carried by %s", strings.Join(votes[ids[0]], ", "))
	case len(ids) > 1:
		res.Ambiguous = ids
		for _, id := range ids {
			res.notRecovered(KindInstallation, "", id, "", "carried by "+strings.Join(votes[id], ", ")+": several installations' objects, recovery picks none (choose one with --installation ID)")
		}
		res.Source = "ambiguous"
	default:
		res.Source = "new: no live key or role of the specs' connections carries one"
	}
	led, err := reconcile.NewLedger(res.Installation)
	if err != nil {
		res.Errors = append(res.Errors, err.Error())
		return res
	}
	if len(res.Ambiguous) > 0 {
		return res
	}
	res.Installation = led.Installation()
	res.ledger = led
	m := &matcher{set: set, live: live, res: res, led: led, conns: conns, now: now.UTC(), holds: map[string]bool{}}
	m.keys()
	m.aliases()
	m.roles()
	m.uuids()
	return res
}

type matcher struct {
	set   *spec.Set
	live  *Live
	res   *Result
	led   *reconcile.Ledger
	conns map[string]*spec.Connection
	now   time.Time
	// recoveredKey: connection → its key was recovered.
	recoveredKey map[string]bool
	// holds: clusters holding a recovered object (their UUID is recorded).
	holds map[string]bool
}

// set records into the in-memory ledger, which never fails to save.
func must(err error) {
	if err != nil {
		panic("recovery: in-memory ledger: " + err.Error())
	}
}

// keys recovers each managed key of the spec's connections, and lists the
// esremote keys it cannot place.
func (m *matcher) keys() {
	m.recoveredKey = map[string]bool{}
	placed := map[string]bool{} // remote/id
	inst := m.res.Installation
	for _, c := range m.set.Connections {
		if c.Security != spec.SecurityAPIKey || c.APIKey == nil || !c.APIKey.Managed || c.Remote.Cluster == "" {
			continue
		}
		remote := c.Remote.Cluster
		if _, read := m.live.Keys[remote]; !read {
			continue // its remote was not read: Errors says why
		}
		name := reconcile.ManagedKeyName(c)
		var cands []es.APIKey
		for _, k := range m.live.Keys[remote] {
			if k.Name != name || k.Invalidated || meta(k.Metadata, "managed_by") != reconcile.ManagedBy {
				continue
			}
			placed[remote+"/"+k.ID] = true
			id, lc, la := meta(k.Metadata, reconcile.MetaInstallation), meta(k.Metadata, reconcile.MetaLocal), meta(k.Metadata, reconcile.MetaAlias)
			switch conn := meta(k.Metadata, reconcile.MetaConnection); {
			case id != inst:
				m.res.notRecovered(KindKey, remote, k.ID, c.Name, fmt.Sprintf("made by another installation (%s): left to it", orNone(id)))
			case conn != "" && conn != c.Name:
				m.res.notRecovered(KindKey, remote, k.ID, c.Name, "its metadata names connection "+conn)
			case lc != c.Local || la != c.Alias:
				m.res.notRecovered(KindKey, remote, k.ID, c.Name, fmt.Sprintf("made for %s → %s, the spec says %s → %s: the keystore it went to is not this connection's", orNone(lc), orNone(la), c.Local, c.Alias))
			case k.Expired(m.now):
				m.res.notRecovered(KindKey, remote, k.ID, c.Name, "expired "+k.Expiration.UTC().Format(time.RFC3339)+": apply makes a new key")
			default:
				cands = append(cands, k)
			}
		}
		switch len(cands) {
		case 0:
			continue
		case 1:
		default:
			var ids []string
			for _, k := range cands {
				ids = append(ids, k.ID)
			}
			m.res.notRecovered(KindKey, remote, strings.Join(ids, ", "), c.Name,
				"several live keys of this installation for the connection (a rotation was under way): which one the keystore holds cannot be proven from metadata; invalidate the one not in use by hand and recover again")
			continue
		}
		k := cands[0]
		fp := RecoveredKeystoreFingerprint(k.ID)
		rec := &reconcile.KeyRecord{Local: c.Local, Alias: c.Alias, Remote: remote, ID: k.ID, Name: k.Name, Fingerprint: fp,
			AccessHash: meta(k.Metadata, reconcile.MetaAccessHash), Expiration: k.Expiration, CreatedAt: k.Creation.UTC()}
		local := m.set.Cluster(c.Local)
		if local == nil || local.Deployment == nil {
			m.res.notRecovered(KindKey, remote, k.ID, c.Name, "the local cluster has no deployment: esremote cannot have delivered a managed key to it")
			continue
		}
		ks, read := m.live.Keystore[c.Local]
		if !read {
			continue // the keystore was not read: Errors says why
		}
		must(m.led.SetKey(c.Name, rec))
		m.recoveredKey[c.Name] = true
		m.holds[remote] = true
		m.res.recovered(KindKey, remote, k.ID, c.Name, fmt.Sprintf("%s, metadata: installation %s, connection %s, %s → %s", k.Name, inst, c.Name, c.Local, c.Alias))
		entry := reconcile.CredentialsKey(c.Alias)
		if !ks[entry] {
			m.res.notRecovered(KindKeystore, c.Local, entry, c.Name, "the keystore has no such entry: apply delivers a new key")
			continue
		}
		must(m.led.SetKeystore(c.Local, entry, &reconcile.Record{Fingerprint: fp, Connection: c.Name, WrittenAt: m.now}))
		m.holds[c.Local] = true
		m.res.recovered(KindKeystore, c.Local, entry, c.Name, "the entry exists; that it holds key "+k.ID+" is proven by apply's link check (a refused canary replaces the key)")
	}
	for _, remote := range slices.Sorted(maps.Keys(m.live.Keys)) {
		for _, k := range m.live.Keys[remote] {
			if placed[remote+"/"+k.ID] || k.Invalidated {
				continue
			}
			switch {
			case meta(k.Metadata, "managed_by") != reconcile.ManagedBy:
				m.res.notRecovered(KindKey, remote, k.ID, "", k.Name+" carries no esremote metadata: not esremote's")
			default:
				m.res.notRecovered(KindKey, remote, k.ID, meta(k.Metadata, reconcile.MetaConnection),
					fmt.Sprintf("%s (installation %s): no managed api_key connection of the specs has this name toward %s; invalidate it by hand if nothing uses it", k.Name, orNone(meta(k.Metadata, reconcile.MetaInstallation)), remote))
			}
		}
	}
}

// aliases recovers each alias whose live settings are exactly what its
// connection writes, when the connection's credentials are accounted for.
func (m *matcher) aliases() {
	for _, c := range m.set.Connections {
		if c.Policy == spec.PolicyDisabled {
			continue
		}
		pers, read := m.live.Persistent[c.Local]
		if !read {
			continue
		}
		d := m.live.Desired[c.Name]
		live := aliasKeys(pers, c.Alias)
		trans := aliasKeys(m.live.Transient[c.Local], c.Alias)
		if len(live) == 0 && len(trans) == 0 {
			continue // no alias: apply creates it
		}
		if d == nil {
			continue // its desired settings are unknown: Errors says why
		}
		if why := differs(d, live, trans); why != "" {
			m.res.notRecovered(KindAlias, c.Local, c.Alias, c.Name, why)
			continue
		}
		if c.Security == spec.SecurityAPIKey && c.APIKey != nil {
			switch {
			case c.APIKey.Managed && !m.recoveredKey[c.Name]:
				m.res.notRecovered(KindAlias, c.Local, c.Alias, c.Name, "the settings match the spec, but the connection's managed key was not recovered: nothing ties the alias to this installation")
				continue
			case !c.APIKey.Managed:
				m.handMadeKeystore(c)
			}
		}
		fps := map[string]string{}
		for k, v := range d.Settings {
			fps[k] = reconcile.SettingFingerprint(k, v)
		}
		must(m.led.SetAlias(c.Local, c.Alias, c.Name, fps, false, m.now))
		m.holds[c.Local] = true
		why := "the live settings are exactly what the spec writes"
		if c.Security == spec.SecurityAPIKey && c.APIKey != nil && c.APIKey.Managed {
			why += ", and the connection's key was recovered"
		}
		m.res.recovered(KindAlias, c.Local, c.Alias, c.Name, why)
	}
}

// handMadeKeystore records the keystore entry of a hand-made key on a
// deployment when it exists and the spec's credential resolves, as import
// does: the next pass rewrites it if the cluster shows no credentials.
func (m *matcher) handMadeKeystore(c *spec.Connection) {
	ks, read := m.live.Keystore[c.Local]
	if !read {
		return
	}
	entry := reconcile.CredentialsKey(c.Alias)
	fp, ok := m.live.Credentials[c.Name]
	switch {
	case !ks[entry]:
		m.res.notRecovered(KindKeystore, c.Local, entry, c.Name, "the keystore has no such entry: apply delivers the credential")
	case !ok:
		m.res.notRecovered(KindKeystore, c.Local, entry, c.Name, "api_key.credentials does not resolve here: apply delivers it once it does")
	default:
		must(m.led.SetKeystore(c.Local, entry, &reconcile.Record{Fingerprint: fp, Connection: c.Name, WrittenAt: m.now}))
		m.res.recovered(KindKeystore, c.Local, entry, c.Name, "the entry exists and the spec's credential resolves (hand-made key)")
	}
}

// differs says why an alias's live keys are not exactly what d writes
// ("" when they are).
func differs(d *reconcile.DesiredAlias, live, trans map[string]string) string {
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(d.Settings)) {
		have, ok := live[k]
		_, suffix, _ := es.SplitRemoteKey(k)
		switch {
		case !ok:
			diffs = append(diffs, suffix+" is not set (the spec sets "+d.Settings[k]+")")
		case es.Normalize(suffix, have) != es.Normalize(suffix, d.Settings[k]):
			diffs = append(diffs, fmt.Sprintf("%s is %s (the spec sets %s)", suffix, have, d.Settings[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(live)) {
		if _, want := d.Settings[k]; !want && !d.Ignored[k] {
			_, suffix, _ := es.SplitRemoteKey(k)
			diffs = append(diffs, suffix+" is set, the spec does not set it")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(trans)) {
		if !d.Ignored[k] {
			_, suffix, _ := es.SplitRemoteKey(k)
			diffs = append(diffs, suffix+" is a transient setting")
		}
	}
	if len(diffs) == 0 {
		return ""
	}
	return "the live settings differ from what the spec writes: " + strings.Join(diffs, "; ")
}

// aliasKeys picks one alias's keys out of a cluster's flat settings.
func aliasKeys(flat map[string]string, alias string) map[string]string {
	out := map[string]string{}
	for k, v := range flat {
		if a, _, ok := es.SplitRemoteKey(k); ok && a == alias {
			out[k] = v
		}
	}
	return out
}

// roles recovers the roles whose metadata names a connection of the specs
// on that cluster (and this installation, when it names one).
func (m *matcher) roles() {
	for _, local := range slices.Sorted(maps.Keys(m.live.Roles)) {
		declared := map[string]string{} // role → connection declaring it
		for _, c := range m.set.ConnectionsFrom(local) {
			for _, r := range c.Roles {
				declared[r.Name] = c.Name
			}
		}
		for _, name := range slices.Sorted(maps.Keys(m.live.Roles[local])) {
			role := m.live.Roles[local][name]
			md := role.Metadata
			conn, id := meta(md, reconcile.MetaConnection), meta(md, reconcile.MetaInstallation)
			c := m.conns[conn]
			switch {
			case meta(md, "managed_by") != reconcile.ManagedBy:
				if dc := declared[name]; dc != "" {
					m.res.notRecovered(KindRole, local, name, dc, "the spec declares it, but the live role carries no esremote metadata: hand-made, left alone (a conflict if the spec would change it)")
				}
				continue
			case c == nil || c.Local != local:
				m.res.notRecovered(KindRole, local, name, conn, fmt.Sprintf("its metadata names connection %s, which the specs do not declare from %s", orNone(conn), local))
				continue
			case id != "" && id != m.res.Installation:
				m.res.notRecovered(KindRole, local, name, conn, "made by another installation ("+id+"): left to it")
				continue
			}
			must(m.led.SetRole(local, name, &reconcile.Record{Fingerprint: reconcile.RoleFingerprint(role), Connection: conn, WrittenAt: m.now}))
			m.holds[local] = true
			why := "metadata: managed_by esremote, connection " + conn
			if id != "" {
				why += ", installation " + id
			}
			m.res.recovered(KindRole, local, name, conn, why)
		}
	}
}

// uuids records the cluster_uuid of every cluster holding a recovered
// object: those objects are the evidence that it is the cluster esremote
// wrote to under that name.
func (m *matcher) uuids() {
	for _, name := range slices.Sorted(maps.Keys(m.holds)) {
		if uuid := m.live.UUIDs[name]; uuid != "" {
			must(m.led.SetClusterUUID(name, uuid))
			m.res.recovered(KindCluster, name, uuid, "", "GET / of a cluster holding recovered objects")
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
