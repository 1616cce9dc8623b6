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
