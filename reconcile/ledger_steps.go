package reconcile

// The ledger as the executor sees it (execute.Ledger): a step's records
// (plan.LedgerRecord) recorded as pending before its request and as
// committed after it, completed with what the request returned.

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/esremote/esremote/reconcile/decide"
	"github.com/esremote/esremote/reconcile/execute"
	"github.com/esremote/esremote/reconcile/plan"
)

// The kinds of record a step writes (plan.LedgerRecord.Kind).
const (
	ledgerAlias        = plan.LedgerAlias
	ledgerRole         = plan.LedgerRole
	ledgerKeystore     = plan.LedgerKeystore
	ledgerTrust        = plan.LedgerTrust
	ledgerKey          = plan.LedgerKey
	ledgerCluster      = plan.LedgerCluster
	ledgerKeyIntent    = plan.LedgerKeyIntent
	ledgerKeyDelivered = plan.LedgerKeyDelivered
	ledgerKeyRotated   = plan.LedgerKeyRotated
)

// stepLedger is the execute.Ledger over a Ledger.
type stepLedger struct {
	led *Ledger
	now func() time.Time
}

// ledgerDigest is decide.LedgerDigest: the digest of the record a
// ReadLedger precondition names.
func ledgerDigest(led *Ledger, name string) string { return decide.LedgerDigest(led, name) }

func (l stepLedger) Digest(name string) string { return ledgerDigest(l.led, name) }

func decodeRecord[T any](r plan.LedgerRecord) (*T, error) {
	if len(r.Record) == 0 || string(r.Record) == "null" {
		return nil, nil
	}
	var v T
	if err := json.Unmarshal(r.Record, &v); err != nil {
		return nil, fmt.Errorf("ledger record %s %s: %w", r.Kind, r.Name, err)
	}
	return &v, nil
}

// Intent records the step's records as pending (removals wait for the
// commit), the target's cluster_uuid first: every record under a name is
// about that cluster. undo gives back the records the intent replaced.
func (l stepLedger) Intent(s *plan.Step, ref execute.Result) (func() error, error) {
	led, now := l.led, l.now()
	if p := s.Precondition; p != nil && p.UUID != "" && s.Kind != plan.KindCreateKey {
		if err := led.SetClusterUUID(s.Target, p.UUID); err != nil {
			return nil, err
		}
	}
	var undo []func() error
	aliases, prevAliases := map[string]map[string]*AliasRecord{}, map[string]map[string]*AliasRecord{}
	for _, r := range s.Ledger {
		switch r.Kind {
		case ledgerCluster:
			var uuid string
			if err := json.Unmarshal(r.Record, &uuid); err == nil && uuid != "" {
				if err := led.SetClusterUUID(r.Name, uuid); err != nil {
					return nil, err
				}
			}
		case ledgerKeyIntent:
			if err := led.SetKeyIntent(r.Name, now); err != nil {
				return nil, err
			}
		case ledgerAlias:
			rec, err := decodeRecord[AliasRecord](r)
			if err != nil || rec == nil {
				if err != nil {
					return nil, err
				}
				continue
			}
			rec.Pending, rec.WrittenAt = true, now
			if aliases[r.Group] == nil {
				aliases[r.Group], prevAliases[r.Group] = map[string]*AliasRecord{}, map[string]*AliasRecord{}
			}
			aliases[r.Group][r.Name] = rec
			if prev := led.Alias(r.Group, r.Name); prev != nil {
				prevAliases[r.Group][r.Name] = prev
			}
		case ledgerRole, ledgerKeystore, ledgerTrust:
			rec, err := decodeRecord[Record](r)
			if err != nil {
				return nil, err
			}
			if rec == nil {
				continue
			}
			get, set := l.records(r.Kind)
			prev := get(r.Group, r.Name)
			rec.Pending, rec.WrittenAt = true, now
			if rec.Fingerprint == "" {
				rec.Fingerprint = ref.Fingerprint
			}
			if err := set(r.Group, r.Name, rec); err != nil {
				return nil, err
			}
			undo = append(undo, func() error { return set(r.Group, r.Name, prev) })
		}
	}
	for local, recs := range aliases {
		if err := led.SetAliases(local, recs); err != nil {
			return nil, err
		}
		prev := prevAliases[local]
		undo = append(undo, func() error {
			if len(prev) == 0 {
				return nil
			}
			return led.SetAliases(local, prev)
		})
	}
	return func() error {
		var first error
		for _, u := range undo {
			if err := u(); err != nil && first == nil {
				first = err
			}
		}
		return first
	}, nil
}

// records are the getter and setter of a kind of plain record.
func (l stepLedger) records(kind string) (func(group, name string) *Record, func(group, name string, r *Record) error) {
	switch kind {
	case ledgerRole:
		return l.led.Role, l.led.SetRole
	case ledgerKeystore:
		return l.led.Keystore, l.led.SetKeystore
	default:
		return l.led.Trust, l.led.SetTrust
	}
}

// Commit records the step's records as written.
func (l stepLedger) Commit(s *plan.Step, res execute.Result) error {
	led, now := l.led, l.now()
	aliases := map[string]map[string]*AliasRecord{}
	for _, r := range s.Ledger {
		switch r.Kind {
		case ledgerAlias:
			rec, err := decodeRecord[AliasRecord](r)
			if err != nil {
				return err
			}
			if rec != nil {
				rec.WrittenAt = now
			}
			if aliases[r.Group] == nil {
				aliases[r.Group] = map[string]*AliasRecord{}
			}
			aliases[r.Group][r.Name] = rec
		case ledgerRole, ledgerKeystore, ledgerTrust:
			rec, err := decodeRecord[Record](r)
			if err != nil {
				return err
			}
			if rec != nil {
				rec.WrittenAt = now
				if rec.Fingerprint == "" {
					rec.Fingerprint = res.Fingerprint
				}
			}
			_, set := l.records(r.Kind)
			if err := set(r.Group, r.Name, rec); err != nil {
				return err
			}
		case ledgerKey:
			rec, err := decodeRecord[KeyRecord](r)
			if err != nil {
				return err
			}
			if rec != nil && s.Kind == plan.KindCreateKey {
				rec.ID, rec.Fingerprint, rec.Expiration, rec.Pending, rec.CreatedAt = res.KeyID, res.Fingerprint, res.KeyExpiration, true, now
			}
			if err := led.SetKey(r.Name, rec); err != nil {
				return err
			}
		case ledgerKeyDelivered:
			if rec := led.Key(r.Name); rec != nil {
				rec.Pending, rec.Delivered = false, ""
				if err := led.SetKey(r.Name, rec); err != nil {
					return err
				}
			}
		case ledgerKeyRotated:
			if rec := led.Key(r.Name); rec != nil {
				rec.Previous = nil
				if err := led.SetKey(r.Name, rec); err != nil {
					return err
				}
			}
		}
	}
	for local, recs := range aliases {
		if err := led.SetAliases(local, recs); err != nil {
			return err
		}
	}
	return nil
}
