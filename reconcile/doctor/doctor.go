// Package doctor is `esremote doctor`: the step-by-step report of one
// cross-cluster link (ok / problem / skipped, each with its evidence and a
// one-sentence fix) and the checks that fill it.
//
//   - doctor.go: the Report, its steps and its text and JSON renderers;
//   - run.go: Run, the order of the steps, and the Engine it reads through
//     (it only reads: nothing is written, not even the ledger);
//   - checkup.go: Checkup, the checks of one connection that need the
//     clusters, and the parameters step; apikey.go the keystore and key
//     steps of the API-key model, trust.go the trust step of the
//     certificate model; link.go what the local cluster says of the link
//     (remote_info, resolve_cluster, the canary search and the
//     credential's privileges for it);
//   - match.go: the table that maps the error strings Elasticsearch writes
//     for broken links (anchors.md §5.2) to their causes;
//   - network.go: the port rules of the security models (es-api.md §10)
//     and the network probes (DNS, TCP, TLS with SNI), which take an
//     address, a server name and a Network.
//
// The engine's pass runs the checks that send no network probes
// (Parameters, Keystore, APIKey with Checkup.Cached) itself.
package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Status is the outcome of one step.
type Status string

// Step outcomes.
const (
	OK      Status = "ok"
	Problem Status = "problem"
	Skipped Status = "skipped"
)

// Step names, in the order the doctor runs them.
const (
	StepSpec           = "spec"
	StepLocal          = "local"
	StepParameters     = "parameters"
	StepDNS            = "dns"
	StepTCP            = "tcp"
	StepTLS            = "tls"
	StepKeystore       = "keystore"
	StepAPIKey         = "api_key"
	StepTrust          = "trust"
	StepPrivileges     = "privileges"
	StepRemoteInfo     = "remote_info"
	StepResolveCluster = "resolve_cluster"
	StepCanary         = "canary"
)

// Step is one check: what was looked at, what was seen, and what to do.
type Step struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Evidence is what the check saw (never a secret).
	Evidence string `json:"evidence"`
	// Cause is a cause code (Cause* constants) when Status is Problem.
	Cause string `json:"cause,omitempty"`
	// Fix is one sentence: what to do about the problem.
	Fix string `json:"fix,omitempty"`
}

// Report is the doctor's verdict on one connection.
type Report struct {
	Connection string `json:"connection"`
	Local      string `json:"local,omitempty"`
	Alias      string `json:"alias,omitempty"`
	Security   string `json:"security,omitempty"`
	Steps      []Step `json:"steps"`
}

// Add appends a step.
func (r *Report) Add(s Step) { r.Steps = append(r.Steps, s) }

// Healthy reports whether no step found a problem.
func (r *Report) Healthy() bool { return r.FirstProblem() == nil }

// FirstProblem is the first step with a problem, the likely cause of a
// broken link (later problems often follow from it); nil when healthy.
func (r *Report) FirstProblem() *Step {
	for i := range r.Steps {
		if r.Steps[i].Status == Problem {
			return &r.Steps[i]
		}
	}
	return nil
}

// Step returns the step of that name, or nil.
func (r *Report) Step(name string) *Step {
	for i := range r.Steps {
		if r.Steps[i].Name == name {
			return &r.Steps[i]
		}
	}
	return nil
}

// WriteText renders the report for a terminal:
//
//	doctor analytics-to-ece-logs (ech-analytics → ece-prod-logs, api_key)
//	  ok       local            ech-analytics answers: Elasticsearch 8.19.3
//	  problem  api_key          key … is invalidated
//	           fix: run esremote apply: …
//	healthy | 1 problem: <first step> (<cause>)
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "doctor %s", r.Connection)
	if r.Local != "" {
		fmt.Fprintf(&b, " (%s → %s, %s)", r.Local, r.Alias, r.Security)
	}
	b.WriteString("\n")
	problems := 0
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "  %-8s %-16s %s\n", s.Status, s.Name, s.Evidence)
		if s.Status == Problem {
			problems++
			if s.Cause != "" {
				fmt.Fprintf(&b, "  %-8s %-16s cause: %s\n", "", "", s.Cause)
			}
			if s.Fix != "" {
				fmt.Fprintf(&b, "  %-8s %-16s fix: %s\n", "", "", s.Fix)
			}
		}
	}
	if first := r.FirstProblem(); first != nil {
		noun := "problems"
		if problems == 1 {
			noun = "problem"
		}
		fmt.Fprintf(&b, "%d %s; the first is %s", problems, noun, first.Name)
		if first.Cause != "" && first.Cause != first.Name {
			// "the first is dns: …", not "the first is dns (dns)".
			fmt.Fprintf(&b, " (%s)", first.Cause)
		}
		b.WriteString(": fix it first\n")
	} else {
		b.WriteString("healthy: every check passed or did not apply\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON renders the report as one indented JSON object with a
// "healthy" field.
func WriteJSON(w io.Writer, r *Report) error {
	out := struct {
		*Report
		Healthy bool `json:"healthy"`
	}{r, r.Healthy()}
	if out.Steps == nil {
		out.Steps = []Step{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
