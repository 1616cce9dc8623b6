// Package reconcile is esremote's engine: it turns a spec.Set into the
// desired remote-cluster state of every local cluster, observes what the
// clusters and their control planes hold, computes a Plan, applies it and
// verifies the links.
//
// A pass is one trip down (DESIGN §4), and the files follow it (pass.go):
//
//   - observe (package observe: the read-once store, the links' evidence
//     request, the trust facts and the endpoints; driven by observe*.go,
//     evidence.go, trust_pass.go and snapshot.go): every read of the pass,
//     each target once, into the pass's Snapshot; per cluster two waves
//     (the fixed reads, then the evidence and remotes the first wave asks
//     for).
//     A cluster that is both a local and a remote is read once.
//   - decide (package decide): decide.Decide(set, snapshot, holds, now),
//     pure functions of the Snapshot as plain data (world.Snapshot, the
//     trust facts, the copy of the ledger taken at pass start, the
//     credentials resolved when the pass starts) and the daemon's memory
//     of contests (decide.Holds), one file per family; the pass makes each
//     cluster's decision (decide.Cluster) as soon as its reads are in,
//     then the identity check and the holds (decidePass); nothing is read
//     or written, and the daemon's memory is updated after the decision.
//     trust_pass.go reads the trust facts in rounds, as the trust
//     decision names them.
//   - a saved plan (plandoc.go, sealed by seal.go) is compared with the
//     whole decision before the first write: stale anywhere, written
//     nowhere.
//   - execute (execute*.go): trust first, then each cluster in the order
//     of DESIGN §5; the ledger's intent before each write, its commit after
//     through one helper that reports a failed commit (the ledger itself,
//     package ledger, never the pass's copy); then verify (package
//     verify, through verify.go).
//
// What the world holds is package world's plain data (the adapters
// reconcile/es and reconcile/cloud keep its names as aliases); the
// ownership ledger is package ledger.
//
// The daemon (reconcile/daemon), the importer (reconcile/importer) and
// the doctor (reconcile/doctor) are built on this package's exported API;
// the engine imports only the doctor's request-free checks.
//
// The contract (DESIGN §5):
//
//   - Level-based. Every pass observes again; nothing is cached between
//     passes except the ownership ledger and a link's last evidence (reused
//     for at most EvidenceFresh, only in the state it was taken in), so a
//     crash at any point converges on the next pass.
//   - One pass per local cluster reads GET /, GET /_cluster/settings and
//     GET /_remote/info once, diffs every alias, and sends at most one
//     PUT /_cluster/settings carrying every change for that cluster.
//   - The Plan is data. Diff is pure and deterministic; plan, apply, the
//     daemon and the drift report all use the same Plan, so they cannot
//     disagree. Applying a Plan twice is safe: every write sets a value, it
//     never increments or appends.
//   - Ownership. esremote deletes only what the Ledger says it wrote AND
//     whose live value still matches the fingerprint it recorded; anything
//     else is reported as unmanaged or foreign and left alone.
//   - Retries. The adapters (reconcile/es, reconcile/cloud) make single
//     attempts or retry only inside their own documented layer; a failed
//     target is reported failed for this pass and retried by the next one
//     (the daemon backs off per target).
package reconcile
