package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/state"
	"github.com/esremote/esremote/reconcile/statedir"
)

// ledgerEmpty reports whether the ledger in dir records nothing: no file
// yet, or a file with no record of any object (a new installation). It is
// asked before a pass, since apply writes the ledger.
func ledgerEmpty(dir string) bool {
	b, err := statedir.ReadFile(filepath.Join(dir, state.LedgerFile), state.MaxLedgerSize)
	if err != nil {
		// Missing: empty. Unreadable: the pass says so itself; no hint.
		return errors.Is(err, fs.ErrNotExist)
	}
	var doc struct {
		Settings, Roles, Keys, Keystore, Trust map[string]json.RawMessage
	}
	if json.Unmarshal(b, &doc) != nil {
		return false
	}
	return len(doc.Settings)+len(doc.Roles)+len(doc.Keys)+len(doc.Keystore)+len(doc.Trust) == 0
}

// hasConflict reports whether the report holds a conflict with objects
// that look hand-made to this ledger: a change refused as a conflict, or
// a conflict or another installation's key named as a finding or an error.
func hasConflict(r *drift.Report) bool {
	isConflict := func(s string) bool {
		return strings.HasPrefix(s, reconcile.CodeConflict) || strings.HasPrefix(s, reconcile.CodeContestedByOther)
	}
	for _, conn := range r.Connections {
		for _, ch := range conn.Changes {
			if isConflict(ch.Error) {
				return true
			}
		}
		for _, f := range conn.Findings {
			if isConflict(f.Code) {
				return true
			}
		}
	}
	for _, e := range r.Errors {
		if isConflict(e.Message) {
			return true
		}
	}
	return false
}

// forgotStateDir says "did you forget --state-dir?" after a pass that ran
// on the default state dir with an empty ledger and found conflicts: what
// esremote wrote from another state dir (a try-out's --state-dir, a
// daemon's $STATE_DIRECTORY) looks hand-made to a ledger that records
// nothing.
func (c *cli) forgotStateDir(pf passFlags, stateDir string, wasEmpty bool, r *drift.Report) {
	if pf.stateDir != "" || pf.stateStore != "" || !wasEmpty || !hasConflict(r) {
		return
	}
	c.hintf("did you forget --state-dir? the ledger in %s records nothing yet, so whatever esremote wrote with another state dir looks hand-made here; pass the --state-dir of the apply or daemon that wrote it (the service's is /var/lib/esremote)", stateDir)
}
