package spec

import (
	"cmp"
	"path/filepath"
	"slices"
	"strings"
)

// meta is what Load remembers about one document: its file, the absolute
// directory relative paths in it are resolved against, and the position of
// every field by path.
type meta struct {
	file string
	base string
	pos  map[string]Pos
	// lost are the paths whose value did not decode (see walker.lost).
	lost []string
}

// isLost reports whether the value at path, or one of its parents, did
// not decode.
func (m *meta) isLost(path string) bool {
	for _, l := range m.lost {
		if l == "" || path == l || strings.HasPrefix(path, l+".") || strings.HasPrefix(path, l+"[") {
			return true
		}
	}
	return false
}

// at returns the position of path, or of its closest recorded parent.
func (m *meta) at(path string) Pos {
	for {
		if p, ok := m.pos[path]; ok {
			return p
		}
		if path == "" {
			return Pos{File: m.file, Line: 1, Column: 1}
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			path = ""
		} else {
			path = path[:i]
		}
	}
}

func (m *meta) secretRefs(a *Auth, path string) {
	if a.APIKey != nil {
		m.secretRef(a.APIKey, path+".api_key")
	}
	if a.Basic != nil {
		m.secretRef(&a.Basic.Password, path+".basic.password")
	}
}

func (m *meta) secretRef(r *SecretRef, path string) {
	r.Base = m.base
	r.Pos = m.at(path)
	// A name that looks like a secret value may be one: keep it out of
	// every output, whatever error it ends up in.
	for _, name := range []string{r.Credential, r.Env} {
		if LooksLikeSecret(name) {
			Remember(name)
		}
	}
}

// sortKinds orders every kind by name (then position) so that everything
// derived from a Set is deterministic.
func (s *Set) sortKinds() {
	slices.SortStableFunc(s.Clusters, func(a, b *Cluster) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortStableFunc(s.Connections, func(a, b *Connection) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortStableFunc(s.TrustedEnvironments, func(a, b *TrustedEnvironment) int { return cmp.Compare(a.Name, b.Name) })
	s.index()
}

// index builds the name lookups; the first of duplicate names wins.
func (s *Set) index() {
	s.clusters = make(map[string]*Cluster, len(s.Clusters))
	for _, c := range s.Clusters {
		if _, dup := s.clusters[c.Name]; !dup {
			s.clusters[c.Name] = c
		}
	}
	s.connections = make(map[string]*Connection, len(s.Connections))
	for _, c := range s.Connections {
		if _, dup := s.connections[c.Name]; !dup {
			s.connections[c.Name] = c
		}
	}
}

// Cluster returns the Cluster called name, or nil.
func (s *Set) Cluster(name string) *Cluster {
	if s.clusters == nil {
		s.index()
	}
	return s.clusters[name]
}

// Connection returns the Connection called name, or nil.
func (s *Set) Connection(name string) *Connection {
	if s.connections == nil {
		s.index()
	}
	return s.connections[name]
}

// TrustedEnvironment returns the TrustedEnvironment called name, or nil.
func (s *Set) TrustedEnvironment(name string) *TrustedEnvironment {
	for _, t := range s.TrustedEnvironments {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// ConnectionsFrom returns the Connections whose local cluster is name, by
// connection name.
func (s *Set) ConnectionsFrom(local string) []*Connection {
	var out []*Connection
	for _, c := range s.Connections {
		if c.Local == local {
			out = append(out, c)
		}
	}
	return out
}

// TrustedEnvironmentsOf returns the TrustedEnvironments whose trusting
// deployment is the Cluster called name.
func (s *Set) TrustedEnvironmentsOf(name string) []*TrustedEnvironment {
	var out []*TrustedEnvironment
	for _, t := range s.TrustedEnvironments {
		if t.Deployment == name {
			out = append(out, t)
		}
	}
	return out
}

// BaseDir returns the absolute directory that relative paths (ca_file,
// secret files) in the document of obj are resolved against: the directory
// of its spec file. obj is a *Cluster, *Connection or *TrustedEnvironment
// from this Set; "" for anything else.
func (s *Set) BaseDir(obj any) string {
	if m, ok := s.meta[obj]; ok {
		return m.base
	}
	return ""
}

// PosOf returns where the field at path (e.g. "remote.proxy_address",
// "roles[0].name") of obj was written, or the closest enclosing field's
// position; the zero Pos when obj is not from this Set.
func (s *Set) PosOf(obj any, path string) Pos {
	if m, ok := s.meta[obj]; ok {
		return m.at(path)
	}
	return Pos{}
}

// caFiles lists the absolute paths of every ca_file the set names, in a
// stable order.
func (s *Set) caFiles() []string {
	var out []string
	add := func(obj any, p string) {
		if p == "" {
			return
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(s.BaseDir(obj), p)
		}
		out = append(out, p)
	}
	for _, c := range s.Clusters {
		add(c, c.Elasticsearch.CAFile)
		if c.Deployment != nil {
			add(c, c.Deployment.CAFile)
		}
	}
	for _, t := range s.TrustedEnvironments {
		add(t, t.CAFile)
	}
	return out
}
