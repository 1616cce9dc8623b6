package decide

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/reconcile/plan"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// The decision as typed steps (plan.Step): what a saved plan carries and
// esremote apply --plan executes (package execute). Each step is built
// from the same decision the pass's own writes follow, in the same order
// (DESIGN §5): trust, then per local cluster the credentials (orphans,
// key, keystore), a self-managed reload, the one settings PUT, roles,
// the keys and keystore entries of removed connections, the end of a
// rotation; then the keys of departed clusters. Each step's
// precondition is what it was decided against, read by the Snapshot.

// StepBuilder numbers the steps and ties each change to its step
// (Change.Step). It reads only data: the specs, the ledger's copy, the
// trust decision and the remotes' keys as the Snapshot read them.
type StepBuilder struct {
	Set     *spec.Set
	Ledger  *ledger.Ledger
	Trust   *TrustPlan
	Remotes map[string]*world.KeysRead

	Steps []plan.Step
	// Prefix makes the IDs of the live pass's steps unique across the
	// pass (its steps are built cluster by cluster); a saved plan's are
	// "s1", "s2", …
	Prefix string
	// Phase is when the live pass runs a step ("" with the settings
	// PUT): PhaseKeys before it, PhaseFinish after verification.
	Phase map[string]string
	// Ties, when not nil, is where each change is tied to its step,
	// instead of on the change (Change.Step): the live pass builds its
	// steps while it executes, and the decision stays as decided.
	Ties map[*Change]string
	in   string // the phase of the steps being added
}

// The phases of the live pass's steps (StepBuilder.Phase).
const (
	PhaseKeys   = "keys"
	PhaseFinish = "finish"
)

// add appends a step, numbering it, and ties changes to it.
func (b *StepBuilder) add(s plan.Step, changes ...*Change) string {
	s.ID = fmt.Sprintf("%ss%d", b.Prefix, len(b.Steps)+1)
	b.Steps = append(b.Steps, s)
	if b.in != "" {
		if b.Phase == nil {
			b.Phase = map[string]string{}
		}
		b.Phase[s.ID] = b.in
	}
	for _, ch := range changes {
		switch {
		case ch == nil || ch.Err != nil:
		case b.Ties != nil:
			b.Ties[ch] = s.ID
		default:
			ch.Step = s.ID
		}
	}
	return s.ID
}

func body(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("decide: marshal a step's body: " + err.Error())
	}
	return b
}

func record(kind, group, name string, rec any) plan.LedgerRecord {
	r := plan.LedgerRecord{Kind: kind, Group: group, Name: name}
	if rec != nil {
		r.Record = body(rec)
	}
	return r
}

// Plan adds the steps of a pass's decision (a plan pass: nothing of it is
// written yet): trust, then each local cluster decided for writing, then
// the keys of departed clusters.
func (b *StepBuilder) Plan(clusters []*ClusterDecision, departed []*ClusterPlan) {
	b.trust()
	for _, d := range clusters {
		if d.Cluster == nil || d.Plan.Err != nil {
			continue
		}
		b.Cluster(d)
	}
	for _, cp := range departed {
		b.Departed(cp)
	}
}

// Departed adds the keys of connections whose local cluster left the specs,
// invalidated on their remotes (still declared and observed).
func (b *StepBuilder) Departed(cp *ClusterPlan) {
	for _, d := range cp.Deletions {
		if d.Key == nil || len(d.Changes) == 0 || b.Set.Cluster(d.Key.Remote) == nil {
			continue
		}
		if rs := CheckRemote(d.Key.Remote, b.Remotes[d.Key.Remote], b.Ledger); rs == nil || rs.Err != nil {
			continue
		}
		b.invalidateRemoved(d, d.Changes[0])
	}
}

// trust: one PUT per deployment carrying its whole trust, locals first;
// entries that are already gone only leave the ledger. An entry wanted
// only by connections refused as conflicts is not enforced: the decision
// holds it (HoldRefused).
func (b *StepBuilder) trust() {
	tp := b.Trust
	if tp == nil {
		return
	}
	for _, name := range tp.Order {
		_ = b.TrustDeployment(tp.Deps[name]) // a trust that cannot be built is not sent; apply reports why
	}
}

