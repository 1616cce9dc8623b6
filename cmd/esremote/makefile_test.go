package main

import (
	"os/exec"
	"strings"
	"testing"
)

// make demo says that it builds before it builds (a cold machine compiles
// for minutes, silently with go run), builds with -v (each package named as
// it compiles), then runs the built binary.
func TestMakeDemoSaysItBuildsFirst(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	out, err := exec.Command("make", "-n", "-C", "../..", "demo", "GO=go", "VERSION=test").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n demo: %v\n%s", err, out)
	}
	var lines []string
	for l := range strings.SplitSeq(string(out), "\n") {
		if strings.HasPrefix(l, "echo ") || strings.HasPrefix(l, "go ") || strings.HasPrefix(l, "bin/") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 3 || !strings.Contains(lines[0], "a few minutes") ||
		!strings.HasPrefix(lines[1], "go build -v ") || !strings.HasSuffix(lines[1], "-o bin/esremote ./cmd/esremote") ||
		lines[2] != "bin/esremote demo" {
		t.Errorf("make demo runs:\n%s\nwant: an echo saying the build may take minutes, go build -v -o bin/esremote, bin/esremote demo", out)
	}
}
