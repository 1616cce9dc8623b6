package drift

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable clock for History.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func report(at time.Time, trigger Trigger, connections int) *Report {
	r := New(ModeRun, trigger, at)
	for range connections {
		r.Connections = append(r.Connections, Connection{Sync: SyncInSync, Health: HealthConnected})
	}
	r.Tally()
	return r
}

func TestHistorySaveListLast(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	h := &History{Dir: dir, Files: testFiles{}}

	if list, err := h.List(); err != nil || len(list) != 0 {
		t.Fatalf("empty history: %v, %v", list, err)
	}
	if _, err := h.Last(); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Last on empty history: %v, want fs.ErrNotExist", err)
	}

	p1, err := h.Save(report(at, TriggerStart, 1))
	if err != nil {
		t.Fatal(err)
	}
	p2, err := h.Save(report(at.Add(time.Minute), "Re Sync/..", 2))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "reports", "20261126T200000.000000000Z-start.json"); p1 != want {
		t.Errorf("path %s, want %s", p1, want)
	}
	if want := "20261126T200100.000000000Z-resync.json"; filepath.Base(p2) != want {
		t.Errorf("trigger not reduced to a file name: %s, want %s", filepath.Base(p2), want)
	}

	list, err := h.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Path != p2 || list[1].Path != p1 {
		t.Fatalf("List not newest first: %+v", list)
	}
	if e := list[0]; !e.Time.Equal(at.Add(time.Minute)) || e.Trigger != "Re Sync/.." || e.Mode != ModeRun || e.Summary.Connections != 2 {
		t.Errorf("entry %+v", e)
	}

	last, err := h.Last()
	if err != nil {
		t.Fatal(err)
	}
	if last.Summary.Connections != 2 {
		t.Errorf("Last is not the latest save: %+v", last.Summary)
	}

	// Permissions: 0700 directories, 0600 files.
	for path, want := range map[string]os.FileMode{
		dir: 0o700, filepath.Join(dir, ReportsDir): 0o700,
		p1: 0o600, p2: 0o600, filepath.Join(dir, LastReport): 0o600,
	} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
	}
}

func TestHistoryTightensReportsDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, ReportsDir), 0o755); err != nil {
		t.Fatal(err)
	}
	h := &History{Dir: dir, Files: testFiles{}}
	if _, err := h.Save(report(at, TriggerApply, 0)); err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(filepath.Join(dir, ReportsDir))
	if got := info.Mode().Perm(); got != 0o700 {
		t.Errorf("reports dir mode %v, want 0700", got)
	}
}

func TestHistoryPrune(t *testing.T) {
	h := NewHistory(t.TempDir(), 3, testFiles{})
	var paths []string
	for i := range 5 {
		p, err := h.Save(report(at.Add(time.Duration(i)*time.Second), TriggerResync, i))
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	list, err := h.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].Path != paths[4] || list[2].Path != paths[2] {
		t.Errorf("kept %+v, want the newest 3", list)
	}
	for _, p := range paths[:2] {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s not pruned: %v", p, err)
		}
	}
}

func TestHistoryDefaultKeep(t *testing.T) {
	h := NewHistory(t.TempDir(), 0, testFiles{})
	for i := range DefaultKeep + 2 {
		if _, err := h.Save(report(at.Add(time.Duration(i)*time.Second), TriggerResync, 0)); err != nil {
			t.Fatal(err)
		}
	}
	list, err := h.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != DefaultKeep {
		t.Errorf("kept %d reports, want %d", len(list), DefaultKeep)
	}
}

// TestHistoryConcurrentSaves saves reports with the same time and trigger
// from many goroutines and two History values on one directory (as the
// daemon and a CLI apply would): none may overwrite another.
func TestHistoryConcurrentSaves(t *testing.T) {
	dir := t.TempDir()
	hs := []*History{{Dir: dir, Files: testFiles{}}, {Dir: dir, Files: testFiles{}}}
	const n = 20
	var wg sync.WaitGroup
	paths := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			paths[i], errs[i] = hs[i%2].Save(report(at, TriggerFile, i))
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("save %d: %v", i, errs[i])
		}
		if seen[paths[i]] {
			t.Errorf("two saves wrote %s", paths[i])
		}
		seen[paths[i]] = true
	}
	list, err := hs[0].List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != n {
		t.Errorf("%d reports listed, want %d", len(list), n)
	}
	conns := map[int]bool{}
	for _, e := range list {
		conns[e.Summary.Connections] = true
	}
	if len(conns) != n {
		t.Errorf("reports overwrote each other: %d distinct of %d", len(conns), n)
	}
	if _, err := hs[1].Last(); err != nil {
		t.Errorf("last.json after concurrent saves: %v", err)
	}
}

// TestHistoryCrashLeftovers checks that temporary files a crash left are
// never read, that fresh ones (a write in progress elsewhere) are kept, and
// that stale ones are removed on the next Save.
func TestHistoryCrashLeftovers(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: at}
	h := &History{Dir: dir, Now: clk.now, Files: testFiles{}}
	if _, err := h.Save(report(at, TriggerApply, 1)); err != nil {
		t.Fatal(err)
	}
	reports := filepath.Join(dir, ReportsDir)
	stale := filepath.Join(reports, ".20261126T200500.000000000Z-apply.json"+testTempInfix+"123")
	fresh := filepath.Join(reports, ".20261126T200600.000000000Z-apply.json"+testTempInfix+"456")
	staleLast := filepath.Join(dir, "."+LastReport+testTempInfix+"789")
	for _, p := range []string{stale, fresh, staleLast} {
		if err := os.WriteFile(p, []byte(`{"schema": 1, "trig`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := at.Add(-time.Hour)
	for _, p := range []string{stale, staleLast} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(fresh, at, at); err != nil {
		t.Fatal(err)
	}

	list, err := h.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("List with leftovers: %+v, %v", list, err)
	}

	if _, err := h.Save(report(at.Add(time.Minute), TriggerApply, 2)); err != nil {
		t.Fatal(err)
	}
	for p, wantGone := range map[string]bool{stale: true, staleLast: true, fresh: false} {
		_, err := os.Stat(p)
		if gone := errors.Is(err, fs.ErrNotExist); gone != wantGone {
			t.Errorf("%s: removed %v, want %v", filepath.Base(p), gone, wantGone)
		}
	}
}

func TestHistoryCorruptReport(t *testing.T) {
	dir := t.TempDir()
	h := &History{Dir: dir, Files: testFiles{}}
	good, err := h.Save(report(at, TriggerApply, 1))
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, ReportsDir, "20261126T210000.000000000Z-apply.json")
	if err := os.WriteFile(bad, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	list, err := h.List()
	if err == nil || !strings.Contains(err.Error(), filepath.Base(bad)) {
		t.Errorf("List error %v, want one naming %s", err, bad)
	}
	if len(list) != 1 || list[0].Path != good {
		t.Errorf("List %+v, want only the readable report", list)
	}
}

// drift owns no file primitive: a History without Files can be read but
// refuses to save (writing is its user's, reconcile/statedir in esremote).
func TestHistoryWithoutFilesDoesNotSave(t *testing.T) {
	dir := t.TempDir()
	h := NewHistory(dir, 0, nil)
	if _, err := h.Save(New(ModeApply, TriggerApply, time.Unix(0, 0))); err == nil || !strings.Contains(err.Error(), "no Files") {
		t.Fatalf("save without Files: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("wrote %v", ents)
	}
	if list, err := h.List(); err != nil || len(list) != 0 {
		t.Fatalf("list: %v %v", list, err)
	}
}
