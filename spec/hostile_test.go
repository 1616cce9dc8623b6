package spec

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Tests of files that are not what they claim: FIFOs, devices, huge sparse
// files, symlinked roots and directories (issue 18). Each would hang,
// exhaust memory or skip specs silently before.

// hangLimit is how long a Load may take before it counts as hung. A
// correct Load of these inputs takes milliseconds.
const hangLimit = 5 * time.Second

// loadWithin runs Load(dir) and fails the test if it does not return
// within hangLimit (a FIFO blocks an unguarded open forever).
func loadWithin(t *testing.T, dir string) (*Set, Problems, error) {
	t.Helper()
	type result struct {
		set      *Set
		problems Problems
		err      error
	}
	done := make(chan result, 1)
	go func() {
		s, p, err := Load(dir)
		done <- result{s, p, err}
	}()
	select {
	case r := <-done:
		return r.set, r.problems, r.err
	case <-time.After(hangLimit):
		t.Fatalf("Load(%s) did not return within %s", dir, hangLimit)
		return nil, nil, nil
	}
}

// render renders problems as validate prints them.
func render(ps Problems) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	return b.String()
}

const goodCluster = "apiVersion: esremote/v1\nkind: Cluster\nname: a\nelasticsearch:\n  url: https://a.example.com:9243\n  auth: {api_key: {env: A}}\n"

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
}

func TestLoadRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.yaml": goodCluster})
	mkfifo(t, filepath.Join(dir, "fifo.yaml"))
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero.yaml")); err != nil {
		t.Fatal(err)
	}
	_, problems, err := loadWithin(t, dir)
	if _, ok := AsInvalid(err); !ok {
		t.Fatalf("Load: %v, want an invalid spec set", err)
	}
	want := "fifo.yaml:1:1: error: file is a named pipe (FIFO), not a regular file: spec files are regular files; remove it or rename it so it does not end in .yaml/.yml\n" +
		"zero.yaml:1:1: error: file is a character device, not a regular file: spec files are regular files; remove it or rename it so it does not end in .yaml/.yml\n"
	if got := render(problems); got != want {
		t.Errorf("problems:\n%s\nwant:\n%s", got, want)
	}
}

// A 3 GiB sparse file is refused from its size, without reading it:
// without the memory a read would take.
func TestLoadRefusesHugeFileWithoutReadingIt(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.yaml": goodCluster})
	f, err := os.Create(filepath.Join(dir, "huge.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(3 << 30); err != nil {
		t.Skipf("sparse file: %v", err)
	}
	f.Close()

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, problems, err := loadWithin(t, dir)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if _, ok := AsInvalid(err); !ok {
		t.Fatalf("Load: %v, want an invalid spec set", err)
	}
	want := "huge.yaml:1:1: error: file is 3.0 GiB; spec files are limited to 8 MiB: split it into several files\n"
	if got := render(problems); got != want {
		t.Errorf("problems:\n%s\nwant:\n%s", got, want)
	}
	// Refused without reading it: what proves that is the allocation
	// below, not a wall-clock bound (the time is logged).
	t.Logf("refused in %s, %d KiB allocated", elapsed.Round(time.Microsecond), (after.TotalAlloc-before.TotalAlloc)>>10)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("Load allocated %d MiB for a refused file, want under 16 MiB", alloc>>20)
	}
}

// ReadFile reads through a limit: a file that claims a small size but
// keeps growing (here a device the size check cannot see) never costs more
// than limit+1 bytes. /proc files report size 0.
func TestReadFileLimit(t *testing.T) {
	data, err := ReadFile("/proc/self/status", 1<<20)
	if err != nil || len(data) == 0 {
		t.Skipf("/proc/self/status: %v", err)
	}
	_, err = ReadFile("/proc/self/status", 16)
	if _, ok := err.(*TooLargeError); !ok {
		t.Fatalf("ReadFile with a 16-byte limit: %v, want *TooLargeError", err)
	}
	if err.Error() != "it is larger than the limit of 16 bytes" {
		t.Errorf("error = %q", err)
	}
}

