// Package daemon is the long-running side of `esremote run`: the Loop
// (debounced spec reloads, periodic resyncs, the last good spec set kept
// on a bad reload; config.go, loop.go), its per-target switch on the error
// class of each pass (terminal, retryable, throttled, requeue;
// schedule.go), the reports it makes itself (report.go), its status
// (status.go), the spec-directory Watch,
// AffectedLocals (which local clusters a spec edit concerns) and the
// HTTP API (/healthz, /readyz, /status, /-/reload).
//
// It knows nothing of the engine: a pass is a PassFunc that cmd/esremote
// wires to reconcile.Reconciler, and the Loop sees only its drift.Report.
package daemon
