package decide

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// Diff compares one local cluster's desired aliases with what it holds,
// using the ledger for ownership and drift origin. It is pure: no I/O, and
// the same inputs always give the same ClusterPlan. all holds every alias
// the specs declare on this cluster (whatever their policy, and also those
// filtered out by --only), so that they are never deleted or reported as
// unmanaged; conns are the connections to plan.
func Diff(local string, conns []*ConnectionPlan, all map[string]bool, obs *world.Observed, led *ledger.Ledger, scoped bool) *ClusterPlan {
	cp := &ClusterPlan{Local: local, Version: obs.Version,
		Put: Put{Persistent: map[string]*string{}, Transient: map[string]*string{}}}
	persistent := GroupByAlias(obs.Persistent)
	transient := GroupByAlias(obs.Transient)

	for _, c := range conns {
		cp.Connections = append(cp.Connections, c)
		if c.Err != nil || c.Desired == nil || c.Conn.Policy == spec.PolicyDisabled {
			if c.Health == "" {
				c.Health = drift.HealthUnknown
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
			_, suffix, _ := world.SplitRemoteKey(k)
			switch {
			case !ok:
				origin := drift.OriginSpec
				if rec != nil && rec.Keys[k] != "" {
					origin = drift.OriginExternal
				}
				c.Changes = append(c.Changes, &Change{Resource: drift.ResourceClusterSetting, Target: local, Key: k,
					Action: drift.ActionCreate, Desired: display(suffix, want), Origin: origin})
			case world.Normalize(suffix, have) != world.Normalize(suffix, want):
				origin := drift.OriginSpec
				if rec != nil && rec.Keys[k] != "" && rec.Keys[k] != ledger.Fingerprint(world.Normalize(suffix, have)) {
					origin = drift.OriginExternal
				}
				c.Changes = append(c.Changes, &Change{Resource: drift.ResourceClusterSetting, Target: local, Key: k,
					Action: drift.ActionUpdate, Actual: display(suffix, have), Desired: display(suffix, want), Origin: origin})
			}
		}
		for _, k := range sortedKeys(live) {
			if _, want := d.Settings[k]; want || d.Ignored[k] {
				continue
			}
			_, suffix, _ := world.SplitRemoteKey(k)
			origin := drift.OriginExternal
			if rec != nil && rec.Keys[k] != "" {
				origin = drift.OriginSpec
			}
			c.Changes = append(c.Changes, &Change{Resource: drift.ResourceClusterSetting, Target: local, Key: k,
				Action: drift.ActionDelete, Actual: display(suffix, live[k]), Origin: origin})
		}
		// Transient values override persistent ones (es-api.md §3.1):
		// esremote writes persistent only and removes transient keys of
		// the aliases it manages.
		for _, k := range sortedKeys(transient[alias]) {
			if d.Ignored[k] {
				continue
			}
			_, suffix, _ := world.SplitRemoteKey(k)
			c.Changes = append(c.Changes, &Change{Resource: drift.ResourceClusterSetting, Target: local,
				Key: k + " (transient)", Action: drift.ActionDelete, Actual: display(suffix, transient[alias][k]), Origin: drift.OriginExternal})
		}
		if c.Enforced() && len(c.Changes) > before && !owned(led.Alias(local, alias)) && (len(live) > 0 || len(transient[alias]) > 0) {
			// The alias exists, esremote never wrote it, and the spec
			// would change it: a conflict. Nothing of the connection is
			// written (settings, key, keystore), and apply fails.
			for _, ch := range c.Changes {
				ch.Err = ErrConflict
			}
			c.Key, c.Refused = nil, true
			c.Findings = append(c.Findings, Finding{Severity: "error", Code: CodeConflict,
				Message: fmt.Sprintf("alias %s exists on %s but esremote did not create it (no ledger record); the spec would change %d of its settings, so nothing of this connection is written", alias, local, len(c.Changes)-before),
				Fix:     fmt.Sprintf("adopt the alias with: esremote import %s --cluster %s --alias %s (then plan again), or choose another alias", SpecDirPlaceholder, local, alias)})
			continue
		}
		if c.KeyConflict {
			// The keystore entry is another writer's (Key): the
			// alias is not this installation's to change either.
			for _, ch := range c.Changes[before:] {
				ch.Err = ErrConflict
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
			case rec == nil || (rec.Pending && !Matches(rec, persistent[a])):
				cp.Unmanaged = append(cp.Unmanaged, Unmanaged{Target: local, Kind: "alias", Name: a, Reason: "unmanaged"})
			case !Matches(rec, persistent[a]) || len(transient[a]) > 0:
				cp.Unmanaged = append(cp.Unmanaged, Unmanaged{Target: local, Kind: "alias", Name: a, Reason: "foreign"})
			default:
				del := &AliasDeletion{Alias: a, Connection: rec.Connection}
				for _, k := range sortedKeys(persistent[a]) {
					_, suffix, _ := world.SplitRemoteKey(k)
					del.Changes = append(del.Changes, &Change{Resource: drift.ResourceClusterSetting, Target: local, Key: k,
						Action: drift.ActionDelete, Actual: display(suffix, persistent[a][k]), Origin: drift.OriginSpec})
					cp.Put.Persistent[k] = nil
				}
				cp.Deletions = append(cp.Deletions, del)
			}
		}
	}
	sort.Slice(cp.Connections, func(i, j int) bool { return cp.Connections[i].Conn.Name < cp.Connections[j].Conn.Name })
	return cp
}

// SpecDirPlaceholder stands for the spec directory in the fixes Diff
// writes (Diff does not know it); the pass puts the directory in.
const SpecDirPlaceholder = "DIR"

// ErrConflict marks the changes of an object esremote does not own and
// the spec would change: reported, never written.
var ErrConflict = errors.New("conflict: the live object was not created by esremote; not written")

// ErrRefused marks the changes of a connection refused as a conflict that
// are not conflicts themselves (its roles, its trust): not written either.
var ErrRefused = errors.New("not written: the connection is refused as a conflict")

// owned reports whether the ledger records an alias as esremote's. A
// pending record counts: esremote only records intent after checking for
// conflicts, so the alias was esremote's or free when it set out to write.
func owned(rec *ledger.AliasRecord) bool { return rec != nil }

// liveRecord is the ledger record that counts for origin decisions: a
// pending record counts only if its values are live (the write landed).
func liveRecord(rec *ledger.AliasRecord, live map[string]string) *ledger.AliasRecord {
	if rec == nil || !rec.Pending {
		return rec
	}
	if Matches(rec, live) {
		return rec
	}
	return nil
}

// Matches reports whether the live keys of an alias are exactly the ones
// the record says esremote wrote, with the same values.
func Matches(rec *ledger.AliasRecord, live map[string]string) bool {
	if rec == nil || len(live) == 0 || len(live) != len(rec.Keys) {
		return false
	}
	for k, v := range live {
		_, suffix, _ := world.SplitRemoteKey(k)
		if rec.Keys[k] != ledger.Fingerprint(world.Normalize(suffix, v)) {
			return false
		}
	}
	return true
}

// Fingerprints are the ledger Fingerprints of an alias's desired settings.
func Fingerprints(d *DesiredAlias) map[string]string {
	m := make(map[string]string, len(d.Settings))
	for k, v := range d.Settings {
		_, suffix, _ := world.SplitRemoteKey(k)
		m[k] = ledger.Fingerprint(world.Normalize(suffix, v))
	}
	return m
}

func healthOf(obs *world.Observed, alias string) drift.Health {
	if obs.Remote == nil {
		return drift.HealthUnknown
	}
	if r, ok := obs.Remote[alias]; ok && r.Connected {
		return drift.HealthConnected
	}
	return drift.HealthDisconnected
}

// GroupByAlias splits flat remote keys by alias.
func GroupByAlias(flat map[string]string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for k, v := range flat {
		alias, _, ok := world.SplitRemoteKey(k)
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
	if world.IsListSuffix(suffix) {
		return "[" + strings.ReplaceAll(strings.Trim(v, "[]"), ",", ", ") + "]"
	}
	return v
}

func ptr(s string) *string { return &s }
