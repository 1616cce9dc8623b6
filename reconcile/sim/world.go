package sim

import (
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// Platforms a simulated cluster can run on.
const (
	PlatformECH         = "ech"
	PlatformECE         = "ece"
	PlatformSelfManaged = "self-managed"
)

// Ports of the simulated remote-cluster interfaces (es-api.md §10,
// cloud-api.md §7). Deployments answer 9443 (API key model) and 9400
// (certificate model, the platform proxy); self-managed clusters answer
// 9443 and the transport port 9300 (certificate model).
const (
	PortRemoteClusterServer = 9443
	PortProxyCertificate    = 9400
	PortTransport           = 9300
)

// WorldSpec is the world file: the control planes and the clusters of a
// simulated world. The README documents every field.
type WorldSpec struct {
	ControlPlanes map[string]ControlPlaneSpec `yaml:"control_planes" json:"control_planes"`
	Clusters      []ClusterSpec               `yaml:"clusters" json:"clusters"`
	// ConnectWait is how long a settings PUT waits for each alias whose
	// connection attempt reaches nothing (upstream waits up to 10 s per
	// alias, RemoteClusterService.updateRemoteCluster); "0s" when empty
	// here, 10s in `esremote sim` and the demo.
	ConnectWait string `yaml:"connect_wait" json:"connect_wait"`
	// Seed seeds the draw of the node that coordinates each request
	// (default 1: the same draws in every run).
	Seed uint64 `yaml:"seed" json:"seed"`
}

// ControlPlaneSpec describes the ECH or ECE control plane of a world.
type ControlPlaneSpec struct {
	// APIKey is the Cloud API key (`Authorization: ApiKey <key>`); random when empty.
	APIKey string `yaml:"api_key" json:"api_key"`
	// Username and Password allow Basic auth on ECE (ignored on ECH).
	Username string `yaml:"username" json:"username"`
	Password string `yaml:"password" json:"password"`
	// OrganizationID is the ECH organization (scope of ESS trust); default "554443047".
	OrganizationID string `yaml:"organization_id" json:"organization_id"`
	// EnvironmentID is the ECE installation id (scope of ECE trust); default "1053523734".
	EnvironmentID string `yaml:"environment_id" json:"environment_id"`
	// Domain is the ECE deployment domain; default "192.168.44.10.ip.es.io".
	Domain string `yaml:"domain" json:"domain"`
	// Region is the ECE region name; default "ece-region".
	Region string `yaml:"region" json:"region"`
	// RateLimit is the number of requests per RateInterval before a 429; default 1000.
	RateLimit int `yaml:"rate_limit" json:"rate_limit"`
	// RateInterval is the rate-limit window, e.g. "1m" (the default).
	RateInterval string `yaml:"rate_interval" json:"rate_interval"`
}

// ClusterSpec describes one Elasticsearch cluster and, for ech/ece, the
// deployment that owns it.
type ClusterSpec struct {
	Name     string `yaml:"name" json:"name"`
	Version  string `yaml:"version" json:"version"`
	Platform string `yaml:"platform" json:"platform"` // ech | ece | self-managed
	// Region of an ECH deployment (default aws-eu-west-1); ECE uses the control plane's.
	Region       string `yaml:"region" json:"region"`
	DeploymentID string `yaml:"deployment_id" json:"deployment_id"` // 32 hex; derived from the name when empty
	ClusterID    string `yaml:"cluster_id" json:"cluster_id"`       // 32 hex; derived from the name when empty
	RefID        string `yaml:"ref_id" json:"ref_id"`               // default main-elasticsearch
	// APIKey is the admin REST key as "id:key"; random when empty.
	APIKey string `yaml:"api_key" json:"api_key"`
	// Username and Password are the admin basic user (manage_security); default elastic + random.
	Username string `yaml:"username" json:"username"`
	Password string `yaml:"password" json:"password"`
	// AdminRoles are the admin user's roles (default [superuser]); the
	// admin REST key acts with them. A role other than superuser must be
	// in Roles.
	AdminRoles []string `yaml:"admin_roles" json:"admin_roles,omitempty"`
	// Roles are roles the cluster holds at start: name → the body of
	// PUT /_security/role/<name>, checked as that request is.
	Roles map[string]any `yaml:"roles" json:"-"`
	// Indices are index names the cluster holds (for _resolve/cluster matching_indices).
	Indices []string `yaml:"indices" json:"indices"`
	// Settings are initial persistent cluster settings (flat keys).
	Settings map[string]any `yaml:"settings" json:"settings"`
	// Keystore holds initial secure settings.
	Keystore map[string]string `yaml:"keystore" json:"-"`
	// Nodes is the number of nodes (default 1, or one per
	// keystore_load_delays entry); each answers a reload, loads secure
	// settings and holds remote connections of its own, and a REST
	// request is coordinated by one of them (NodeHeader).
	Nodes int `yaml:"nodes" json:"nodes"`
	// KeystoreReloadDelay is how long the platform takes to load a
	// keystore change on a deployment (e.g. "5s"; default: at once), the
	// same on every node.
	KeystoreReloadDelay string `yaml:"keystore_reload_delay" json:"keystore_reload_delay"`
	// KeystoreLoadDelays is that delay node by node (deployments), e.g.
	// [1s, 40s, 4m]: each node loads a keystore change in its own time.
	KeystoreLoadDelays []string `yaml:"keystore_load_delays" json:"keystore_load_delays,omitempty"`
}

// World is the whole simulated state: clusters, deployments, control
// planes, faults and the request log. Every method is safe for concurrent
// use; the HTTP servers of Start and the Go methods share one mutex.
type World struct {
	// Now is the world's clock (API key creation and expiry, log times).
	// Replace it before Start to control time in tests.
	Now func() time.Time

	mu            sync.Mutex
	offset        time.Duration // added to Now by Advance
	clusters      map[string]*cluster
	order         []string // cluster names in world-file order
	controlPlanes map[string]*controlPlane
	faults        []*faultState
	nextFault     int
	log           []Request
	connectWaitD  time.Duration
	connectWaitOK bool // the world file set connect_wait
	// rng draws the coordinating node of each request (node.go).
	rng *rand.Rand
}

type user struct {
	password string
	roles    []string
}

type cluster struct {
	ClusterSpec
	uuid       string
	endpoint   string // metadata.endpoint (deployments) or <name>.sim
	persistent map[string]any
	transient  map[string]any
	// effective is effectiveAliases of persistent and transient, nil
	// until asked for and whenever either changes (settingsChanged).
	effective map[string]*aliasConfig
	// flatSettings is the encoded answer to GET /_cluster/settings
	// ?flat_settings=true, nil until asked for and whenever the settings
	// change (settingsChanged).
	flatSettings []byte
	keystore     map[string]string // what is on disk / in the platform keystore
	// keystoreAt is when the keystore last changed (its file's mtime).
	keystoreAt time.Time
	asFile     map[string]bool
	keys       map[string]*apiKey
	keyOrder   []string
	roles      map[string]map[string]any
	users      map[string]user
	adminKeyID string
	docs       map[string]*docIndex // the document API (docs.go); nil until the first write
	// down: the cluster refuses transport connections (SetClusterDown).
	down bool
	// nodes hold what each node loaded and its connections (node.go);
	// pinned is the node SetCoordinatingNode chose, -1 for a draw.
	nodes  []*node
	pinned int
	// keystorePassword protects the keystore (SetKeystorePassword); empty
	// for an unprotected one, the default.
	keystorePassword string

	// Deployment state (ech/ece only).
	trust           *Trust
	plan            json.RawMessage
	resourceVersion int
	lastModified    time.Time
}

func (c *cluster) isDeployment() bool { return c.Platform == PlatformECH || c.Platform == PlatformECE }

var (
	hex32    = regexp.MustCompile(`^[0-9a-f]{32}$`)
	aliasRe  = regexp.MustCompile(`^[-\w]+$`)
	semverRe = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)`)
)

// DefaultWorld is the built-in world the demo uses: the ECH deployment
// ech-analytics (8.19.3), the ECE deployment ece-prod-logs (8.19.3) and
// the self-managed cluster onprem-search (8.17.4). IDs are derived from
// the names, so they are the same in every run; credentials are random.
func DefaultWorld() *World {
	w, err := NewWorld(WorldSpec{
		ControlPlanes: map[string]ControlPlaneSpec{PlatformECH: {}, PlatformECE: {}},
		Clusters: []ClusterSpec{
			{Name: "ech-analytics", Version: "8.19.3", Platform: PlatformECH, Region: "aws-eu-west-1",
				Indices: []string{"analytics-2026.11", "kibana_sample_data_logs"}},
			{Name: "ece-prod-logs", Version: "8.19.3", Platform: PlatformECE,
				Indices: []string{"logs-app-2026.11.25", "logs-app-2026.11.26", "archive-2025"}},
			{Name: "onprem-search", Version: "8.17.4", Platform: PlatformSelfManaged,
				Indices: []string{"products", "logs-onprem-2026.11"}},
		},
	})
	if err != nil {
		panic("sim: default world: " + err.Error())
	}
	return w
}

// LoadWorld reads a world file (YAML, see README.md). Unknown fields are errors.
func LoadWorld(path string) (*World, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read world file: %w", err)
	}
	var spec WorldSpec
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&spec); err != nil {
		return nil, fmt.Errorf("world file %s: %w", path, err)
	}
	w, err := NewWorld(spec)
	if err != nil {
		return nil, fmt.Errorf("world file %s: %w", path, err)
	}
	return w, nil
}

// NewWorld builds a world from its spec, filling defaults and checking it.
func NewWorld(spec WorldSpec) (*World, error) {
	seed := spec.Seed
	if seed == 0 {
		seed = 1
	}
	w := &World{
		Now:           time.Now,
		clusters:      map[string]*cluster{},
		controlPlanes: map[string]*controlPlane{},
		rng:           rand.New(rand.NewPCG(seed, seed)),
	}
	if spec.ConnectWait != "" {
		d, err := time.ParseDuration(spec.ConnectWait)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("connect_wait %q: want a duration such as 10s", spec.ConnectWait)
		}
		w.connectWaitD, w.connectWaitOK = d, true
	}
	for name, cps := range spec.ControlPlanes {
		if name != PlatformECH && name != PlatformECE {
			return nil, fmt.Errorf("control plane %q: must be ech or ece", name)
		}
		cp, err := newControlPlane(name, cps)
		if err != nil {
			return nil, err
		}
		w.controlPlanes[name] = cp
	}
	for i, cs := range spec.Clusters {
		c, err := w.newCluster(cs)
		if err != nil {
			return nil, fmt.Errorf("clusters[%d]: %w", i, err)
		}
		if _, dup := w.clusters[c.Name]; dup {
			return nil, fmt.Errorf("clusters[%d]: duplicate name %q", i, c.Name)
		}
		w.clusters[c.Name] = c
		w.order = append(w.order, c.Name)
	}
	return w, nil
}

func (w *World) newCluster(cs ClusterSpec) (*cluster, error) {
	if !aliasRe.MatchString(cs.Name) {
		return nil, fmt.Errorf("name %q: use letters, digits, - and _", cs.Name)
	}
	if cs.Version == "" {
		cs.Version = "8.19.3"
	}
	if !semverRe.MatchString(cs.Version) {
		return nil, fmt.Errorf("%s: version %q is not x.y.z", cs.Name, cs.Version)
	}
	if cs.Platform == "" {
		cs.Platform = PlatformSelfManaged
	}
	c := &cluster{
		persistent: map[string]any{},
		transient:  map[string]any{},
		keystore:   map[string]string{},
		asFile:     map[string]bool{},
		keys:       map[string]*apiKey{},
		roles:      map[string]map[string]any{},
		users:      map[string]user{},
		pinned:     -1,
	}
	var delays []time.Duration
	if n := len(cs.KeystoreLoadDelays); n > 0 {
		if cs.KeystoreReloadDelay != "" {
			return nil, fmt.Errorf("%s: give keystore_reload_delay (every node) or keystore_load_delays (node by node), not both", cs.Name)
		}
		if cs.Nodes != 0 && cs.Nodes != n {
			return nil, fmt.Errorf("%s: nodes %d but %d keystore_load_delays: one delay per node", cs.Name, cs.Nodes, n)
		}
		cs.Nodes = n
		for i, v := range cs.KeystoreLoadDelays {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return nil, fmt.Errorf("%s: keystore_load_delays[%d] %q: want a duration such as 40s", cs.Name, i, v)
			}
			delays = append(delays, d)
		}
	}
	if cs.Nodes == 0 {
		cs.Nodes = 1
	}
	if cs.Nodes < 1 || cs.Nodes > 100 {
		return nil, fmt.Errorf("%s: nodes %d: want 1 to 100", cs.Name, cs.Nodes)
	}
	if cs.KeystoreReloadDelay != "" {
		d, err := time.ParseDuration(cs.KeystoreReloadDelay)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%s: keystore_reload_delay %q: want a duration such as 5s", cs.Name, cs.KeystoreReloadDelay)
		}
		for range cs.Nodes {
			delays = append(delays, d)
		}
	}
	for i := range cs.Nodes {
		var d time.Duration
		if i < len(delays) {
			d = delays[i]
		}
		c.nodes = append(c.nodes, newNode(d))
	}
	switch cs.Platform {
	case PlatformECH, PlatformECE:
		cp := w.controlPlanes[cs.Platform]
		if cp == nil {
			return nil, fmt.Errorf("%s: platform %s needs control_planes.%s", cs.Name, cs.Platform, cs.Platform)
		}
		if cs.DeploymentID == "" {
			cs.DeploymentID = derivedHex("deployment", cs.Name)
		}
		if cs.ClusterID == "" {
			cs.ClusterID = derivedHex("cluster", cs.Name)
		}
		if !hex32.MatchString(cs.DeploymentID) || !hex32.MatchString(cs.ClusterID) {
			return nil, fmt.Errorf("%s: deployment_id and cluster_id must be 32 lowercase hex", cs.Name)
		}
		if cs.RefID == "" {
			cs.RefID = "main-elasticsearch"
		}
		if cs.Platform == PlatformECH {
			if cs.Region == "" {
				cs.Region = "aws-eu-west-1"
			}
			c.endpoint = cs.ClusterID + "." + echEndpointRegion(cs.Region) + ".found.io"
		} else {
			cs.Region = cp.spec.Region
			c.endpoint = cs.ClusterID + "." + cp.spec.Domain
		}
		c.trust = cp.defaultTrust()
		c.plan = defaultPlan(cs.Version, cs.Platform)
		c.resourceVersion = 1
	case PlatformSelfManaged:
		if cs.ClusterID == "" {
			cs.ClusterID = derivedHex("cluster", cs.Name)
		}
		if cs.DeploymentID != "" {
			return nil, fmt.Errorf("%s: a self-managed cluster has no deployment_id", cs.Name)
		}
		if len(delays) > 0 {
			return nil, fmt.Errorf("%s: keystore_reload_delay and keystore_load_delays are for deployments; a self-managed cluster loads its keystore on POST /_nodes/reload_secure_settings", cs.Name)
		}
		c.endpoint = cs.Name + ".sim"
	default:
		return nil, fmt.Errorf("%s: platform %q: must be ech, ece or self-managed", cs.Name, cs.Platform)
	}
	sum := sha256.Sum256([]byte("uuid:" + cs.Name))
	c.uuid = base64.RawURLEncoding.EncodeToString(sum[:])[:22]
	if cs.Username == "" {
		cs.Username = "elastic"
	}
	if cs.Password == "" {
		cs.Password = randomString(20)
	}
	for _, name := range slices.Sorted(maps.Keys(cs.Roles)) {
		body, err := json.Marshal(cs.Roles[name])
		if err != nil {
			return nil, fmt.Errorf("%s: roles.%s: %w", cs.Name, name, err)
		}
		role, e := parseRole(name, body, cs.Version)
		if e != nil {
			return nil, fmt.Errorf("%s: roles.%s: %s", cs.Name, name, e.reason)
		}
		c.roles[name] = role
	}
	if len(cs.AdminRoles) == 0 {
		cs.AdminRoles = []string{"superuser"}
	}
	for _, r := range cs.AdminRoles {
		if _, ok := c.roles[r]; !ok && r != "superuser" {
			return nil, fmt.Errorf("%s: admin_roles: role %q is neither superuser nor in roles", cs.Name, r)
		}
	}
	c.users[cs.Username] = user{password: cs.Password, roles: slices.Clone(cs.AdminRoles)}
	var id, secret string
	if cs.APIKey == "" {
		id, secret = randomKeyID(), randomString(22)
		cs.APIKey = id + ":" + secret
	} else {
		var ok bool
		id, secret, ok = strings.Cut(cs.APIKey, ":")
		if !ok || id == "" || secret == "" {
			return nil, fmt.Errorf("%s: api_key must be \"id:key\"", cs.Name)
		}
	}
	c.adminKeyID = id
	c.addKey(&apiKey{
		ID: id, Name: "esremote-sim-admin", Type: "rest", secret: secret,
		Creation: w.now(), Username: cs.Username, Metadata: map[string]any{},
		RoleDescriptors: map[string]any{},
	})
	for k, v := range cs.Settings {
		switch v := v.(type) {
		case []any:
			list := make([]string, len(v))
			for i, e := range v {
				list[i] = fmt.Sprint(e)
			}
			c.persistent[k] = list
		default:
			c.persistent[k] = fmt.Sprint(v)
		}
	}
	c.settingsChanged()
	for k, v := range cs.Keystore {
		c.keystore[k] = v
		for _, n := range c.nodes {
			n.loaded[k] = v
		}
	}
	c.ClusterSpec = cs
	c.lastModified = w.now()
	c.keystoreAt = c.lastModified
	return c, nil
}

// echEndpointRegion turns "aws-eu-west-1" into "eu-west-1.aws" for the
// endpoint host <cluster_id>.eu-west-1.aws.found.io.
func echEndpointRegion(region string) string {
	cloud, rest, ok := strings.Cut(region, "-")
	if !ok {
		return region
	}
	return rest + "." + cloud
}

func derivedHex(kind, name string) string {
	sum := sha256.Sum256([]byte(kind + ":" + name))
	return hex.EncodeToString(sum[:16])
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = crand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// randomKeyID looks like an ES API key id (20 URL-safe characters).
func randomKeyID() string { return randomString(20) }

func (w *World) now() time.Time {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	return now().Add(w.offset)
}

// SetConnectWait sets the world file's connect_wait (see WorldSpec).
func (w *World) SetConnectWait(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.connectWaitD, w.connectWaitOK = d, true
}

// ConnectWait returns the world's connect_wait, and whether the world
// file set it.
func (w *World) ConnectWait() (time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.connectWaitD, w.connectWaitOK
}

// SetKeystoreReloadDelay sets a deployment's keystore_reload_delay, the
// same on every node.
func (w *World) SetKeystoreReloadDelay(cluster string, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.cluster(cluster)
	if err != nil {
		return err
	}
	if !c.isDeployment() {
		return fmt.Errorf("%s is self-managed: its keystore loads on POST /_nodes/reload_secure_settings", cluster)
	}
	for _, n := range c.nodes {
		n.delay = d
	}
	return nil
}

// Advance moves the world's clock forward by d (for expiry, driven by
// hand through the admin API; tests usually replace Now instead).
func (w *World) Advance(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.offset += d
}

// Clusters returns the cluster names in world-file order.
func (w *World) Clusters() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.order)
}

// ClusterInfo is what a client needs to know about one simulated cluster.
type ClusterInfo struct {
	Name         string `json:"name"`
	Version      string `json:"version"`
	Platform     string `json:"platform"`
	DeploymentID string `json:"deployment_id,omitempty"`
	ClusterID    string `json:"cluster_id"`
	ClusterUUID  string `json:"cluster_uuid"`
	RefID        string `json:"ref_id,omitempty"`
	Region       string `json:"region,omitempty"`
	// Endpoint is metadata.endpoint for deployments, <name>.sim otherwise:
	// the host of proxy_address and the server_name that reach this cluster.
	Endpoint string `json:"endpoint"`
	// APIKey is the encoded admin REST key: base64(id:key).
	APIKey   string `json:"api_key"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// Cluster returns the facts of one cluster; ok is false when unknown.
func (w *World) Cluster(name string) (ClusterInfo, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.clusters[name]
	if c == nil {
		return ClusterInfo{}, false
	}
	return ClusterInfo{
		Name: c.Name, Version: c.Version, Platform: c.Platform, DeploymentID: c.DeploymentID,
		ClusterID: c.ClusterID, ClusterUUID: c.uuid, RefID: c.RefID, Region: c.Region,
		Endpoint: c.endpoint, APIKey: base64.StdEncoding.EncodeToString([]byte(c.APIKey)),
		Username: c.Username, Password: c.Password,
	}, true
}

func (w *World) cluster(name string) (*cluster, error) {
	c := w.clusters[name]
	if c == nil {
		return nil, fmt.Errorf("no simulated cluster %q", name)
	}
	return c, nil
}

// clusterByDeployment finds the deployment with this id on a platform.
func (w *World) clusterByDeployment(platform, id string) *cluster {
	for _, c := range w.clusters {
		if c.Platform == platform && c.DeploymentID == id {
			return c
		}
	}
	return nil
}
