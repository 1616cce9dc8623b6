package reconcile

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/spec"
)

// The engine speaks the report's vocabulary (package drift) directly:
// a Change's resource, action and origin, a finding's severity and a
// link's health are drift's types, so plan, apply, the daemon and the
// report cannot drift apart. These names are the engine's shorthands.
const (
	ActionCreate = drift.ActionCreate
	ActionUpdate = drift.ActionUpdate
	ActionDelete = drift.ActionDelete

	// OriginSpec: the spec changed since esremote last wrote the value (or
	// esremote never wrote it).
	OriginSpec = drift.OriginSpec
	// OriginExternal: the live value differs from what esremote last
	// wrote: someone changed the cluster.
	OriginExternal = drift.OriginExternal

	ResourceClusterSetting = drift.ResourceClusterSetting
	ResourceRole           = drift.ResourceRole
	ResourceAPIKey         = drift.ResourceAPIKey
	ResourceKeystore       = drift.ResourceKeystore
	ResourceTrust          = drift.ResourceTrust

	HealthConnected    = drift.HealthConnected
	HealthDisconnected = drift.HealthDisconnected
	HealthUnauthorized = drift.HealthUnauthorized // the remote refused a request with the link's credential
	HealthRotating     = drift.HealthRotating     // a new key is written, not yet proven in use over the window; the old one stays valid
	HealthUnknown      = drift.HealthUnknown
)

// The plan's types are the decide stage's (package decide).
type (
	Change         = decide.Change
	Finding        = decide.Finding
	Unmanaged      = decide.Unmanaged
	ConnectionPlan = decide.ConnectionPlan
	AliasDeletion  = decide.AliasDeletion
	Put            = decide.Put
	ClusterPlan    = decide.ClusterPlan
	Plan           = decide.Plan
)

// Diff compares one local cluster's desired aliases with what it holds,
// using the ledger for ownership and drift origin. It is pure: no I/O, and
// the same inputs always give the same ClusterPlan. all holds every alias
// the specs declare on this cluster (whatever their policy, and also those
// filtered out by --only), so that they are never deleted or reported as
// unmanaged; conns are the connections to plan.
func Diff(local string, conns []*ConnectionPlan, all map[string]bool, obs *Observed, led *Ledger, scoped bool) *ClusterPlan {
	cp := &ClusterPlan{Local: local, Version: obs.Version,
		Put: Put{Persistent: map[string]*string{}, Transient: map[string]*string{}}}
	persistent := groupByAlias(obs.Persistent)
	transient := groupByAlias(obs.Transient)

	for _, c := range conns {
		cp.Connections = append(cp.Connections, c)
		if c.Err != nil || c.Desired == nil || c.Conn.Policy == spec.PolicyDisabled {
			if c.Health == "" {
				c.Health = HealthUnknown
			}
			continue
		}
		alias := c.Conn.Alias
		if c.Evidence == nil {
			c.Health = healthOf(obs, alias)
		}
		c.Observed, c.ObservedOK = obs.Remote[alias]
		before := len(c.Changes)
		rec := liveRecord(led.Alias(local, alias), persistent[alias])
		live := persistent[alias]
		d := c.Desired
		for _, k := range d.Keys() {
			want := d.Settings[k]
			have, ok := live[k]
			_, suffix, _ := es.SplitRemoteKey(k)
			switch {
			case !ok:
				origin := OriginSpec
				if rec != nil && rec.Keys[k] != "" {
					origin = OriginExternal
				}
				c.Changes = append(c.Changes, &Change{Resource: ResourceClusterSetting, Target: local, Key: k,
					Action: ActionCreate, Desired: display(suffix, want), Origin: origin})
			case es.Normalize(suffix, have) != es.Normalize(suffix, want):
				origin := OriginSpec
				if rec != nil && rec.Keys[k] != "" && rec.Keys[k] != Fingerprint(es.Normalize(suffix, have)) {
					origin = OriginExternal
				}
				c.Changes = append(c.Changes, &Change{Resource: ResourceClusterSetting, Target: local, Key: k,
					Action: ActionUpdate, Actual: display(suffix, have), Desired: display(suffix, want), Origin: origin})
			}
		}
		for _, k := range sortedKeys(live) {
			if _, want := d.Settings[k]; want || d.Ignored[k] {
				continue
			}
			_, suffix, _ := es.SplitRemoteKey(k)
			origin := OriginExternal
			if rec != nil && rec.Keys[k] != "" {
				origin = OriginSpec
			}
			c.Changes = append(c.Changes, &Change{Resource: ResourceClusterSetting, Target: local, Key: k,
				Action: ActionDelete, Actual: display(suffix, live[k]), Origin: origin})
		}
		// Transient values override persistent ones (es-api.md §3.1):
		// esremote writes persistent only and removes transient keys of
		// the aliases it manages.
		for _, k := range sortedKeys(transient[alias]) {
			if d.Ignored[k] {
				continue
			}
			_, suffix, _ := es.SplitRemoteKey(k)
			c.Changes = append(c.Changes, &Change{Resource: ResourceClusterSetting, Target: local,
				Key: k + " (transient)", Action: ActionDelete, Actual: display(suffix, transient[alias][k]), Origin: OriginExternal})
		}
		if c.Enforced() && len(c.Changes) > before && !owned(led.Alias(local, alias)) && (len(live) > 0 || len(transient[alias]) > 0) {
			// The alias exists, esremote never wrote it, and the spec
			// would change it: a conflict. Nothing of the connection is
			// written (settings, key, keystore), and apply fails.
			for _, ch := range c.Changes {
				ch.Err = errConflict
			}
			c.Key, c.Refused = nil, true
			c.Findings = append(c.Findings, Finding{Severity: "error", Code: CodeConflict,
				Message: fmt.Sprintf("alias %s exists on %s but esremote did not create it (no ledger record); the spec would change %d of its settings, so nothing of this connection is written", alias, local, len(c.Changes)-before),
				Fix:     fmt.Sprintf("adopt the alias with: esremote import %s --cluster %s --alias %s (then plan again), or choose another alias", specDirPlaceholder, local, alias)})
			continue
		}
		if c.KeyConflict {
			// The keystore entry is another writer's (diffKey): the
			// alias is not this installation's to change either.
			for _, ch := range c.Changes[before:] {
				ch.Err = errConflict
			}
			c.Refused = true
			continue
		}
		c.SettingsChanged = len(c.Changes) > before
		if !c.SettingsChanged || !c.Enforced() {
			continue
		}
		// The alias gets its complete desired key set, and every live key
		// it does not want is nulled in the same request: ES validates the
		// resulting scope as a whole, so partial updates and mode switches
		// must travel together (es-api.md §2.7).
		for k, v := range d.Settings {
			cp.Put.Persistent[k] = ptr(v)
		}
		for k := range live {
			if _, want := d.Settings[k]; !want && !d.Ignored[k] {
				cp.Put.Persistent[k] = nil
			}
		}
		for k := range transient[alias] {
			if !d.Ignored[k] {
				cp.Put.Transient[k] = nil
			}
		}
	}

	// Aliases on the cluster that no connection declares.
	if !scoped {
		seen := map[string]bool{}
		for _, a := range append(sortedKeys(persistent), sortedKeys(transient)...) {
			if all[a] || seen[a] {
				continue
			}
			seen[a] = true
			rec := led.Alias(local, a)
			switch {
			case rec == nil || (rec.Pending && !matches(rec, persistent[a])):
				cp.Unmanaged = append(cp.Unmanaged, Unmanaged{Target: local, Kind: "alias", Name: a, Reason: "unmanaged"})
			case !matches(rec, persistent[a]) || len(transient[a]) > 0:
				cp.Unmanaged = append(cp.Unmanaged, Unmanaged{Target: local, Kind: "alias", Name: a, Reason: "foreign"})
			default:
				del := &AliasDeletion{Alias: a, Connection: rec.Connection}
				for _, k := range sortedKeys(persistent[a]) {
					_, suffix, _ := es.SplitRemoteKey(k)
					del.Changes = append(del.Changes, &Change{Resource: ResourceClusterSetting, Target: local, Key: k,
						Action: ActionDelete, Actual: display(suffix, persistent[a][k]), Origin: OriginSpec})
					cp.Put.Persistent[k] = nil
				}
				cp.Deletions = append(cp.Deletions, del)
			}
		}
	}
	sort.Slice(cp.Connections, func(i, j int) bool { return cp.Connections[i].Conn.Name < cp.Connections[j].Conn.Name })
	return cp
}

