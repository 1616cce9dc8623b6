package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// redacted is how a Secret shows itself everywhere.
const redacted = "<redacted>"

// maxSecretSize bounds what Resolve reads: keys and passwords are short, and
// a reference pointing at a large file by mistake must not be slurped.
const maxSecretSize = 64 << 10

// Secret holds a resolved secret value. It redacts itself in every output
// format (fmt verbs, JSON, YAML, text, slog); only Reveal returns the value.
// The zero Secret is empty.
type Secret struct{ v string }

// NewSecret wraps a value, for values that do not come from a SecretRef
// (e.g. a key esremote just created). The value is remembered for Scrub.
func NewSecret(v string) Secret {
	Remember(v)
	return Secret{v: v}
}

// Reveal returns the value. Call it only where the value goes on the wire.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == "" }

// Fingerprint is a short, stable, non-reversible identifier of the value,
// "sha256:" and the first 8 hex digits of its SHA-256, for reports and the
// ownership ledger. The empty secret has the fingerprint "".
func (s Secret) Fingerprint() string {
	if s.v == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(s.v))
	return "sha256:" + hex.EncodeToString(sum[:4])
}

// String returns "<redacted>".
func (s Secret) String() string { return redacted }

// GoString returns "<redacted>", for %#v.
func (s Secret) GoString() string { return redacted }

// Format writes "<redacted>" for every verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// MarshalJSON writes "<redacted>".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText writes "<redacted>" (used by encoders for map keys and text).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// MarshalYAML writes "<redacted>".
func (s Secret) MarshalYAML() (any, error) { return redacted, nil }

// LogValue makes slog write "<redacted>".
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

var _ slog.LogValuer = Secret{}

// IsZero reports whether no field of the reference is set.
func (r SecretRef) IsZero() bool { return r.Credential == "" && r.File == "" && r.Env == "" }

// String describes where the secret comes from, never its value:
// "credential NAME", "file PATH" or "env VAR". A credential or variable
// name that looks like a secret value (a key pasted in the wrong place) is
// withheld and replaced by where it was written.
func (r SecretRef) String() string {
	switch {
	case r.Credential != "":
		return "credential " + r.withheld(r.Credential)
	case r.File != "":
		return "file " + r.File
	case r.Env != "":
		return "env " + r.withheld(r.Env)
	}
	return "empty secret reference"
}

// withheld returns name, or when it looks like a secret value a
// description of where it was written that does not repeat it.
func (r SecretRef) withheld(name string) string {
	if !LooksLikeSecret(name) {
		return name
	}
	if r.Pos.File != "" {
		return "named at " + r.Pos.String() + " (withheld: it looks like a secret value)"
	}
	return "(name withheld: it looks like a secret value)"
}

// LooksLikeSecret reports whether a credential or environment variable
// name looks like a secret value pasted in its place: base64 padding or
// alphabet (+, /, =), or a long run of mixed-case letters and digits or of
// hex digits with no separators. Real names read like ech-api or
// ES_API_KEY.
func LooksLikeSecret(name string) bool {
	if strings.ContainsAny(name, "=+/") {
		return true
	}
	var upper, lower, digit, other bool
	hex := true
	for _, c := range name {
		switch {
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= '0' && c <= '9':
			digit = true
		default:
			other = true
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			hex = false
		}
	}
	switch {
	case len(name) >= 32 && hex:
		return true
	case len(name) >= 24 && upper && lower && digit && !strings.ContainsAny(name, ".") && (!other || strings.Count(name, "-")+strings.Count(name, "_") <= 1):
		return true
	}
	return false
}

// count is how many of credential, file and env are set.
func (r SecretRef) count() int {
	n := 0
	for _, s := range []string{r.Credential, r.File, r.Env} {
		if s != "" {
			n++
		}
	}
	return n
}

// Resolve reads the secret the reference names: a systemd credential from
// $CREDENTIALS_DIRECTORY/<name>, a file (relative to Base), or an
// environment variable. One trailing newline is trimmed. Empty values are
// refused, and so are files that group or others can read. getenv is
// os.Getenv in production. Errors never contain the value, and the value
// is remembered for Scrub.
func (r SecretRef) Resolve(getenv func(string) string) (Secret, error) {
	if r.count() != 1 {
		return Secret{}, errors.New("a secret reference needs exactly one of credential, file or env")
	}
	var v string
	switch {
	case r.Credential != "":
		if r.Credential != filepath.Base(r.Credential) || strings.HasPrefix(r.Credential, ".") {
			return Secret{}, fmt.Errorf("%s: a credential name is a plain file name", r)
		}
		dir := getenv("CREDENTIALS_DIRECTORY")
		if dir == "" {
			if LooksLikeSecret(r.Credential) {
				return Secret{}, fmt.Errorf("%s: $CREDENTIALS_DIRECTORY is not set: put the value in a credential and name it here", r)
			}
			return Secret{}, fmt.Errorf("credential %s: $CREDENTIALS_DIRECTORY is not set: run under systemd with LoadCredential=%s:PATH, or use {file: PATH}", r.Credential, r.Credential)
		}
		b, err := readSecretFile(filepath.Join(dir, r.Credential))
		if err != nil {
			if LooksLikeSecret(r.Credential) {
				// The error names the path, which holds the name.
				return Secret{}, fmt.Errorf("%s: cannot be read from $CREDENTIALS_DIRECTORY: put the value in a credential and name it here", r)
			}
			return Secret{}, fmt.Errorf("credential %s: %w", r.Credential, err)
		}
		v = b
	case r.File != "":
		p := r.File
		if !filepath.IsAbs(p) {
			p = filepath.Join(r.Base, p)
		}
		b, err := readSecretFile(p)
		if err != nil {
			return Secret{}, fmt.Errorf("secret file: %w", err)
		}
		v = b
	case r.Env != "":
		v = getenv(r.Env)
		if v == "" {
			return Secret{}, fmt.Errorf("environment variable %s is empty or not set", r.withheld(r.Env))
		}
	}
	v = trimNewline(v)
	if v == "" {
		return Secret{}, fmt.Errorf("%s: the secret is empty", r)
	}
	return NewSecret(v), nil
}

// trimNewline removes one trailing "\n" or "\r\n".
func trimNewline(s string) string {
	if s, ok := strings.CutSuffix(s, "\n"); ok {
		return strings.TrimSuffix(s, "\r")
	}
	return s
}

// readSecretFile reads a small regular file that only its owner can read.
// What is not a regular file (a FIFO would block the read forever, a
// device never ends) is refused before it is opened; see ReadFile.
func readSecretFile(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("%s does not exist", path)
		}
		// The *PathError names the path and the reason, never content.
		return "", err
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("%s is %s, not a regular file: a secret is a file holding the value", path, fileKind(info.Mode()))
	}
	if info.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s is readable by group or others (mode %04o): chmod 600 %s", path, info.Mode().Perm(), path)
	}
	b, err := ReadFile(path, maxSecretSize)
	var notRegular *NotRegularError
	var tooLarge *TooLargeError
	switch {
	case errors.As(err, &notRegular):
		return "", fmt.Errorf("%s is %s, not a regular file: a secret is a file holding the value", path, notRegular.Kind)
	case errors.As(err, &tooLarge):
		return "", fmt.Errorf("%s is larger than %d KiB: not a secret", path, maxSecretSize>>10)
	case err != nil:
		return "", err
	}
	return string(b), nil
}
