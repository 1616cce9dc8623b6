package reconcile

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/invopop/jsonschema"

	"github.com/esremote/esremote/drift"
)

// PlanSchema names the format of a saved plan (PlanDoc).
const PlanSchema = "esremote/plan/v1"

// PlanDoc is a pass's Plan as data: what `esremote plan --out` saves and
// `esremote apply --plan` applies. It holds no client, no secret (secret
// values show as fingerprints, as in the report) and no workflow state:
// the spec digest it was made from, and per local cluster the identity
// and the remote-cluster settings it observed, and every change, finding
// and error of every connection. A saved plan is applied only while all
// of that still holds (Stale).
type PlanDoc struct {
	Schema     string    `json:"schema" jsonschema:"required"`
	CreatedAt  time.Time `json:"created_at" jsonschema:"required"`
	SpecDigest string    `json:"spec_digest" jsonschema:"required"`
	// Only is the --only filter the plan was made with.
	Only     string       `json:"only,omitempty"`
	Clusters []ClusterDoc `json:"clusters" jsonschema:"required"`
	// Detached is trust work of no single connection.
	Detached []ChangeDoc `json:"detached,omitempty"`
	// Seal is "hmac-sha256:<key id>:<mac>" over the rest (Sealed): apply
	// --plan refuses a plan whose seal does not hold under its state
	// directory's plan key.
	Seal string `json:"seal,omitempty"`
}

// ClusterDoc is one local cluster of a PlanDoc.
type ClusterDoc struct {
	Local string `json:"local" jsonschema:"required"`
	// UUID is the cluster_uuid that answered when the plan was made.
	UUID    string `json:"cluster_uuid,omitempty"`
	Version string `json:"version,omitempty"`
	// Observed is every flat cluster.remote.* setting the cluster held
	// (transient ones with a " (transient)" suffix): the values the
	// plan's decisions rest on.
	Observed    map[string]string `json:"observed,omitempty"`
	Error       string            `json:"error,omitempty"`
	Connections []ConnectionDoc   `json:"connections"`
	Unmanaged   []UnmanagedDoc    `json:"unmanaged,omitempty"`
}

// ConnectionDoc is one connection's part of a plan; Removed marks the
// deletion of what a connection that left the specs owned.
type ConnectionDoc struct {
	Name     string       `json:"name" jsonschema:"required"`
	Alias    string       `json:"alias,omitempty"`
	Policy   string       `json:"policy,omitempty"`
	Removed  bool         `json:"removed,omitempty"`
	Changes  []ChangeDoc  `json:"changes"`
	Findings []FindingDoc `json:"findings,omitempty"`
	Error    string       `json:"error,omitempty"`
}

// ChangeDoc is one Change as data.
type ChangeDoc struct {
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
}

// FindingDoc is one Finding as data.
type FindingDoc struct {
	Severity drift.Severity `json:"severity"`
	Code     string         `json:"code"`
	Message  string         `json:"message"`
	Fix      string         `json:"fix,omitempty"`
}

// UnmanagedDoc is a live object the plan leaves alone.
type UnmanagedDoc struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Doc returns the pass's plan as data. For an apply it is the plan with
// what apply did recorded in the changes' errors; saved plans are made
// by plan passes.
func (res *Result) Doc() *PlanDoc {
	d := &PlanDoc{Schema: PlanSchema, CreatedAt: res.Started.UTC(), SpecDigest: res.Set.Digest, Only: res.Only,
		Clusters: []ClusterDoc{}}
	for _, cp := range res.Plan.Clusters {
		d.Clusters = append(d.Clusters, cp.doc())
	}
	d.Detached = changeDocs(res.Detached.Changes)
	return d
}

func (cp *ClusterPlan) doc() ClusterDoc {
	c := ClusterDoc{Local: cp.Local, UUID: cp.UUID, Version: cp.Version, Observed: cp.Observed, Connections: []ConnectionDoc{}}
	if cp.Err != nil {
		c.Error = cp.Err.Error()
	}
	for _, p := range cp.Connections {
		cd := ConnectionDoc{Name: p.Conn.Name, Alias: p.Conn.Alias, Policy: string(p.Conn.Policy), Changes: changeDocs(p.Changes)}
		for _, f := range p.Findings {
			cd.Findings = append(cd.Findings, FindingDoc(f))
		}
		if p.Err != nil {
			cd.Error = p.Err.Error()
		}
		c.Connections = append(c.Connections, cd)
	}
	for _, del := range cp.Deletions {
		c.Connections = append(c.Connections, ConnectionDoc{Name: del.Connection, Alias: del.Alias, Removed: true, Changes: changeDocs(del.Changes)})
	}
	for _, u := range cp.Unmanaged {
		c.Unmanaged = append(c.Unmanaged, UnmanagedDoc{Kind: u.Kind, Name: u.Name, Reason: u.Reason})
	}
	return c
}

