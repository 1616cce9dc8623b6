package importer

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/esremote/esremote/spec"
)

// importHeader starts the first line of every imported file; it carries
// the date, so comparisons with an earlier import skip it (undated).
const importHeader = "# Imported by esremote import from "

// undated drops the dated header line for comparing two imports.
func undated(b []byte) []byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(l, []byte(importHeader)) {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

// render writes a Connection as YAML a person would write, with comments
// saying where each value came from. Values are quoted where YAML could
// read them as something else.
func (im *importer) render(c *spec.Connection, secSource, remoteNote string, eff liveAlias) []byte {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	local := c.Local
	day := im.now.UTC().Format(time.DateOnly)
	w("%s%s on %s.\n", importHeader, local, day)
	w("# Nothing was written to the cluster. Values come from GET /_cluster/settings\n")
	w("# and GET /_remote/info on %s; edit this file like any other spec.\n", local)
	w("apiVersion: %s\nkind: %s\n", spec.APIVersion, spec.KindConnection)
	w("name: %s\nlocal: %s\nalias: %s\n", c.Name, local, c.Alias)
	w("remote:\n")
	for _, l := range strings.Split(remoteNote, "\n") {
		w("  # %s\n", l)
	}
	if c.Remote.Cluster != "" {
		w("  cluster: %s\n", c.Remote.Cluster)
	}
	if c.Remote.ProxyAddress != "" {
		w("  proxy_address: %s  # cluster.remote.%s.proxy_address\n", quote(c.Remote.ProxyAddress), c.Alias)
	}
	if c.Remote.ServerName != "" {
		w("  server_name: %s  # cluster.remote.%s.server_name\n", quote(c.Remote.ServerName), c.Alias)
	}
	if len(c.Remote.Seeds) > 0 {
		var qs []string
		for _, s := range c.Remote.Seeds {
			qs = append(qs, strconv.Quote(s))
		}
		w("  seeds: [%s]  # cluster.remote.%s.seeds\n", strings.Join(qs, ", "), c.Alias)
	}
	w("# %s\n", secSource)
	w("security: %s\n", c.Security)
	if c.APIKey != nil {
		w("api_key:\n")
		w("  # A key made by hand cannot be read back: supply the encoded key as the\n")
		w("  # systemd credential below before the first apply (see docs/operations.md).\n")
		w("  managed: false\n")
		w("  credentials: {credential: %s}\n", c.APIKey.Credentials.Credential)
	}
	w("settings:  # from GET /_cluster/settings on %s, %s\n", local, day)
	s := c.Settings
	w("  mode: %s\n", s.Mode)
	if _, ok := eff["mode"]; !ok {
		b.WriteString("  # (the cluster sets no mode: this is Elasticsearch's default)\n")
	}
	if s.SkipUnavailable != nil {
		w("  skip_unavailable: %t\n", *s.SkipUnavailable)
	}
	if s.ProxySocketConnections != nil {
		w("  proxy_socket_connections: %d\n", *s.ProxySocketConnections)
	}
	if s.NodeConnections != nil {
		w("  node_connections: %d\n", *s.NodeConnections)
	}
	if s.Compress != "" {
		w("  compress: %s  # transport.compress\n", quote(s.Compress))
	}
	if s.CompressionScheme != "" {
		w("  compression_scheme: %s  # transport.compression_scheme\n", s.CompressionScheme)
	}
	if s.PingSchedule != nil {
		w("  ping_schedule: %s  # transport.ping_schedule\n", s.PingSchedule)
	}
	w("policy: %s\n", c.Policy)
	if len(c.Ignore) > 0 {
		w("# Settings a Connection cannot express, left as they are on the cluster:\n")
		w("ignore: [%s]\n", strings.Join(c.Ignore, ", "))
	}
	return []byte(b.String())
}

// quote double-quotes a scalar that YAML would not read back as the same
// string (booleans, numbers, anything with YAML syntax in it).
func quote(s string) string {
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "~", "":
		return strconv.Quote(s)
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return strconv.Quote(s)
	}
	if strings.Contains(s, ": ") || strings.Contains(s, " #") || strings.HasSuffix(s, ":") ||
		strings.ContainsAny(s[:1], "-?:,[]{}#&*!|>'\"%@`") || strings.ContainsAny(s, "\"\\\n\t") || strings.TrimSpace(s) != s {
		return strconv.Quote(s)
	}
	return s
}
