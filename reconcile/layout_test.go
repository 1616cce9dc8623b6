package reconcile_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/esremote/esremote/"

// allowedImports is the import graph of DESIGN §4, by package path
// relative to the module: the esremote packages each may import outside
// its tests. Imports run one way, with the data; spec, drift,
// reconcile/sim and reconcile/statedir import no esremote package; the
// adapters (es, cloud) never call back into the engine; the daemon, the
// importer and the doctor sit on the engine's exported API and the engine
// knows none of them but the doctor's pure checks. A package missing from this table
// fails the test: place a new package in the graph on purpose.
var allowedImports = map[string][]string{
	"cmd/esremote": {"spec", "drift", "reconcile", "reconcile/plan", "reconcile/es", "reconcile/cloud", "reconcile/sim",
		"reconcile/daemon", "reconcile/importer", "reconcile/recovery", "reconcile/doctor", "reconcile/state", "reconcile/statedir", "reconcile/revision", "internal/flagship"},
	"spec":          nil,
	"drift":         nil,
	"reconcile/sim": nil,
	// The adapters classify errors in drift's vocabulary (drift.Class); the
	// data they read and write is package world's.
	"reconcile/es":    {"drift", "reconcile/world"},
	"reconcile/cloud": {"drift", "reconcile/world"},
	// What the clusters and control planes hold, as plain data (settings
	// values and keys, roles, API keys, deployments, trust, a link's
	// evidence): a leaf but for drift's vocabulary (health, evidence), so
	// that decisions name it and never an adapter.
	"reconcile/world": {"drift"},
	// The observe stage: the world's reads, each target once per pass.
	"reconcile/observe": {"spec", "drift", "reconcile/es", "reconcile/cloud", "reconcile/world"},
	// Verification after writes: the links asked again by the observe
	// stage's evidence request, its verdicts part of the outcome.
	"reconcile/verify": {"drift", "reconcile/es", "reconcile/observe"},
	// The decide stage: pure functions of the specs, what the world holds
	// and the ledger's copy; never an adapter (adapterFree).
	"reconcile/decide": {"spec", "drift", "reconcile/world", "reconcile/ledger", "reconcile/plan"},
	"reconcile":        {"spec", "drift", "reconcile/plan", "reconcile/execute", "reconcile/world", "reconcile/ledger", "reconcile/observe", "reconcile/decide", "reconcile/verify", "reconcile/es", "reconcile/cloud", "reconcile/doctor", "reconcile/statedir"},
	// The plan as data (the saved, sealed document): like spec and drift,
	// it imports no engine package (DESIGN §4).
	"reconcile/plan": {"drift"},
	// Runs a plan's steps through the adapters; the ledger and the
	// clients come in through its Env (DESIGN §4: execute → plan,
	// adapters, ledger).
	"reconcile/execute":  {"drift", "reconcile/plan", "reconcile/world", "reconcile/es", "reconcile/cloud"},
	"reconcile/doctor":   {"spec", "reconcile/es", "reconcile/cloud"},
	"reconcile/daemon":   {"spec", "drift"},
	"reconcile/importer": {"spec", "drift", "reconcile", "reconcile/es", "reconcile/cloud", "reconcile/statedir"},
	// Rebuilding a lost ledger from live metadata (esremote state
	// recover): on the engine's exported API, like the importer.
	"reconcile/recovery": {"spec", "reconcile", "reconcile/es", "reconcile/cloud"},
	// The ownership ledger and its file store: no other stage.
	"reconcile/ledger": {"reconcile/statedir"},
	// Where the ledger lives (file, Elasticsearch + lease): no engine.
	"reconcile/state": {"reconcile/es", "reconcile/statedir"},
	// The state directory's file primitives (atomic writes, the writer
	// lock, where it is): a leaf, so that drift's history gets them
	// injected (drift.Files) instead of owning them.
	"reconcile/statedir": nil,
	// Whether two spec revisions agree (git ancestry, read with go-git): a
	// leaf, used by cmd to keep a host on diverged specs from leading.
	"reconcile/revision": nil,
	// The test harness of the packages above (tests only).
	"reconcile/internal/worldtest": {"drift", "reconcile", "reconcile/sim", "reconcile/internal/simdir", "internal/flagship"},
	// The engine-free part of the harness (a sim and a spec dir declaring
	// its clusters), which package reconcile's own tests share.
	"reconcile/internal/simdir": {"spec", "reconcile/sim"},
	// The flagship link of the default world as spec text, shared by the
	// demo and the tests: plain data, no import.
	"internal/flagship": nil,
}

