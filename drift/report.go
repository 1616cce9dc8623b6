package drift

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// SchemaVersion is the version of the report's JSON form. It changes only
// when a field is renamed, removed or changes meaning; new fields do not
// change it.
const SchemaVersion = 1

// Trigger says what started the pass a report describes.
type Trigger string

// Triggers the engine and the daemon use. Others are allowed; a trigger is
// used in history file names after reduction to [a-z0-9_-].
const (
	TriggerPlan   Trigger = "plan"   // esremote plan
	TriggerApply  Trigger = "apply"  // esremote apply
	TriggerStart  Trigger = "start"  // the daemon's first pass
	TriggerResync Trigger = "resync" // the daemon's periodic pass
	TriggerFile   Trigger = "file"   // a change in the spec directory
	TriggerSignal Trigger = "signal" // SIGHUP
)

// Mode says whether the pass could change anything.
type Mode string

// Modes.
const (
	ModePlan  Mode = "plan"  // observe and diff only; nothing is written
	ModeApply Mode = "apply" // one pass that corrects drift
	ModeRun   Mode = "run"   // a pass of the daemon, which corrects drift
)

// Sync is whether a connection's configuration matches its spec.
type Sync string

// Sync values; the package documentation says what each means.
const (
	SyncInSync    Sync = "in_sync"
	SyncDrifted   Sync = "drifted"
	SyncCorrected Sync = "corrected"
	SyncFailed    Sync = "failed"
	SyncContested Sync = "contested"
	SyncDisabled  Sync = "disabled"
)

// Health is whether a connection's link works.
type Health string

// Health values; the package documentation says what each means.
const (
	HealthConnected    Health = "connected"
	HealthDisconnected Health = "disconnected"
	HealthUnauthorized Health = "unauthorized"
	HealthRotating     Health = "rotating"
	HealthUnknown      Health = "unknown"
)

// Resource is the kind of object a Change touches.
type Resource string

// Resources, declared in the order an API-key or certificate link is applied
// (DESIGN §5); [Report.Sort] orders changes this way.
const (
	ResourceAPIKey         Resource = "api_key"         // cross-cluster API key on the remote
	ResourceKeystore       Resource = "keystore"        // keystore entry on the local deployment
	ResourceTrust          Resource = "trust"           // trust entry on a deployment
	ResourceClusterSetting Resource = "cluster_setting" // cluster.remote.<alias>.* on the local cluster
	ResourceRole           Resource = "role"            // role on the local cluster
)

// resourceOrder ranks resources in apply order; unknown resources sort last.
var resourceOrder = []Resource{ResourceAPIKey, ResourceKeystore, ResourceTrust, ResourceClusterSetting, ResourceRole}

// Action is what a Change does.
type Action string

// Actions, rendered in text as +, ~ and -.
const (
	ActionCreate Action = "create"
	ActionUpdate Action = "update"
	ActionDelete Action = "delete"
)

// Origin says who moved away from the agreed state (DESIGN §5).
type Origin string

// Origins.
const (
	OriginSpec     Origin = "spec"     // the specs changed
	OriginExternal Origin = "external" // someone changed the live value esremote wrote
)

// Severity is how serious a Finding is.
type Severity string

// Severities, from most to least serious.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

// severityOrder ranks severities most serious first; unknown ones sort last.
var severityOrder = []Severity{SeverityError, SeverityWarning, SeverityInfo}

// Report is what one reconcile pass found and did. Its JSON form is the
// contract of DESIGN §6; see the package documentation.
type Report struct {
	// Schema is SchemaVersion; MarshalJSON fills it in when it is zero.
	Schema int `json:"schema"`
	// GeneratedAt is when the pass observed the world; it is written in UTC.
	GeneratedAt time.Time `json:"generated_at"`
	Trigger     Trigger   `json:"trigger"`
	// SpecDigest identifies the spec set the pass used ("sha256:…").
	SpecDigest string `json:"spec_digest"`
	// SpecRevision is the commit checked out in the spec dir ("git:9f2c1e0"),
	// empty when the spec dir is not a git work tree.
	SpecRevision string        `json:"spec_revision,omitempty"`
	Mode         Mode          `json:"mode"`
	Summary      Summary       `json:"summary"`
	Connections  []Connection  `json:"connections"`
	Unmanaged    []Unmanaged   `json:"unmanaged"`
	Errors       []ReportError `json:"errors"`
	// Leadership is set by a daemon sharing a state store with others:
	// whether it leads (writes) or stands by (observes and reports only).
	// A saved report says what it was when the pass ended; the daemon's
	// /status says what it is now, whatever the last pass found. Absent
	// otherwise.
	Leadership *Leadership `json:"leadership,omitempty"`
}

