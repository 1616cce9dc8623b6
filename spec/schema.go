package spec

import (
	"encoding/json"

	"github.com/invopop/jsonschema"
)

// SchemaID is the $id of the generated JSON Schema.
const SchemaID = "https://github.com/esremote/esremote/spec/v1.schema.json"

// JSONSchema returns the JSON Schema (draft 2020-12) of one spec document,
// generated from the Go types: a document is any one of the kinds, told
// apart by kind. The schema is for editors; Load's checks are stricter
// (references, duplicates, ports…).
func JSONSchema() *jsonschema.Schema {
	r := &jsonschema.Reflector{
		// Required fields are the ones tagged jsonschema:"required",
		// not every field without omitempty.
		RequiredFromJSONSchemaTags: true,
	}
	top := &jsonschema.Schema{
		Version:     jsonschema.Version,
		ID:          SchemaID,
		Title:       "esremote spec document (" + APIVersion + ")",
		Description: "One YAML document of an esremote spec directory: a Cluster, a Connection or a TrustedEnvironment.",
		Definitions: jsonschema.Definitions{},
	}
	for _, kind := range []any{&Cluster{}, &Connection{}, &TrustedEnvironment{}} {
		s := r.Reflect(kind)
		for name, def := range s.Definitions {
			top.Definitions[name] = def
		}
		top.OneOf = append(top.OneOf, &jsonschema.Schema{Ref: s.Ref})
	}
	return top
}

// Schema returns JSONSchema as indented JSON with a trailing newline.
func Schema() []byte {
	b, err := json.MarshalIndent(JSONSchema(), "", "  ")
	if err != nil {
		// The schema is built from static types; this cannot happen.
		panic("spec: marshal JSON schema: " + err.Error())
	}
	return append(b, '\n')
}

// JSONSchemaExtend makes the schema say that exactly one source is named.
func (SecretRef) JSONSchemaExtend(s *jsonschema.Schema) {
	s.Description = "A secret named, never written: exactly one of credential (systemd $CREDENTIALS_DIRECTORY/<name>), file (relative to this spec file) or env."
	s.OneOf = []*jsonschema.Schema{
		{Required: []string{"credential"}},
		{Required: []string{"file"}},
		{Required: []string{"env"}},
	}
}

// JSONSchemaExtend lets settings.compress be a YAML boolean or
// "indexing_data", as Elasticsearch's transport.compress is.
func (Settings) JSONSchemaExtend(s *jsonschema.Schema) {
	if s.Properties == nil {
		return
	}
	s.Properties.Set("compress", &jsonschema.Schema{
		Description: "transport.compress: true, false or indexing_data",
		OneOf: []*jsonschema.Schema{
			{Type: "boolean"},
			{Type: "string", Enum: []any{"true", "false", "indexing_data"}},
		},
	})
}
