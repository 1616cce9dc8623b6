package sim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Out-of-band edits: what an operator does in Kibana, the Cloud console
// or on the nodes, behind esremote's back. They skip the REST validation
// on purpose (an operator can leave a cluster in any state through
// elasticsearch.yml or a bad sequence of calls).

// SetSetting stores a cluster setting in scope "persistent" (default) or
// "transient". value is a string or []string.
func (w *World) SetSetting(cluster, scope, key string, value any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.cluster(cluster)
	if err != nil {
		return err
	}
	m, err := c.scope(scope)
	if err != nil {
		return err
	}
	switch v := value.(type) {
	case string, []string:
		m[key] = v
	default:
		m[key] = fmt.Sprint(v)
	}
	c.settingsChanged()
	return nil
}

// RemoveSetting deletes a setting; a key ending in "*" removes all keys
// with that prefix (as a wildcard null does).
func (w *World) RemoveSetting(cluster, scope, key string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.cluster(cluster)
	if err != nil {
		return err
	}
	m, err := c.scope(scope)
	if err != nil {
		return err
	}
	defer c.settingsChanged()
	if prefix, ok := strings.CutSuffix(key, "*"); ok {
		for k := range m {
			if strings.HasPrefix(k, prefix) {
				delete(m, k)
			}
		}
		return nil
	}
	delete(m, key)
	return nil
}

// Settings returns a copy of a scope's flat settings.
func (w *World) Settings(cluster, scope string) (map[string]any, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.cluster(cluster)
	if err != nil {
		return nil, err
	}
	m, err := c.scope(scope)
	if err != nil {
		return nil, err
	}
	return maps.Clone(m), nil
}

func (c *cluster) scope(scope string) (map[string]any, error) {
	switch scope {
	case "", "persistent":
		return c.persistent, nil
	case "transient":
		return c.transient, nil
	}
	return nil, fmt.Errorf("scope %q: must be persistent or transient", scope)
}

// SetKeystore writes a secure setting, as the elasticsearch-keystore tool
// (self-managed) or the platform (deployments) does. On a deployment the
// platform loads it after the deployment's keystore_reload_delay; on a
// self-managed cluster only POST /_nodes/reload_secure_settings loads it.
func (w *World) SetKeystore(cluster, key, value string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.cluster(cluster)
	if err != nil {
		return err
	}
	c.keystore[key] = value
	c.keystoreAt = w.now()
	if c.isDeployment() {
		w.scheduleLoad(c)
	}
	return nil
}

// RemoveKeystore deletes a secure setting (same reload rule as SetKeystore).
func (w *World) RemoveKeystore(cluster, key string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.cluster(cluster)
	if err != nil {
		return err
	}
	delete(c.keystore, key)
	c.keystoreAt = w.now()
	delete(c.asFile, key)
	if c.isDeployment() {
		w.scheduleLoad(c)
	}
	return nil
}

// BreakNodeKeystore removes the keystore file of one node (0 is the
// first): its next secure-settings reload fails with the exception of
// TransportNodesReloadSecureSettingsAction.nodeOperation ("Keystore is
// missing") and the node keeps what it had loaded, and uses it for the
// requests it coordinates. A deployment's platform reload fails on it too.
func (w *World) BreakNodeKeystore(cluster string, node int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.cluster(cluster)
	if err != nil {
		return err
	}
	if node < 0 || node >= c.Nodes {
		return fmt.Errorf("cluster %s has nodes 0 to %d", cluster, c.Nodes-1)
	}
	c.nodes[node].broken = "Keystore is missing"
	return nil
}

// SetKeystorePassword protects a cluster's keystore with a password, as
// `elasticsearch-keystore passwd` does (empty: unprotected, the default).
// A reload must then carry it as secure_settings_password (see reload).
func (w *World) SetKeystorePassword(cluster, password string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.cluster(cluster)
	if err != nil {
		return err
	}
	c.keystorePassword = password
	return nil
}

// Keystore returns the keystore's entries (values included: this is the
// sim's own view, never served over REST).
func (w *World) Keystore(cluster string) (map[string]string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.cluster(cluster)
	if err != nil {
		return nil, err
	}
	return maps.Clone(c.keystore), nil
}

// Trust returns a copy of a deployment's trust settings.
func (w *World) Trust(cluster string) (*Trust, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.cluster(cluster)
	if err != nil {
		return nil, err
	}
	if !c.isDeployment() {
		return nil, fmt.Errorf("cluster %s is not a deployment", cluster)
	}
	return c.trust.clone(), nil
}

