package drift

import (
	"os"
	"path/filepath"
	"strings"
)

// testTempInfix marks testFiles' temporary files.
const testTempInfix = ".tmp-"

// testFiles is the Files of drift's tests: temp file then rename (or link,
// to create only), like reconcile/statedir's, without the fsyncs (drift
// cannot import it). statedir's own tests prove atomicity and durability.
type testFiles struct{}

func (testFiles) temp(path string, data []byte, perm os.FileMode) (string, error) {
	dir, base := filepath.Split(path)
	f, err := os.CreateTemp(dir, "."+base+testTempInfix+"*")
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), perm)
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func (fs testFiles) WriteFile(path string, data []byte, perm os.FileMode) error {
	tmp, err := fs.temp(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func (fs testFiles) CreateFile(path string, data []byte, perm os.FileMode) error {
	tmp, err := fs.temp(path, data, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	return os.Link(tmp, path)
}

func (testFiles) SyncDir(string) error { return nil }

func (testFiles) IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, testTempInfix)
}
