// Package decide is the decide stage of a pass (DESIGN §4): pure
// functions from the specs, what the world holds (package world) and a
// copy of the ledger taken at pass start to what a pass would do. Nothing
// here reads or writes the world, and the package imports no adapter
// (reconcile/es, reconcile/cloud): TestDecideImportsNoAdapter fails on any
// path from here to one. The daemon's memory (contests, backoff) is passed
// in, never changed here.
//
// The whole decision is Decide(set, snapshot, holds, now) (decide.go):
// from a Snapshot of plain data (the world's reads, world.Snapshot; the
// trust facts; the ledger's copy; the hand-made keys' credentials as
// resolved; the pass's scope and windows) and the daemon's memory (Holds),
// every local cluster's decision (Cluster, cluster.go: the desired
// aliases, the links' evidence, the canary privileges, each key and its
// trust, the settings Diff, roles and removals), the identity check across
// them (NamesByUUID, CheckIdentity), the holds (contest.go: Holds.Hold),
// the departed clusters, the trust plan and the typed steps (steps.go:
// StepBuilder, what a saved plan carries). The live pass composes the same
// functions: each cluster's decision as soon as its reads are in, then the
// part that spans clusters (TestPassDecisionIsDecide in reconcile).
//
// What it holds, one file per family, each table-tested over plain data:
//
//   - settings.go: a local cluster's aliases against what it holds and
//     what the ledger records (Diff: ownership, conflicts, drift origin,
//     the one settings PUT) (TestDiffOwnershipRules);
//
//   - key.go: an api_key link's key and keystore work, rotation included
//     (Key) (TestDiffKey, TestDiffKeyIsPure, TestClassifyKey); access.go:
//     the key's access, name and fingerprints;
//
//   - removals.go: the keys and keystore entries of connections that left
//     (RemovedKeys, KeystoreRemovals) (TestDiffRemovedKeys,
//     TestDiffKeystoreRemovals);
//
//   - roles.go: the roles connections declare against the live ones
//     (Roles) (TestDiffRolesOwnershipRules);
//
//   - departed.go: what the ledger still owns on clusters that left the
//     specs (Departed) (TestDecideDeparted);
//
//   - desired.go: the settings a connection wants for its alias (Desire)
//     and where a remote is dialled (Endpoint) (TestDesireServerName);
//
//   - canary_privileges.go, canary_ambiguity.go: whether the local
//     credential may make a link's evidence request, and whether a key's
//     access makes its canary prove nothing;
//
//   - version.go: what a role or an api_key link asks of a version;
//
//   - identity.go: whether the cluster answering for a name is the one
//     the ledger's records are about and no other declared Cluster
//     (Identity) (TestIdentity);
//
//   - change.go, plan.go, codes.go: what a decision is (ClusterPlan,
//     ConnectionPlan, Change, Finding, the work the execute stage carries
//     out) and the finding codes it uses.
//
//   - trust.go, trust_rules.go, trust_facts.go, trust_findings.go,
//     trust_observation.go: the certificate model's trust (DecideTrust),
//     from the trust facts the observation holds; it reads nothing and
//     names the facts it lacked (TrustPlan.Missing), which the observe
//     part of the pass reads before deciding again (TestDecideTrust,
//     TestDecideTrustAcrossPlatforms, TestTrustObservationFrozen).
//
//   - contest.go: which keys of a connection's external drift are
//     contested or held, given the daemon's memory (Holds)
//     (TestHoldsContested).
//
// TestDecideTwiceFromOneSnapshot (reconcile) runs Decide twice on the
// Snapshot of a real pass and compares the decisions and their steps;
// TestSnapshotNeverShowsASecret: the Snapshot never prints, logs or
// marshals a credential.
package decide
