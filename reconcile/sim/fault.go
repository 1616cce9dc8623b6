package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
)

// FaultKind is what an injected fault does to a matching request.
type FaultKind string

// The kinds of fault.
const (
	// FaultLatency delays the request by Latency, then serves it.
	FaultLatency FaultKind = "latency"
	// FaultStatus answers Status (default 500) with the server's error body.
	FaultStatus FaultKind = "status"
	// FaultRateLimit answers 429 with x-ratelimit-remaining: 0.
	FaultRateLimit FaultKind = "rate_limit"
	// FaultReset closes the connection with a TCP reset, no answer.
	FaultReset FaultKind = "reset"
	// FaultHang never answers; the request waits until the client gives up
	// or the server closes.
	FaultHang FaultKind = "hang"
	// FaultUnacknowledged applies a cluster-settings PUT but answers
	// "acknowledged": false (the ack timeout of es-api.md §3.6).
	FaultUnacknowledged FaultKind = "unacknowledged"
)

// Fault selects requests and breaks them. Empty selectors match all.
type Fault struct {
	// Target is a cluster name, "ech" or "ece"; empty for every server.
	Target string `json:"target,omitempty"`
	// Method is an HTTP method; empty for any.
	Method string `json:"method,omitempty"`
	// Path is a path.Match glob on the URL path, e.g. "/_cluster/settings"
	// or "/api/v1/deployments/*"; empty for any.
	Path    string        `json:"path,omitempty"`
	Kind    FaultKind     `json:"kind"`
	Status  int           `json:"status,omitempty"`
	Latency time.Duration `json:"-"`
	// Times limits the fault to the next N matching requests; 0 keeps it
	// until removed.
	Times int `json:"times,omitempty"`
}

type faultJSON struct {
	Target  string    `json:"target,omitempty"`
	Method  string    `json:"method,omitempty"`
	Path    string    `json:"path,omitempty"`
	Kind    FaultKind `json:"kind"`
	Status  int       `json:"status,omitempty"`
	Latency string    `json:"latency,omitempty"`
	Times   int       `json:"times,omitempty"`
}

// MarshalJSON writes Latency as a Go duration string ("250ms").
func (f Fault) MarshalJSON() ([]byte, error) {
	j := faultJSON{f.Target, f.Method, f.Path, f.Kind, f.Status, "", f.Times}
	if f.Latency > 0 {
		j.Latency = f.Latency.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads Latency as a Go duration string.
func (f *Fault) UnmarshalJSON(b []byte) error {
	var j faultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = Fault{Target: j.Target, Method: j.Method, Path: j.Path, Kind: j.Kind, Status: j.Status, Times: j.Times}
	if j.Latency != "" {
		d, err := time.ParseDuration(j.Latency)
		if err != nil {
			return fmt.Errorf("fault latency: %w", err)
		}
		f.Latency = d
	}
	return f.validate()
}

func (f Fault) validate() error {
	switch f.Kind {
	case FaultLatency, FaultStatus, FaultRateLimit, FaultReset, FaultHang, FaultUnacknowledged:
	default:
		return fmt.Errorf("fault kind %q: must be latency, status, rate_limit, reset, hang or unacknowledged", f.Kind)
	}
	if f.Path != "" {
		if _, err := path.Match(f.Path, "/"); err != nil {
			return fmt.Errorf("fault path %q: %w", f.Path, err)
		}
	}
	return nil
}

type faultState struct {
	id int
	Fault
	left int
}

// AddFault installs a fault and returns its id for RemoveFault.
func (w *World) AddFault(f Fault) (int, error) {
	if err := f.validate(); err != nil {
		return 0, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nextFault++
	w.faults = append(w.faults, &faultState{id: w.nextFault, Fault: f, left: f.Times})
	return w.nextFault, nil
}

// RemoveFault removes one fault; unknown ids are ignored.
func (w *World) RemoveFault(id int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.faults = slices.DeleteFunc(w.faults, func(f *faultState) bool { return f.id == id })
}

// ClearFaults removes every fault.
func (w *World) ClearFaults() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.faults = nil
}

// Faults lists the installed faults (Times shows what is left).
func (w *World) Faults() []Fault {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Fault, 0, len(w.faults))
	for _, f := range w.faults {
		g := f.Fault
		g.Times = f.left
		out = append(out, g)
	}
	return out
}

// matchFaults takes the faults that apply to a request, counting down
// the limited ones.
func (w *World) matchFaults(target string, r *http.Request) []Fault {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Fault
	for _, f := range w.faults {
		if f.Target != "" && f.Target != target {
			continue
		}
		if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
			continue
		}
		if f.Path != "" {
			if ok, _ := path.Match(f.Path, r.URL.Path); !ok {
				continue
			}
		}
		out = append(out, f.Fault)
		if f.Times > 0 {
			f.left--
		}
	}
	w.faults = slices.DeleteFunc(w.faults, func(f *faultState) bool { return f.Times > 0 && f.left <= 0 })
	return out
}

