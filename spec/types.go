package spec

import "time"

// APIVersion is the only apiVersion the v1 loader accepts.
const APIVersion = "esremote/v1"

// The kinds of document a spec directory may hold.
const (
	KindCluster            = "Cluster"
	KindConnection         = "Connection"
	KindTrustedEnvironment = "TrustedEnvironment"
)

// Pos is where something was written: File is relative to the spec
// directory, Line and Column are 1-based.
type Pos struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

// Set is a loaded, defaulted and validated spec directory. Its slices are
// sorted by name so that everything derived from a Set is deterministic.
type Set struct {
	// Dir is the spec directory as given to Load.
	Dir string `json:"-"`
	// Digest is "sha256:<hex>" over every spec file's path and content, in
	// path order: two Sets with the same Digest came from the same files.
	Digest string `json:"-"`

	// Files and Documents count the spec files and non-empty YAML
	// documents read.
	Files     int `json:"-"`
	Documents int `json:"-"`

	Clusters            []*Cluster            `json:"-"`
	Connections         []*Connection         `json:"-"`
	TrustedEnvironments []*TrustedEnvironment `json:"-"`

	// meta holds each document's file, base directory and field positions.
	meta map[any]*meta
	// clusters and connections index the slices by name.
	clusters    map[string]*Cluster
	connections map[string]*Connection
	// broken names the documents ("Kind/name") that did not decode: they
	// have errors of their own, so references to them are not reported
	// again as undeclared.
	broken map[string]bool
}

// Cluster says how to reach one Elasticsearch cluster and, optionally, the
// ECH/ECE deployment (control plane) that owns it.
type Cluster struct {
	Pos        Pos    `json:"-" yaml:"-"`
	APIVersion string `json:"apiVersion" yaml:"apiVersion" jsonschema:"required,const=esremote/v1"`
	Kind       string `json:"kind" yaml:"kind" jsonschema:"required,const=Cluster"`
	// Name is how Connections and TrustedEnvironments refer to this cluster.
	Name          string        `json:"name" yaml:"name" jsonschema:"required"`
	Elasticsearch Elasticsearch `json:"elasticsearch" yaml:"elasticsearch" jsonschema:"required"`
	Deployment    *Deployment   `json:"deployment,omitempty" yaml:"deployment,omitempty"`
}

// Elasticsearch is the REST endpoint of a cluster and how to authenticate.
type Elasticsearch struct {
	URL  string `json:"url" yaml:"url" jsonschema:"required"`
	Auth Auth   `json:"auth" yaml:"auth" jsonschema:"required"`
	// CAFile is a PEM bundle to trust in addition to the system roots,
	// relative to the spec file that names it.
	CAFile string `json:"ca_file,omitempty" yaml:"ca_file,omitempty"`
	// InsecureSkipVerify turns off TLS verification. It is allowed only so
	// that it can be loud: every pass warns while it is set.
	InsecureSkipVerify bool `json:"insecure_skip_verify,omitempty" yaml:"insecure_skip_verify,omitempty"`
}

// Auth holds exactly one way to authenticate.
type Auth struct {
	APIKey *SecretRef `json:"api_key,omitempty" yaml:"api_key,omitempty"`
	Basic  *BasicAuth `json:"basic,omitempty" yaml:"basic,omitempty"`
}

// BasicAuth is a username and a password read from a secret reference.
type BasicAuth struct {
	Username string    `json:"username" yaml:"username" jsonschema:"required"`
	Password SecretRef `json:"password" yaml:"password" jsonschema:"required"`
}

// SecretRef names a secret without holding it. Exactly one field is set.
// Resolving it (reading the value) is done by Resolve, never by Load.
type SecretRef struct {
	// Credential is a systemd credential name, read from
	// $CREDENTIALS_DIRECTORY/<name>.
	Credential string `json:"credential,omitempty" yaml:"credential,omitempty"`
	// File is a path, relative to the spec file that names it.
	File string `json:"file,omitempty" yaml:"file,omitempty"`
	// Env is an environment variable name.
	Env string `json:"env,omitempty" yaml:"env,omitempty"`

	// Base is the directory File is relative to (the spec file's
	// directory, absolute). Set by Load.
	Base string `json:"-" yaml:"-"`
	// Pos is where the reference was written.
	Pos Pos `json:"-" yaml:"-"`
}

// Platform is the kind of control plane that owns a deployment.
type Platform string

// Platforms.
const (
	PlatformECH Platform = "ech"
	PlatformECE Platform = "ece"
)