// Roles of a daemon sharing a state store.
const (
	RoleLeader  = "leader"
	RoleStandby = "standby"
)

// Leadership is who may write among the daemons sharing a state store.
type Leadership struct {
	Role string `json:"role"` // RoleLeader or RoleStandby
	// Holder is the lease holder, "HOST:PID" ("" when nobody holds it).
	Holder string `json:"holder"`
	// Expires is when the holder's lease runs out unless renewed.
	Expires time.Time `json:"expires,omitzero"`
	// Error says why this daemon cannot read or renew the lease (the
	// state store unreachable); absent when it can. A leader that cannot
	// renew stops writing before its lease expires and reads standby;
	// Holder and Expires are then the lease as it last saw it.
	Error string `json:"error,omitempty"`
	// HolderTTL is the lease TTL the holder wrote ("60s"): the one every
	// daemon waits for before taking over, whatever its own flag.
	HolderTTL string `json:"holder_ttl,omitempty"`
	// TTLMismatch, on a standby whose --lease-ttl differs from the
	// holder's, says so and what it means; absent otherwise.
	TTLMismatch string `json:"ttl_mismatch,omitempty"`
	// SpecDiverged, on a standby whose specs are neither the ones the
	// leader last applied nor a fast-forward of them, names both
	// revisions; such a standby never takes the lease. Absent otherwise.
	SpecDiverged string `json:"spec_diverged,omitempty"`
}

// Summary counts connections by sync value and unhealthy connections; see
// [Report.Tally].
type Summary struct {
	Connections int `json:"connections"`
	InSync      int `json:"in_sync"`
	Drifted     int `json:"drifted"`
	Corrected   int `json:"corrected"`
	Failed      int `json:"failed"`
	Contested   int `json:"contested,omitempty"`
	// Disabled counts connections with policy disabled: not looked at, so
	// neither in sync nor drifted.
	Disabled int `json:"disabled,omitempty"`
	// Unhealthy counts connections whose health is HealthDisconnected or
	// HealthUnauthorized, whatever their sync value.
	Unhealthy int `json:"unhealthy"`
}

// Connection is one remote-cluster link: Local reaches a remote as Alias.
type Connection struct {
	Name     string `json:"name"`
	Local    string `json:"local"`
	Alias    string `json:"alias"`
	Security string `json:"security"` // api_key | certificate
	Policy   string `json:"policy"`   // enforce | report | disabled
	Sync     Sync   `json:"sync"`
	Health   Health `json:"health"`
	// Changes are the differences found, in apply order after Sort.
	Changes  []Change  `json:"changes"`
	Findings []Finding `json:"findings"`
	// Error says why the connection could not be observed or corrected.
	Error string `json:"error,omitempty"`
	// ErrorFix says what to do about Error, naming the spec line that
	// configures what failed, when the command knows it.
	ErrorFix string `json:"error_fix,omitempty"`
	// ErrorClass is the class of Error and of the changes' errors
	// together ([Merge]); empty when nothing failed.
	ErrorClass Class `json:"error_class,omitempty"`
	// RetryAt is, for ErrorClass throttled, the earliest time the remote
	// accepts another request; zero otherwise.
	RetryAt time.Time `json:"retry_at,omitzero"`
	// RequeueAt is the earliest time something of the connection falls
	// due after this pass: its key's rotation window opens (rotate_before
	// before the expiry), the keystore load grace of a write ends, a key
	// or CA expires. The daemon passes the connection's local cluster
	// again then, rather than at the next resync. Zero when nothing is
	// due.
	RequeueAt time.Time `json:"requeue_at,omitzero"`
	// Evidence is what Health rests on: the request that carried the
	// link's credential and what came back.
	Evidence *Evidence `json:"evidence,omitempty"`
}

// Unhealthy reports whether the link does not work: disconnected, or
// refused by the remote.
func (h Health) Unhealthy() bool { return h == HealthDisconnected || h == HealthUnauthorized }

// Evidence is one request through a link and its answer.
type Evidence struct {
	// Request is what was asked, e.g. "GET /_resolve/cluster/logs:esremote-canary-…".
	Request string `json:"request"`
	// Answer is what came back, in words (never a secret).
	Answer string `json:"answer"`
	// At is when the answer came.
	At time.Time `json:"at"`
}

