// Package statedir holds esremote's state-directory file primitives: where
// the state directory is (StateDir), writes that a crash never leaves half
// done (WriteFileAtomic, CreateFileAtomic, SyncDir), and the writer lock
// (LockStateDir). It imports no other esremote package: the ledger stores
// (reconcile, reconcile/state), the importer and the CLI use it, and
// drift's report history gets it as its Files.
package statedir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// tempInfix marks WriteFileAtomic's temporary files: "."+base+tempInfix+random.
// IsTemp recognises leftovers of a crash by it.
const tempInfix = ".tmp-"

// IsTemp reports whether a file name is a temporary file of
// WriteFileAtomic or CreateFileAtomic (a crash may leave one behind).
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, tempInfix)
}

// Files is drift.History's writer (drift.Files): the primitives of this
// package, atomic and durable.
type Files struct{}

// WriteFile is WriteFileAtomic.
func (Files) WriteFile(path string, data []byte, perm os.FileMode) error {
	return WriteFileAtomic(path, data, perm)
}

// CreateFile is CreateFileAtomic.
func (Files) CreateFile(path string, data []byte, perm os.FileMode) error {
	return CreateFileAtomic(path, data, perm)
}

// SyncDir is SyncDir.
func (Files) SyncDir(dir string) error { return SyncDir(dir) }

// IsTemp is IsTemp.
func (Files) IsTemp(name string) bool { return IsTemp(name) }

// WriteFileAtomic writes data to path so that readers see either the old
// file or the whole new one, never a part, even across a crash: it writes a
// temporary file in the same directory, fsyncs it, sets perm (exactly, not
// filtered by the umask), renames it over path and fsyncs the directory. The
// directory must exist. On error the temporary file is removed.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := writeTemp(dir, base, data, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return SyncDir(dir)
}

// CreateFileAtomic is WriteFileAtomic that never replaces an existing
// file: it links the synced temporary file to path, which fails with
// fs.ErrExist when path exists, also when another process created it a
// moment ago.
func CreateFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := writeTemp(dir, base, data, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Remove(tmp); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return SyncDir(dir)
}

// writeTemp writes data to a new temporary file in dir named after base,
// sets perm, fsyncs and closes it, and returns its path.
func writeTemp(dir, base string, data []byte, perm os.FileMode) (_ string, err error) {
	f, err := os.CreateTemp(dir, "."+base+tempInfix+"*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return "", err
	}
	if err := f.Chmod(perm); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// SyncDir makes a rename or removal in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// Default state directories (DESIGN §2).
const (
	// SystemStateDir is the state directory of esremote running as root
	// without systemd's StateDirectory=.
	SystemStateDir = "/var/lib/esremote"
	// stateSubdir is esremote's directory under $XDG_STATE_HOME.
	stateSubdir = "esremote"
)

// StateDir returns the state directory, the first of:
//
//  1. flag, the --state-dir value, when not empty;
//  2. $STATE_DIRECTORY, set by systemd's StateDirectory= (its first entry
//     when it lists several, colon-separated);
//  3. /var/lib/esremote when running as root (effective uid 0);
//  4. $XDG_STATE_HOME/esremote when $XDG_STATE_HOME is an absolute path;
//  5. $HOME/.local/state/esremote (the XDG default).
//
// getenv is os.Getenv in production. StateDir does not create the
// directory; the stores and the report history do. It fails only when none of these applies.
func StateDir(getenv func(string) string, flag string) (string, error) {
	return stateDir(getenv, flag, os.Geteuid())
}

func stateDir(getenv func(string) string, flag string, euid int) (string, error) {
	if flag != "" {
		return filepath.Clean(flag), nil
	}
	if sd := getenv("STATE_DIRECTORY"); sd != "" {
		first, _, _ := strings.Cut(sd, ":")
		if first != "" {
			return filepath.Clean(first), nil
		}
	}
	if euid == 0 {
		return SystemStateDir, nil
	}
	// The XDG spec says relative paths are invalid and must be ignored.
	if x := getenv("XDG_STATE_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, stateSubdir), nil
	}
	if home := getenv("HOME"); filepath.IsAbs(home) {
		return filepath.Join(home, ".local", "state", stateSubdir), nil
	}
	return "", errors.New("no state directory: set --state-dir, $STATE_DIRECTORY, $XDG_STATE_HOME or $HOME")
}
