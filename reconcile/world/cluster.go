package world

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Info is the answer of GET /.
type Info struct {
	Name        string // node name
	ClusterName string
	ClusterUUID string
	Version     Version
	BuildFlavor string // "default", or "serverless" (whose version is fixed and meaningless)
}

// Serverless reports whether the cluster is Elastic Cloud Serverless, whose
// version number must not be used for version gates (es-api.md §8).
func (i Info) Serverless() bool { return i.BuildFlavor == "serverless" }

// Version is a parsed Elasticsearch version number such as "8.19.0" or
// "8.15.0-SNAPSHOT".
type Version struct {
	Major, Minor, Patch int
	Raw                 string // as the cluster reported it
}

// ParseVersion parses "major.minor.patch" with an optional "-suffix".
func ParseVersion(s string) (Version, error) {
	core, _, _ := strings.Cut(s, "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return Version{}, fmt.Errorf("invalid version %q: want major.minor.patch", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return Version{}, fmt.Errorf("invalid version %q", s)
		}
		n[i] = v
	}
	return Version{Major: n[0], Minor: n[1], Patch: n[2], Raw: s}, nil
}

// AtLeast reports whether v is major.minor.patch or later.
func (v Version) AtLeast(major, minor, patch int) bool {
	if v.Major != major {
		return v.Major > major
	}
	if v.Minor != minor {
		return v.Minor > minor
	}
	return v.Patch >= patch
}

// String returns the version as the cluster reported it.
func (v Version) String() string {
	if v.Raw != "" {
		return v.Raw
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// Settings are the cluster settings stored through the API, with flat keys
// ("cluster.remote.a.seeds"). Settings from elasticsearch.yml and defaults
// are not included.
type Settings struct {
	Persistent map[string]Value
	Transient  map[string]Value
}

// RemoteInfo is one alias of GET /_remote/info, as answered by the node
// that received the request. Fields of the other mode are zero.
type RemoteInfo struct {
	Connected bool   `json:"connected"`
	Mode      string `json:"mode"` // "sniff" or "proxy"

	// Proxy mode.
	ProxyAddress              string `json:"proxy_address,omitempty"`
	ServerName                string `json:"server_name,omitempty"`
	NumProxySocketsConnected  int    `json:"num_proxy_sockets_connected,omitempty"`
	MaxProxySocketConnections int    `json:"max_proxy_socket_connections,omitempty"`

	// Sniff mode.
	Seeds                    []string `json:"seeds,omitempty"`
	NumNodesConnected        int      `json:"num_nodes_connected,omitempty"`
	MaxConnectionsPerCluster int      `json:"max_connections_per_cluster,omitempty"`

	InitialConnectTimeout string `json:"initial_connect_timeout"` // e.g. "30s"
	SkipUnavailable       bool   `json:"skip_unavailable"`

	// ClusterCredentials is "::es_redacted::" when this node's keystore
	// holds cluster.remote.<alias>.credentials (API-key model), and empty
	// when it does not (certificate model). Read in both modes, unlike the
	// typed client, which drops it for sniff.
	ClusterCredentials string `json:"cluster_credentials,omitempty"`
}

// HasCredentials reports whether the alias has keystore credentials on the
// answering node, i.e. uses the API-key security model.
func (r RemoteInfo) HasCredentials() bool { return r.ClusterCredentials != "" }

// ResolvedCluster is one cluster of GET /_resolve/cluster. The local
// cluster's key is "(local)".
type ResolvedCluster struct {
	Connected       bool   `json:"connected"`
	SkipUnavailable bool   `json:"skip_unavailable"`
	MatchingIndices *bool  `json:"matching_indices,omitempty"` // absent when the remote could not be asked
	Error           string `json:"error,omitempty"`            // why a search there would fail
	Version         *struct {
		Number      string `json:"number"`
		BuildFlavor string `json:"build_flavor"`
	} `json:"version,omitempty"`
}

// UserPrivileges is GET /_security/user/_privileges: what the credential
// esremote uses may do, its roles merged (RBACEngine
// .buildUserPrivilegesResponseObject). It is how esremote checks the
// privileges of its own canary request: _has_privileges cannot be asked
// about remote_indices (RoleDescriptor.parsePrivilegesToCheck knows
// cluster, index and application only, up to 9.x), and this answer lists
// them.
type UserPrivileges struct {
	Cluster []string          `json:"cluster"`
	Indices []PrivilegesGroup `json:"indices"`
	// RemoteIndices is left out by Elasticsearch when there is none
	// (RestGetUserPrivilegesAction); each group carries its clusters.
	RemoteIndices []PrivilegesGroup `json:"remote_indices,omitempty"`
	RunAs         []string          `json:"run_as"`
}

// PrivilegesGroup is one group of index privileges in a UserPrivileges
// answer (GetUserPrivilegesResponse.Indices, RemoteIndices): names,
// privileges and, for remote indices, the cluster aliases. Document and
// field security come as lists (one per role that set them) and are kept
// raw.
type PrivilegesGroup struct {
	Names                  []string        `json:"names"`
	Privileges             []string        `json:"privileges"`
	Clusters               []string        `json:"clusters,omitempty"`
	AllowRestrictedIndices bool            `json:"allow_restricted_indices"`
	Query                  json.RawMessage `json:"query,omitempty"`
	FieldSecurity          json.RawMessage `json:"field_security,omitempty"`
}