// Change is one difference between the specs and a target. Actual and
// Desired are values as Elasticsearch returns them (strings), or a
// [Redacted] fingerprint for secrets; an absent side is empty.
type Change struct {
	Resource Resource `json:"resource"`
	// Target is the cluster or deployment the change is written to.
	Target string `json:"target"`
	// Key names the object: a flat setting key, a role or API key name, a
	// keystore setting or a trust entry.
	Key     string `json:"key"`
	Action  Action `json:"action"`
	Actual  string `json:"actual,omitempty"`
	Desired string `json:"desired,omitempty"`
	Origin  Origin `json:"origin,omitempty"`
	// Applied is true when the change was written and acknowledged.
	Applied bool `json:"applied"`
	// Error says why writing the change failed.
	Error string `json:"error,omitempty"`
}

// Pending reports whether the change was neither applied nor failed.
func (c Change) Pending() bool { return !c.Applied && c.Error == "" }

// Finding is something worth knowing about a connection that is not a change:
// an expiring key, a likely cause of a broken link, an action the operator
// must take by hand.
type Finding struct {
	Severity Severity `json:"severity"`
	// Code is a stable snake_case identifier (key_expires_soon), for alerts
	// and scripts.
	Code    string `json:"code"`
	Message string `json:"message"`
	// Fix is what to do about it, when esremote knows.
	Fix string `json:"fix,omitempty"`
}

// Unmanaged is an object on a target that esremote does not own: reported,
// never changed.
type Unmanaged struct {
	Target string `json:"target"`
	Kind   string `json:"kind"` // alias, api_key, keystore, trust, role
	Name   string `json:"name"`
	// Reason says why it is not owned ("not in the ledger", "changed since
	// esremote wrote it").
	Reason string `json:"reason,omitempty"`
}

// ReportError is a problem that belongs to no single connection, such as an
// unreachable target.
type ReportError struct {
	Target  string `json:"target"`
	Message string `json:"message"`
	// Local is set when Target is not the local cluster whose pass met the
	// error but a cluster that pass reads (an unreachable remote): the
	// local cluster to pass again. Empty when Target is that cluster.
	Local string `json:"local,omitempty"`
	// Class says how the daemon treats the error ([Classify]); empty in
	// reports written before classes existed, which counts as retryable.
	Class Class `json:"class,omitempty"`
	// RetryAt is, for Class throttled, the earliest time the target
	// accepts another request; zero otherwise.
	RetryAt time.Time `json:"retry_at,omitzero"`
	// Fix says what to do, naming the spec line that configures what
	// failed (the URL, the credential, the deployment id) when the command
	// knows it; empty otherwise.
	Fix string `json:"fix,omitempty"`
}

// New returns an empty report of the given mode and trigger, generated at at.
func New(mode Mode, trigger Trigger, at time.Time) *Report {
	return &Report{
		Schema:      SchemaVersion,
		GeneratedAt: at.UTC(),
		Trigger:     trigger,
		Mode:        mode,
		Connections: []Connection{},
		Unmanaged:   []Unmanaged{},
		Errors:      []ReportError{},
	}
}

// ErrorFindings counts the error-level findings of the connections that
// are not disabled. Each is something the operator must fix (a conflict,
// another installation contesting a link, a version too old for a role):
// plan and apply exit 1 on any, whatever else the pass did.
func (r *Report) ErrorFindings() (n int) {
	for _, c := range r.Connections {
		if c.Policy == "disabled" {
			continue
		}
		for _, f := range c.Findings {
			if f.Severity == SeverityError {
				n++
			}
		}
	}
	return n
}

// Tally recomputes Summary from Connections. The engine calls it once the
// connections are final; WriteJSON writes Summary as it is.
func (r *Report) Tally() { r.Summary = tally(r.Connections) }

func tally(conns []Connection) Summary {
	s := Summary{Connections: len(conns)}
	for _, c := range conns {
		switch c.Sync {
		case SyncInSync:
			s.InSync++
		case SyncDrifted:
			s.Drifted++
		case SyncCorrected:
			s.Corrected++
		case SyncFailed:
			s.Failed++
		case SyncContested:
			s.Contested++
		case SyncDisabled:
			s.Disabled++
		}
		if c.Health.Unhealthy() {
			s.Unhealthy++
		}
	}
	return s
}

