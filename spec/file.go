package spec

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// ReadFile reads the regular file at path, refusing anything else before
// it opens it: a named pipe (FIFO) would block the open forever, and a
// device such as /dev/zero never ends. A symlink is followed to what it
// names, which must be a regular file too. At most limit+1 bytes are read,
// so a file that is larger than limit (or grows past it) costs no more
// memory than that: the error says so.
//
// The check is made twice: on the path (Stat) before opening, and on the
// open file (Fstat), so that a file swapped for a FIFO between the two
// cannot block: the open itself does not wait (O_NONBLOCK).
func ReadFile(path string, limit int64) ([]byte, error) {
	info, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		if info, err = os.Stat(path); err != nil {
			return nil, err
		}
	}
	if err := regularFile(info, limit); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if info, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := regularFile(info, limit); err != nil {
		return nil, err
	}
	// The buffer is sized from the stat, as os.ReadFile sizes it (io.ReadAll
	// starts at 512 bytes and copies the file each time it doubles), plus
	// one byte so the read that sees EOF needs no larger buffer. The file
	// may have changed since: the limit, not the stat, ends the read.
	data := make([]byte, 0, min(info.Size(), limit)+1)
	r := io.LimitReader(f, limit+1)
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := r.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if int64(len(data)) > limit {
		return nil, &TooLargeError{Limit: limit}
	}
	return data, nil
}

// NotRegularError is ReadFile's refusal of something that is not a
// regular file.
type NotRegularError struct {
	// Kind names what it is: "a named pipe (FIFO)", "a character device"…
	Kind string
}

func (e *NotRegularError) Error() string {
	return "it is " + e.Kind + ", not a regular file"
}

// TooLargeError is ReadFile's refusal of a file larger than its limit.
type TooLargeError struct {
	// Size is the size the file claimed, or 0 when it grew while read.
	Size  int64
	Limit int64
}

func (e *TooLargeError) Error() string {
	if e.Size > 0 {
		return fmt.Sprintf("it is %s, more than the limit of %s", byteSize(e.Size), byteSize(e.Limit))
	}
	return "it is larger than the limit of " + byteSize(e.Limit)
}

// byteSize formats n as "8 MiB", "3.0 GiB" or "512 bytes".
func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// regularFile refuses what is not a regular file of at most limit bytes.
func regularFile(info fs.FileInfo, limit int64) error {
	if !info.Mode().IsRegular() {
		return &NotRegularError{Kind: fileKind(info.Mode())}
	}
	if info.Size() > limit {
		return &TooLargeError{Size: info.Size(), Limit: limit}
	}
	return nil
}

// fileKind names a file mode's type for messages.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m&fs.ModeIrregular != 0:
		return "an irregular file"
	}
	return "not a regular file"
}

// isSpecName reports whether a file name is a spec file's: *.yaml or *.yml.
func isSpecName(name string) bool {
	ext := filepath.Ext(name)
	return ext == ".yaml" || ext == ".yml"
}

// specFiles lists the *.yaml and *.yml files under root, slash-separated
// and relative to root, sorted; dot-files and dot-directories are skipped.
//
// Symlinks are followed: a symlinked spec file is read from its target, a
// symlinked directory is walked under the link's name (a checkout that
// links a team's directory from elsewhere). A link that would walk into a
// directory it is already inside (a loop), or that points nowhere, is a
// problem at the link, never skipped in silence: a Connection that is not
// loaded would be planned for deletion. Entries with a spec file's name
// that are not regular files are listed too, so that reading them reports
// what they are.
func specFiles(root string) ([]string, Problems, error) {
	rootInfo, err := os.Stat(root)
	if err != nil {
		return nil, nil, err
	}
	real, err := filepath.EvalSymlinks(root)
	if err == nil {
		real, err = filepath.Abs(real)
	}
	if err != nil {
		return nil, nil, err
	}
	w := &specWalk{root: real}
	if err := w.dir(root, "", []fs.FileInfo{rootInfo}); err != nil {
		return nil, nil, err
	}
	slices.Sort(w.files)
	return w.files, w.problems, nil
}

type specWalk struct {
	root     string
	files    []string
	problems Problems
}

func (w *specWalk) errorf(rel, format string, a ...any) {
	w.problems = append(w.problems, Problem{Pos: Pos{File: rel, Line: 1, Column: 1}, Severity: SeverityError, Message: fmt.Sprintf(format, a...)})
}

// dir walks one directory; rel is its slash path under root ("" for root)
// and ancestors the directories it is inside, itself last, to detect loops.
func (w *specWalk) dir(path, rel string, ancestors []fs.FileInfo) error {
	entries, err := os.ReadDir(path)
	if err != nil {
		if rel == "" {
			return err
		}
		w.errorf(rel, "cannot read directory: %v", unwrapPathError(err))
		return nil
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(path, name)
		r := name
		if rel != "" {
			r = rel + "/" + name
		}
		mode := e.Type()
		if mode&fs.ModeSymlink != 0 {
			target, err := os.Stat(p)
			if err != nil {
				if isSpecName(name) || errors.Is(err, syscall.ELOOP) {
					w.errorf(r, "symlink cannot be followed: %v: fix or remove the link", unwrapPathError(err))
				} else if errors.Is(err, fs.ErrNotExist) {
					// A dangling link might have been a directory of specs.
					w.errorf(r, "symlink points to nothing (%s): fix or remove the link", linkTarget(p))
				}
				continue
			}
			if !target.IsDir() {
				if isSpecName(name) {
					w.files = append(w.files, r)
				}
				continue
			}
			if slices.ContainsFunc(ancestors, func(a fs.FileInfo) bool { return os.SameFile(a, target) }) || w.contains(p) {
				w.errorf(r, "symlink to %s loops back to a directory that contains it: remove the link", linkTarget(p))
				continue
			}
			if err := w.dir(p, r, append(slices.Clip(ancestors), target)); err != nil {
				return err
			}
			continue
		}
		if e.IsDir() {
			info, err := e.Info()
			if err != nil {
				w.errorf(r, "cannot read directory: %v", unwrapPathError(err))
				continue
			}
			if err := w.dir(p, r, append(slices.Clip(ancestors), info)); err != nil {
				return err
			}
			continue
		}
		if isSpecName(name) {
			w.files = append(w.files, r)
		}
	}
	return nil
}

// contains reports whether the directory the link p names contains the
// root: walking it would come back to the root.
func (w *specWalk) contains(p string) bool {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return false
	}
	return real == "/" || strings.HasPrefix(w.root, real+string(filepath.Separator))
}

// linkTarget is what a symlink names, for messages.
func linkTarget(p string) string {
	t, err := os.Readlink(p)
	if err != nil {
		return "?"
	}
	return t
}
