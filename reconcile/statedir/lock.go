package statedir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// LockFile is the name of the state directory's writer lock.
const LockFile = "lock"

// lockPoll bounds how often a waiting writer tries the lock again: often
// enough that an apply waiting behind another starts within a blink of its
// end, rarely enough to cost nothing.
const lockPoll = 100 * time.Millisecond

// lockWaiting, when set (tests), is called each time a writer finds the
// lock held and starts waiting for it.
var lockWaiting func()

// Holder says who holds a state directory: what an operator needs to find
// the process (the refusal names it, like Terraform's lock info).
type Holder struct {
	Command string    `json:"command"` // "esremote run", "esremote apply"
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Since   time.Time `json:"since"`
}

// String is "esremote run (pid 4242 on admin-1 since 2026-11-29T12:00:00Z)".
func (h Holder) String() string {
	return fmt.Sprintf("%s (pid %d on %s since %s)", h.Command, h.PID, h.Host, h.Since.UTC().Format(time.RFC3339))
}

// CurrentHolder describes this process as command ("esremote apply").
func CurrentHolder(command string, now time.Time) Holder {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	return Holder{Command: command, PID: os.Getpid(), Host: host, Since: now.UTC().Truncate(time.Second)}
}

// HeldError is the refusal to lock a state directory another process
// holds. Holder is zero when the holder wrote no record yet.
type HeldError struct {
	Dir    string
	Holder Holder
	// Waited is how long the caller waited before giving up (0: it did not).
	Waited time.Duration
}

func (e *HeldError) Error() string {
	who := "another process (it has not said who yet)"
	if e.Holder.PID != 0 {
		who = e.Holder.String()
	}
	s := fmt.Sprintf("state dir %s is held by %s", e.Dir, who)
	if e.Waited > 0 {
		s += fmt.Sprintf("; still held after waiting %s", e.Waited)
	}
	return s
}

// StateLock is a held writer lock on a state directory: an exclusive
// flock(2) on DIR/lock, which the kernel releases when the process ends,
// however it ends, so a crash never leaves a stale lock. The file holds the
// holder record; it is never deleted (deleting a flocked file would let a
// second process lock a new file of the same name).
//
// One process takes it once: flock locks are per open file, so a second
// LockStateDir in the same process is refused like any other writer.
type StateLock struct {
	f      *os.File
	dir    string
	holder Holder
}

// LockStateDir takes the writer lock of dir (created 0700 if missing) for
// holder. When another process holds it, it waits up to timeout (0: not at
// all) and then returns a *HeldError naming the holder; ctx ends the wait
// early with ctx's error.
func LockStateDir(ctx context.Context, dir string, holder Holder, timeout time.Duration) (*StateLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock state dir: %w", err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock state dir: %w", err)
	}
	start := time.Now()
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock state dir %s: %w", dir, err)
		}
		if deadline == nil {
			f.Close()
			return nil, &HeldError{Dir: dir, Holder: ReadHolder(dir)}
		}
		if lockWaiting != nil {
			lockWaiting()
		}
		poll := time.NewTimer(lockPoll)
		select {
		case <-ctx.Done():
			poll.Stop()
			f.Close()
			return nil, ctx.Err()
		case <-deadline:
			poll.Stop()
			f.Close()
			return nil, &HeldError{Dir: dir, Holder: ReadHolder(dir), Waited: time.Since(start).Round(time.Millisecond)}
		case <-poll.C:
		}
	}
	l := &StateLock{f: f, dir: dir, holder: holder}
	b, _ := json.Marshal(holder)
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt(append(b, '\n'), 0)
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			l.Release()
			return nil, fmt.Errorf("lock state dir: write holder: %w", err)
		}
	}
	return l, nil
}

// ReadHolder returns the holder record in dir's lock file, or a zero
// Holder when there is none or it is being written.
func ReadHolder(dir string) Holder {
	f, err := os.Open(filepath.Join(dir, LockFile))
	if err != nil {
		return Holder{}
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 4096))
	var h Holder
	if json.Unmarshal([]byte(strings.TrimSpace(string(b))), &h) != nil {
		return Holder{}
	}
	return h
}

// Holder is who holds the lock (this process).
func (l *StateLock) Holder() Holder { return l.holder }

// Dir is the locked state directory.
func (l *StateLock) Dir() string { return l.dir }

// Release gives the lock up. The holder record is emptied first, so a
// refused writer never names a process that is gone. Safe to call twice.
func (l *StateLock) Release() {
	if l == nil || l.f == nil {
		return
	}
	_ = l.f.Truncate(0)
	_ = unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	_ = l.f.Close()
	l.f = nil
}
