package world

// Observed is what one pass read from a local cluster (the observe
// stage's fixed reads of DESIGN §5, done once per cluster per pass), as
// a decision uses it.
type Observed struct {
	Local   string
	Version string // GET / version.number
	// UUID is GET / cluster_uuid: which cluster answered.
	UUID string
	// Persistent and Transient hold the flat cluster.remote.* keys of
	// GET /_cluster/settings?flat_settings=true; lists are comma-joined.
	Persistent map[string]string
	Transient  map[string]string
	// Remote is GET /_remote/info by alias; nil when it could not be read.
	Remote map[string]RemoteStatus
}

// RemoteStatus is one alias of GET /_remote/info.
type RemoteStatus struct {
	Connected      bool
	Mode           string
	HasCredentials bool // cluster_credentials is "::es_redacted::"
}
