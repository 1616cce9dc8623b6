package importer

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/spec"
)

// connection builds the Connection of an alias from its live values and
// renders it as a person would write it, each value's origin in a comment.
func (im *importer) connection(alias string, eff liveAlias, info es.RemoteInfo, inKeystore bool, ia *Alias) (*spec.Connection, []byte) {
	local := im.local.Name
	c := &spec.Connection{APIVersion: spec.APIVersion, Kind: spec.KindConnection,
		Name: local + "-to-" + alias, Local: local, Alias: alias, Policy: spec.PolicyEnforce}
	str := func(suffix string) string {
		if v, ok := eff[suffix]; ok {
			return v.Str()
		}
		return ""
	}
	var ignore []string
	handled := map[string]bool{}
	use := func(suffix string) { handled[suffix] = true }

	// Mode: an alias without one is sniff when it has seeds (ES default).
	mode := spec.Mode(strings.ToLower(str("mode")))
	use("mode")
	if mode == "" {
		mode = spec.ModeSniff
		if _, ok := eff["proxy_address"]; ok {
			mode = spec.ModeProxy
		}
	}
	c.Settings.Mode = mode

	// Security: cluster_credentials in _remote/info, or the keystore entry.
	secSource := ""
	switch {
	case info.HasCredentials():
		c.Security, secSource = spec.SecurityAPIKey, "GET /_remote/info reports cluster_credentials for "+alias
	case inKeystore:
		c.Security, secSource = spec.SecurityAPIKey, "the keystore of "+local+" holds "+reconcile.CredentialsKey(alias)
	default:
		c.Security, secSource = spec.SecurityCertificate, "GET /_remote/info reports no cluster_credentials for "+alias+": the TLS certificate model"
	}
	ia.inKeystore = inKeystore
	if c.Security == spec.SecurityAPIKey {
		c.APIKey = &spec.APIKey{Managed: false, Credentials: &spec.SecretRef{Credential: credentialName(local, alias)}}
	}

	// The other end.
	remoteNote := ""
	switch mode {
	case spec.ModeProxy:
		use("proxy_address")
		use("server_name")
		addr, name := str("proxy_address"), str("server_name")
		host, port, _ := net.SplitHostPort(addr)
		wantPort := strconv.Itoa(spec.ProxyPort(c.Security))
		if match := im.match(host); match != "" {
			c.Remote.Cluster = match
			rc := im.set.Cluster(match)
			ep := im.endpoints[match]
			if rc.Deployment != nil && port == wantPort && name == ep.ServerName {
				remoteNote = fmt.Sprintf("proxy_address and server_name are the endpoint of deployment %s\n(metadata.endpoint %s)", match, ep.Host)
			} else {
				c.Remote.ProxyAddress, c.Remote.ServerName = addr, name
				remoteNote = fmt.Sprintf("the host of proxy_address is the endpoint of Cluster %s", match)
			}
		} else {
			c.Remote.ProxyAddress, c.Remote.ServerName = addr, name
			remoteNote = "no declared Cluster has the endpoint " + host + ": the parameters as set"
		}
		ia.Remote = addr
		if c.Remote.Cluster != "" {
			ia.Remote = c.Remote.Cluster
		}
		if v, ok := eff["proxy_socket_connections"]; ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v.Str())); err == nil && n >= 1 {
				c.Settings.ProxySocketConnections = &n
				use("proxy_socket_connections")
			}
		}
	case spec.ModeSniff:
		use("seeds")
		if v, ok := eff["seeds"]; ok {
			seeds := v.Items()
			if !v.IsList() {
				seeds = strings.Split(strings.Trim(v.Str(), "[]"), ",")
			}
			for _, s := range seeds {
				if s = strings.Trim(strings.TrimSpace(s), `"`); s != "" {
					c.Remote.Seeds = append(c.Remote.Seeds, s)
				}
			}
		}
		remoteNote = "sniff mode: the transport addresses of some remote nodes"
		ia.Remote = strings.Join(c.Remote.Seeds, ",")
		if v, ok := eff["node_connections"]; ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v.Str())); err == nil && n >= 1 {
				c.Settings.NodeConnections = &n
				use("node_connections")
			}
		}
	}

	if v, ok := eff["skip_unavailable"]; ok {
		if b, err := strconv.ParseBool(strings.ToLower(strings.TrimSpace(v.Str()))); err == nil {
			c.Settings.SkipUnavailable = &b
			use("skip_unavailable")
		}
	}
	if v, ok := eff["transport.compress"]; ok {
		switch s := strings.ToLower(strings.TrimSpace(v.Str())); s {
		case "true", "false", "indexing_data":
			c.Settings.Compress = s
			use("transport.compress")
		}
	}
	if v, ok := eff["transport.compression_scheme"]; ok {
		switch s := strings.ToLower(strings.TrimSpace(v.Str())); s {
		case "deflate", "lz4":
			c.Settings.CompressionScheme = s
			use("transport.compression_scheme")
		}
	}
	if v, ok := eff["transport.ping_schedule"]; ok {
		if d, ok := es.ParseTimeValue(v.Str()); ok && d > 0 {
			if sd, err := spec.ParseDuration(es.FormatTimeValue(d)); err == nil {
				c.Settings.PingSchedule = &sd
				use("transport.ping_schedule")
			}
		}
	}
	for _, suffix := range sortedKeys(eff) {
		switch {
		case handled[suffix]:
		case strings.HasPrefix(suffix, "cluster.remote."):
			// Not a key ignore can name (validate refuses it); plan
			// shows it deleted, which the operator should see.
			ia.Notes = append(ia.Notes, fmt.Sprintf("%s cannot be expressed or ignored in a spec: the first apply removes it", suffix))
		default:
			ignore = append(ignore, suffix)
		}
	}
	c.Ignore = ignore
	if len(ignore) > 0 {
		ia.Notes = append(ia.Notes, fmt.Sprintf("kept out of the spec (listed under ignore, left as they are): %s", strings.Join(ignore, ", ")))
	}
	return c, im.render(c, secSource, remoteNote, eff)
}

// match returns the declared Cluster whose endpoint host is host, or ""
// when none or more than one has it.
func (im *importer) match(host string) string {
	if host == "" {
		return ""
	}
	found := ""
	for _, name := range sortedKeys(im.endpoints) {
		if strings.EqualFold(im.endpoints[name].Host, host) {
			if found != "" {
				return ""
			}
			found = name
		}
	}
	return found
}