func changeDocs(in []*Change) []ChangeDoc {
	out := []ChangeDoc{}
	for _, ch := range in {
		cd := ChangeDoc{Resource: ch.Resource, Target: ch.Target, Key: ch.Key, Action: ch.Action, Actual: ch.Actual, Desired: ch.Desired, Origin: ch.Origin}
		if ch.Err != nil {
			cd.Error = ch.Err.Error()
		}
		out = append(out, cd)
	}
	return out
}

// observedOf is the Observed map of a ClusterDoc.
func observedOf(obs *Observed) map[string]string {
	out := make(map[string]string, len(obs.Persistent)+len(obs.Transient))
	maps.Copy(out, obs.Persistent)
	for k, v := range obs.Transient {
		out[k+" (transient)"] = v
	}
	return out
}

// ParsePlanDoc reads a saved plan, refusing another schema.
func ParsePlanDoc(b []byte) (*PlanDoc, error) {
	var d PlanDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("not a saved plan: %w", err)
	}
	if d.Schema != PlanSchema {
		return nil, fmt.Errorf("not a saved plan of this esremote: schema %q, want %q", d.Schema, PlanSchema)
	}
	return &d, nil
}

// Stale compares a saved plan with a fresh one made now from the same
// specs and says, one line each, what changed; nil means the saved plan
// is still exactly what apply would do.
func (d *PlanDoc) Stale(now *PlanDoc) []string {
	var out []string
	if d.SpecDigest != now.SpecDigest {
		out = append(out, fmt.Sprintf("the specs changed (digest %s when planned, %s now)", short(d.SpecDigest), short(now.SpecDigest)))
	}
	if d.Only != now.Only {
		out = append(out, fmt.Sprintf("the plan was made with --only %q, not %q", d.Only, now.Only))
	}
	saved, fresh := map[string]ClusterDoc{}, map[string]ClusterDoc{}
	for _, c := range d.Clusters {
		saved[c.Local] = c
	}
	for _, c := range now.Clusters {
		fresh[c.Local] = c
	}
	for _, name := range slices.Sorted(maps.Keys(saved)) {
		if _, ok := fresh[name]; !ok {
			out = append(out, name+": no longer part of the pass")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(fresh)) {
		s, ok := saved[name]
		if !ok {
			out = append(out, name+": not part of the saved plan")
			continue
		}
		out = append(out, s.stale(fresh[name])...)
	}
	if a, b := fmt.Sprint(d.Detached), fmt.Sprint(now.Detached); a != b {
		out = append(out, "the trust changes of no single connection differ")
	}
	return out
}

// stale says what differs between a cluster's saved and fresh plans.
func (s ClusterDoc) stale(f ClusterDoc) []string {
	var out []string
	if s.UUID != f.UUID {
		out = append(out, fmt.Sprintf("%s: cluster_uuid %s when planned, %s now", s.Local, orNone(s.UUID), orNone(f.UUID)))
	}
	if s.Error != f.Error {
		out = append(out, fmt.Sprintf("%s: %s when planned, %s now", s.Local, orNone(s.Error), orNone(f.Error)))
	}
	keys := map[string]bool{}
	for k := range s.Observed {
		keys[k] = true
	}
	for k := range f.Observed {
		keys[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		a, aok := s.Observed[k]
		b, bok := f.Observed[k]
		switch {
		case aok && !bok:
			out = append(out, fmt.Sprintf("%s: %s was %q when planned and is gone now", s.Local, k, a))
		case !aok && bok:
			out = append(out, fmt.Sprintf("%s: %s is %q now and was unset when planned", s.Local, k, b))
		case a != b:
			out = append(out, fmt.Sprintf("%s: %s is %q now, %q when planned", s.Local, k, b, a))
		}
	}
	sc, fc := map[string]ConnectionDoc{}, map[string]ConnectionDoc{}
	for _, c := range s.Connections {
		sc[connKey(c)] = c
	}
	for _, c := range f.Connections {
		fc[connKey(c)] = c
	}
	for _, k := range slices.Sorted(maps.Keys(sc)) {
		if _, ok := fc[k]; !ok {
			out = append(out, fmt.Sprintf("%s: %s is no longer in the plan", s.Local, k))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(fc)) {
		a, ok := sc[k]
		if !ok {
			out = append(out, fmt.Sprintf("%s: %s was not in the saved plan", s.Local, k))
			continue
		}
		if why := a.differs(fc[k]); why != "" {
			out = append(out, fmt.Sprintf("%s: %s: %s", s.Local, k, why))
		}
	}
	return out
}

func connKey(c ConnectionDoc) string {
	if c.Removed {
		return "removal of connection " + c.Name
	}
	return "connection " + c.Name
}

// differs names the first difference between two plans of a connection
// that would change what apply does ("" when none).
func (a ConnectionDoc) differs(b ConnectionDoc) string {
	if a.Error != b.Error {
		return fmt.Sprintf("error %s when planned, %s now", orNone(a.Error), orNone(b.Error))
	}
	render := func(c ChangeDoc) string {
		s := string(c.Action) + " " + string(c.Resource) + " " + c.Key
		if c.Actual != "" {
			s += " (from " + c.Actual + ")"
		}
		if c.Desired != "" {
			s += " to " + c.Desired
		}
		if c.Error != "" {
			s += " [" + c.Error + "]"
		}
		return s
	}
	as, bs := []string{}, []string{}
	for _, c := range a.Changes {
		as = append(as, render(c))
	}
	for _, c := range b.Changes {
		bs = append(bs, render(c))
	}
	for _, c := range as {
		if !slices.Contains(bs, c) {
			return "planned change no longer applies: " + c
		}
	}
	for _, c := range bs {
		if !slices.Contains(as, c) {
			return "new change not in the saved plan: " + c
		}
	}
	return ""
}

func short(digest string) string {
	if i := strings.IndexByte(digest, ':'); i >= 0 && len(digest) > i+13 {
		return digest[:i+13]
	}
	return digest
}

// JSONSchemaExtend pins the schema field to PlanSchema.
func (PlanDoc) JSONSchemaExtend(s *jsonschema.Schema) {
	if p, ok := s.Properties.Get("schema"); ok {
		p.Const = PlanSchema
	}
}

// PlanJSONSchema returns the JSON Schema (draft 2020-12) of a saved plan.
func PlanJSONSchema() []byte {
	r := &jsonschema.Reflector{RequiredFromJSONSchemaTags: true}
	s := r.Reflect(&PlanDoc{})
	s.ID = "https://github.com/esremote/esremote/reconcile/plan-v1.schema.json"
	s.Title = "esremote saved plan (" + PlanSchema + ")"
	s.Description = "What esremote plan --out writes and esremote apply --plan applies: the spec digest, each local cluster's identity and observed remote-cluster settings, and every change, finding and error of every connection. Secret values appear only as fingerprints."
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic("reconcile: marshal plan schema: " + err.Error())
	}
	return append(b, '\n')
}

// StaleError is why a saved plan was not applied: what changed since it
// was made, one reason per line.
type StaleError struct {
	Reasons []string
}

func (e *StaleError) Error() string {
	return "plan is stale: " + strings.Join(e.Reasons, "; ")
}

// staleCluster compares a cluster's plan, made just now and not yet
// written, with the saved plan's.
func (d *PlanDoc) staleCluster(cp *ClusterPlan) []string {
	for _, c := range d.Clusters {
		if c.Local == cp.Local {
			return c.stale(cp.doc())
		}
	}
	return []string{cp.Local + ": not part of the saved plan"}
}

// staleTrust compares the pass's trust changes, planned and not yet
// written, with the saved plan's.
func (d *PlanDoc) staleTrust(ps *passState) []string {
	var out []string
	saved := map[string][]ChangeDoc{}
	for _, c := range d.Clusters {
		for _, cd := range c.Connections {
			for _, ch := range cd.Changes {
				if ch.Resource == ResourceTrust && !cd.Removed {
					saved[cd.Name] = append(saved[cd.Name], ch)
				}
			}
		}
	}
	fresh := map[string][]ChangeDoc{}
	if ps.trust != nil {
		for name, ct := range ps.trust.byConn {
			if len(ct.changes) > 0 {
				fresh[name] = changeDocs(ct.changes)
			}
		}
	}
	names := map[string]bool{}
	for n := range saved {
		names[n] = true
	}
	for n := range fresh {
		names[n] = true
	}
	for _, n := range slices.Sorted(maps.Keys(names)) {
		a := ConnectionDoc{Name: n, Changes: saved[n]}
		if why := a.differs(ConnectionDoc{Name: n, Changes: fresh[n]}); why != "" {
			out = append(out, "trust of connection "+n+": "+why)
		}
	}
	if a, b := fmt.Sprint(d.Detached), fmt.Sprint(changeDocs(ps.trustDetached().Changes)); a != b {
		out = append(out, "the trust changes of no single connection differ")
	}
	return out
}
