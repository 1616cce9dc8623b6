// Package drift is esremote's report: what one reconcile pass found, what it
// changed and what it could not do, plus the renderers (text, JSON, Markdown,
// the HTML status page) and the state-dir history of past reports, and the
// estate's [Graph] with its Mermaid and DOT renderers.
//
// The engine fills a [Report]; the report knows nothing of the engine. drift
// imports no other esremote package, and it never holds a secret: secret
// values appear only as [Redacted] fingerprints ("<redacted> sha256:ab12cd34"),
// produced by the engine from a fingerprint it computed itself.
//
// # Contract
//
// One Report type serves `plan`, `apply`, the daemon (`run`), `status` and the
// history. Its JSON form has "schema": 1 (DESIGN §6); fields are only ever
// added within a schema version, never renamed or removed. Every list is
// serialised as [] rather than null, and [Report.Sort] gives a deterministic
// order, so two reports of the same world are byte-identical except for
// generated_at.
//
// Each [Connection] is judged on two independent axes, like Argo CD's sync and
// health:
//
//   - Sync says whether the configuration matches the specs:
//     [SyncInSync] nothing differs; [SyncDrifted] differences were found and
//     left alone (a plan, or the "report" policy); [SyncCorrected] differences
//     were found and every one was written; [SyncFailed] the connection could
//     not be observed or a correction failed (see Connection.Error and
//     Change.Error); [SyncContested] another writer keeps flipping a key back,
//     so esremote stopped fighting over it and reports it instead;
//     [SyncDisabled] the connection's policy is disabled: esremote did not
//     look at it, so it is neither in sync nor drifted.
//   - Health says whether the link works, by evidence (Connection.Evidence:
//     a request that carries the link's credential, not _remote/info's
//     socket state): [HealthConnected] the request succeeded (for a managed
//     key: under that very key); [HealthUnauthorized] the remote refused
//     it (a wrong, invalidated or expired key in the keystore);
//     [HealthDisconnected] the transport is down (a connection that is in
//     sync but disconnected or unauthorized is "unhealthy", and its
//     findings name the likely cause); [HealthRotating] a new key is
//     written and not yet proven in use over the rotation's window, and
//     the old one stays valid;
//     [HealthUnknown] it was not checked or could not be (a plan that
//     stopped early, an unreachable cluster).
//
// Summary counts connections per sync value (the sync counts add up to
// Summary.Connections when every connection has a known sync value) and,
// independently, Summary.Unhealthy counts connections whose health is
// [HealthDisconnected] or [HealthUnauthorized].
//
// A [Change] is one difference between desired and actual state, in the apply
// order of its resource (API key, keystore, trust, cluster setting, role).
// Its Origin (DESIGN §5) says who moved: [OriginExternal] when the live value
// differs from what esremote last wrote (someone changed the cluster), and
// [OriginSpec] when the live value is still what esremote wrote but the specs
// now ask for something else (including objects esremote never wrote). Applied
// is true only when the change was written and acknowledged; a change that
// is neither applied nor failed is pending.
//
// [Unmanaged] lists objects found on a target that esremote does not own (or
// owns no more because their live value was changed by someone else): they are
// reported and never changed or deleted. Errors lists problems that belong to
// no single connection, such as a target that could not be reached.
//
// Every error has a [Class] (ReportError.Class, Connection.ErrorClass):
// [ClassTerminal] (retrying cannot help until someone changes something),
// [ClassRetryable] or [ClassThrottled] (with RetryAt, the remote's wait).
// The adapters classify their errors ([Classifier], [Classify]); the daemon
// switches on the class per target, and on Connection.RequeueAt, the
// earliest time something of a connection falls due.
//
// # State directory
//
// [History] keeps reports in the state directory:
// reports/<timestamp>-<trigger>.json for the last [DefaultKeep] passes and
// last.json for the newest, all written through its [Files] (in esremote,
// reconcile/statedir's atomic writes: temp file, fsync, rename, fsync of the
// directory), files 0600 and directories 0700. Where the state directory is,
// and its writer lock, are reconcile/statedir's too: drift touches the
// filesystem only to list, read and prune its reports.
//
// # Metrics and alerts
//
// [Metrics] and [Alerter] turn what the daemon knows into Prometheus series
// and alerts on transitions (docs/alerting.md lists both). `esremote run`
// (cmd/esremote/observe.go) wires them in: it serves [Metrics.Handler] on
// /metrics, calls [Metrics.Observe] and [Alerter.Observe] with every saved
// report (a retry's connections merged into the last full pass, without
// the spec directory's reload errors, which [Metrics.ObserveReload] and
// [Alerter.SpecInvalid] / [Alerter.SpecValid] report instead), counts a
// pass that could not run with Observe(nil, …), counts corrections with
// [Metrics.ObserveCorrections] from each pass's own report (never a merged
// one), sets [Metrics.SetKeyExpiry] from the engine's result after each
// pass, [Metrics.SetResync] and [Metrics.SetBuildInfo] at start, and on
// stop calls
// [Alerter.Flush] (5 s at most) before it cancels [Alerter.Run].
package drift