// SetTrust replaces a deployment's trust (an operator in the console);
// the resource version moves on as with a PUT.
func (w *World) SetTrust(cluster string, t Trust) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.cluster(cluster)
	if err != nil {
		return err
	}
	if !c.isDeployment() {
		return fmt.Errorf("cluster %s is not a deployment", cluster)
	}
	for i := range t.Direct {
		if t.Direct[i].UID == "" {
			t.Direct[i].UID = randomHex32()
		}
	}
	c.trust = t.clone()
	w.restartLinks(c)
	c.resourceVersion++
	c.lastModified = w.now()
	return nil
}

// ControlPlaneCA returns the CA PEM a control plane signs its clusters
// with (ECH regional CA, ECE environment CA) and the trust scope id
// (organization or environment id).
func (w *World) ControlPlaneCA(platform string) (pemText, scope string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	cp := w.controlPlanes[platform]
	if cp == nil {
		return "", "", fmt.Errorf("no %s control plane", platform)
	}
	return cp.caPEM, cp.scope(), nil
}

// PutRole stores a role as given (an operator's edit); body is the PUT
// role JSON.
func (w *World) PutRole(cluster, name string, body []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.cluster(cluster)
	if err != nil {
		return err
	}
	role, e := parseRole(name, body, c.Version)
	if e != nil {
		return fmt.Errorf("put role %s on %s: %s", name, cluster, e.reason)
	}
	c.roles[name] = role
	return nil
}

// DeleteRole removes a role.
func (w *World) DeleteRole(cluster, name string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.cluster(cluster)
	if err != nil {
		return err
	}
	if _, ok := c.roles[name]; !ok {
		return fmt.Errorf("no role %s on %s", name, cluster)
	}
	delete(c.roles, name)
	return nil
}

// CreateCrossClusterKey creates a cross-cluster key owned by the admin
// user, as POST /_security/cross_cluster/api_key would; it returns the id
// and the encoded credential. accessJSON is the request's "access".
func (w *World) CreateCrossClusterKey(cluster, name, accessJSON string, expiration time.Duration) (id, encoded string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.cluster(cluster)
	if err != nil {
		return "", "", err
	}
	var access map[string]any
	if err := decodeJSON([]byte(accessJSON), &access); err != nil {
		return "", "", fmt.Errorf("access: %w", err)
	}
	rendered, desc, e := buildAccess(access, c.Version)
	if e != nil {
		return "", "", fmt.Errorf("access: %s", e.reason)
	}
	now := w.now()
	k := &apiKey{ID: randomKeyID(), Name: name, Type: "cross_cluster", secret: randomString(22), Creation: now,
		Username: c.Username, Metadata: map[string]any{}, Access: rendered, RoleDescriptors: desc}
	if expiration > 0 {
		exp := now.Add(expiration)
		k.Expiration = &exp
	}
	c.addKey(k)
	return k.ID, k.encoded(), nil
}

func (w *World) key(cluster, id string) (*apiKey, error) {
	c, err := w.cluster(cluster)
	if err != nil {
		return nil, err
	}
	k := c.keys[id]
	if k == nil {
		for _, kid := range c.keyOrder {
			if c.keys[kid].Name == id {
				k = c.keys[kid]
			}
		}
	}
	if k == nil {
		return nil, fmt.Errorf("no API key %s on %s", id, cluster)
	}
	return k, nil
}

// InvalidateKey invalidates a key by id or name (the newest of that name).
func (w *World) InvalidateKey(cluster, idOrName string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	k, err := w.key(cluster, idOrName)
	if err != nil {
		return err
	}
	t := w.now()
	k.Invalidated, k.Invalidation = true, &t
	return nil
}

// ExpireKey sets a key's expiration to now, so it is expired from now on.
func (w *World) ExpireKey(cluster, idOrName string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	k, err := w.key(cluster, idOrName)
	if err != nil {
		return err
	}
	t := w.now()
	k.Expiration = &t
	return nil
}

// DeleteKey removes a key entirely (as after the retention period).
func (w *World) DeleteKey(cluster, idOrName string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	k, err := w.key(cluster, idOrName)
	if err != nil {
		return err
	}
	c := w.clusters[cluster]
	delete(c.keys, k.ID)
	c.keyOrder = slices.DeleteFunc(c.keyOrder, func(id string) bool { return id == k.ID })
	return nil
}

// Edit is one out-of-band edit in data form, for the admin API and the
// testscript commands. Op is one of: set_setting, remove_setting,
// set_keystore, remove_keystore, put_role, delete_role, invalidate_key,
// expire_key, delete_key, set_trust, break_node_keystore (Key: the node
// number), advance_clock.
type Edit struct {
	Op      string          `json:"op"`
	Cluster string          `json:"cluster,omitempty"`
	Scope   string          `json:"scope,omitempty"`
	Key     string          `json:"key,omitempty"`   // setting/keystore key, role name, API key id or name
	Value   json.RawMessage `json:"value,omitempty"` // setting value, keystore value (string), role body, trust
	// Duration is advance_clock's step, e.g. "24h".
	Duration string `json:"duration,omitempty"`
}