// adapters are the packages that talk to the world (DESIGN §4).
var adapters = []string{"reconcile/es", "reconcile/cloud"}

// adapterFree are the packages that must never import an adapter, even if
// someone adds the edge to allowedImports: the decide stage ("decide
// imports no adapter", DESIGN §4), the data it decides over and the plan
// it returns.
var adapterFree = []string{"reconcile/decide", "reconcile/world", "reconcile/ledger", "reconcile/plan", "spec", "drift"}

// TestDecideImportsNoAdapter fails when the import graph lets a package of
// adapterFree import an adapter, directly or through the packages it may
// import: decide's purity is a property of the graph, not of today's code
// alone.
func TestDecideImportsNoAdapter(t *testing.T) {
	for _, pkg := range adapterFree {
		if _, ok := allowedImports[pkg]; !ok {
			t.Errorf("%s is not in the import graph", pkg)
			continue
		}
		seen := map[string]bool{}
		var walk func(p string, path []string)
		walk = func(p string, path []string) {
			if seen[p] {
				return
			}
			seen[p] = true
			for _, dep := range allowedImports[p] {
				via := append(slices.Clone(path), dep)
				if slices.Contains(adapters, dep) {
					t.Errorf("%s may import the adapter %s (%s): DESIGN §4 says decide imports no adapter", pkg, dep, strings.Join(via, " → "))
					continue
				}
				walk(dep, via)
			}
		}
		walk(pkg, []string{pkg})
	}
}

// TestImportGraph fails on any import between esremote packages that
// allowedImports does not list. Test files are exempt: tests may drive a
// package with the simulated world.
func TestImportGraph(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		allowed, known := allowedImports[pkg]
		if !known {
			t.Errorf("package %s is not in the import graph (allowedImports in %s): place it in DESIGN §4's graph", pkg, "reconcile/layout_test.go")
			return nil
		}
		found[pkg] = true
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			dep, ok := strings.CutPrefix(p, module)
			if !ok {
				continue
			}
			if !slices.Contains(allowed, dep) {
				t.Errorf("%s imports %s: not an edge of the import graph (DESIGN §4)", filepath.Join(rel, filepath.Base(path)), dep)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for pkg := range allowedImports {
		if !found[pkg] {
			t.Errorf("allowedImports lists %s, which has no Go files: remove it", pkg)
		}
	}
}

// engineMaxLines bounds an engine file (issue 22, DESIGN §4: "no file of
// the engine exceeds ~600 lines"): files are cut by stage (observe*,
// decide*, execute*) and resource, so one pass reads as one descent.
const engineMaxLines = 600

// enginePackages are the engine's packages besides reconcile itself, by
// directory relative to it: the stages and the data they pass down.
var enginePackages = []string{"plan", "execute", "world", "ledger", "observe", "decide", "verify"}

// TestEngineFileSize fails on a non-test file of the engine (package
// reconcile and its stage packages) or of the doctor and the importer
// beside it (not the simulated world or the daemon) longer than
// engineMaxLines.
func TestEngineFileSize(t *testing.T) {
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	// The doctor and the importer sit beside the engine; they keep the
	// same bound, cut by what each part does.
	for _, pkg := range append(enginePackages, "doctor", "importer") {
		stage, err := filepath.Glob(pkg + "/*.go")
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, stage...)
	}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), "\n"); n > engineMaxLines {
			t.Errorf("%s has %d lines, over %d: cut it by stage or resource", p, n, engineMaxLines)
		}
	}
}
