package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// bashCompletion is the bash-completion package's loader, which the bash
// script cobra makes needs (_get_comp_words_by_ref): the .deb recommends
// the package.
const bashCompletion = "/usr/share/bash-completion/bash_completion"

// The completion scripts, run by bash itself: they ask the binary
// (esremote __complete …, on PATH here: testscript.Main puts the test
// binary there as esremote) for the connection names of the spec dir on
// the line, for --only and for doctor's NAME.
func TestBashCompletesConnectionNames(t *testing.T) {
	for _, need := range []string{"bash", bashCompletion} {
		if _, err := exec.LookPath(need); err != nil {
			if _, err := os.Stat(need); err == nil {
				continue
			}
			if os.Getenv("ESREMOTE_REQUIRE_TOOLS") == "1" {
				t.Fatalf("%s is missing (CI installs it: apt-get install bash-completion)", need)
			}
			t.Skipf("%s is missing", need)
		}
	}
	dir := t.TempDir()
	specs := filepath.Join(dir, "specs")
	writeSpecDir(t, specs)
	const links = "apiVersion: esremote/v1\nkind: Connection\nname: a-to-logs\nlocal: a\nalias: logs\n" +
		"remote: {proxy_address: \"logs.example.com:9443\", server_name: logs.example.com}\nsecurity: api_key\napi_key: {credentials: {env: K}}\n" +
		"---\napiVersion: esremote/v1\nkind: Connection\nname: a-to-metrics\nlocal: a\nalias: metrics\n" +
		"remote: {proxy_address: \"metrics.example.com:9443\", server_name: metrics.example.com}\nsecurity: api_key\napi_key: {credentials: {env: K}}\n"
	if err := os.WriteFile(filepath.Join(specs, "links.yaml"), []byte(links), 0o644); err != nil {
		t.Fatal(err)
	}
	c, out, errb := testCLI()
	if code := c.main([]string{"completion", "bash"}); code != exitOK {
		t.Fatalf("completion bash: exit %d: %s", code, errb)
	}
	script := filepath.Join(dir, "esremote.bash")
	if err := os.WriteFile(script, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	complete := func(words ...string) []string {
		t.Helper()
		line := strings.Join(words, " ")
		sh := "source " + bashCompletion + "; source " + script + "; COMP_LINE='" + line + "'; COMP_POINT=${#COMP_LINE}; COMP_WORDS=("
		for _, w := range words {
			sh += "'" + w + "' "
		}
		sh += fmt.Sprintf("); COMP_CWORD=%d; __start_esremote; printf '%%s\\n' \"${COMPREPLY[@]}\"", len(words)-1)
		cmd := exec.Command("bash", "-c", sh)
		cmd.Dir = dir
		// stderr: compopt says it runs outside a completion; no matter.
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, b)
		}
		return strings.Fields(string(b))
	}
	if got := complete("esremote", "plan", "specs", "--only", ""); !slices.Equal(got, []string{"a-to-logs", "a-to-metrics"}) {
		t.Errorf("esremote plan specs --only <TAB> offers %q, want a-to-logs and a-to-metrics", got)
	}
	if got := complete("esremote", "doctor", "specs", "a-to-m"); !slices.Equal(got, []string{"a-to-metrics"}) {
		t.Errorf("esremote doctor specs a-to-m<TAB> offers %q, want a-to-metrics", got)
	}
}