// Apply performs an Edit.
func (w *World) Apply(e Edit) error {
	str := func() (string, error) {
		var s string
		if err := json.Unmarshal(e.Value, &s); err != nil {
			return "", fmt.Errorf("%s: value must be a JSON string", e.Op)
		}
		return s, nil
	}
	switch e.Op {
	case "set_setting":
		var v any
		if err := json.Unmarshal(e.Value, &v); err != nil {
			return fmt.Errorf("set_setting: value: %w", err)
		}
		if list, ok := v.([]any); ok {
			s := make([]string, len(list))
			for i, x := range list {
				s[i] = fmt.Sprint(x)
			}
			return w.SetSetting(e.Cluster, e.Scope, e.Key, s)
		}
		return w.SetSetting(e.Cluster, e.Scope, e.Key, fmt.Sprint(v))
	case "remove_setting":
		return w.RemoveSetting(e.Cluster, e.Scope, e.Key)
	case "set_keystore":
		s, err := str()
		if err != nil {
			return err
		}
		return w.SetKeystore(e.Cluster, e.Key, s)
	case "remove_keystore":
		return w.RemoveKeystore(e.Cluster, e.Key)
	case "put_role":
		return w.PutRole(e.Cluster, e.Key, e.Value)
	case "delete_role":
		return w.DeleteRole(e.Cluster, e.Key)
	case "invalidate_key":
		return w.InvalidateKey(e.Cluster, e.Key)
	case "expire_key":
		return w.ExpireKey(e.Cluster, e.Key)
	case "delete_key":
		return w.DeleteKey(e.Cluster, e.Key)
	case "set_trust":
		var t Trust
		if err := json.Unmarshal(e.Value, &t); err != nil {
			return fmt.Errorf("set_trust: %w", err)
		}
		return w.SetTrust(e.Cluster, t)
	case "break_node_keystore":
		n, err := strconv.Atoi(e.Key)
		if err != nil {
			return fmt.Errorf("break_node_keystore: key: the node number (0 is the first): %w", err)
		}
		return w.BreakNodeKeystore(e.Cluster, n)
	case "cluster_down", "cluster_up":
		return w.SetClusterDown(e.Cluster, e.Op == "cluster_down")
	case "set_version":
		s, err := str()
		if err != nil {
			return err
		}
		return w.SetVersion(e.Cluster, s)
	case "coordinating_node":
		n, err := strconv.Atoi(e.Key)
		if err != nil {
			return fmt.Errorf("coordinating_node: key: the node number (0 is the first, -1 to draw one per request): %w", err)
		}
		return w.SetCoordinatingNode(e.Cluster, n)
	case "advance_clock":
		d, err := time.ParseDuration(e.Duration)
		if err != nil {
			return fmt.Errorf("advance_clock: %w", err)
		}
		w.Advance(d)
		return nil
	}
	return fmt.Errorf("unknown edit op %q", e.Op)
}

// ClusterState is the state dump of one cluster. Secrets are shown as
// "<redacted>" (keystore values, key secrets).
type ClusterState struct {
	Name       string         `json:"name"`
	Platform   string         `json:"platform"`
	Version    string         `json:"version"`
	Persistent map[string]any `json:"persistent"`
	Transient  map[string]any `json:"transient"`
	Keystore   []string       `json:"keystore"`
	Loaded     []string       `json:"loaded_secure_settings"` // node 0's
	// Nodes is what each node has loaded and when it loads next.
	Nodes           []NodeState               `json:"nodes"`
	APIKeys         []KeyState                `json:"api_keys"`
	Roles           map[string]map[string]any `json:"roles"`
	Trust           *Trust                    `json:"trust,omitempty"`
	ResourceVersion int                       `json:"resource_version,omitempty"`
	Links           map[string]LinkStatus     `json:"links"`
}

// NodeState is one node in the state dump.
type NodeState struct {
	Name   string     `json:"name"`
	Loaded []string   `json:"loaded_secure_settings"`
	LoadAt *time.Time `json:"keystore_load_at,omitempty"`
	Broken string     `json:"keystore_broken,omitempty"`
}

// KeyState is an API key in the state dump.
type KeyState struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Type        string         `json:"type"`
	Active      bool           `json:"active"`
	Invalidated bool           `json:"invalidated"`
	Expiration  *time.Time     `json:"expiration,omitempty"`
	Access      map[string]any `json:"access,omitempty"`
	Metadata    map[string]any `json:"metadata,omitempty"`
}

