package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A token file of spaces, of blank lines or of one repeated character is
// refused (a blank one used to lock the operator out: no client can send
// it); a random hex token is taken; the refusal never shows the token.
func TestReadTokenRefusesWeakTokens(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, want string
	}{
		{"spaces", strings.Repeat(" ", 40), "white space"},
		{"blank lines", strings.Repeat("\n", 40), "white space"},
		{"tab inside", "0123456789abcdef\t0123456789", "white space"},
		{"one character", strings.Repeat("a", 64), "only 1 distinct"},
		{"short", "0123456789", "shorter than 16"},
		{"good", "9f2c1e0b7a6d5c4e3f2a1b0c9d8e7f6a\n", ""},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
		if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		tok, err := readToken(os.Getenv, path)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want == "" && tok != strings.TrimSuffix(tc.content, "\n"):
			t.Errorf("%s: token %q", tc.name, tok)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v; want an error with %q", tc.name, err, tc.want)
		case tc.want != "" && strings.TrimSpace(tc.content) != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.content)):
			t.Errorf("%s: the error shows the token: %v", tc.name, err)
		}
	}
}
