// Package observe is the observe stage of a pass (DESIGN §4): the reads of
// the world, each target once per pass, into plain data a decision can
// use without a client.
//
// Reads is one pass's read-once store. A cluster's GET / is asked once
// whatever its role (Info: a cluster that is the local of one link and
// the remote of a managed key of another is not asked twice); a local
// cluster's fixed reads of DESIGN §5 leave at once, one round trip
// (StartLocal); a managed key's remote is read once, GET / and its keys
// together (Remote); a deployment is read once (Deployment). What it
// hands out (Observed, LocalRead's results, Remote once done) is plain
// data: no client, and nothing a decision could use to read again.
//
// What the second wave reads follows from the first by pure functions:
// KeyRemote names the remote a managed key's decision needs, given the
// local's observed version, so that the pass reads it as soon as the local
// is observed and the decision finds it read (TestKeyRemote).
//
// The evidence of a link (DESIGN §5 "Verify by evidence") is asked here
// too: Asker.AskEarly with a local cluster's reads, Asker.Evidence once
// its _remote/info is in, Asker.Ask after writes; Judge reads an answer by
// the local cluster's version (Semantics), a pure function. The evidence
// the daemon keeps between passes comes in as data (Link.Cached) and what
// a read asked goes out as data (Answers.New); package reconcile keeps it.
//
// The trust facts a certificate link's trust depends on are read here
// too (TrustFact), one question of the trust decision at a time: the
// decision (decide.DecideTrust) names what it lacks, the caller reads it
// here and decides again, until nothing is missing. Deployments are read
// once per pass (Clients.Deployment); the re-read after a trust write's
// 409 (ReadTrust) is a new observation on purpose.
//
// The endpoints of the remotes the connections name are resolved here
// (Endpoints: a deployment's through its control plane, its read shared
// with the trust facts; a self-managed cluster's from its URL).
//
// Still in package reconcile, driven from there: the scheduling of the
// reads (observeAll, one slot per cluster) and the rounds of the trust
// decision (planTrust).
package observe
