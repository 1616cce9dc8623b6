package sim

import (
	"fmt"
	"sync"
)

// esVersion is a cluster's x.y.z, the key of every version rule below.
type esVersion struct{ major, minor, patch int }

// parseVersion reads the x.y.z prefix of v (NewWorld has checked it); a
// malformed v is 0.0.0, below every rule.
func parseVersion(v string) esVersion {
	versions.mu.Lock()
	defer versions.mu.Unlock()
	out, ok := versions.parsed[v]
	if !ok {
		out = parseVersionText(v)
		versions.parsed[v] = out
	}
	return out
}

// versions remembers what parseVersion made of each version string: the
// rules ask the version of a cluster on every request, and a world has a
// few versions.
var versions = struct {
	mu     sync.Mutex
	parsed map[string]esVersion
}{parsed: map[string]esVersion{}}

// parseVersionText is parseVersion without the memory.
func parseVersionText(v string) esVersion {
	m := semverRe.FindStringSubmatch(v)
	if m == nil {
		return esVersion{}
	}
	var out esVersion
	fmt.Sscan(m[1], &out.major)
	fmt.Sscan(m[2], &out.minor)
	fmt.Sscan(m[3], &out.patch)
	return out
}

func (v esVersion) cmp(major, minor, patch int) int {
	for _, d := range [3]int{v.major - major, v.minor - minor, v.patch - patch} {
		switch {
		case d < 0:
			return -1
		case d > 0:
			return 1
		}
	}
	return 0
}

// atLeast reports whether v >= major.minor.patch.
func (v esVersion) atLeast(major, minor, patch int) bool { return v.cmp(major, minor, patch) >= 0 }

// within reports whether lo <= v <= hi, each an x.y.z triple.
func (v esVersion) within(lo, hi [3]int) bool {
	return v.cmp(lo[0], lo[1], lo[2]) >= 0 && v.cmp(hi[0], hi[1], hi[2]) <= 0
}

// versionAtLeast reports whether v (x.y.z) >= major.minor.
func versionAtLeast(v string, major, minor int) bool {
	return parseVersion(v).atLeast(major, minor, 0)
}

// SetVersion changes a cluster's version, as an upgrade (or the plan of a
// deployment PUT) does: every version rule follows it from the next
// request on; open connections stay as they are.
func (w *World) SetVersion(cluster, version string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.cluster(cluster)
	if err != nil {
		return err
	}
	if !semverRe.MatchString(version) {
		return fmt.Errorf("%s: version %q is not x.y.z", cluster, version)
	}
	c.Version = version
	return nil
}

// The version rules. Each names the upstream change it follows and the
// releases that carry it (from the release notes, or from the backport
// pull requests' merge dates against the release dates where the notes
// are silent); docs/sim.md lists them in its version table.

// resolveRefusalConnected: _resolve/cluster reports a remote that refused
// the request with an ElasticsearchSecurityException as connected:true,
// with the exception's message as error. elastic/elasticsearch PR #119793
// ("Resolve/cluster should mark remotes as not connected when a security
// exception is thrown", TransportResolveClusterAction.doExecuteForked:
// ResolveClusterInfo(false, skipUnavailable, ese.getMessage())) changed it
// to connected:false in 8.16.3 (release notes 8.16.3), 8.17.1 (backport
// #119865, merged 2025-01-09, after 8.17.0 shipped in December 2024) and
// 8.18.0 (backport #119864 to 8.x). So: every release before 8.16.3, and
// 8.17.0.
func resolveRefusalConnected(v esVersion) bool {
	return !v.atLeast(8, 16, 3) || v.cmp(8, 17, 0) == 0
}

// resolveFailFast: _resolve/cluster asks each remote with
// DisconnectedStrategy.FAIL_IF_DISCONNECTED, so a connection that is down
// is reported unavailable and retried in the background instead of being
// reconnected before the request. PR #119516 ("do not let
// `_resolve/cluster` hang if remote is unresponsive") brought it to 8.16.3
// (release notes 8.16.3; backport #119526) and 8.17.1 (backport #119527,
// merged 2025-01-03); PR #124241 reverted it to RECONNECT_IF_DISCONNECTED
// in 8.16.6 (release notes 8.16.6; backport #124368) and 8.17.4; 8.18.0
// never had it (PR #120542, which added ?timeout=, reverted it on main).
// es-api.md §15 writes the span as 8.16.3–8.17.3: 8.17.0 predates the
// backport and 8.16.6 carries the revert, so neither fails fast here.
func resolveFailFast(v esVersion) bool {
	return v.within([3]int{8, 16, 3}, [3]int{8, 16, 5}) || v.within([3]int{8, 17, 1}, [3]int{8, 17, 3})
}

