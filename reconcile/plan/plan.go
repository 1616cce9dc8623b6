// Package plan is a pass's plan as data (DESIGN §4): the typed steps a
// pass writes (Step: target, kind, precondition, body, secret reference,
// the steps it depends on) and the rows, findings and unmanaged objects
// the report shows. The file esremote plan --out saves is this value,
// sealed with the state directory's plan key (Sealed, CheckSeal), and
// esremote apply --plan executes its steps (package execute). It imports
// no engine package.
package plan

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/invopop/jsonschema"

	"github.com/esremote/esremote/drift"
)

// Schema names the format of a saved plan (Plan).
//
// v2 (issue 22) added the steps: a v1 file held rows only and cannot be
// executed.
const Schema = "esremote/plan/v2"

// Plan is a pass's plan as data: what `esremote plan --out` saves and
// `esremote apply --plan` executes. It holds no client, no secret
// (secret values show as fingerprints, as in the report; a step names
// its secret with a SecretRef) and no workflow state: the spec digest it
// was made from, the steps in the order they are sent, and per local
// cluster the identity and the remote-cluster settings it observed, and
// every change, finding and error of every connection. A saved plan's
// steps are sent only while every one's precondition still holds.
type Plan struct {
	Schema     string    `json:"schema" jsonschema:"required"`
	CreatedAt  time.Time `json:"created_at" jsonschema:"required"`
	SpecDigest string    `json:"spec_digest" jsonschema:"required"`
	// Only is the --only filter the plan was made with.
	Only string `json:"only,omitempty"`
	// Steps are the writes, in the order they are sent.
	Steps    []Step    `json:"steps" jsonschema:"required"`
	Clusters []Cluster `json:"clusters" jsonschema:"required"`
	// Detached is trust work of no single connection, DetachedFindings
	// what the pass noticed about it.
	Detached         []Change  `json:"detached,omitempty"`
	DetachedFindings []Finding `json:"detached_findings,omitempty"`
	// Seal is "hmac-sha256:<key id>:<mac>" over the rest (Sealed): apply
	// --plan refuses a plan whose seal does not hold under its state
	// directory's plan key.
	Seal string `json:"seal,omitempty"`
}

// Cluster is one local cluster of a Plan.
type Cluster struct {
	Local string `json:"local" jsonschema:"required"`
	// UUID is the cluster_uuid that answered when the plan was made.
	UUID    string `json:"cluster_uuid,omitempty"`
	Version string `json:"version,omitempty"`
	// Observed is every flat cluster.remote.* setting the cluster held
	// (transient ones with a " (transient)" suffix): the values the
	// plan's decisions rest on.
	Observed    map[string]string `json:"observed,omitempty"`
	Error       string            `json:"error,omitempty"`
	Connections []Connection      `json:"connections"`
	Unmanaged   []Unmanaged       `json:"unmanaged,omitempty"`
}

// Connection is one connection's part of a plan; Removed marks the
// deletion of what a connection that left the specs owned.
type Connection struct {
	Name    string `json:"name" jsonschema:"required"`
	Alias   string `json:"alias,omitempty"`
	Policy  string `json:"policy,omitempty"`
	Removed bool   `json:"removed,omitempty"`
	// Health is the link's health when planned.
	Health   drift.Health `json:"health,omitempty"`
	Changes  []Change     `json:"changes"`
	Findings []Finding    `json:"findings,omitempty"`
	Error    string       `json:"error,omitempty"`
}

// Change is one Change as data.
type Change struct {
	Resource drift.Resource `json:"resource" jsonschema:"required,enum=cluster_setting,enum=role,enum=api_key,enum=keystore,enum=trust"`
	Target   string         `json:"target"`
	Key      string         `json:"key"`
	Action   drift.Action   `json:"action" jsonschema:"required,enum=create,enum=update,enum=delete"`
	Actual   string         `json:"actual,omitempty"`
	Desired  string         `json:"desired,omitempty"`
	Origin   drift.Origin   `json:"origin,omitempty"`
	// Error is set when the plan already knows the change will not be
	// made (a conflict, a contested key).
	Error string `json:"error,omitempty"`
	// Step is the step that makes the change ("" when none does: the
	// change is only reported).
	Step string `json:"step,omitempty"`
}

// Finding is one Finding as data.
type Finding struct {
	Severity drift.Severity `json:"severity"`
	Code     string         `json:"code"`
	Message  string         `json:"message"`
	Fix      string         `json:"fix,omitempty"`
}

// Unmanaged is a live object the plan leaves alone.
type Unmanaged struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Parse reads a saved plan, refusing another schema.
func Parse(b []byte) (*Plan, error) {
	var d Plan
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("not a saved plan: %w", err)
	}
	if d.Schema != Schema {
		return nil, fmt.Errorf("not a saved plan of this esremote: schema %q, want %q", d.Schema, Schema)
	}
	return &d, nil
}

// JSONSchemaExtend pins the schema field to Schema.
func (Plan) JSONSchemaExtend(s *jsonschema.Schema) {
	if p, ok := s.Properties.Get("schema"); ok {
		p.Const = Schema
	}
}

// JSONSchema returns the JSON Schema (draft 2020-12) of a saved plan.
func JSONSchema() []byte {
	r := &jsonschema.Reflector{RequiredFromJSONSchemaTags: true}
	s := r.Reflect(&Plan{})
	s.ID = "https://github.com/esremote/esremote/reconcile/plan-v2.schema.json"
	s.Title = "esremote saved plan (" + Schema + ")"
	s.Description = "What esremote plan --out writes and esremote apply --plan executes: the spec digest, the steps (each with its target, kind, precondition, body, secret reference and the steps it depends on), each local cluster's identity and observed remote-cluster settings, and every change, finding and error of every connection. Secret values appear only as fingerprints; a step names its secret, never carries it."
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic("plan: marshal plan schema: " + err.Error())
	}
	return append(b, '\n')
}
