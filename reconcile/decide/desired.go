package decide

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// Endpoint is where a remote cluster is reached: the host for the proxy
// address and the TLS server name. For a remote with a deployment block it
// is the deployment's metadata.endpoint (cloud-api.md §7).
type Endpoint = world.Endpoint

// EndpointOf is the host of a Cluster's Elasticsearch URL. For a remote
// without a deployment block the proxy address cannot be derived (its
// REST host is rarely its remote-cluster host), so validate requires
// remote.proxy_address there and Desire uses that; EndpointOf serves as
// the last resort and lets import recognise a declared Cluster from a
// live proxy address.
func EndpointOf(c *spec.Cluster) Endpoint { return world.URLEndpoint(c.Elasticsearch.URL) }

// DesiredAlias is what one Connection wants under cluster.remote.<alias>.
type DesiredAlias struct {
	Conn *spec.Connection
	// Settings maps flat keys to canonical-but-sendable values (lists as
	// comma-joined strings); keys the spec leaves unset are absent.
	Settings map[string]string
	// Ignored holds the flat keys others own (Connection.ignore).
	Ignored map[string]bool
}

// Mode is the alias's connection mode.
func (d *DesiredAlias) Mode() spec.Mode {
	if d.Conn.Settings.Mode == "" {
		return spec.ModeProxy
	}
	return d.Conn.Settings.Mode
}

// Desire computes the settings a Connection wants. remote is the resolved
// endpoint of its remote Cluster (zero when the spec gives the parameters).
func Desire(c *spec.Connection, remote Endpoint) (*DesiredAlias, error) {
	d := &DesiredAlias{Conn: c, Settings: map[string]string{}, Ignored: map[string]bool{}}
	set := func(suffix, v string) { d.Settings[world.RemoteKey(c.Alias, suffix)] = v }
	s := c.Settings
	switch d.Mode() {
	case spec.ModeProxy:
		set("mode", "proxy")
		addr, name := c.Remote.ProxyAddress, c.Remote.ServerName
		if addr == "" {
			if remote.Host == "" {
				return nil, fmt.Errorf("connection %s: no proxy address: the remote gives neither proxy_address nor a cluster whose endpoint is known", c.Name)
			}
			addr = net.JoinHostPort(remote.Host, strconv.Itoa(spec.ProxyPort(c.Security)))
		}
		if name == "" && (c.Remote.ProxyAddress == "" || sameHost(c.Remote.ProxyAddress, remote.Host)) {
			// The derived endpoint, or a proxy_address that names it
			// (with another port, say): the ECH/ECE proxy routes by the
			// TLS server name, so it goes with the endpoint either way.
			name = remote.ServerName
		}
		set("proxy_address", addr)
		if name != "" {
			set("server_name", name)
		}
		if s.ProxySocketConnections != nil {
			set("proxy_socket_connections", strconv.Itoa(*s.ProxySocketConnections))
		}
	case spec.ModeSniff:
		set("mode", "sniff")
		if len(c.Remote.Seeds) == 0 {
			return nil, fmt.Errorf("connection %s: sniff mode needs remote.seeds", c.Name)
		}
		set("seeds", strings.Join(c.Remote.Seeds, ","))
		if s.NodeConnections != nil {
			set("node_connections", strconv.Itoa(*s.NodeConnections))
		}
	default:
		return nil, fmt.Errorf("connection %s: unknown mode %q", c.Name, s.Mode)
	}
	if s.SkipUnavailable != nil {
		set("skip_unavailable", strconv.FormatBool(*s.SkipUnavailable))
	}
	if s.Compress != "" {
		set("transport.compress", strings.ToLower(s.Compress))
	}
	if s.CompressionScheme != "" {
		set("transport.compression_scheme", strings.ToLower(s.CompressionScheme))
	}
	if s.PingSchedule != nil {
		set("transport.ping_schedule", world.FormatTimeValue(time.Duration(*s.PingSchedule)))
	}
	for _, suffix := range c.Ignore {
		k := world.RemoteKey(c.Alias, suffix)
		d.Ignored[k] = true
		delete(d.Settings, k)
	}
	return d, nil
}

// Keys returns the desired keys sorted.
func (d *DesiredAlias) Keys() []string {
	ks := make([]string, 0, len(d.Settings))
	for k := range d.Settings {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// sameHost reports whether the host of addr ("host:port") is host.
func sameHost(addr, host string) bool {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		h = addr
	}
	return host != "" && strings.EqualFold(h, host)
}
