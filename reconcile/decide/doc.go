// Package decide is the decide stage of a pass (DESIGN §4): pure
// functions from the specs, what the world holds (package world) and a
// copy of the ledger taken at pass start to what a pass would do. Nothing
// here reads or writes the world, and the package imports no adapter
// (reconcile/es, reconcile/cloud): TestDecideImportsNoAdapter fails on any
// path from here to one. The daemon's memory (contests, backoff) is passed
// in, never changed here.
//
// What it holds, one file per family of rules, each table-tested over
// plain data:
//
//   - desired.go: the cluster settings a connection wants for its alias
//     (Desire), and where a remote cluster is dialled (Endpoint);
//   - canary_privileges.go: whether the local credential may make a link's
//     evidence request (CanaryPrivileges), and the role that fixes it;
//   - canary_ambiguity.go: whether a key's access already grants some
//     canary name, so that a canary proves nothing (CanaryAmbiguous);
//   - version.go: what a role or an api_key link asks of a cluster's
//     version, and the version_too_old findings naming the version needed;
//   - change.go: the rows a decision produces (Change, Finding, Unmanaged);
//   - plan.go: what a decision is, per local cluster (ClusterPlan) and per
//     connection (ConnectionPlan), with the work the execute stage carries
//     out (KeyWork, RoleWrite, RoleDelete, AliasDeletion, Put).
//
// The decisions that fill a cluster's whole plan (settings Diff, keys,
// roles, trust, departed clusters) still run in package reconcile over
// these types; they move here family by family (docs/decisions.md, "The
// engine's packages").
package decide
