package main

import (
	"errors"
	"time"

	"github.com/esremote/esremote/reconcile/statedir"
)

// lockTimeoutUsage is the --lock-timeout flag's help, shared by every
// writer (apply, run, import).
const lockTimeoutUsage = "wait up to this `duration` for another esremote to release the state dir, instead of failing at once"

// lockStateDir takes the state dir's writer lock for command ("esremote
// apply") before anything reads the ledger, so that what this process
// reads is what no other process will change until it is done. A refusal
// is printed with a hint; ok is false then and the caller exits 1.
func (c *cli) lockStateDir(stateDir, command string, timeout time.Duration) (lock *statedir.StateLock, ok bool) {
	lock, err := statedir.LockStateDir(c.ctx, stateDir, statedir.CurrentHolder(command, time.Now()), timeout)
	if err == nil {
		return lock, true
	}
	c.errorf("%v", err)
	var held *statedir.HeldError
	switch {
	case !errors.As(err, &held):
	case held.Holder.Command == "esremote run":
		c.hintf("the daemon reconciles this state dir; to make it apply now, run 'systemctl reload esremote' or send POST /-/reload to its --listen address")
	default:
		c.hintf("wait for it to finish, or pass --lock-timeout DURATION to wait for it")
	}
	return nil, false
}