// TrustDeployment adds one deployment's trust, as its live trust (read by the
// pass) with the enforced changes made.
func (b *StepBuilder) TrustDeployment(d *TrustDeployment) error {
	if d.Err != nil || d.Dep == nil || d.Res == nil {
		return nil
	}
	var puts []*TrustOp
	for _, op := range d.Ops {
		if !op.Enforced {
			continue
		}
		if op.Remove && op.Action == "" {
			b.add(plan.Step{Target: d.Cluster.Name, Kind: plan.KindForget, Name: op.Key,
				Ledger: []plan.LedgerRecord{record(plan.LedgerTrust, d.ID(), op.Key, nil)}}, d.Changes[op.Key])
			continue
		}
		puts = append(puts, op)
	}
	if len(puts) == 0 {
		return nil
	}
	next, err := BuildTrust(d.Res.Trust, puts)
	if err != nil {
		return err
	}
	t, err := next.MarshalJSON()
	if err != nil {
		return err
	}
	s := plan.Step{Target: d.Cluster.Name, Kind: plan.KindPutTrust,
		Body: body(plan.TrustBody{Deployment: d.Dep.ID, RefID: d.Res.RefID, Trust: t}),
		Precondition: &plan.Precondition{Read: plan.ReadDeployment, Name: d.Dep.ID, Version: d.Dep.ResourceVersion,
			Shows: "deployment " + d.Dep.ID}}
	var chs []*Change
	for _, op := range puts {
		var rec *ledger.Record
		if !op.Remove {
			rec = &ledger.Record{Fingerprint: op.Write.Fingerprint(), Connection: op.Conn}
		}
		s.Ledger = append(s.Ledger, record(plan.LedgerTrust, d.ID(), op.Key, rec))
		chs = append(chs, d.Changes[op.Key])
	}
	b.add(s, chs...)
	return nil
}

// Cluster adds one decided local cluster's steps, in the order apply
// writes them.
func (b *StepBuilder) Cluster(d *ClusterDecision) {
	cp, cl := d.Plan, d.Cluster
	b.in = PhaseKeys
	for _, p := range cp.Connections {
		if p.Key != nil && p.Writes() {
			b.key(p, cl)
		}
	}
	b.in = ""
	if cl.Deployment == nil && slices.ContainsFunc(cp.Connections, func(p *ConnectionPlan) bool {
		return p.Writes() && slices.ContainsFunc(p.Findings, func(f Finding) bool { return f.Code == CodeActionRequired })
	}) {
		b.add(plan.Step{Target: cp.Local, Kind: plan.KindReload})
	}
	if !cp.Put.Empty() {
		s := plan.Step{Target: cp.Local, Kind: plan.KindClusterSettings,
			Body:         body(plan.SettingsBody{Persistent: cp.Put.Persistent, Transient: cp.Put.Transient}),
			Precondition: &plan.Precondition{Read: plan.ReadSettings, UUID: d.Read.Observed.UUID, Values: cp.Observed}}
		var chs []*Change
		for _, p := range cp.Connections {
			if p.SettingsChanged && p.Enforced() {
				s.Ledger = append(s.Ledger, record(plan.LedgerAlias, cp.Local, p.Conn.Alias, &ledger.AliasRecord{Connection: p.Conn.Name, Keys: Fingerprints(p.Desired)}))
				chs = append(chs, SettingChanges(p.Changes)...)
			}
		}
		for _, d := range cp.Deletions {
			if d.Alias != "" {
				s.Ledger = append(s.Ledger, record(plan.LedgerAlias, cp.Local, d.Alias, nil))
			}
			chs = append(chs, SettingChanges(d.Changes)...)
		}
		b.add(s, chs...)
	}
	b.roles(d)
	for _, d := range cp.Deletions {
		if d.Key == nil || b.Set.Cluster(d.Key.Remote) == nil {
			continue // no cluster to send it to (unremovable)
		}
		var keyCh, ksCh *Change
		for _, ch := range d.Changes {
			switch ch.Resource {
			case drift.ResourceAPIKey:
				keyCh = ch
			case drift.ResourceKeystore:
				ksCh = ch
			}
		}
		inv := b.invalidateRemoved(d, keyCh)
		if d.Keystore && cl.Deployment != nil {
			b.add(plan.Step{Target: cp.Local, Kind: plan.KindRemoveKeystore, Name: CredentialsKey(d.Key.Alias), Connection: d.Connection,
				Body: body(plan.KeystoreBody{Deployment: cl.Deployment.ID, RefID: cl.Deployment.RefID}), After: []string{inv},
				Ledger: []plan.LedgerRecord{record(plan.LedgerKeystore, cp.Local, CredentialsKey(d.Key.Alias), nil)}}, ksCh)
		}
	}
	if cl.Deployment != nil {
		for _, d := range cp.Deletions {
			for _, kr := range d.KeystoreRemovals {
				b.add(plan.Step{Target: cp.Local, Kind: plan.KindRemoveKeystore, Name: kr.Setting, Connection: d.Connection,
					Body:   body(plan.KeystoreBody{Deployment: cl.Deployment.ID, RefID: cl.Deployment.RefID}),
					Ledger: []plan.LedgerRecord{record(plan.LedgerKeystore, cp.Local, kr.Setting, nil)}}, kr.Change)
			}
		}
	}
	b.in = PhaseFinish
	defer func() { b.in = "" }()
	for _, p := range cp.Connections {
		if k := p.Key; k != nil && k.Previous != nil && k.Finish && p.Writes() && k.Remote != "" {
			b.add(plan.Step{Target: k.Remote, Kind: plan.KindInvalidateKeys, Name: KeyName(p.Conn), Connection: p.Conn.Name,
				Body:         body(plan.InvalidateBody{IDs: []string{k.Previous.ID}}),
				Precondition: b.keysRead(k.Remote, KeyName(p.Conn)),
				Ledger:       []plan.LedgerRecord{record(plan.LedgerKeyRotated, "", p.Conn.Name, nil)}}, k.Changes["previous"])
		}
	}
}

