package main

import (
	"log/slog"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/daemon"
)

func init() {
	daemonSetups = append(daemonSetups, journalSetup)
}

// journalSetup makes the daemon log every write of every pass.
func journalSetup(_ *daemon.Loop, x *daemonExtras, log *slog.Logger) error {
	x.OnPass = append(x.OnPass, func(_ *reconcile.Result, rep *drift.Report, _ time.Duration, err error) {
		if err == nil {
			journalWrites(log, rep)
		}
	})
	return nil
}

// maxJournalValue bounds a value in a journal line: a role is a JSON body.
const maxJournalValue = 256

// journalWrites logs each change a pass wrote or tried to write, from its
// report (the engine's own record of what it did, scrubbed before this
// sees it): one line per change with its connection, resource, target,
// key, action and origin, and the value before and after. Secrets are not
// in a report (keystore entries and keys are `<redacted> sha256:…`
// fingerprints), and the daemon's logger scrubs every line again.
//
//   - a change written: INFO, "api key created", "keystore entry written",
//     "cluster setting written", "role written", "api key invalidated", …;
//   - a hand edit written back (origin external): WARN "hand edit
//     reverted", with the edited value as old and esremote's as new;
//   - a write that failed: WARN "write failed" with err.
//
// Changes a pass only found (plan, policy report, held back) are not
// writes and are not logged here.
func journalWrites(log *slog.Logger, rep *drift.Report) {
	if rep == nil {
		return
	}
	for _, c := range rep.Connections {
		for _, ch := range c.Changes {
			if !ch.Applied && ch.Error == "" {
				continue
			}
			attrs := []any{"connection", c.Name, "resource", string(ch.Resource), "target", ch.Target, "key", ch.Key,
				"action", string(ch.Action), "origin", string(ch.Origin),
				"old", journalValue(ch.Actual), "new", journalValue(ch.Desired)}
			switch {
			case ch.Error != "":
				log.Warn("write failed", append(attrs, "err", ch.Error)...)
			case ch.Origin == drift.OriginExternal:
				log.Warn("hand edit reverted", attrs...)
			default:
				log.Info(writeMessage(ch), attrs...)
			}
		}
	}
}

// writeMessage names a write as an operator would grep for it.
func writeMessage(ch drift.Change) string {
	del := ch.Action == drift.ActionDelete
	switch ch.Resource {
	case drift.ResourceAPIKey:
		switch ch.Action {
		case drift.ActionCreate:
			return "api key created"
		case drift.ActionDelete:
			return "api key invalidated"
		}
		return "api key updated"
	case drift.ResourceKeystore:
		if del {
			return "keystore entry removed"
		}
		return "keystore entry written"
	case drift.ResourceClusterSetting:
		if del {
			return "cluster setting removed"
		}
		return "cluster setting written"
	case drift.ResourceRole:
		if del {
			return "role deleted"
		}
		return "role written"
	case drift.ResourceTrust:
		if del {
			return "trust entry removed"
		}
		return "trust entry written"
	}
	return "wrote " + string(ch.Resource)
}

// journalValue is a change's value for a journal line: "(none)" for an
// absent side, long values cut.
func journalValue(v string) string {
	if v == "" {
		return "(none)"
	}
	if r := []rune(v); len(r) > maxJournalValue {
		return string(r[:maxJournalValue]) + "…"
	}
	return v
}
