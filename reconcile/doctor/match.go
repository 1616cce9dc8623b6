package doctor

import "strings"

// Cause codes: the likely reason a link is broken. Alerts and scripts
// match on them.
const (
	CauseSpecInvalid        = "spec_invalid"
	CauseLocalUnreachable   = "local_unreachable"
	CauseVersion            = "version_too_old"
	CauseNotConfigured      = "not_configured"
	CauseSettingsDrift      = "settings_drift"
	CauseWrongPort          = "wrong_port"
	CauseSniffToCloud       = "sniff_to_cloud"
	CauseServerName         = "server_name_mismatch"
	CauseDNS                = "dns"
	CauseUnreachable        = "unreachable"
	CauseTLSUntrusted       = "tls_untrusted"
	CauseTLSHostname        = "tls_hostname_mismatch"
	CauseTLSExpired         = "tls_expired"
	CauseNotTrustedByRemote = "not_trusted_by_remote"
	CauseNoCredentials      = "no_credentials"
	CauseKeyMissing         = "key_missing"
	CauseWrongKeyType       = "wrong_key_type"
	CauseKeyInvalid         = "key_invalid"
	CausePrivileges         = "privileges"
	CauseNoRemoteIndices    = "no_remote_indices"
	// CauseCanaryPrivileges: the local credential may not make the link's
	// evidence request (the privileges step).
	CauseCanaryPrivileges    = "canary_privilege_missing"
	CauseUnknownAlias        = "unknown_alias"
	CauseTrust               = "trust_missing"
	CauseUnreliable          = "unreliable_link"
	CauseKeyCreateCredential = "key_create_credential"
	CauseDisconnected        = "disconnected"
)

// Known is what a known error string means.
type Known struct {
	Cause string
	// Meaning says in words what the string tells.
	Meaning string
	Fix     string
}

// signature is one row of the table: every part must appear in the text.
type signature struct {
	parts []string
	Known
}

