package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	return s
}

// yamlDocs returns every document of a YAML file as a JSON value.
func yamlDocs(t *testing.T, path string) []any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var v any
		if err := dec.Decode(&v); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: to JSON: %v", path, err)
		}
		j, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, j)
	}
}

// TestExamplesMatchSchema validates every example document against the
// schema `esremote schema` prints.
func TestExamplesMatchSchema(t *testing.T) {
	s := compileSchema(t)
	var files []string
	for _, dir := range exampleSpecDirs {
		fs, problems, err := specFiles(filepath.Join(examplesDir, dir))
		if err != nil || len(fs) == 0 || len(problems) > 0 {
			t.Fatalf("example files of %s: %v %v %v", dir, fs, problems, err)
		}
		for _, f := range fs {
			files = append(files, dir+"/"+f)
		}
	}
	for _, f := range files {
		path := filepath.Join(examplesDir, f)
		first, _, _ := strings.Cut(string(must(os.ReadFile(path))), "\n")
		if first != "# yaml-language-server: $schema=../esremote.schema.json" {
			t.Errorf("%s: first line is %q, want the yaml-language-server schema line", f, first)
		}
		for i, doc := range yamlDocs(t, path) {
			if err := s.Validate(doc); err != nil {
				t.Errorf("%s document %d: %v", f, i+1, err)
			}
		}
	}
}

// TestSchemaRejects checks that the schema catches what editors should flag.
func TestSchemaRejects(t *testing.T) {
	s := compileSchema(t)
	for _, doc := range []string{
		`{"apiVersion": "esremote/v1", "kind": "Nope", "name": "x"}`,
		`{"apiVersion": "esremote/v1", "kind": "Cluster", "name": "x", "elasticsearch": {"url": "u", "auth": {"api_key": "inline"}}}`,
		`{"apiVersion": "esremote/v1", "kind": "Cluster", "name": "x", "elasticsearch": {"url": "u", "auth": {"api_key": {"env": "A", "file": "b"}}}}`,
		`{"apiVersion": "esremote/v1", "kind": "Cluster", "name": "x", "elasticsearch": {"url": "u", "auth": {}, "typo": 1}}`,
		`{"apiVersion": "esremote/v1", "kind": "TrustedEnvironment", "name": "t", "deployment": "d", "platform": "ece", "environment_id": "1", "trust": "some"}`,
		`{"apiVersion": "esremote/v1", "kind": "Connection", "name": "c", "local": "l", "alias": "A", "remote": {}, "security": "api_key"}`,
	} {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		if s.Validate(v) == nil {
			t.Errorf("schema accepts %s", doc)
		}
	}
}

// TestSchemaFileUpToDate keeps examples/esremote.schema.json equal to
// `esremote schema`. UPDATE_GOLDEN=1 rewrites it.
func TestSchemaFileUpToDate(t *testing.T) {
	path := filepath.Join(examplesDir, "esremote.schema.json")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, Schema(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := must(os.ReadFile(path)); !bytes.Equal(got, Schema()) {
		t.Errorf("%s is out of date: run UPDATE_GOLDEN=1 go test ./spec", path)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
