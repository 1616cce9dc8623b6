package statedir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
	// Deleted: the lock file that names the holder is gone (someone
	// deleted it while the holder runs on).
	Deleted bool
}

func (e *HeldError) Error() string {
	who := "another process (it has not said who yet)"
	switch {
	case e.Holder.PID != 0:
		who = e.Holder.String()
	case e.Deleted:
		who = fmt.Sprintf("another process whose record %s was deleted (find it with 'fuser -v %s')", filepath.Join(e.Dir, LockFile), e.Dir)
	}
	s := fmt.Sprintf("state dir %s is held by %s", e.Dir, who)
	if e.Waited > 0 {
		s += fmt.Sprintf("; still held after waiting %s", e.Waited)
	}
	return s
}

// StateLock is a held writer lock on a state directory. It is two
// exclusive flock(2) locks, which the kernel releases when the process
// ends, however it ends, so a crash never leaves a stale lock:
//
//   - one on the state directory itself, the lock that decides: it cannot
//     be deleted or replaced from under a running writer the way a file
//     can ("rm STATE_DIR/lock", the common stale-lock reflex, used to let a
//     second writer lock a new file while the first one ran on);
//   - one on DIR/lock, which also holds the holder record (the refusal
//     names it) and keeps out an older esremote that locks only the file.
//
// The lock file is opened without following a symlink (a lock that is a
// link is refused, its target untouched), and a state directory that is a
// symlink is refused when what it points at belongs to another user.
// [StateLock.Check] tells a writer, before each write, whether the lock
// file and the directory are still the ones it locked.
//
// One process takes it once: flock locks are per open file, so a second
// LockStateDir in the same process is refused like any other writer.
type StateLock struct {
	// mu orders Check (the write gate and the daemon's watch, from their
	// goroutines) against Release.
	mu     sync.Mutex
	dirFD  int
	f      *os.File
	dir    string
	path   string
	ino    fileID // the lock file's identity when taken
	dirIno fileID // the directory's
	holder Holder
}

// fileID identifies a file: its device and inode.
type fileID struct{ dev, ino uint64 }

func idOf(st *unix.Stat_t) fileID { return fileID{uint64(st.Dev), uint64(st.Ino)} }

// ErrLockLost is returned (errors.Is) by [StateLock.Check] when the lock
// file or the state directory was removed or replaced under the writer.
var ErrLockLost = errors.New("state dir lock lost")

// LockStateDir takes the writer lock of dir (created 0700 if missing) for
// holder. When another process holds it, it waits up to timeout (0: not at
// all) and then returns a *HeldError naming the holder; ctx ends the wait
// early with ctx's error.
func LockStateDir(ctx context.Context, dir string, holder Holder, timeout time.Duration) (*StateLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock state dir: %w", err)
	}
	if err := checkDirOwner(dir); err != nil {
		return nil, err
	}
	dirFD, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("lock state dir: %w", &os.PathError{Op: "open", Path: dir, Err: err})
	}
	start := time.Now()
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	// The directory first: only its holder may create or truncate the
	// lock file, so a refused writer leaves the holder's file as it is.
	for {
		err := unix.Flock(dirFD, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			unix.Close(dirFD)
			return nil, fmt.Errorf("lock state dir %s: %w", dir, err)
		}
		if deadline == nil {
			unix.Close(dirFD)
			return nil, heldError(dir, 0)
		}
		if lockWaiting != nil {
			lockWaiting()
		}
		poll := time.NewTimer(lockPoll)
		select {
		case <-ctx.Done():
			poll.Stop()
			unix.Close(dirFD)
			return nil, ctx.Err()
		case <-deadline:
			poll.Stop()
			unix.Close(dirFD)
			return nil, heldError(dir, time.Since(start).Round(time.Millisecond))
		case <-poll.C:
		}
	}
	l := &StateLock{dirFD: dirFD, dir: dir, path: filepath.Join(dir, LockFile), holder: holder}
	var st unix.Stat_t
	if err := unix.Fstat(dirFD, &st); err != nil {
		l.Release()
		return nil, fmt.Errorf("lock state dir %s: %w", dir, err)
	}
	l.dirIno = idOf(&st)
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0o600)
	if err != nil {
		l.Release()
		if errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("lock state dir: %s is a symbolic link; esremote never follows one in its state dir: remove the link (its target is untouched)", l.path)
		}
		return nil, fmt.Errorf("lock state dir: %w", err)
	}
	l.f = f
	if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		l.Release()
		return nil, fmt.Errorf("lock state dir: %s is not a regular file: remove it", l.path)
	}
	l.ino = idOf(&st)
	// An older esremote locks the file only: hold it too. Whoever holds
	// the directory lock is the only one that gets this far, so the file
	// lock is free unless such an older process holds it.
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		h := ReadHolder(dir)
		l.Release()
		return nil, &HeldError{Dir: dir, Holder: h}
	}
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

// heldError is the refusal for dir, naming its holder.
func heldError(dir string, waited time.Duration) *HeldError {
	e := &HeldError{Dir: dir, Holder: ReadHolder(dir), Waited: waited}
	if _, err := os.Lstat(filepath.Join(dir, LockFile)); errors.Is(err, fs.ErrNotExist) {
		e.Deleted = true
	}
	return e
}

// checkDirOwner refuses a state directory that is a symbolic link to a
// directory another user owns: esremote would otherwise write its ledger
// and lock into someone else's files.
func checkDirOwner(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return fmt.Errorf("lock state dir: %w", err)
	}
	if int(st.Uid) != os.Geteuid() {
		target, _ := filepath.EvalSymlinks(dir)
		return fmt.Errorf("lock state dir: %s is a symbolic link to %s, which belongs to uid %d, not to this user (uid %d): point --state-dir at a directory of your own", dir, target, st.Uid, os.Geteuid())
	}
	return nil
}

// Check returns nil while the lock file and the state directory are still
// the ones this lock took; an error wrapping [ErrLockLost] when either was
// removed or replaced (another writer may then hold a lock of its own):
// the writer must stop writing, say so, and exit. Every write path asks it
// before writing (the engine's write gate).
func (l *StateLock) Check() error {
	if l == nil {
		return fmt.Errorf("%w: it was released", ErrLockLost)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.check()
}

func (l *StateLock) check() error {
	if l.f == nil {
		return fmt.Errorf("%w: it was released", ErrLockLost)
	}
	var st unix.Stat_t
	if err := unix.Lstat(l.path, &st); err != nil || idOf(&st) != l.ino {
		return fmt.Errorf("%w: %s was removed or replaced while this process held it; stopping writes, since another esremote may now hold a lock of its own", ErrLockLost, l.path)
	}
	if err := unix.Stat(l.dir, &st); err != nil || idOf(&st) != l.dirIno {
		return fmt.Errorf("%w: state dir %s was removed or replaced while this process held it; stopping writes", ErrLockLost, l.dir)
	}
	return nil
}

// ReadHolder returns the holder record in dir's lock file, or a zero
// Holder when there is none or it is being written.
func ReadHolder(dir string) Holder {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
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
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dirFD < 0 {
		return
	}
	if l.f != nil {
		// Empty the record only when the file is still ours: one put in
		// its place by someone else is left alone.
		if l.check() == nil {
			_ = l.f.Truncate(0)
		}
		_ = unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
		_ = l.f.Close()
		l.f = nil
	}
	_ = unix.Flock(l.dirFD, unix.LOCK_UN)
	_ = unix.Close(l.dirFD)
	l.dirFD = -1
}
