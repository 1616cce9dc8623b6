package spec

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds one spec file to Load: it must never panic or hang, and
// every problem must carry a position in that file.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		baseClusters,
		baseClusters + "---\n" + connHead + "remote: {cluster: ece-b}\nsecurity: api_key\napi_key: {access: {search: [{names: [a]}]}, expiration: 90d, rotate_before: 14d}\n",
		"apiVersion: esremote/v1\nkind: TrustedEnvironment\nname: t\ndeployment: ech-a\nplatform: ece\nenvironment_id: \"1\"\ntrust: [0123456789abcdef0123456789abcdef]\n",
		"a: &a [x,x]\nb: [*a,*a]\n",
		"&a [*a]\n",
		"\t- x",
		"name: caf\xe9",
		"",
		"---\n---\n",
		"[[[[[[[[",
		"{apiVersion: esremote/v1, kind: Cluster, elasticsearch: {auth: {api_key: secret}}}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "f.yaml"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		set, problems, err := Load(dir)
		if err != nil {
			if _, ok := AsInvalid(err); !ok {
				t.Fatalf("Load: not an *InvalidError: %v", err)
			}
			if set != nil {
				t.Fatal("Load returned a Set with an error")
			}
		} else if set == nil {
			t.Fatal("Load returned neither a Set nor an error")
		}
		for _, p := range problems {
			if p.Pos.File != "f.yaml" || p.Pos.Line < 1 || p.Pos.Column < 1 || p.Message == "" {
				t.Errorf("problem without a position: %#v", p)
			}
		}
	})
}
