package world

// Snapshot is what one pass read of the clusters, as plain data (DESIGN
// §4): every cluster the pass read, by name, whatever its role, and the
// endpoint of every remote the connections name. It holds no client, no
// channel and no lock: the observe stage fills it while it reads, and once
// the reads are in nothing changes it, so the decide stage can decide from
// it as often as it likes and get the same answer.
//
// A cluster that is both a local cluster and the remote of a managed key
// is one ClusterRead, read once (its GET / shared by both roles).
type Snapshot struct {
	Clusters  map[string]*ClusterRead
	Endpoints map[string]EndpointRead
}

// Cluster is the read of the cluster named name, nil when the pass did not
// read it.
func (s *Snapshot) Cluster(name string) *ClusterRead {
	if s == nil {
		return nil
	}
	return s.Clusters[name]
}

// Keys is the read of the managed keys on the cluster named name, nil when
// the pass did not read them.
func (s *Snapshot) Keys(name string) *KeysRead {
	if cr := s.Cluster(name); cr != nil {
		return cr.Keys
	}
	return nil
}

// ClusterRead is what one pass read of one cluster. As a local cluster:
// GET /, its cluster.remote.* settings and GET /_remote/info (Observed),
// its roles when its connections manage some, its credential's privileges
// when it has API-key links, and each link's evidence. As the remote of a
// managed key: its GET / and the keys esremote made there (Keys).
type ClusterRead struct {
	Name string

	// Observed is the local cluster's fixed reads; Err why they (or the
	// client for them) failed: the cluster's decision then fails with it.
	// Both are nil when the cluster was not read as a local.
	Observed *Observed
	Err      error

	// Roles is GET /_security/role, read when the cluster's pass manages
	// roles (RolesRead); RolesErr is its error, which fails the cluster
	// only where its roles are decided.
	Roles     map[string]Role
	RolesRead bool
	RolesErr  error

	// Privileges is the credential's GET /_security/user/_privileges, nil
	// when not read or when the read failed.
	Privileges *UserPrivileges

	// Evidence is each link's evidence, by connection name.
	Evidence map[string]LinkEvidence

	// KeyRemotes names, by connection, the cluster whose managed keys the
	// connection's key decision needs (the second wave's reads, made as
	// soon as the local was read): its Keys are in the Snapshot.
	KeyRemotes map[string]string

	// Keys is the cluster read as the remote of a managed key, nil when it
	// was not.
	Keys *KeysRead
}

// KeysRead is a cluster read as the remote of managed keys: its GET / and
// the keys esremote made there (Err when either read failed, or when the
// cluster answering is not the one the ledger's records are about).
type KeysRead struct {
	Info Info
	Keys []APIKey
	Err  error
}

// Endpoint is where a remote cluster is reached: the host for the proxy
// address and the TLS server name.
type Endpoint struct {
	Host       string
	ServerName string
}

// EndpointRead is a remote cluster's endpoint, or why it is unknown.
type EndpointRead struct {
	Endpoint
	Err error
}

// Remotes are the clusters read as the remote of managed keys, by name.
func (s *Snapshot) Remotes() map[string]*KeysRead {
	out := map[string]*KeysRead{}
	for name, cr := range s.Clusters {
		if cr.Keys != nil {
			out[name] = cr.Keys
		}
	}
	return out
}
