package drift

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Layout of the state directory that History owns.
const (
	// ReportsDir holds one file per saved report.
	ReportsDir = "reports"
	// LastReport is the most recently saved report, in the state dir itself.
	LastReport = "last.json"
	// DefaultKeep is how many reports History keeps when Keep is not set:
	// about a day of a daemon resyncing every half hour.
	DefaultKeep = 50
)

// Permissions: reports describe the estate's topology, so only esremote's
// user reads them.
const (
	dirPerm  os.FileMode = 0o700
	filePerm os.FileMode = 0o600
)

// staleTemp is how old a temporary file must be before History removes it as
// the leftover of a crash: far longer than any write takes, so a write in
// progress in another process is never removed under it.
const staleTemp = 10 * time.Minute

// reportTimeFormat names report files; it is fixed-width, so file names sort
// in time order.
const reportTimeFormat = "20060102T150405.000000000Z"

// Files is how History writes the state directory: drift imports no other
// esremote package, so the file primitives come from its user
// (reconcile/statedir.Files in esremote).
type Files interface {
	// WriteFile replaces path so that readers see the old file or the
	// whole new one, even across a crash, and is durable when it returns.
	WriteFile(path string, data []byte, perm os.FileMode) error
	// CreateFile is WriteFile that fails with fs.ErrExist when path
	// exists, also when another process created it a moment ago.
	CreateFile(path string, data []byte, perm os.FileMode) error
	// SyncDir makes removals in dir durable.
	SyncDir(dir string) error
	// IsTemp reports whether a file name is a temporary file the writer
	// may have left behind in a crash.
	IsTemp(name string) bool
}

// History keeps the reports of past passes in a state directory:
// reports/<timestamp>-<trigger>.json, one per Save, the newest Keep of them,
// and last.json, a copy of the latest. Every file is written through Files
// (atomically) with mode 0600, in directories History creates with mode
// 0700. Temporary files a crash left behind are never read and are removed
// on a later Save.
//
// A History is safe for concurrent use, and several processes (the daemon
// and an `esremote apply`) may share one state directory: no Save
// overwrites another's report. Do not copy a History after first use.
type History struct {
	// Dir is the state directory.
	Dir string
	// Files writes it; Save needs it, List and Last do not.
	Files Files
	// Keep is how many reports to keep; zero or less means DefaultKeep.
	Keep int
	// Now is the clock for reports without GeneratedAt and for judging
	// leftovers; nil means time.Now.
	Now func() time.Time

	mu sync.Mutex
}

// NewHistory returns the History of state directory dir keeping the last
// keep reports (DefaultKeep when keep is zero or less), written with files
// (nil for a History that is only read).
func NewHistory(dir string, keep int, files Files) *History {
	return &History{Dir: dir, Keep: keep, Files: files}
}

// Entry describes one saved report.
type Entry struct {
	Path    string    // the report file
	Time    time.Time // the report's GeneratedAt
	Trigger Trigger
	Mode    Mode
	Summary Summary
	Errors  int // len(Report.Errors)
}

func (h *History) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *History) keep() int {
	if h.Keep > 0 {
		return h.Keep
	}
	return DefaultKeep
}

// Save writes r as a new report file and as last.json, then prunes reports
// beyond Keep and stale temporary files. It returns the new report's path,
// also when only pruning failed (then with the error). Save does not modify r.
func (h *History) Save(r *Report) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.Files == nil {
		return "", errors.New("save report: the history has no Files to write with")
	}
	reports := filepath.Join(h.Dir, ReportsDir)
	if err := os.MkdirAll(reports, dirPerm); err != nil {
		return "", fmt.Errorf("save report: %w", err)
	}
	if err := os.Chmod(reports, dirPerm); err != nil {
		return "", fmt.Errorf("save report: %w", err)
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		return "", fmt.Errorf("save report: %w", err)
	}
	at := r.GeneratedAt
	if at.IsZero() {
		at = h.now()
	}
	stem := at.UTC().Format(reportTimeFormat) + "-" + fileTrigger(r.Trigger)
	var path string
	for i := 1; ; i++ {
		name := stem + ".json"
		if i > 1 {
			name = stem + "-" + strconv.Itoa(i) + ".json"
		}
		path = filepath.Join(reports, name)
		err := h.Files.CreateFile(path, buf.Bytes(), filePerm)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("save report: %w", err)
		}
	}
	if err := h.Files.WriteFile(filepath.Join(h.Dir, LastReport), buf.Bytes(), filePerm); err != nil {
		return "", fmt.Errorf("save report: %w", err)
	}
	if err := h.prune(); err != nil {
		return path, fmt.Errorf("save report: %w", err)
	}
	return path, nil
}

// fileTrigger reduces a trigger to [a-z0-9_-] for a file name.
func fileTrigger(t Trigger) string {
	s := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return -1
	}, string(t))
	if s == "" {
		return "unknown"
	}
	return s
}

// isReportName reports whether name is a report file Save wrote.
func isReportName(name string) bool {
	return len(name) > len(reportTimeFormat) && name[0] >= '0' && name[0] <= '9' &&
		strings.HasSuffix(name, ".json")
}

// prune removes the oldest reports beyond Keep and temporary files older
// than staleTemp.
func (h *History) prune() error {
	var errs []error
	reports := filepath.Join(h.Dir, ReportsDir)
	ents, err := os.ReadDir(reports)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range ents {
		if isReportName(e.Name()) && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	if n := len(names) - h.keep(); n > 0 {
		for _, name := range names[:n] {
			if err := os.Remove(filepath.Join(reports, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	errs = append(errs, h.removeStaleTemps(reports), h.removeStaleTemps(h.Dir))
	if err := h.Files.SyncDir(reports); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (h *History) removeStaleTemps(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	cutoff := h.now().Add(-staleTemp)
	var errs []error
	for _, e := range ents {
		if !h.Files.IsTemp(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			continue // gone already, or possibly still being written
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// List describes the saved reports, newest first. A report that cannot be
// read is left out and named in the returned error; the entries of the
// others are returned with it. No history yet is an empty list.
func (h *History) List() ([]Entry, error) {
	reports := filepath.Join(h.Dir, ReportsDir)
	ents, err := os.ReadDir(reports)
	if errors.Is(err, fs.ErrNotExist) {
		return []Entry{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list reports: %w", err)
	}
	list := []Entry{}
	var errs []error
	for _, e := range ents {
		if !isReportName(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(reports, e.Name())
		r, err := readReport(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // pruned since ReadDir
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		list = append(list, Entry{Path: path, Time: r.GeneratedAt, Trigger: r.Trigger, Mode: r.Mode,
			Summary: r.Summary, Errors: len(r.Errors)})
	}
	slices.SortFunc(list, func(a, b Entry) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return strings.Compare(b.Path, a.Path)
	})
	return list, errors.Join(errs...)
}

// Last returns the most recently saved report. With no report saved yet the
// error wraps fs.ErrNotExist.
func (h *History) Last() (*Report, error) {
	r, err := readReport(filepath.Join(h.Dir, LastReport))
	if err != nil {
		return nil, fmt.Errorf("last report: %w", err)
	}
	return r, nil
}

func readReport(path string) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := ReadJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}