// keysRead is the precondition of a step on a remote's keys named name:
// the remote's identity and those keys as the Snapshot read them.
func (b *StepBuilder) keysRead(remote, name string) *plan.Precondition {
	rs := CheckRemote(remote, b.Remotes[remote], b.Ledger)
	if rs == nil || rs.Err != nil {
		uuid := b.Ledger.ClusterUUID(remote)
		if uuid == "" {
			return nil
		}
		return &plan.Precondition{Read: plan.ReadCluster, UUID: uuid, Value: uuid}
	}
	return &plan.Precondition{Read: plan.ReadKeys, Name: name, UUID: rs.Info.ClusterUUID, Digest: world.KeysDigest(rs.Keys, name, plan.Absent),
		Shows: "the keys named " + name}
}

// invalidateRemoved invalidates the key (and the key it rotated out) of
// a connection that left the specs, and drops its record.
func (b *StepBuilder) invalidateRemoved(d *AliasDeletion, ch *Change) string {
	ids := []string{d.Key.ID}
	if d.Key.Previous != nil {
		ids = append(ids, d.Key.Previous.ID)
	}
	return b.add(plan.Step{Target: d.Key.Remote, Kind: plan.KindInvalidateKeys, Name: d.Key.Name, Connection: d.Connection,
		Body:         body(plan.InvalidateBody{IDs: ids}),
		Precondition: b.keysRead(d.Key.Remote, d.Key.Name),
		Ledger:       []plan.LedgerRecord{record(plan.LedgerKey, "", d.Connection, nil)}}, ch)
}

// key: a connection's credentials. A hand-made key is written to the
// keystore from its spec; a managed key's orphans are invalidated, the
// key updated in place or created, and a created key written to the
// keystore (its secret named by the create step, never carried).
func (b *StepBuilder) key(p *ConnectionPlan, local *spec.Cluster) {
	w, c := p.Key, p.Conn
	led := b.Ledger
	keystore := func(ref *plan.SecretRef, after []string, recs ...plan.LedgerRecord) {
		if local.Deployment == nil {
			return
		}
		name := "keystore/" + c.Local + "/" + w.KeystoreKey
		b.add(plan.Step{Target: c.Local, Kind: plan.KindSetKeystore, Name: w.KeystoreKey, Connection: c.Name,
			Body:      body(plan.KeystoreBody{Deployment: local.Deployment.ID, RefID: local.Deployment.RefID}),
			SecretRef: ref, After: after,
			Precondition: &plan.Precondition{Read: plan.ReadLedger, Name: name, Digest: LedgerDigest(led, name),
				Shows: "keystore entry " + w.KeystoreKey + " of " + c.Local},
			Ledger: recs}, w.Changes["keystore"])
	}
	if !c.APIKey.Managed {
		if w.Keystore {
			fp := w.Secret.Fingerprint()
			keystore(&plan.SecretRef{Connection: c.Name, Fingerprint: fp}, nil,
				record(plan.LedgerKeystore, c.Local, w.KeystoreKey, &ledger.Record{Fingerprint: fp, Connection: c.Name}))
		}
		return
	}
	name := KeyName(c)
	meta := map[string]any{"managed_by": ManagedBy, MetaInstallation: led.Installation(), MetaConnection: c.Name, MetaLocal: c.Local, MetaAlias: c.Alias, MetaAccessHash: w.AccessHash}
	pre := b.keysRead(w.Remote, name)
	for _, k := range w.Orphans {
		b.add(plan.Step{Target: w.Remote, Kind: plan.KindInvalidateKeys, Name: name, Connection: c.Name,
			Body: body(plan.InvalidateBody{IDs: []string{k.ID}}), Precondition: pre}, w.Changes["orphan:"+k.ID])
	}
	switch w.Kind {
	case KeyUpdate:
		rec := led.Key(c.Name)
		if rec == nil {
			return
		}
		upd := *rec
		upd.AccessHash = w.AccessHash
		b.add(plan.Step{Target: w.Remote, Kind: plan.KindUpdateKey, Name: name, Connection: c.Name,
			Body:         body(plan.KeyBody{ID: w.Live.ID, Name: name, Access: body(WithCanary(w.Access, w.Live.ID)), Metadata: meta}),
			Precondition: pre, Ledger: []plan.LedgerRecord{record(plan.LedgerKey, "", c.Name, &upd)}}, w.Changes["key"])
	case KeyCreate, KeyRotate:
		kb := plan.KeyBody{Name: name, Access: body(w.Access), Metadata: meta}
		if c.APIKey.Expiration > 0 {
			kb.Expiration = world.FormatTimeValue(c.APIKey.Expiration.D())
		}
		old := led.Key(c.Name)
		tmpl := &ledger.KeyRecord{Local: c.Local, Alias: c.Alias, Remote: w.Remote, Name: name, AccessHash: w.AccessHash,
			Delivered: old.DeliveredKeyID(), Displaced: w.Displaced}
		if w.Kind == KeyRotate && old != nil {
			prev := *old
			prev.Previous, prev.Pending = nil, false
			tmpl.Previous = &prev
		} else if old != nil && old.Previous != nil {
			tmpl.Previous = old.Previous
		}
		uuid := ""
		if pre != nil {
			uuid = pre.UUID
		}
		create := b.add(plan.Step{Target: w.Remote, Kind: plan.KindCreateKey, Name: name, Connection: c.Name,
			Body: body(kb), Precondition: pre,
			Ledger: []plan.LedgerRecord{record(plan.LedgerCluster, "", w.Remote, uuid), record(plan.LedgerKeyIntent, "", c.Name, nil),
				record(plan.LedgerKey, "", c.Name, tmpl)}}, w.Changes["key"])
		keystore(&plan.SecretRef{Step: create}, []string{create},
			record(plan.LedgerKeystore, c.Local, w.KeystoreKey, &ledger.Record{Connection: c.Name}), record(plan.LedgerKeyDelivered, "", c.Name, nil))
	}
}

