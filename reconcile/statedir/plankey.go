package statedir

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// PlanKeyFile is the state directory's file holding the key that seals the
// plans esremote plan --out saves (hex, mode 0600). Only this state
// directory's esremote can make a seal apply --plan accepts: a plan edited
// by hand, or made by another installation, is refused.
const PlanKeyFile = "plan.key"

// planKeySize is the key's length in bytes: HMAC-SHA256's block of
// entropy, as RFC 2104 §3 recommends (at least the hash's output length).
const planKeySize = 32

// PlanKey returns the state directory's plan key, creating the directory
// (0700) and the key (0600) on first use. Two processes creating it at
// once agree on one key: the file is created exclusively, and the loser
// reads the winner's.
func PlanKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, PlanKeyFile)
	if k, err := readPlanKey(path); !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create the plan key: %w", err)
	}
	k := make([]byte, planKeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("create the plan key: %w", err)
	}
	err := CreateFileAtomic(path, []byte(hex.EncodeToString(k)+"\n"), 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readPlanKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("create the plan key: %w", err)
	}
	return k, nil
}

// ReadPlanKey returns the state directory's plan key; fs.ErrNotExist when
// no plan was ever saved with this state directory.
func ReadPlanKey(dir string) ([]byte, error) {
	return readPlanKey(filepath.Join(dir, PlanKeyFile))
}

func readPlanKey(path string) ([]byte, error) {
	b, err := ReadFile(path, 1024)
	if err != nil {
		return nil, err
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != planKeySize {
		return nil, fmt.Errorf("%s is not a plan key (%d hex bytes): remove it and save the plan again", path, planKeySize)
	}
	return k, nil
}