// resolveTimeoutParam: RestResolveClusterAction reads ?timeout= from 8.18.0
// (PR #120542; the 8.18 docs, PR #121199). Before, BaseRestHandler refuses
// the unconsumed parameter: 400 illegal_argument_exception "request
// [<path>] contains unrecognized parameter: [timeout]".
func resolveTimeoutParam(v esVersion) bool { return v.atLeast(8, 18, 0) }

// resolveWithoutExpression: GET /_resolve/cluster without an index
// expression (ResolveClusterActionRequest.clusterInfoOnly) is routed from
// 8.18.0 (PR #119898, backport #120650 to 8.x; documented with the
// timeout in PR #121199). Before,
// RestResolveClusterAction has only /_resolve/cluster/{name} and the
// RestController answers 400 "no handler found for uri [...]".
func resolveWithoutExpression(v esVersion) bool { return v.atLeast(8, 18, 0) }

// roleRemoteIndices: RoleDescriptor.parse accepts remote_indices from
// 8.10, when PR #98307 ("Remove RCS 2.0 feature flag for beta release")
// dropped the untrusted-remote-cluster feature flag the field was parsed
// under; before, the field falls to "failed to parse role [<role>].
// unexpected field [remote_indices]" (400 parse_exception). The API key
// model it serves is GA from 8.14 (es-api.md §15), which is where the
// docs date the field; the parser takes it earlier.
func roleRemoteIndices(v esVersion) bool { return v.atLeast(8, 10, 0) }

// roleRemoteCluster: RoleDescriptor.parse knows remote_cluster from 8.15
// (TransportVersions.ROLE_REMOTE_CLUSTER_PRIVS, PR #108840 documents it);
// before, "unexpected field [remote_cluster]".
func roleRemoteCluster(v esVersion) bool { return v.atLeast(8, 15, 0) }

// remoteClusterPrivileges: RemoteClusterPermissions
// .allowedRemoteClusterPermissions maps ROLE_REMOTE_CLUSTER_PRIVS (8.15)
// to monitor_enrich and ROLE_MONITOR_STATS (8.17) to monitor_stats;
// anything else fails RoleDescriptor.parseRemoteCluster.
func remoteClusterPrivileges(v esVersion) []string {
	switch {
	case v.atLeast(8, 17, 0):
		return []string{"monitor_enrich", "monitor_stats"}
	case v.atLeast(8, 15, 0):
		return []string{"monitor_enrich"}
	}
	return nil
}

// keyMonitorEnrich: a cross-cluster API key with search access is given
// monitor_enrich beside cross_cluster_search from 8.15
// (CrossClusterApiKeyRoleDescriptorBuilder; es-api.md §12), so that
// enrich policies run across clusters.
func keyMonitorEnrich(v esVersion) bool { return v.atLeast(8, 15, 0) }

// skipUnavailableDefault: cluster.remote.<alias>.skip_unavailable
// defaults to true from 8.15 (RemoteClusterService
// .REMOTE_CLUSTER_SKIP_UNAVAILABLE; es-api.md §12).
func skipUnavailableDefault(v esVersion) bool { return v.atLeast(8, 15, 0) }

// reloadKeystoreDetails: each node of a secure-settings reload answer
// carries secure_setting_names, keystore_path, keystore_digest and
// keystore_last_modified_time from 9.3 (NodesReloadSecureSettingsResponse
// .toXContent, NodeResponse.KEYSTORE_DETAILS; es-api.md §6: Spec main,
// PR #5825); before, name and reload_exception only.
func reloadKeystoreDetails(v esVersion) bool { return v.atLeast(9, 3, 0) }

// apiKeyModel: the sim opens API-key links between clusters of 8.14 or
// later, the model's GA (es-api.md §12, §15). Upstream serves it as a beta
// from 8.10; the sim refuses the beta, the harsher side for esremote,
// whose floor is 8.14.
func apiKeyModel(v esVersion) bool { return v.atLeast(8, 14, 0) }
