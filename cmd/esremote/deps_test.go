package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestNoTypedAPI keeps go-elasticsearch's typed API out of the binary.
// Its 858 generated packages cost minutes of cold compile (BENCHMARKS.md,
// "cold build") for code esremote never calls; reconcile/es builds its
// client from esapi and elastic-transport-go instead of the root package,
// which imports them all.
func TestNoTypedAPI(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("ESREMOTE_REQUIRE_TOOLS") == "1" {
			t.Fatal("go not on PATH")
		}
		t.Skip("go not on PATH")
	}
	out, err := exec.Command(gobin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	var bad []string
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "/typedapi") || pkg == "github.com/elastic/go-elasticsearch/v8" {
			bad = append(bad, pkg)
		}
	}
	if len(bad) > 0 {
		t.Errorf("cmd/esremote depends on %d typed-API or root go-elasticsearch packages, e.g. %s; build the client from esapi and elastic-transport-go (reconcile/es)", len(bad), bad[0])
	}
	if !strings.Contains(string(out), "github.com/elastic/go-elasticsearch/v8/esapi\n") {
		t.Error("go list -deps shows no esapi: the check above would pass vacuously")
	}
}

// TestDeadCodeElimination keeps the linker's dead code elimination on:
// one reachable reflect.Value.MethodByName (text/template and html/template
// execution, for instance) makes it keep every exported method of every
// type, which made the binary 70% larger (43 MB instead of 26 MB) when the
// status page was an html/template. The linker's -dumpdep marks such
// functions <ReflectMethod>. It builds with the race detector when the test
// runs under it, so that `make test` reuses the packages it compiled.
func TestDeadCodeElimination(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("ESREMOTE_REQUIRE_TOOLS") == "1" {
			t.Fatal("go not on PATH")
		}
		t.Skip("go not on PATH")
	}
	args := []string{"build", "-o", os.DevNull, "-ldflags=-dumpdep"}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command(gobin, append(args, ".")...).CombinedOutput()
	if err != nil {
		t.Fatalf("go build -ldflags=-dumpdep: %v\n%.2000s", err, out)
	}
	var culprits []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "<ReflectMethod>") && len(culprits) < 5 {
			culprits = append(culprits, line)
		}
	}
	if len(culprits) > 0 {
		t.Errorf("a reachable MethodByName turns off dead code elimination (render with fmt, not text/template or html/template):\n%s",
			strings.Join(culprits, "\n"))
	}
	if !strings.Contains(string(out), "main.main") {
		t.Error("the -dumpdep output names no main.main: the check above would pass vacuously")
	}
}
