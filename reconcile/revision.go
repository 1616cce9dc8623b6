package reconcile

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/esremote/esremote/spec"
)

// SpecRevision names the commit checked out in dir ("git:9f2c1e0", with
// "+dirty" when a spec file under dir differs from that commit), or ""
// when dir is not in a git work tree. It answers the operator's question
// "which commit is live?".
//
// It reads the repository's files itself (.git/HEAD, loose refs,
// packed-refs, a worktree's .git file and commondir, the index) and never
// runs git: git would execute the checkout's hooks and configured
// commands (core.fsmonitor) as the daemon's user, and refuses a checkout
// that another user owns unless told safe.directory=*. Reading is safe
// whoever owns the checkout. Nothing in the repository can make it block
// or read more than a bounded amount (spec.ReadFile).
//
// "+dirty" here means: a file tracked under dir is missing or its content
// differs from the index (the staged content, which after a checkout or a
// pull is the commit's), or a spec file (*.yaml, *.yml) under dir is not
// tracked at all. Other untracked files do not count: they are not specs.
func SpecRevision(dir string) string {
	repo, err := findRepo(dir)
	if err != nil {
		return ""
	}
	sha, err := repo.head()
	if err != nil || len(sha) < 7 {
		return ""
	}
	rev := "git:" + sha[:7]
	if repo.dirty(dir, len(sha)/2) {
		rev += "+dirty"
	}
	return rev
}

// Bounds on what SpecRevision reads.
const (
	maxRefFile   = 64 << 10 // HEAD, a loose ref, a .git file
	maxPackedRef = 16 << 20 // packed-refs of a repository with many tags
	maxIndex     = 64 << 20 // the index of a large repository
	maxSpecBlob  = spec.MaxFileSize
	maxRefDepth  = 5 // symbolic refs pointing at symbolic refs
)

// gitRepo is a work tree's git directories.
type gitRepo struct {
	work   string // the work tree's root
	gitDir string // its git dir (.git, or .git/worktrees/NAME)
	common string // the common dir: refs and packed-refs (= gitDir outside worktrees)
}

// findRepo finds the work tree containing dir: the nearest parent with a
// .git directory, or a .git file ("gitdir: PATH", a worktree or a
// submodule).
func findRepo(dir string) (*gitRepo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	for d := abs; ; d = filepath.Dir(d) {
		p := filepath.Join(d, ".git")
		if info, err := os.Stat(p); err == nil {
			r := &gitRepo{work: d, gitDir: p}
			if !info.IsDir() {
				b, err := spec.ReadFile(p, maxRefFile)
				if err != nil {
					return nil, err
				}
				target, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir: ")
				if !ok {
					return nil, fmt.Errorf("%s: not a gitdir file", p)
				}
				if !filepath.IsAbs(target) {
					target = filepath.Join(d, target)
				}
				r.gitDir = target
			}
			r.common = r.gitDir
			if b, err := spec.ReadFile(filepath.Join(r.gitDir, "commondir"), maxRefFile); err == nil {
				c := strings.TrimSpace(string(b))
				if !filepath.IsAbs(c) {
					c = filepath.Join(r.gitDir, c)
				}
				r.common = c
			}
			return r, nil
		}
		if filepath.Dir(d) == d {
			return nil, errors.New("not in a git work tree")
		}
	}
}

// head resolves HEAD to a commit ID (hex).
func (r *gitRepo) head() (string, error) {
	ref := "HEAD"
	for range maxRefDepth {
		v, err := r.readRef(ref)
		if err != nil {
			return "", err
		}
		target, symbolic := strings.CutPrefix(v, "ref: ")
		if !symbolic {
			if !isHex(v) {
				return "", fmt.Errorf("ref %s: %q is not an object ID", ref, v)
			}
			return v, nil
		}
		ref = strings.TrimSpace(target)
	}
	return "", errors.New("symbolic refs nest too deeply")
}

// readRef reads a ref's value: HEAD and per-worktree refs from the git
// dir, the rest from the common dir, loose before packed.
func (r *gitRepo) readRef(ref string) (string, error) {
	if strings.Contains(ref, "..") {
		return "", fmt.Errorf("ref %q: not a ref name", ref)
	}
	for _, d := range []string{r.gitDir, r.common} {
		if b, err := spec.ReadFile(filepath.Join(d, filepath.FromSlash(ref)), maxRefFile); err == nil {
			return strings.TrimSpace(string(b)), nil
		}
	}
	b, err := spec.ReadFile(filepath.Join(r.common, "packed-refs"), maxPackedRef)
	if err != nil {
		return "", fmt.Errorf("ref %s not found", ref)
	}
	for line := range strings.Lines(string(b)) {
		id, name, ok := strings.Cut(strings.TrimSpace(line), " ")
		if ok && name == ref && isHex(id) {
			return id, nil
		}
	}
	return "", fmt.Errorf("ref %s not found", ref)
}

