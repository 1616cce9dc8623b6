package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/fsnotify/fsnotify"
)

// Watch watches the spec directory dir and sends a path on the returned
// channel for every change that may matter; the Loop debounces them. The
// channel closes when ctx is done or the watch fails for good.
//
// What it follows, without polling:
//
//   - every directory under dir, recursively, skipping dot-directories as
//     spec.Load does; directories created later are added, and a change
//     is sent for them since files may have landed before the watch;
//   - editors' saves through a temporary file and a rename, and the bursts
//     of git pull and git checkout (each file event is sent; the Loop's
//     quiescence turns a burst into one reload);
//   - dir being a symlink swapped atomically (ln -sfn new dir): the parent
//     of dir is watched too, and when the name dir changes the link is
//     resolved again and the watches move to the new target;
//   - symlinked subdirectories, which spec.Load follows: their targets are
//     watched too (a link that loops back is not followed), and a link
//     created or swapped later is followed as it appears.
//
// Events on dot-files (editor swap files, .git) are not sent.
func Watch(ctx context.Context, dir string, log *slog.Logger) (<-chan string, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	w := &watcher{fw: fw, log: log, link: abs, parent: filepath.Dir(abs), dirs: map[string]bool{}}
	if err := fw.Add(w.parent); err != nil {
		fw.Close()
		return nil, fmt.Errorf("watch %s: %w", w.parent, err)
	}
	if err := w.resolve(); err != nil {
		fw.Close()
		return nil, err
	}
	out := make(chan string, 64)
	go w.run(ctx, out)
	return out, nil
}

type watcher struct {
	fw     *fsnotify.Watcher
	log    *slog.Logger
	link   string          // the spec dir as given, absolute
	parent string          // its parent, watched for symlink swaps
	root   string          // link with symlinks resolved
	dirs   map[string]bool // watched directories under root
}

// resolve (re)resolves the spec dir and watches its tree, dropping the
// watches of a previous target.
func (w *watcher) resolve() error {
	root, err := filepath.EvalSymlinks(w.link)
	if err != nil {
		return fmt.Errorf("watch %s: %w", w.link, err)
	}
	if root == w.root {
		return nil
	}
	for d := range w.dirs {
		_ = w.fw.Remove(d)
		delete(w.dirs, d)
	}
	w.root = root
	return w.addTree(root)
}

// addTree watches dir and every non-dot directory under it, following
// symlinked directories.
func (w *watcher) addTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return fmt.Errorf("watch %s: %w", p, err)
			}
			return nil // vanished mid-walk: its removal sends an event
		}
		if d.Type()&fs.ModeSymlink != 0 && !strings.HasPrefix(d.Name(), ".") {
			w.addLink(p)
			return nil
		}
		if !d.IsDir() {
			return nil
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if w.dirs[p] {
			return nil
		}
		if err := w.fw.Add(p); err != nil {
			if p == dir {
				return fmt.Errorf("watch %s: %w", p, err)
			}
			w.log.Warn("cannot watch directory", "path", p, "err", err)
			return nil
		}
		w.dirs[p] = true
		return nil
	})
}

// addLink watches the tree a symlink names when it is a directory that
// neither is watched already nor contains the spec directory (a loop;
// spec.Load reports it).
func (w *watcher) addLink(p string) {
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		return // dangling: spec.Load reports it
	}
	if fi, err := os.Stat(target); err != nil || !fi.IsDir() || w.dirs[target] {
		return
	}
	if target == w.root || strings.HasPrefix(w.root, target+string(filepath.Separator)) || target == "/" {
		return
	}
	if err := w.addTree(target); err != nil {
		w.log.Warn("cannot watch directory", "path", target, "err", err)
	}
}

func (w *watcher) run(ctx context.Context, out chan<- string) {
	defer close(out)
	defer w.fw.Close()
	send := func(p string) bool {
		select {
		case out <- p:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case err, ok := <-w.fw.Errors:
			if !ok {
				return
			}
			w.log.Warn("spec directory watch", "err", err)
			if errors.Is(err, fsnotify.ErrEventOverflow) && !send(w.root) {
				return // events were lost: a reload rescans everything
			}
		case ev, ok := <-w.fw.Events:
			if !ok {
				return
			}
			p, relevant := w.handle(ev)
			if relevant && !send(p) {
				return
			}
		}
	}
}

// handle updates the watches for one event and says whether the Loop
// should hear of it.
func (w *watcher) handle(ev fsnotify.Event) (string, bool) {
	dir := filepath.Dir(ev.Name)
	if dir == w.parent && ev.Name != w.root && !w.dirs[dir] {
		// The parent of the spec dir: only the spec dir's own name counts.
		if ev.Name != w.link {
			return "", false
		}
		if err := w.resolve(); err != nil {
			w.log.Warn("spec directory moved", "path", w.link, "err", err)
		}
		return w.link, true
	}
	if strings.HasPrefix(filepath.Base(ev.Name), ".") {
		return "", false
	}
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		if w.dirs[ev.Name] {
			_ = w.fw.Remove(ev.Name)
			delete(w.dirs, ev.Name)
		}
		return ev.Name, true
	}
	if ev.Has(fsnotify.Create) {
		if fi, err := os.Lstat(ev.Name); err == nil && fi.IsDir() {
			if err := w.addTree(ev.Name); err != nil {
				w.log.Warn("cannot watch directory", "path", ev.Name, "err", err)
			}
		} else if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			w.addLink(ev.Name)
		}
	}
	return ev.Name, ev.Has(fsnotify.Create) || ev.Has(fsnotify.Write)
}