// State dumps the whole world, by cluster name.
func (w *World) State() map[string]ClusterState {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]ClusterState{}
	now := w.now()
	for _, name := range w.order {
		c := w.clusters[name]
		w.syncConns(c)
		st := ClusterState{
			Name: name, Platform: c.Platform, Version: c.Version,
			Persistent: maps.Clone(c.persistent), Transient: maps.Clone(c.transient),
			Keystore: slices.Sorted(maps.Keys(c.keystore)), Loaded: slices.Sorted(maps.Keys(c.nodes[0].loaded)),
			Roles: maps.Clone(c.roles), Trust: c.trust.clone(), ResourceVersion: c.resourceVersion,
			Links: map[string]LinkStatus{},
		}
		for _, kid := range c.keyOrder {
			k := c.keys[kid]
			st.APIKeys = append(st.APIKeys, KeyState{ID: k.ID, Name: k.Name, Type: k.Type, Active: k.active(now),
				Invalidated: k.Invalidated, Expiration: k.Expiration, Access: k.Access, Metadata: k.Metadata})
		}
		for i, n := range c.nodes {
			st.Nodes = append(st.Nodes, NodeState{Name: c.nodeNameN(i), Loaded: slices.Sorted(maps.Keys(n.loaded)),
				LoadAt: n.loadAt, Broken: n.broken})
		}
		al := effectiveAliases(c)
		for alias := range c.nodes[0].conns {
			st.Links[alias] = w.status(c, c.nodes[0], alias, al[alias])
		}
		out[name] = st
	}
	return out
}

// adminHandler is the admin API of README.md.
func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	w := s.World
	fail := func(rw http.ResponseWriter, status int, err error) {
		writeJSON(rw, status, map[string]any{"error": err.Error()})
	}
	mux.HandleFunc("GET /state", func(rw http.ResponseWriter, r *http.Request) { writeJSON(rw, 200, w.State()) })
	mux.HandleFunc("GET /addresses", func(rw http.ResponseWriter, r *http.Request) { writeJSON(rw, 200, s.Addresses()) })
	mux.HandleFunc("GET /log", func(rw http.ResponseWriter, r *http.Request) {
		writeJSON(rw, 200, map[string]any{"requests": w.Requests(), "counts": w.RequestCounts()})
	})
	mux.HandleFunc("DELETE /log", func(rw http.ResponseWriter, r *http.Request) {
		w.ResetLog()
		writeJSON(rw, 200, map[string]any{"acknowledged": true})
	})
	mux.HandleFunc("GET /faults", func(rw http.ResponseWriter, r *http.Request) { writeJSON(rw, 200, w.Faults()) })
	mux.HandleFunc("POST /faults", func(rw http.ResponseWriter, r *http.Request) {
		var f Fault
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &f); err != nil {
			fail(rw, 400, err)
			return
		}
		id, err := w.AddFault(f)
		if err != nil {
			fail(rw, 400, err)
			return
		}
		writeJSON(rw, 200, map[string]any{"id": id})
	})
	mux.HandleFunc("DELETE /faults", func(rw http.ResponseWriter, r *http.Request) {
		w.ClearFaults()
		writeJSON(rw, 200, map[string]any{"acknowledged": true})
	})
	mux.HandleFunc("DELETE /faults/{id}", func(rw http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		if err != nil {
			fail(rw, 400, fmt.Errorf("%w: fault id", errAdmin))
			return
		}
		w.RemoveFault(id)
		writeJSON(rw, 200, map[string]any{"acknowledged": true})
	})
	mux.HandleFunc("POST /edit", func(rw http.ResponseWriter, r *http.Request) {
		var e Edit
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &e); err != nil {
			fail(rw, 400, err)
			return
		}
		if err := w.Apply(e); err != nil {
			fail(rw, 400, err)
			return
		}
		writeJSON(rw, 200, map[string]any{"acknowledged": true})
	})
	mux.HandleFunc("GET /links/{cluster}", func(rw http.ResponseWriter, r *http.Request) {
		writeJSON(rw, 200, w.Links(r.PathValue("cluster")))
	})
	mux.HandleFunc("GET /links/{cluster}/{alias}", func(rw http.ResponseWriter, r *http.Request) {
		writeJSON(rw, 200, w.LinkStatus(r.PathValue("cluster"), r.PathValue("alias")))
	})
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || tok != s.adminToken {
			fail(rw, 401, fmt.Errorf("admin API needs Authorization: Bearer <token>"))
			return
		}
		mux.ServeHTTP(rw, r)
	})
}

// basicHeader builds a Basic Authorization header value.
func basicHeader(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}
