package decide

import (
	"fmt"
	"slices"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// The judgements after the writes (DESIGN §4: execute runs steps and
// never decides). Once a local cluster's steps ran and verification read
// what they left (package verify), what a link becomes is decided here,
// over plain data: the link's row as the pass left it so far, what
// verification returned, the ledger's record, the credential's
// privileges, the time. Each function takes the row by value and returns
// the row the link becomes; it never writes through the row's pointers
// nor into its slices (a link's findings are a new slice when they
// change), so the decided row stays as decided. The executor records
// the result on its working copy (reconcile/execute.go).

// ReloadWaiting reports whether a self-managed cluster's keystore reload
// was for p: p is written and waits for its keystore entry to be loaded
// (action_required).
func ReloadWaiting(p *ConnectionPlan) bool {
	return p.Writes() && slices.ContainsFunc(p.Findings, func(f Finding) bool { return f.Code == CodeActionRequired })
}

// AfterReload is what a keystore reload (KindReload) the link waited for
// leaves of it: nothing when every node reloaded (reloadErr nil; the
// link is verified), a reload_failed error naming the nodes otherwise.
func AfterReload(p ConnectionPlan, reloadErr error) ConnectionPlan {
	if reloadErr == nil {
		return p
	}
	p.Findings = append(slices.Clip(p.Findings), Finding{Severity: "error", Code: CodeReloadFailed, Message: reloadErr.Error(),
		Fix: "fix the keystore on the named nodes (same value on every node), then run apply again"})
	return p
}

// AfterCredentials is what GET /_remote/info read after a reload
// (verify.Credentials) makes of a link the reload was for: once
// Elasticsearch reports the alias's credentials, the link's
// action_required is settled and dropped.
func AfterCredentials(p ConnectionPlan, hasCredentials bool) ConnectionPlan {
	if !hasCredentials {
		return p
	}
	p.Findings = without(p.Findings, CodeActionRequired)
	return p
}

// ContestedAsk reports whether a link contested by another installation
// is asked again with any index (verify.AnyIndex): its own canary
// (target, the evidence target of the ledger's key keyID) was refused
// and proved no key, so whether it works is not known yet. A link asked
// with any index already (no managed key) is not asked twice.
func ContestedAsk(p *ConnectionPlan, target, keyID string) bool {
	return Contested(p) && keyID != "" && target != "*"
}

// Contested reports whether a link is contested by another installation
// and refused with no key proven: the part of ContestedAsk that needs no
// evidence target, so that a link not contested costs nothing more.
func Contested(p *ConnectionPlan) bool {
	return p.Health == drift.HealthUnauthorized && p.Proven == "" && p.Conn.Policy != spec.PolicyDisabled &&
		hasCode(p.Findings, CodeContestedByOther)
}

// AfterContested judges a link contested by another installation by
// whether it works, not by this installation's canary: the canary
// refused says the local cluster uses another installation's key, which
// is what a contest looks like when the other installation wrote the
// keystore entry last. health and ev are the answer of the request with
// any index (verify.AnyIndex): connected, the link is connected on that
// evidence, saying why; otherwise it stays as it was.
func AfterContested(p ConnectionPlan, health drift.Health, ev drift.Evidence) ConnectionPlan {
	if health != drift.HealthConnected {
		return p
	}
	canary := ""
	if p.Evidence != nil {
		canary = p.Evidence.Answer
	}
	ev.Answer += "; this installation's canary was refused (" + canary + "): the local cluster uses another installation's key"
	p.Health, p.Refusal, p.Evidence = health, "", &ev
	return p
}

// AfterCanaryPrivileges is CheckCanaryPrivileges over the links of one
// local cluster as verification left them: the rows they become (the
// canary_privilege_missing finding judged again on the new evidence, a
// refusal that is the local credential's not unauthorized). links are
// not changed.
func AfterCanaryPrivileges(local string, privs *world.UserPrivileges, links []ConnectionPlan) []ConnectionPlan {
	out := make([]ConnectionPlan, len(links))
	ptrs := make([]*ConnectionPlan, len(links))
	for i, p := range links {
		p.Findings = slices.Clone(p.Findings)
		out[i] = p
		ptrs[i] = &out[i]
	}
	CheckCanaryPrivileges(local, privs, ptrs)
	return out
}

// Rotating is what a rotation under way makes of a managed key's link
// (rec, the ledger's record of its key, has a Previous): until the old
// key is invalidated the link is rotating (the old key stays valid and
// may carry some nodes' requests), through the proof window too; a new
// key still not proven in use stuckAfter after its keystore write (ks,
// the ledger's record of the entry) adds a rotation_stuck error. A link
// whose health is unknown or disconnected keeps it.
func Rotating(p ConnectionPlan, rec *ledger.KeyRecord, ks *ledger.Record, now time.Time, stuckAfter time.Duration) ConnectionPlan {
	c := p.Conn
	if c.Security != spec.SecurityAPIKey || c.APIKey == nil || !c.APIKey.Managed || rec == nil || rec.Previous == nil ||
		p.Health == drift.HealthUnknown || p.Health == drift.HealthDisconnected {
		return p
	}
	p.Health = drift.HealthRotating
	proven := p.Proven == rec.ID || !rec.ProvenAt.IsZero()
	if p.Key != nil && CanaryAmbiguous(p.Key.Access) {
		proven = false // any key passes the canary: only the window ends the rotation
	}
	if proven || ks == nil {
		return p
	}
	if since := now.Sub(ks.WrittenAt); since > stuckAfter {
		answer := ""
		if p.Evidence != nil {
			answer = p.Evidence.Answer
		}
		p.Findings = append(slices.Clip(p.Findings), Finding{Severity: "error", Code: CodeRotationStuck,
			Message: fmt.Sprintf("key %s was written to the keystore of %s %s ago and is still not in use (%s); the old key %s stays valid",
				rec.ID, c.Local, since.Round(time.Second), answer, rec.Previous.ID),
			Fix: "check that the platform reloaded the keystore of " + c.Local + " (its nodes' reload_secure_settings), then run esremote apply"})
	}
	return p
}

// NeedsDiagnosis reports whether the likely cause of a link that does
// not work is looked for (reconcile's diagnose, from the doctor's checks
// that send nothing): it is disconnected or refused, and did not fail.
func NeedsDiagnosis(p *ConnectionPlan) bool {
	return p.Err == nil && (p.Health == drift.HealthDisconnected || p.Health == drift.HealthUnauthorized)
}

// RotationKept reports whether the end of a rotation the decision made
// (invalidating the rotated-out key, proven over the window) is kept for
// a later pass: the pass's last evidence of the link (verification's,
// when the pass wrote) no longer proves the new key in use, rec being
// the ledger's record of the link's key. A key whose access any key's
// canary passes is proven by the window alone.
func RotationKept(p *ConnectionPlan, rec *ledger.KeyRecord) bool {
	if p.Health != drift.HealthConnected {
		return true
	}
	if p.Key != nil && CanaryAmbiguous(p.Key.Access) {
		return false
	}
	return rec == nil || p.Proven != rec.ID
}

// KeyProof is the proof window of a managed key as the pass's last
// evidence of its link leaves it (KeyRecord.ProvenAt): the first request
// authorized under the key starts it, and a request refused under the
// key it replaced (a node that has not loaded it yet) starts it again.
// changed is false when the record stays as it is (then nothing is
// saved: a steady link costs no ledger write).
func KeyProof(p *ConnectionPlan, rec *ledger.KeyRecord, now time.Time) (provenAt time.Time, changed bool) {
	c := p.Conn
	if c.Security != spec.SecurityAPIKey || c.APIKey == nil || !c.APIKey.Managed || !p.Enforced() || rec == nil || rec.Pending {
		return time.Time{}, false
	}
	access := AccessOf(c.APIKey.Access) // a saved plan's row carries no key work
	if p.Key != nil {
		access = p.Key.Access
	}
	if CanaryAmbiguous(access) {
		return time.Time{}, false
	}
	at := now
	if p.Evidence != nil && !p.Evidence.At.IsZero() {
		at = p.Evidence.At
	}
	switch {
	case p.Proven == rec.ID && rec.ProvenAt.IsZero():
		return at, true
	case !rec.ProvenAt.IsZero() && p.Health == drift.HealthUnauthorized && p.RefusedKey != "" &&
		(rec.Previous != nil && p.RefusedKey == rec.Previous.ID || rec.Displaced != "" && p.RefusedKey == rec.Displaced):
		return time.Time{}, true
	}
	return time.Time{}, false
}

func hasCode(fs []Finding, code string) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Code == code })
}

// without is fs less the findings of code, as a new slice when one goes.
func without(fs []Finding, code string) []Finding {
	if !hasCode(fs, code) {
		return fs
	}
	out := make([]Finding, 0, len(fs))
	for _, f := range fs {
		if f.Code != code {
			out = append(out, f)
		}
	}
	return out
}
