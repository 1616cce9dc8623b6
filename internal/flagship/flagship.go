// Package flagship is the flagship link of the built-in simulated world
// (sim.DefaultWorld), as spec text: ech-analytics (an ECH deployment)
// searching logs-* on ece-prod-logs (an ECE deployment) with a
// cross-cluster API key that esremote creates, stores and rotates, the
// link Elastic's "connect ECH to a remote ECE cluster" guide builds by
// hand. The demo tours it and the tests drive it: one copy, so that what
// the tests prove is what the demo shows.
//
// It is plain data and imports nothing, so every package can use it,
// package reconcile's own tests included.
package flagship

// The link's names.
const (
	Name   = "analytics-to-ece-logs"
	Local  = "ech-analytics"
	Alias  = "ece-prod-logs"
	Remote = "ece-prod-logs"
	// Role is the role of Connection that reads through the link.
	Role = "logs-remote-reader"
)

// Link is the connection without roles: the key, the keystore entry and
// the alias's settings.
const Link = `apiVersion: esremote/v1
kind: Connection
name: analytics-to-ece-logs
local: ech-analytics
alias: ece-prod-logs
remote:
  cluster: ece-prod-logs
security: api_key
api_key:
  managed: true
  access:
    search: [{names: ["logs-*"]}]
  expiration: 90d
  rotate_before: 14d
settings:
  skip_unavailable: true
`

// Connection is Link plus a role on the local cluster that reads logs-*
// through it.
const Connection = Link + `roles:
  - name: logs-remote-reader
    remote_indices: [{names: ["logs-*"], privileges: [read, read_cross_cluster, view_index_metadata]}]
`