// faultFlags are the faults a handler must act on itself.
type faultFlags struct {
	unacknowledged bool
	rateLimited    bool
}

type faultKey struct{}

func requestFault(r *http.Request) faultFlags {
	f, _ := r.Context().Value(faultKey{}).(faultFlags)
	return f
}

func withFaultFlags(r *http.Request, f faultFlags) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), faultKey{}, f))
}

// Request is one entry of the request log.
type Request struct {
	Time   time.Time `json:"time"`
	Target string    `json:"target"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	// Endpoint is the route that served it, e.g. "PUT /_cluster/settings"
	// or "GET /api/v1/deployments/{id}".
	Endpoint string `json:"endpoint"`
	// Status is the HTTP status sent; 0 for a reset or a hang.
	Status int    `json:"status"`
	Fault  string `json:"fault,omitempty"`
	// OpaqueID is the request's X-Opaque-Id header: which client sent it
	// (Elasticsearch echoes it in its slow logs and task list).
	OpaqueID string `json:"opaque_id,omitempty"`
	// Node is the name of the node that coordinated an Elasticsearch
	// request (NodeHeader).
	Node string `json:"node,omitempty"`
	// Held is how long the answer was held, with the world unlocked,
	// after the request changed it: a settings PUT waiting for its
	// aliases' connections, up to the ack timeout (esHandler.auth). Zero
	// for an answer sent at once. It is the sim's own account, for tests
	// that assert a wait without timing it: Elasticsearch logs nothing
	// like it. The wait itself follows RemoteClusterService
	// .updateRemoteCluster and AckedClusterStateUpdateTask.onAckTimeout
	// (World.syncConns, esHandler.putSettings).
	Held time.Duration `json:"held,omitempty"`
}

func (w *World) record(req Request) {
	w.mu.Lock()
	defer w.mu.Unlock()
	req.Time = w.now()
	w.log = append(w.log, req)
}

// Requests returns a copy of the request log, oldest first.
func (w *World) Requests() []Request {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.log)
}

// RequestCounts counts the log by "target endpoint", e.g.
// "ech-analytics GET /_remote/info".
func (w *World) RequestCounts() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]int{}
	for _, r := range w.log {
		out[r.Target+" "+r.Endpoint]++
	}
	return out
}

// CountRequests counts logged requests to target (any when empty) whose
// endpoint is endpoint (any when empty).
func (w *World) CountRequests(target, endpoint string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, r := range w.log {
		if (target == "" || r.Target == target) && (endpoint == "" || r.Endpoint == endpoint) {
			n++
		}
	}
	return n
}

// ResetLog empties the request log.
func (w *World) ResetLog() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.log = nil
}

// FormatCounts renders RequestCounts one "count key" per line, sorted by key.
func FormatCounts(counts map[string]int) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		fmt.Fprintf(&b, "%d %s\n", counts[k], k)
	}
	return b.String()
}
