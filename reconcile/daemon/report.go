package daemon

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/spec"
)

// The reports the loop makes itself: that of a pass that could not run,
// and the merge of a pass over some targets into the last full report.

// failedReport is the report of a pass that could not run, and the
// targets to retry: the last report's connections (before any, the spec
// set's), those of the pass marked as not observed by it, and the error.
// A retry of some targets keeps the rest of the last report as it was.
func (l *Loop) failedReport(req PassRequest, err error) (*drift.Report, map[string]bool) {
	now := l.cfg.Now()
	target := passTarget
	var pe *PassError
	if errors.As(err, &pe) && pe.Target != "" {
		target = pe.Target
	}
	l.mu.Lock()
	prev := l.report
	observed := maps.Clone(l.observed)
	l.mu.Unlock()

	mode := drift.ModeRun
	var conns []drift.Connection
	var prevErrors []drift.ReportError
	if prev != nil {
		mode = prev.Mode
		conns = slices.Clone(prev.Connections)
		prevErrors = prev.Errors
	} else {
		for _, c := range req.Set.Connections {
			conn := drift.Connection{Name: c.Name, Local: c.Local, Alias: c.Alias, Security: string(c.Security),
				Policy: string(c.Policy), Changes: []drift.Change{}, Findings: []drift.Finding{}}
			if c.Policy == spec.PolicyDisabled {
				conn.Sync, conn.Health = drift.SyncDisabled, drift.HealthUnknown
			}
			conns = append(conns, conn)
		}
	}
	r := drift.New(mode, req.Trigger, now)
	r.SpecDigest = req.Set.Digest
	if prev != nil {
		r.SpecRevision = prev.SpecRevision
	}
	in := func(local string) bool { return req.Targets == nil || slices.Contains(req.Targets, local) }
	class, wait := drift.Classify(err)
	retry := retryAt(class, wait, now)
	failing := map[string]bool{}
	for _, c := range conns {
		if !in(c.Local) || c.Sync == drift.SyncDisabled || c.Policy == string(spec.PolicyDisabled) {
			r.Connections = append(r.Connections, c)
			continue
		}
		last := "never observed"
		if o, ok := observed[c.Name]; ok {
			last = fmt.Sprintf("not observed since %s (then %s, %s)", o.at.UTC().Format(time.RFC3339), o.sync, o.health)
		}
		c.Sync, c.Health = drift.SyncFailed, drift.HealthUnknown
		c.Changes, c.Evidence = []drift.Change{}, nil
		c.ErrorClass, c.RetryAt, c.RequeueAt = class, retry, time.Time{}
		c.Error = fmt.Sprintf("%s: the pass at %s could not run: %s", last, now.UTC().Format(time.RFC3339), firstErrLine(err))
		r.Connections = append(r.Connections, c)
		failing[c.Local] = true
	}
	for _, e := range prevErrors {
		if req.Targets != nil && !in(e.Target) && !strings.HasPrefix(e.Message, passFailed) {
			r.Errors = append(r.Errors, e)
		}
	}
	r.Errors = append(r.Errors, drift.ReportError{Target: target, Message: passFailed + err.Error(), Class: class, RetryAt: retry})
	if l.cfg.Leadership != nil {
		r.Leadership = l.cfg.Leadership()
	}
	r.Sort()
	r.Tally()
	return r, failing
}

// mergeReport puts the report of a pass over some targets into the last
// full report: the connections, unmanaged objects and errors of those
// targets are replaced, the rest kept.
func mergeReport(prev, part *drift.Report, targets []string) *drift.Report {
	if prev == nil {
		return part
	}
	in := func(t string) bool { return slices.Contains(targets, t) }
	out := *part
	out.Connections, out.Unmanaged, out.Errors = nil, nil, nil
	inPart := map[string]bool{}
	for _, c := range part.Connections {
		inPart[c.Name] = true
	}
	for _, c := range prev.Connections {
		// A connection of a target is replaced by the part's view; so is
		// an entry the part also has (the pass-level trust entry, which
		// belongs to no local cluster).
		if !in(c.Local) && !inPart[c.Name] {
			out.Connections = append(out.Connections, c)
		}
	}
	out.Connections = append(out.Connections, part.Connections...)
	for _, u := range prev.Unmanaged {
		if !in(u.Target) {
			out.Unmanaged = append(out.Unmanaged, u)
		}
	}
	out.Unmanaged = append(out.Unmanaged, part.Unmanaged...)
	for _, e := range prev.Errors {
		// A pass ran since the one that could not: its error is over.
		if !in(e.Target) && !in(e.Local) && !strings.HasPrefix(e.Message, passFailed) {
			out.Errors = append(out.Errors, e)
		}
	}
	out.Errors = append(out.Errors, part.Errors...)
	out.Sort()
	out.Tally()
	return &out
}

// retryAt is the time a throttled error allows the next request, counted
// from at; zero for the other classes.
func retryAt(class drift.Class, wait time.Duration, at time.Time) time.Time {
	if class != drift.ClassThrottled || wait <= 0 {
		return time.Time{}
	}
	return at.Add(wait).UTC()
}