// signatures are the failure signatures of anchors.md §5.2 (texts real
// Elasticsearch writes: error bodies, _resolve/cluster errors, log lines),
// most specific first: a trust error that names the transport CA is a
// wrong port, not a missing CA. No row matches a text only the simulated
// world writes.
var signatures = []signature{
	{[]string{"requires channel profile to be [_remote_cluster], but got [default]"}, Known{CauseWrongPort,
		"the connection reached the remote's transport interface, not its remote cluster server",
		"point proxy_address at port 9443 (API-key model), not the transport port 9300"}},
	{[]string{"cluster:internal/remote_cluster/handshake", "is unauthorized for user [anonymous"}, Known{CauseWrongPort,
		"the remote treated the handshake as anonymous: it arrived on the transport port",
		"point proxy_address at port 9443 (API-key model), not the transport port 9300"}},
	{[]string{"Elastic Auto Transport CA"}, Known{CauseWrongPort,
		"the remote presented its transport certificate: the address names the transport port",
		"point proxy_address at port 9443 (API-key model) or 9400 (certificate model on ECH/ECE), not 9300"}},
	{[]string{"Empty client certificate chain"}, Known{CauseWrongPort,
		"the remote expected a client certificate (mutual TLS): that is the transport interface",
		"use port 9443 with an API key, or set up the certificate model on 9400"}},
	{[]string{"Received fatal alert: bad_certificate"}, Known{CauseWrongPort,
		"the remote refused the handshake for want of a client certificate: that is the transport interface",
		"use port 9443 with an API key, or set up the certificate model on 9400"}},
	{[]string{"missing authentication credentials for action [cluster:internal/remote_cluster/handshake]"}, Known{CauseWrongPort,
		"a certificate-model client reached the remote cluster server port without a key",
		"use 9400 for the certificate model, or add a cross-cluster API key and keep 9443"}},
	{[]string{"require transport header [_cross_cluster_access_credentials] but none found"}, Known{CauseNoCredentials,
		"the local keystore has no cluster.remote.<alias>.credentials for the alias",
		"add the encoded cross-cluster API key as cluster.remote.<alias>.credentials to the keystore of every local node, then reload secure settings"}},
	{[]string{"authentication expected API key type of [cross_cluster]"}, Known{CauseWrongKeyType,
		"the keystore holds a REST API key, not a cross-cluster one",
		"create the key with POST /_security/cross_cluster/api_key and put its encoded value in the keystore"}},
	{[]string{"invalid credentials for API key"}, Known{CauseKeyInvalid,
		"the remote does not accept the key: unknown, expired or invalidated",
		"rotate: create a new cross-cluster key, swap the keystore entry, reload, then invalidate the old key"}},
	{[]string{"unable to authenticate user [", "for action ["}, Known{CauseKeyInvalid,
		"the remote does not accept the key: unknown, expired or invalidated",
		"rotate: create a new cross-cluster key, swap the keystore entry, reload, then invalidate the old key"}},
	{[]string{"towards remote cluster is unauthorized for user"}, Known{CausePrivileges,
		"the key's access and the local role's remote privileges do not overlap for this request",
		"widen whichever is narrower: the key's access or the role's remote_indices/remote_cluster"}},
	{[]string{"no remote indices privileges apply for the target cluster"}, Known{CauseNoRemoteIndices,
		"the local user has no remote_indices for this alias",
		"grant remote_indices with a clusters pattern that matches the alias"}},
	// The local cluster's own refusal of a request that names only remote
	// indices, for want of the action on any local index
	// (RemoteClusterSecurityRCS2ResolveClusterIT test case 3 pins the
	// form "action [indices:admin/resolve/cluster] is unauthorized for
	// user [u] with effective roles [r] on indices [...]").
	{[]string{"action [indices:admin/resolve/cluster] is unauthorized for "}, Known{CauseCanaryPrivileges,
		"the local cluster refuses the request itself: esremote's credential there grants indices:admin/resolve/cluster on no local index",
		"see the privileges step: add the role it names to esremote's user on the local cluster"}},
	{[]string{"no such remote cluster: ["}, Known{CauseUnknownAlias,
		"the alias is not configured on the local cluster",
		"run esremote apply, or fix the alias name (typo, deleted, or drift)"}},
	{[]string{"client did not trust this server's certificate"}, Known{CauseNotTrustedByRemote,
		"the remote does not trust the local cluster's certificate",
		"add the local environment's CA and cluster ID to the remote deployment's trust"}},
	{[]string{"failed to establish trust with server"}, Known{CauseTLSUntrusted,
		"the local cluster does not trust the remote's certificate",
		"add the remote's CA to the local trust (trusted environment or remote_cluster_client CA), and check server_name and expiry"}},
	{[]string{"PKIX path building failed"}, Known{CauseTLSUntrusted,
		"the local cluster does not trust the remote's certificate",
		"add the remote's CA to the local trust (trusted environment or remote_cluster_client CA), and check server_name and expiry"}},
	{[]string{"transport connection to [", "closed by remote"}, Known{CauseUnreliable,
		"something on the path closes idle connections",
		"check idle-connection killers and TCP keepalive settings between the clusters"}},
	{[]string{"failed to open any proxy connections to cluster"}, Known{CauseUnreachable,
		"the local cluster cannot open a connection to the proxy address",
		"check the proxy address host and port, the remote cluster server (remote_cluster_server.enabled) and firewalls or traffic filters"}},
	{[]string{"fetching nodes from external cluster", "failed"}, Known{CauseUnreachable,
		"the local cluster cannot reach the seeds",
		"check the seeds' host and port and firewalls; toward ECH/ECE use proxy mode"}},
	{[]string{"An API key cannot be used to create a cross-cluster API key"}, Known{CauseKeyCreateCredential,
		"esremote's credential on the remote is an API key, which cannot create cross-cluster keys",
		"give the remote Cluster a user with manage_security (auth.basic) instead of an API key"}},
}

// Match finds the first known failure signature in text (an error reason,
// a log line, a _resolve/cluster error).
func Match(text string) (Known, bool) {
	for _, s := range signatures {
		all := true
		for _, p := range s.parts {
			if !strings.Contains(text, p) {
				all = false
				break
			}
		}
		if all {
			return s.Known, true
		}
	}
	return Known{}, false
}