// A symlinked root (live -> releases/2, as docs/operations.md deploys) is
// loaded from its target; a swap of the link loads the new target.
func TestLoadSymlinkedRoot(t *testing.T) {
	base := t.TempDir()
	for _, rel := range []string{"r1", "r2"} {
		if err := os.MkdirAll(filepath.Join(base, "releases", rel), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(base, "releases/r1/a.yaml"), []byte(goodCluster), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "releases/r2/a.yaml"), []byte(strings.Replace(goodCluster, "name: a", "name: b", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	live := filepath.Join(base, "live")
	if err := os.Symlink("releases/r1", live); err != nil {
		t.Fatal(err)
	}
	s1, _, err := loadWithin(t, live)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if s1.Files != 1 || len(s1.Clusters) != 1 || s1.Clusters[0].Name != "a" {
		t.Fatalf("loaded %d files, clusters %v; want a.yaml with Cluster a", s1.Files, s1.Clusters)
	}
	tmp := filepath.Join(base, "live.new")
	if err := os.Symlink("releases/r2", tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, live); err != nil {
		t.Fatal(err)
	}
	s2, _, err := loadWithin(t, live)
	if err != nil {
		t.Fatalf("Load after the swap: %v", err)
	}
	if len(s2.Clusters) != 1 || s2.Clusters[0].Name != "b" || s2.Digest == s1.Digest {
		t.Errorf("after the swap: clusters %v, digest changed %v; want Cluster b and a new digest", s2.Clusters, s2.Digest != s1.Digest)
	}
}

// A symlinked subdirectory is walked under the link's name; a link that
// loops back, or points nowhere, is an error at the link.
func TestLoadSymlinkedSubdirectories(t *testing.T) {
	base := t.TempDir()
	shared := filepath.Join(base, "shared")
	specs := filepath.Join(base, "specs")
	for _, d := range []string{shared, specs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(specs, "a.yaml"), []byte(goodCluster), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shared, "b.yaml"), []byte(strings.Replace(goodCluster, "name: a", "name: b", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../shared", filepath.Join(specs, "team")); err != nil {
		t.Fatal(err)
	}
	set, problems, err := loadWithin(t, specs)
	if err != nil {
		t.Fatalf("Load: %v\n%s", err, render(problems))
	}
	if set.Files != 2 || set.Cluster("b") == nil || set.Cluster("b").Pos.File != "team/b.yaml" {
		t.Fatalf("loaded %d files; want a.yaml and team/b.yaml with Cluster b", set.Files)
	}

	if err := os.Symlink("..", filepath.Join(shared, "loop")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../nowhere", filepath.Join(specs, "gone")); err != nil {
		t.Fatal(err)
	}
	_, problems, err = loadWithin(t, specs)
	if _, ok := AsInvalid(err); !ok {
		t.Fatalf("Load: %v, want an invalid spec set", err)
	}
	want := "gone:1:1: error: symlink points to nothing (../nowhere): fix or remove the link\n" +
		"team/loop:1:1: error: symlink to .. loops back to a directory that contains it: remove the link\n"
	if got := render(problems); got != want {
		t.Errorf("problems:\n%s\nwant:\n%s", got, want)
	}
}

// A FIFO or a device as a {file:} secret is refused at once, naming what
// it is; before, the open blocked forever.
func TestResolveRefusesFIFOAndDevices(t *testing.T) {
	dir := t.TempDir()
	mkfifo(t, filepath.Join(dir, "fifo"))
	for name, want := range map[string]string{
		"fifo":      "is a named pipe (FIFO), not a regular file",
		"/dev/zero": "is a character device, not a regular file",
	} {
		done := make(chan error, 1)
		go func() {
			_, err := SecretRef{File: name, Base: dir}.Resolve(func(string) string { return "" })
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Resolve(file %s) = %v, want an error saying it %s", name, err, want)
			}
		case <-time.After(hangLimit):
			t.Fatalf("Resolve(file %s) did not return within %s", name, hangLimit)
		}
	}
}

// A FIFO as a ca_file is an error of validation, and Load (which hashes
// the CA files into the digest) does not block on it.
func TestLoadRefusesFIFOCAFile(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.yaml": goodCluster + "  ca_file: ca.pem\n"})
	mkfifo(t, filepath.Join(dir, "ca.pem"))
	_, problems, err := loadWithin(t, dir)
	if _, ok := AsInvalid(err); !ok {
		t.Fatalf("Load: %v, want an invalid spec set", err)
	}
	want := "a.yaml:7:12: error: elasticsearch.ca_file ca.pem is a named pipe (FIFO), not a regular file: name a PEM file\n"
	if got := render(problems); got != want {
		t.Errorf("problems:\n%s\nwant:\n%s", got, want)
	}
}

// YAML syntax errors point at the offending line. yaml.v3 reports its
// parser's errors one line early, at the start of the enclosing
// collection (scanner errors are right).
func TestSyntaxErrorLines(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"outdented key", "apiVersion: v1\nkind: Cluster\nelasticsearch:\n  url: x\n  auth: y\n ca_file: z\n",
			"f.yaml:6:2: error: YAML syntax error: did not find expected key"},
		{"list item in a mapping", "apiVersion: v1\nkind: Cluster\nelasticsearch:\n  url: x\n  auth:\n    api_key: {credential: x}\n    - y\n",
			"f.yaml:7:5: error: YAML syntax error: did not find expected key"},
		{"bad indent in a list", "apiVersion: v1\nroles:\n  - name: a\n    x: 1\n  - name: b\n   y: 2\n",
			"f.yaml:6:4: error: YAML syntax error: did not find expected '-' indicator"},
		{"top-level list item", "a: 1\nb: 2\n- x\n",
			"f.yaml:3:1: error: YAML syntax error: did not find expected key"},
		{"unclosed flow list", "a: 1\nb: [1, 2\nc: 3\n",
			"f.yaml:2:1: error: YAML syntax error: did not find expected ',' or ']'"},
		{"second document", "x: 1\n---\na: 1\nb: 2\n- x\n",
			"f.yaml:5:1: error: YAML syntax error: did not find expected key"},
		{"scanner error", "a: 1\nb: 2\n  c: 3\nd: 4\n",
			"f.yaml:3:3: error: YAML syntax error: mapping values are not allowed in this context"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &loader{set: &Set{meta: map[any]*meta{}}}
			l.file("f.yaml", []byte(tc.yaml))
			var got []string
			for _, p := range l.problems {
				if strings.Contains(p.Message, "YAML syntax error") {
					got = append(got, p.String())
				}
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
