package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// waitEvent is a failsafe, not a wait: inotify delivers within
// milliseconds, and the test fails rather than hangs when it does not.
const waitEvent = 10 * time.Second

func startWatch(t *testing.T, dir string) <-chan string {
	t.Helper()
	ch, err := Watch(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// expect drains events until one contains sub.
func expect(t *testing.T, ch <-chan string, sub string) {
	t.Helper()
	deadline := time.After(waitEvent)
	for {
		select {
		case p, ok := <-ch:
			if !ok {
				t.Fatalf("watch closed waiting for %q", sub)
			}
			if strings.Contains(p, sub) {
				return
			}
		case <-deadline:
			t.Fatalf("no event for %q", sub)
		}
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWatchSaveAndRename(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.yaml"), "x")
	ch := startWatch(t, dir)

	write(t, filepath.Join(dir, "a.yaml"), "y")
	expect(t, ch, "a.yaml")

	// An editor's save: write a temp file, rename it over the original.
	write(t, filepath.Join(dir, "b.yaml.tmp"), "z")
	if err := os.Rename(filepath.Join(dir, "b.yaml.tmp"), filepath.Join(dir, "b.yaml")); err != nil {
		t.Fatal(err)
	}
	expect(t, ch, "b.yaml")
}

func TestWatchNewSubdirectory(t *testing.T) {
	dir := t.TempDir()
	ch := startWatch(t, dir)
	if err := os.MkdirAll(filepath.Join(dir, "team", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	expect(t, ch, "team")
	// A file in a directory created after the watch started.
	write(t, filepath.Join(dir, "team", "c.yaml"), "c")
	expect(t, ch, filepath.Join("team", "c.yaml"))
}

func TestWatchIgnoresDotFiles(t *testing.T) {
	dir := t.TempDir()
	ch := startWatch(t, dir)
	write(t, filepath.Join(dir, ".a.yaml.swp"), "x")
	write(t, filepath.Join(dir, "z.yaml"), "x") // a marker after it
	select {
	case p := <-ch:
		if strings.Contains(p, ".swp") {
			t.Fatalf("event for a dot-file: %s", p)
		}
	case <-time.After(waitEvent):
		t.Fatal("no event")
	}
}

func TestWatchSymlinkSwap(t *testing.T) {
	base := t.TempDir()
	v1, v2 := filepath.Join(base, "v1"), filepath.Join(base, "v2")
	write(t, filepath.Join(v1, "a.yaml"), "1")
	write(t, filepath.Join(v2, "a.yaml"), "2")
	link := filepath.Join(base, "current")
	if err := os.Symlink(v1, link); err != nil {
		t.Fatal(err)
	}
	ch := startWatch(t, link)

	// ln -sfn v2 current: a new link renamed over the old one.
	tmp := filepath.Join(base, ".current.tmp")
	if err := os.Symlink(v2, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
	expect(t, ch, "current")
	// The watch follows the new target…
	write(t, filepath.Join(v2, "b.yaml"), "b")
	expect(t, ch, filepath.Join("v2", "b.yaml"))
	// …and no longer the old one: a change there is not sent before the
	// next change in v2.
	write(t, filepath.Join(v1, "old.yaml"), "o")
	write(t, filepath.Join(v2, "marker.yaml"), "m")
	ctx, cancel := context.WithTimeout(t.Context(), waitEvent)
	defer cancel()
	for {
		select {
		case p := <-ch:
			if strings.Contains(p, "old.yaml") {
				t.Fatalf("event from the old target: %s", p)
			}
			if strings.Contains(p, "marker.yaml") {
				return
			}
		case <-ctx.Done():
			t.Fatal("no event for the marker")
		}
	}
}

func TestWatchStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := Watch(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("event after cancel")
		}
	case <-time.After(waitEvent):
		t.Fatal("watch did not stop")
	}
}

// A symlinked subdirectory is watched through its target, as spec.Load
// reads it, also when the link appears later; a link that loops back to
// a parent is not followed.
func TestWatchSymlinkedSubdirectory(t *testing.T) {
	base := t.TempDir()
	specs, shared, later := filepath.Join(base, "specs"), filepath.Join(base, "shared"), filepath.Join(base, "later")
	write(t, filepath.Join(specs, "a.yaml"), "a")
	write(t, filepath.Join(shared, "b.yaml"), "b")
	write(t, filepath.Join(later, "c.yaml"), "c")
	if err := os.Symlink("../shared", filepath.Join(specs, "team")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..", filepath.Join(shared, "loop")); err != nil {
		t.Fatal(err)
	}
	ch := startWatch(t, specs)

	write(t, filepath.Join(shared, "b.yaml"), "b2")
	expect(t, ch, "b.yaml")

	if err := os.Symlink("../later", filepath.Join(specs, "late")); err != nil {
		t.Fatal(err)
	}
	expect(t, ch, "late")
	write(t, filepath.Join(later, "c.yaml"), "c2")
	expect(t, ch, "c.yaml")
}