// roles: owned roles gone from the cluster leave the ledger; each role
// to write is PUT; each owned role no connection declares is deleted.
func (b *StepBuilder) roles(d *ClusterDecision) {
	cp, live := d.Plan, d.Read.Roles
	read := func(name string) *plan.Precondition {
		var r any
		if role, ok := live[name]; ok {
			r = &role
		}
		d := plan.Absent
		if r != nil {
			d = world.Digest(r)
		}
		return &plan.Precondition{Read: plan.ReadRole, Name: name, Digest: d, Shows: "role " + name}
	}
	for _, name := range cp.RoleForgets {
		b.add(plan.Step{Target: cp.Local, Kind: plan.KindForget, Name: name, Precondition: read(name),
			Ledger: []plan.LedgerRecord{record(plan.LedgerRole, cp.Local, name, nil)}})
	}
	for _, name := range sortedKeys(cp.RoleWrites) {
		rw := cp.RoleWrites[name]
		b.add(plan.Step{Target: cp.Local, Kind: plan.KindPutRole, Name: name, Connection: rw.Conn.Conn.Name,
			Body: body(rw.Body), Precondition: read(name),
			Ledger: []plan.LedgerRecord{record(plan.LedgerRole, cp.Local, name, &ledger.Record{Fingerprint: rw.Fingerprint, Connection: rw.Conn.Conn.Name})}}, rw.Change)
	}
	for _, d := range cp.RoleDeletes {
		b.add(plan.Step{Target: cp.Local, Kind: plan.KindDeleteRole, Name: d.Name, Precondition: read(d.Name),
			Ledger: []plan.LedgerRecord{record(plan.LedgerRole, cp.Local, d.Name, nil)}}, d.Change)
	}
}

// SettingChanges are the cluster-setting changes among chs.
func SettingChanges(chs []*Change) []*Change {
	var out []*Change
	for _, ch := range chs {
		if ch.Resource == drift.ResourceClusterSetting {
			out = append(out, ch)
		}
	}
	return out
}

// LedgerDigest is the digest of the record a ReadLedger precondition
// names ("keystore/<local>/<setting>" or "key/<connection>") in led
// (plan.Absent for none).
func LedgerDigest(led *ledger.Ledger, name string) string {
	kind, rest, _ := strings.Cut(name, "/")
	var rec any
	switch kind {
	case "keystore":
		local, setting, _ := strings.Cut(rest, "/")
		if r := led.Keystore(local, setting); r != nil {
			rec = r
		}
	case "key":
		if r := led.Key(rest); r != nil {
			rec = r
		}
	}
	if rec == nil {
		return plan.Absent
	}
	return world.Digest(rec)
}