func isHex(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// indexEntry is what dirty needs of one index entry.
type indexEntry struct {
	id            []byte
	size          uint32
	mtime, mtimeN uint32
	mode          uint32
}

// dirty reports whether the spec files under dir differ from the index
// (see SpecRevision). hashLen is the object ID length in bytes (20 for
// SHA-1, 32 for SHA-256). Anything it cannot read counts as clean: the
// revision is information, not a check.
func (r *gitRepo) dirty(dir string, hashLen int) bool {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	prefix, err := filepath.Rel(r.work, abs)
	if err != nil || strings.HasPrefix(prefix, "..") {
		return false
	}
	prefix = filepath.ToSlash(prefix)
	if prefix == "." {
		prefix = ""
	} else {
		prefix += "/"
	}
	data, err := spec.ReadFile(filepath.Join(r.gitDir, "index"), maxIndex)
	if err != nil {
		return false
	}
	entries, err := parseIndex(data, hashLen)
	if err != nil {
		return false
	}
	for path, e := range entries {
		if !strings.HasPrefix(path, prefix) {
			continue
		}
		if changed(filepath.Join(r.work, filepath.FromSlash(path)), e, hashLen) {
			return true
		}
	}
	// Spec files that are not tracked.
	untracked := false
	_ = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil || untracked {
			return filepath.SkipAll
		}
		if p != abs && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(p); d.IsDir() || (ext != ".yaml" && ext != ".yml") {
			return nil
		}
		rel, err := filepath.Rel(r.work, p)
		if err == nil {
			if _, ok := entries[filepath.ToSlash(rel)]; !ok {
				untracked = true
			}
		}
		return nil
	})
	return untracked
}

// changed reports whether the file at path differs from its index entry:
// missing, or (when its size or mtime differ from what the index
// recorded) with other content than the entry's blob.
func changed(path string, e indexEntry, hashLen int) bool {
	info, err := os.Lstat(path)
	if err != nil {
		return true
	}
	if e.mode&0o170000 == 0o160000 { // a submodule: not ours to judge
		return false
	}
	mt := info.ModTime()
	if uint32(info.Size()) == e.size && uint32(mt.Unix()) == e.mtime && uint32(mt.Nanosecond()) == e.mtimeN {
		return false // as git does: same stat, same content
	}
	var content []byte
	if info.Mode()&fs.ModeSymlink != 0 {
		t, err := os.Readlink(path)
		if err != nil {
			return true
		}
		content = []byte(t)
	} else {
		if content, err = spec.ReadFile(path, maxSpecBlob); err != nil {
			return true
		}
	}
	var h hash.Hash = sha1.New()
	if hashLen == sha256.Size {
		h = sha256.New()
	}
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write(content)
	return !bytes.Equal(h.Sum(nil), e.id)
}

// parseIndex reads the entries of a git index (versions 2 to 4; see
// git's Documentation/gitformat-index.txt), by path. Entries in a merge
// conflict (stage > 0) are kept as they are: a conflict is dirty anyway
// when the file holds conflict markers.
func parseIndex(data []byte, hashLen int) (map[string]indexEntry, error) {
	if len(data) < 12 || string(data[:4]) != "DIRC" {
		return nil, errors.New("not a git index")
	}
	version := binary.BigEndian.Uint32(data[4:8])
	if version < 2 || version > 4 {
		return nil, fmt.Errorf("git index version %d", version)
	}
	count := binary.BigEndian.Uint32(data[8:12])
	out := make(map[string]indexEntry, min(count, 1<<16))
	off := 12
	prev := ""
	fixed := 40 + hashLen + 2
	for range count {
		if off+fixed > len(data) {
			return nil, errors.New("git index truncated")
		}
		start := off
		e := indexEntry{
			mtime:  binary.BigEndian.Uint32(data[off+8:]),
			mtimeN: binary.BigEndian.Uint32(data[off+12:]),
			mode:   binary.BigEndian.Uint32(data[off+24:]),
			size:   binary.BigEndian.Uint32(data[off+36:]),
			id:     data[off+40 : off+40+hashLen],
		}
		flags := binary.BigEndian.Uint16(data[off+40+hashLen:])
		off += fixed
		if version >= 3 && flags&0x4000 != 0 {
			off += 2 // extended flags
		}
		var path string
		if version == 4 {
			strip, n := binary.Uvarint(data[off:])
			if n <= 0 || int(strip) > len(prev) {
				return nil, errors.New("git index: bad path prefix")
			}
			off += n
			end := bytes.IndexByte(data[off:], 0)
			if end < 0 {
				return nil, errors.New("git index truncated")
			}
			path = prev[:len(prev)-int(strip)] + string(data[off:off+end])
			off += end + 1
		} else {
			end := bytes.IndexByte(data[off:], 0)
			if end < 0 {
				return nil, errors.New("git index truncated")
			}
			path = string(data[off : off+end])
			off += end + 1
			// Entries are padded with NULs to a multiple of 8 bytes.
			if pad := (off - start) % 8; pad != 0 {
				off += 8 - pad
			}
		}
		prev = path
		out[path] = e
	}
	return out, nil
}
