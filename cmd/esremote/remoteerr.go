package main

import (
	"errors"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/cloud"
	"github.com/esremote/esremote/reconcile/es"
)

// addRemoteErrors lists, in a daemon pass's report, an error for each
// cluster or deployment other than a connection's local cluster whose
// failure failed that connection: a remote the pass could not read. The
// engine reports it on the connection only ("remote X: …"), so without
// this the unreachable remote was in no report error: no
// esremote_report_errors{target="X"}, no EsremoteTargetError for X, and
// the daemon's warning named the local cluster. The error's Local is that
// local cluster, the one the daemon passes again; one error per remote and
// local cluster. The message is the remote's own error (scrubbed with the
// rest of the report afterwards).
func addRemoteErrors(rep *drift.Report, res *reconcile.Result) {
	if rep == nil || res == nil || res.Plan == nil {
		return
	}
	seen := map[[2]string]bool{}
	for _, cp := range res.Plan.Clusters {
		for _, p := range cp.Connections {
			if p.Err == nil {
				continue
			}
			target, cause := errCluster(p.Err)
			if target == "" || target == cp.Local || seen[[2]string{target, cp.Local}] {
				continue
			}
			seen[[2]string{target, cp.Local}] = true
			e := drift.ReportError{Target: target, Local: cp.Local, Message: cause.Error()}
			var wait time.Duration
			e.Class, wait = drift.Classify(cause)
			if e.Class == drift.ClassThrottled && wait > 0 {
				e.RetryAt = res.Finished.Add(wait).UTC()
			}
			rep.Errors = append(rep.Errors, e)
		}
	}
	rep.Sort()
}

// errCluster is the cluster or deployment an error is about, as its
// adapter named it, and that adapter's error; "" and nil when it names
// none.
func errCluster(err error) (string, error) {
	if ee, ok := errors.AsType[*es.Error](err); ok && ee.Target != "" {
		return ee.Target, ee
	}
	if ce, ok := errors.AsType[*cloud.Error](err); ok && ce.Target != "" {
		return ce.Target, ce
	}
	return "", nil
}