// Deployment is the ECH/ECE deployment that owns a cluster.
type Deployment struct {
	Platform Platform `json:"platform" yaml:"platform" jsonschema:"required,enum=ech,enum=ece"`
	// API is the control plane's base URL (https://api.elastic-cloud.com,
	// or an ECE coordinator such as https://ece.example.com:12443).
	API  string `json:"api" yaml:"api" jsonschema:"required"`
	Auth Auth   `json:"auth" yaml:"auth" jsonschema:"required"`
	// ID is the deployment ID (32 lowercase hex).
	ID string `json:"id" yaml:"id" jsonschema:"required"`
	// RefID is the Elasticsearch resource's ref_id; default "_main"
	// (resolved against the deployment's first Elasticsearch resource).
	RefID  string `json:"ref_id,omitempty" yaml:"ref_id,omitempty"`
	CAFile string `json:"ca_file,omitempty" yaml:"ca_file,omitempty"`
}

// Security is the remote-cluster security model of a Connection.
type Security string

// Security models.
const (
	SecurityAPIKey      Security = "api_key"
	SecurityCertificate Security = "certificate"
)

// Policy says what esremote does about drift on a Connection.
type Policy string

// Policies.
const (
	PolicyEnforce  Policy = "enforce"  // correct drift
	PolicyReport   Policy = "report"   // only report it
	PolicyDisabled Policy = "disabled" // skip the connection entirely
)

// Connection is one remote-cluster link: Local reaches Remote under Alias.
type Connection struct {
	Pos        Pos    `json:"-" yaml:"-"`
	APIVersion string `json:"apiVersion" yaml:"apiVersion" jsonschema:"required,const=esremote/v1"`
	Kind       string `json:"kind" yaml:"kind" jsonschema:"required,const=Connection"`
	Name       string `json:"name" yaml:"name" jsonschema:"required"`
	// Local is the name of the Cluster that gets the remote-cluster settings.
	Local string `json:"local" yaml:"local" jsonschema:"required"`
	// Alias is the remote-cluster alias on Local (cluster.remote.<alias>.*).
	Alias    string   `json:"alias" yaml:"alias" jsonschema:"required,pattern=^[a-z0-9_-]+$"`
	Remote   Remote   `json:"remote" yaml:"remote" jsonschema:"required"`
	Security Security `json:"security" yaml:"security" jsonschema:"required,enum=api_key,enum=certificate"`
	APIKey   *APIKey  `json:"api_key,omitempty" yaml:"api_key,omitempty"`
	Settings Settings `json:"settings,omitempty" yaml:"settings,omitempty"`
	Policy   Policy   `json:"policy,omitempty" yaml:"policy,omitempty" jsonschema:"enum=enforce,enum=report,enum=disabled"`
	// Ignore lists keys under cluster.remote.<alias>. (suffixes such as
	// transport.ping_schedule) that others own: never written, never drift.
	Ignore []string `json:"ignore,omitempty" yaml:"ignore,omitempty"`
	Roles  []Role   `json:"roles,omitempty" yaml:"roles,omitempty"`
}

// Remote is the other end of a Connection: either a declared Cluster, or
// the parameters copied from the remote deployment's Security page.
type Remote struct {
	Cluster      string   `json:"cluster,omitempty" yaml:"cluster,omitempty"`
	ProxyAddress string   `json:"proxy_address,omitempty" yaml:"proxy_address,omitempty"`
	ServerName   string   `json:"server_name,omitempty" yaml:"server_name,omitempty"`
	Seeds        []string `json:"seeds,omitempty" yaml:"seeds,omitempty"`
}

// APIKey configures the cross-cluster API key of an api_key Connection.
type APIKey struct {
	// Managed keys are created, updated, rotated and invalidated on the
	// remote by esremote; unmanaged ones come from Credentials.
	Managed      bool       `json:"managed" yaml:"managed"`
	Access       Access     `json:"access,omitempty" yaml:"access,omitempty"`
	Expiration   Duration   `json:"expiration,omitempty" yaml:"expiration,omitempty"`
	RotateBefore Duration   `json:"rotate_before,omitempty" yaml:"rotate_before,omitempty"`
	Credentials  *SecretRef `json:"credentials,omitempty" yaml:"credentials,omitempty"`
}

// Access is the access block of a cross-cluster API key.
type Access struct {
	Search      []AccessEntry `json:"search,omitempty" yaml:"search,omitempty"`
	Replication []AccessEntry `json:"replication,omitempty" yaml:"replication,omitempty"`
}

// AccessEntry is one entry of Access.search or Access.replication.
type AccessEntry struct {
	Names                  []string       `json:"names" yaml:"names" jsonschema:"required"`
	Query                  string         `json:"query,omitempty" yaml:"query,omitempty"`
	FieldSecurity          *FieldSecurity `json:"field_security,omitempty" yaml:"field_security,omitempty"`
	AllowRestrictedIndices bool           `json:"allow_restricted_indices,omitempty" yaml:"allow_restricted_indices,omitempty"`
}

