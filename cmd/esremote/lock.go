package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/fsnotify/fsnotify"

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

// gates joins write gates: a write goes out only when every one of them
// lets it (the state dir's lock, the state store's lease).
func gates(gs ...func() error) func() error {
	var live []func() error
	for _, g := range gs {
		if g != nil {
			live = append(live, g)
		}
	}
	return func() error {
		for _, g := range live {
			if err := g(); err != nil {
				return err
			}
		}
		return nil
	}
}

// watchLock tells lost, once, when the state dir's lock file is removed or
// replaced under this process (the write gate would stop the next write
// anyway; this makes a daemon that has nothing to write notice at once).
// It watches the state dir with inotify: nothing is polled.
func watchLock(ctx context.Context, lock *statedir.StateLock, log *slog.Logger, lost func(error)) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		log.Warn("cannot watch the state dir's lock; the write gate still checks it", "err", err)
		return
	}
	defer w.Close()
	if err := w.Add(lock.Dir()); err != nil {
		log.Warn("cannot watch the state dir's lock; the write gate still checks it", "err", err)
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-w.Events:
			if !ok {
				return
			}
			if err := lock.Check(); err != nil {
				lost(err)
				return
			}
		case _, ok := <-w.Errors:
			if !ok {
				return
			}
		}
	}
}