// specDirPlaceholder stands for the spec directory in the fixes Diff
// writes (Diff does not know it); the pass puts the directory in.
const specDirPlaceholder = "DIR"

// errConflict marks the changes of an object esremote does not own and
// the spec would change: reported, never written.
var errConflict = errors.New("conflict: the live object was not created by esremote; not written")

// errRefused marks the changes of a connection refused as a conflict that
// are not conflicts themselves (its roles, its trust): not written either.
var errRefused = errors.New("not written: the connection is refused as a conflict")

// owned reports whether the ledger records an alias as esremote's. A
// pending record counts: esremote only records intent after checking for
// conflicts, so the alias was esremote's or free when it set out to write.
func owned(rec *AliasRecord) bool { return rec != nil }

// liveRecord is the ledger record that counts for origin decisions: a
// pending record counts only if its values are live (the write landed).
func liveRecord(rec *AliasRecord, live map[string]string) *AliasRecord {
	if rec == nil || !rec.Pending {
		return rec
	}
	if matches(rec, live) {
		return rec
	}
	return nil
}

// matches reports whether the live keys of an alias are exactly the ones
// the record says esremote wrote, with the same values.
func matches(rec *AliasRecord, live map[string]string) bool {
	if rec == nil || len(live) == 0 || len(live) != len(rec.Keys) {
		return false
	}
	for k, v := range live {
		_, suffix, _ := es.SplitRemoteKey(k)
		if rec.Keys[k] != Fingerprint(es.Normalize(suffix, v)) {
			return false
		}
	}
	return true
}

// fingerprints are the ledger fingerprints of an alias's desired settings.
func fingerprints(d *DesiredAlias) map[string]string {
	m := make(map[string]string, len(d.Settings))
	for k, v := range d.Settings {
		_, suffix, _ := es.SplitRemoteKey(k)
		m[k] = Fingerprint(es.Normalize(suffix, v))
	}
	return m
}

func healthOf(obs *Observed, alias string) drift.Health {
	if obs.Remote == nil {
		return HealthUnknown
	}
	if r, ok := obs.Remote[alias]; ok && r.Connected {
		return HealthConnected
	}
	return HealthDisconnected
}

// groupByAlias splits flat remote keys by alias.
func groupByAlias(flat map[string]string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for k, v := range flat {
		alias, _, ok := es.SplitRemoteKey(k)
		if !ok {
			continue
		}
		if out[alias] == nil {
			out[alias] = map[string]string{}
		}
		out[alias][k] = v
	}
	return out
}

// display renders a value for the report: lists as [a, b].
func display(suffix, v string) string {
	if es.IsListSuffix(suffix) {
		return "[" + strings.ReplaceAll(strings.Trim(v, "[]"), ",", ", ") + "]"
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func ptr(s string) *string { return &s }