// FieldSecurity is field-level security (grant/except).
type FieldSecurity struct {
	Grant  []string `json:"grant,omitempty" yaml:"grant,omitempty"`
	Except []string `json:"except,omitempty" yaml:"except,omitempty"`
}

// Mode is the remote-cluster connection mode.
type Mode string

// Modes.
const (
	ModeProxy Mode = "proxy"
	ModeSniff Mode = "sniff"
)

// Settings are the cluster.remote.<alias>.* settings of a Connection.
// Nil pointers are "not set in the spec"; Desired decides what that means.
type Settings struct {
	Mode                   Mode  `json:"mode,omitempty" yaml:"mode,omitempty" jsonschema:"enum=proxy,enum=sniff"`
	SkipUnavailable        *bool `json:"skip_unavailable,omitempty" yaml:"skip_unavailable,omitempty"`
	ProxySocketConnections *int  `json:"proxy_socket_connections,omitempty" yaml:"proxy_socket_connections,omitempty"`
	NodeConnections        *int  `json:"node_connections,omitempty" yaml:"node_connections,omitempty"`
	// Compress is transport.compress: "true", "false" or "indexing_data".
	Compress          string    `json:"compress,omitempty" yaml:"compress,omitempty"`
	CompressionScheme string    `json:"compression_scheme,omitempty" yaml:"compression_scheme,omitempty" jsonschema:"enum=deflate,enum=lz4"`
	PingSchedule      *Duration `json:"ping_schedule,omitempty" yaml:"ping_schedule,omitempty"`
}

// Role is a role on the local cluster granting access through the alias.
type Role struct {
	Pos           Pos             `json:"-" yaml:"-"`
	Name          string          `json:"name" yaml:"name" jsonschema:"required"`
	Cluster       []string        `json:"cluster,omitempty" yaml:"cluster,omitempty"`
	RemoteIndices []RemoteIndices `json:"remote_indices,omitempty" yaml:"remote_indices,omitempty"`
	RemoteCluster []RemoteCluster `json:"remote_cluster,omitempty" yaml:"remote_cluster,omitempty"`
	Description   string          `json:"description,omitempty" yaml:"description,omitempty"`
}

// RemoteIndices is one remote_indices entry; Clusters defaults to the alias.
type RemoteIndices struct {
	Clusters               []string       `json:"clusters,omitempty" yaml:"clusters,omitempty"`
	Names                  []string       `json:"names" yaml:"names" jsonschema:"required"`
	Privileges             []string       `json:"privileges" yaml:"privileges" jsonschema:"required"`
	Query                  string         `json:"query,omitempty" yaml:"query,omitempty"`
	FieldSecurity          *FieldSecurity `json:"field_security,omitempty" yaml:"field_security,omitempty"`
	AllowRestrictedIndices bool           `json:"allow_restricted_indices,omitempty" yaml:"allow_restricted_indices,omitempty"`
}

// RemoteCluster is one remote_cluster entry; Clusters defaults to the alias.
type RemoteCluster struct {
	Clusters   []string `json:"clusters,omitempty" yaml:"clusters,omitempty"`
	Privileges []string `json:"privileges" yaml:"privileges" jsonschema:"required"`
}

// TrustedEnvironment is "Add trusted environment" on a deployment's
// Security page: Deployment trusts the environment's CA and clusters.
type TrustedEnvironment struct {
	Pos        Pos    `json:"-" yaml:"-"`
	APIVersion string `json:"apiVersion" yaml:"apiVersion" jsonschema:"required,const=esremote/v1"`
	Kind       string `json:"kind" yaml:"kind" jsonschema:"required,const=TrustedEnvironment"`
	// Name is the trust name shown on the deployment's Security page.
	Name string `json:"name" yaml:"name" jsonschema:"required"`
	// Deployment is the trusting side: a Cluster with a deployment block.
	Deployment    string   `json:"deployment" yaml:"deployment" jsonschema:"required"`
	Platform      Platform `json:"platform" yaml:"platform" jsonschema:"required,enum=ech,enum=ece"`
	EnvironmentID string   `json:"environment_id" yaml:"environment_id" jsonschema:"required"`
	CAFile        string   `json:"ca_file,omitempty" yaml:"ca_file,omitempty"`
	Trust         Trust    `json:"trust" yaml:"trust" jsonschema:"required"`
}

// Trust is either all clusters of an environment or an allowlist of
// Elasticsearch cluster IDs (32 lowercase hex, never deployment IDs).
// In YAML it is the string "all" or a list of IDs.
type Trust struct {
	All        bool
	ClusterIDs []string
}

// Duration is a time.Duration that also accepts a days suffix ("90d"),
// as Elasticsearch time values do.
type Duration time.Duration
