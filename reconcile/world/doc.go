// Package world is what the clusters and their control planes hold, as
// plain data: Elasticsearch's answers (GET / and its version, the flat
// cluster settings and their values, _remote/info, _resolve/cluster, roles,
// cross-cluster API keys, the credential's own privileges) and the Cloud
// API's (deployments, their Elasticsearch resources, trust settings with
// every entry kept byte-for-byte, certificate authorities, ECE trust
// relationships, ECH organizations), with the rules for reading them: how
// a remote-cluster setting key splits into alias and suffix, how two
// setting values compare, how versions order.
//
// It is the vocabulary of the world a pass reads, shared by the stages
// without an adapter between them (DESIGN §4: decide imports no adapter):
// the adapters (reconcile/es, reconcile/cloud) read and write these types
// and keep their names as aliases, the observe stage puts them in its
// Snapshot (Snapshot, ClusterRead: what one pass read, keyed by cluster
// whatever its role), and the decide stage compares them with the spec
// and the ledger. It holds no client and does no I/O; of esremote it
// imports only drift, for a link's health and evidence (TestImportGraph).
package world