// Sort puts every list of the report in a deterministic order: connections
// by name, changes in apply order (resource, then target, then key),
// findings most serious first, unmanaged objects and errors by target.
func (r *Report) Sort() {
	slices.SortStableFunc(r.Connections, func(a, b Connection) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Local, b.Local), strings.Compare(a.Alias, b.Alias))
	})
	for i := range r.Connections {
		c := &r.Connections[i]
		slices.SortStableFunc(c.Changes, compareChanges)
		slices.SortStableFunc(c.Findings, func(a, b Finding) int {
			return cmp.Or(cmp.Compare(rank(severityOrder, a.Severity), rank(severityOrder, b.Severity)),
				strings.Compare(string(a.Severity), string(b.Severity)),
				strings.Compare(a.Code, b.Code), strings.Compare(a.Message, b.Message))
		})
	}
	slices.SortStableFunc(r.Unmanaged, func(a, b Unmanaged) int {
		return cmp.Or(strings.Compare(a.Target, b.Target), strings.Compare(a.Kind, b.Kind), strings.Compare(a.Name, b.Name))
	})
	slices.SortStableFunc(r.Errors, func(a, b ReportError) int {
		return cmp.Or(strings.Compare(a.Target, b.Target), strings.Compare(a.Message, b.Message))
	})
}

func compareChanges(a, b Change) int {
	return cmp.Or(cmp.Compare(rank(resourceOrder, a.Resource), rank(resourceOrder, b.Resource)),
		strings.Compare(string(a.Resource), string(b.Resource)),
		strings.Compare(a.Target, b.Target), strings.Compare(a.Key, b.Key),
		strings.Compare(string(a.Action), string(b.Action)))
}

// rank is v's index in order, or len(order) when v is not in it.
func rank[T comparable](order []T, v T) int {
	if i := slices.Index(order, v); i >= 0 {
		return i
	}
	return len(order)
}

// HasChanges reports whether any connection has a change, applied or not.
func (r *Report) HasChanges() bool {
	for _, c := range r.Connections {
		if len(c.Changes) > 0 {
			return true
		}
	}
	return false
}

// PendingChanges counts changes that were neither applied nor failed: in a
// plan every change; after an apply those left alone by the "report" policy.
// `esremote plan` exits 2 when it is not zero.
func (r *Report) PendingChanges() int {
	n := 0
	for _, c := range r.Connections {
		for _, ch := range c.Changes {
			if ch.Pending() {
				n++
			}
		}
	}
	return n
}

// MarshalJSON writes the report with "schema" set and every list as [].
func (r Report) MarshalJSON() ([]byte, error) {
	type report Report // no methods: avoids recursion
	out := report(r)
	if out.Schema == 0 {
		out.Schema = SchemaVersion
	}
	out.GeneratedAt = out.GeneratedAt.UTC()
	out.Connections = orEmpty(out.Connections)
	out.Unmanaged = orEmpty(out.Unmanaged)
	out.Errors = orEmpty(out.Errors)
	return marshal(out)
}

// MarshalJSON writes the connection with every list as [].
func (c Connection) MarshalJSON() ([]byte, error) {
	type connection Connection // no methods: avoids recursion
	out := connection(c)
	out.Changes = orEmpty(out.Changes)
	out.Findings = orEmpty(out.Findings)
	return marshal(out)
}

// marshal is json.Marshal without HTML escaping, so "<redacted>" stays
// readable wherever the report is encoded.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ReadJSON decodes a report written by [WriteJSON], refusing a schema it does
// not know.
func ReadJSON(rd io.Reader) (*Report, error) {
	var r Report
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("decode report: %w", err)
	}
	if r.Schema != SchemaVersion {
		return nil, fmt.Errorf("decode report: schema %d, want %d", r.Schema, SchemaVersion)
	}
	return &r, nil
}

// RedactedPrefix starts every secret value in a report.
const RedactedPrefix = "<redacted>"

// fingerprintLen is how many hex digits of a fingerprint a report shows:
// enough to tell two keys apart, too few to matter if the hash were weak.
const fingerprintLen = 8

// Redacted is how a report shows a secret: "<redacted> sha256:ab12cd34",
// from a hex SHA-256 fingerprint the engine computed (with or without its
// "sha256:" prefix), shortened to 8 digits. An empty fingerprint gives
// "<redacted>". Redacted takes a fingerprint, never the secret itself.
func Redacted(fingerprint string) string {
	fp := strings.TrimPrefix(fingerprint, "sha256:")
	if fp == "" {
		return RedactedPrefix
	}
	if len(fp) > fingerprintLen {
		fp = fp[:fingerprintLen]
	}
	return RedactedPrefix + " sha256:" + fp
}
