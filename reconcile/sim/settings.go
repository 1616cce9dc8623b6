package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// esError is an Elasticsearch error answer: status and the body of
// es-api.md §2.1, with further errors as "suppressed".
type esError struct {
	status     int
	typ        string
	reason     string
	suppressed []string
	cause      *esError // rendered as caused_by
}

func (e *esError) Error() string { return e.reason }

func badRequest(format string, a ...any) *esError {
	return &esError{status: 400, typ: "illegal_argument_exception", reason: fmt.Sprintf(format, a...)}
}

func (e *esError) body() map[string]any {
	errObj := map[string]any{
		"root_cause": []any{map[string]any{"type": e.typ, "reason": e.reason}},
		"type":       e.typ,
		"reason":     e.reason,
	}
	if len(e.suppressed) > 0 {
		var sup []any
		for _, s := range e.suppressed {
			sup = append(sup, map[string]any{"type": e.typ, "reason": s})
		}
		errObj["suppressed"] = sup
	}
	if e.cause != nil {
		errObj["caused_by"] = map[string]any{"type": e.cause.typ, "reason": e.cause.reason}
	}
	return map[string]any{"error": errObj, "status": e.status}
}

// Per-alias setting suffixes, in the order of es-api.md §1.2.
var remoteSuffixes = [...]string{
	"mode", "seeds", "node_connections", "proxy", "proxy_address",
	"proxy_socket_connections", "server_name", "skip_unavailable",
	"transport.ping_schedule", "transport.compress", "transport.compression_scheme",
	"credentials",
}

// remoteKey splits cluster.remote.<alias>.<suffix>[.…] as ES's AffixKey
// pattern does (^cluster\.remote\.([-\w]+)\.(.+)$: the alias is word
// characters and dashes up to the first dot); ok is false for keys no
// affix setting matches. Written by hand: every _remote/info and settings
// request splits every key of the cluster, under the world's lock.
func remoteKey(key string) (alias, suffix string, ok bool) {
	rest, ok := strings.CutPrefix(key, "cluster.remote.")
	if !ok {
		return "", "", false
	}
	alias, rest, ok = strings.Cut(rest, ".")
	if !ok || alias == "" || rest == "" || !wordOrDash(alias) || strings.ContainsRune(rest, '\n') {
		return "", "", false
	}
	for _, s := range remoteSuffixes {
		if rest == s || len(rest) > len(s) && rest[len(s)] == '.' && strings.HasPrefix(rest, s) {
			return alias, s, true
		}
	}
	return "", "", false
}

// wordOrDash reports whether s is made of [-0-9A-Za-z_] only (the regexp
// class [-\w]).
func wordOrDash(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '-' && c != '_' && (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

// Non-remote dynamic settings the simulation accepts (a small, realistic set).
var dynamicSettings = map[string]bool{
	"cluster.routing.allocation.enable":                 true,
	"cluster.routing.rebalance.enable":                  true,
	"cluster.max_shards_per_node":                       true,
	"indices.recovery.max_bytes_per_sec":                true,
	"action.destructive_requires_name":                  true,
	"search.default_search_timeout":                     true,
	"xpack.monitoring.collection.enabled":               true,
	"cluster.routing.allocation.disk.threshold_enabled": true,
}

// staticSettings are registered but only settable in elasticsearch.yml.
var staticSettings = map[string]bool{
	"cluster.remote.connections_per_cluster": true,
	"cluster.remote.initial_connect_timeout": true,
	"cluster.remote.node.attr":               true,
}

// flatten turns a PUT body scope (nested and/or flat keys) into flat keys
// whose values are string, []string or nil (delete), as Settings.fromXContent does.
func flatten(prefix string, v any, out map[string]any) error {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			if err := flatten(key, e, out); err != nil {
				return err
			}
		}
	case []any:
		list := make([]string, 0, len(v))
		for _, e := range v {
			s, err := scalarString(e)
			if err != nil {
				return fmt.Errorf("setting [%s]: %w", prefix, err)
			}
			list = append(list, s)
		}
		out[prefix] = list
	case nil:
		out[prefix] = nil
	default:
		s, err := scalarString(v)
		if err != nil {
			return err
		}
		out[prefix] = s
	}
	return nil
}

func scalarString(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	case nil:
		return "", nil
	}
	return "", fmt.Errorf("unexpected value %v", v)
}

// decodeJSON decodes with numbers kept as written.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// updateSettings applies one PUT /_cluster/settings body to the cluster
// with ES's checks (es-api.md §2.1): per-key checks for transient then
// persistent, then each resulting scope validated on its own. It returns
// the keys set by this request, per scope. Nothing changes on error.
func (c *cluster) updateSettings(persistent, transient map[string]any) (setP, setT map[string]any, err *esError) {
	newT, setT, err := applyScope("transient", c.transient, transient)
	if err != nil {
		return nil, nil, err
	}
	newP, setP, err := applyScope("persistent", c.persistent, persistent)
	if err != nil {
		return nil, nil, err
	}
	if e := validateScope(newT); e != nil {
		return nil, nil, e
	}
	if e := validateScope(newP); e != nil {
		return nil, nil, e
	}
	c.transient, c.persistent = newT, newP
	c.settingsChanged()
	return setP, setT, nil
}

func applyScope(scope string, current, update map[string]any) (next, set map[string]any, err *esError) {
	next = maps.Clone(current)
	set = map[string]any{}
	keys := slices.Sorted(maps.Keys(update))
	for _, key := range keys {
		v := update[key]
		if v == nil {
			if strings.HasSuffix(key, "*") {
				for k := range next {
					if ok, _ := path.Match(key, k); ok || strings.HasPrefix(k, strings.TrimSuffix(key, "*")) {
						delete(next, k)
					}
				}
				continue
			}
			if e := checkRegistered(scope, key); e != nil {
				return nil, nil, e
			}
			delete(next, key)
			continue
		}
		if e := checkRegistered(scope, key); e != nil {
			return nil, nil, e
		}
		if e := validateValue(key, v); e != nil {
			return nil, nil, e
		}
		next[key] = v
		set[key] = v
	}
	return next, set, nil
}

func checkRegistered(scope, key string) *esError {
	if staticSettings[key] {
		return badRequest("%s setting [%s], not dynamically updateable", scope, key)
	}
	if dynamicSettings[key] || strings.HasPrefix(key, "logger.") {
		return nil
	}
	_, suffix, ok := remoteKey(key)
	if !ok {
		return badRequest("%s setting [%s], not recognized", scope, key)
	}
	if suffix == "credentials" {
		return badRequest("%s setting [%s], not dynamically updateable", scope, key)
	}
	return nil
}

// validateValue runs the single-value parsers (es-api.md §2.5).
func validateValue(key string, v any) *esError {
	_, suffix, ok := remoteKey(key)
	if !ok {
		return nil
	}
	str, _ := v.(string)
	switch suffix {
	case "mode":
		if m := strings.ToUpper(str); m != "SNIFF" && m != "PROXY" {
			return badRequest("No enum constant org.elasticsearch.transport.RemoteConnectionStrategy.ConnectionStrategy.%s", m)
		}
	case "seeds":
		for _, s := range listValue(v) {
			if e := parsePort(s); e != nil {
				return e
			}
		}
	case "proxy_address", "proxy":
		if str != "" {
			return parsePort(str)
		}
	case "node_connections", "proxy_socket_connections":
		n, err := strconv.Atoi(str)
		if err != nil {
			return badRequest("Failed to parse value [%s] for setting [%s]", str, key)
		}
		if n < 1 {
			return badRequest("Failed to parse value [%s] for setting [%s] must be >= 1", str, key)
		}
	case "skip_unavailable":
		if str != "true" && str != "false" {
			return badRequest("Failed to parse value [%s] as only [true] or [false] are allowed.", str)
		}
	case "transport.compress":
		if m := strings.ToUpper(str); m != "TRUE" && m != "FALSE" && m != "INDEXING_DATA" {
			return badRequest("No enum constant org.elasticsearch.transport.Compression.Enabled.%s", m)
		}
	case "transport.compression_scheme":
		if m := strings.ToUpper(str); m != "DEFLATE" && m != "LZ4" {
			return badRequest("No enum constant org.elasticsearch.transport.Compression.Scheme.%s", m)
		}
	case "transport.ping_schedule":
		if _, err := parseTimeValue(str); err != nil {
			return badRequest("failed to parse setting [%s] with value [%s] as a time value: unit is missing or unrecognized", key, str)
		}
	}
	return nil
}

// parsePort is RemoteConnectionStrategy.parsePort.
func parsePort(addr string) *esError {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return badRequest("remote hosts need to be configured as [host:port], found [%s] instead", addr)
	}
	port, err := strconv.Atoi(addr[i+1:])
	if err != nil {
		return badRequest("failed to parse port")
	}
	if port <= 0 {
		return badRequest("port number must be > 0 but was: [%d]", port)
	}
	return nil
}

func listValue(v any) []string {
	switch v := v.(type) {
	case []string:
		return v
	case string:
		if v == "" {
			return nil
		}
		parts := strings.Split(v, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		return parts
	}
	return nil
}

// aliasConfig is one alias's settings resolved from one scope (or the
// effective merge of both).
type aliasConfig struct {
	mode         string // "sniff" or "proxy"
	seeds        []string
	proxyAddress string
	serverName   string
	sockets      int
	// nodeConnections is cluster.remote.<alias>.node_connections (sniff):
	// SniffConnectionStrategy.REMOTE_NODE_CONNECTIONS, default
	// cluster.remote.connections_per_cluster (3).
	nodeConnections int
	sniffProxy      string // cluster.remote.<alias>.proxy (sniff)
	skip            *bool
	present         [len(remoteSuffixes)]bool   // suffixes present, by index in remoteSuffixes
	raw             [len(remoteSuffixes)]string // every value as stored, lists joined by ","
	key             string                      // connKey, once asked for (a configuration is not changed once parsed)
	cred            string                      // credKey of the alias, once asked for
}

// credKey is credKey(alias) for a's alias, made once.
func (a *aliasConfig) credKey(alias string) string {
	if a.cred == "" {
		a.cred = credKey(alias)
	}
	return a.cred
}

// suffixIndex is each suffix's index in remoteSuffixes (aliasConfig's
// present and raw).
var suffixIndex = func() map[string]int {
	m := map[string]int{}
	for i, s := range remoteSuffixes {
		m[s] = i
	}
	return m
}()

// connKey is what a connection is built from: a change of any of these
// rebuilds it, anything else (skip_unavailable) leaves it up.
// RemoteConnectionStrategy.shouldRebuildConnection (mode, transport.compress,
// transport.compression_scheme, transport.ping_schedule), plus
// ProxyConnectionStrategy.strategyMustBeRebuilt (proxy_address,
// proxy_socket_connections, server_name) and
// SniffConnectionStrategy.strategyMustBeRebuilt (seeds, proxy,
// node_connections).
func (a *aliasConfig) connKey() string {
	if a.key != "" { // never empty once made: it has the separators
		return a.key
	}
	var b strings.Builder
	b.WriteString(a.mode)
	for _, i := range connKeySuffixes {
		b.WriteByte('|')
		b.WriteString(a.raw[i])
	}
	a.key = b.String()
	return a.key
}

// connKeySuffixes are the indices in remoteSuffixes of the settings in a
// connKey after the mode, in its order.
var connKeySuffixes = func() (out []int) {
	for _, s := range []string{"seeds", "proxy", "node_connections", "proxy_address", "proxy_socket_connections",
		"server_name", "transport.compress", "transport.compression_scheme", "transport.ping_schedule"} {
		out = append(out, suffixIndex[s])
	}
	return out
}()

func (a aliasConfig) enabled() bool {
	if a.mode == "proxy" {
		return a.proxyAddress != ""
	}
	return len(a.seeds) > 0
}

// aliases groups flat settings by alias.
func aliases(settings map[string]any) map[string]*aliasConfig {
	out := map[string]*aliasConfig{}
	addAliases(out, settings)
	return out
}

// addAliases adds flat settings to the aliases of out, a key already there
// replaced (effectiveAliases adds the transient scope last).
func addAliases(out map[string]*aliasConfig, settings map[string]any) {
	for key, v := range settings {
		alias, suffix, ok := remoteKey(key)
		if !ok {
			continue
		}
		a := out[alias]
		if a == nil {
			a = &aliasConfig{mode: "sniff", sockets: 18, nodeConnections: 3}
			out[alias] = a
		}
		i := suffixIndex[suffix]
		a.present[i] = true
		str, _ := v.(string)
		a.raw[i] = strings.Join(listValue(v), ",")
		switch suffix {
		case "mode":
			a.mode = strings.ToLower(str)
		case "seeds":
			a.seeds = listValue(v)
		case "proxy_address":
			a.proxyAddress = str
		case "server_name":
			a.serverName = str
		case "proxy_socket_connections":
			a.sockets, _ = strconv.Atoi(str)
		case "node_connections":
			a.nodeConnections, _ = strconv.Atoi(str)
		case "proxy":
			a.sniffProxy = str
		case "skip_unavailable":
			b := str == "true"
			a.skip = &b
		}
	}
}

var sniffOnly = map[string]bool{"seeds": true, "node_connections": true, "proxy": true}
var proxyOnly = map[string]bool{"proxy_address": true, "proxy_socket_connections": true, "server_name": true}
var needsEnabled = map[string]bool{
	"skip_unavailable": true, "transport.ping_schedule": true,
	"transport.compress": true, "transport.compression_scheme": true,
}

// validateScope runs the cross-key validators over one scope's full
// resulting settings, in key order; the first error is the reason and the
// rest are suppressed (es-api.md §2.2–2.4).
func validateScope(settings map[string]any) *esError {
	al := aliases(settings)
	var msgs []string
	keys := slices.Sorted(maps.Keys(settings))
	for _, key := range keys {
		alias, suffix, ok := remoteKey(key)
		if !ok {
			continue
		}
		a := al[alias]
		modeKey := "cluster.remote." + alias + ".mode"
		switch {
		case sniffOnly[suffix] && a.mode != "sniff":
			msgs = append(msgs, fmt.Sprintf("Setting \"%s\" cannot be used with the configured \"%s\" [required=SNIFF, configured=%s]", key, modeKey, strings.ToUpper(a.mode)))
		case proxyOnly[suffix] && a.mode != "proxy":
			msgs = append(msgs, fmt.Sprintf("Setting \"%s\" cannot be used with the configured \"%s\" [required=PROXY, configured=%s]", key, modeKey, strings.ToUpper(a.mode)))
		case needsEnabled[suffix] && !a.enabled():
			msgs = append(msgs, fmt.Sprintf("Cannot configure setting [%s] if remote cluster is not enabled.", key))
		}
		if suffix == "proxy" && !a.present[suffixIndex["seeds"]] {
			msgs = append(msgs, fmt.Sprintf("missing required setting [cluster.remote.%s.seeds] for setting [%s]", alias, key))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	e := badRequest("%s", msgs[0])
	e.suppressed = msgs[1:]
	return e
}

// nest turns flat keys into the nested form of a non-flat response.
func nest(flat map[string]any) map[string]any {
	out := map[string]any{}
	keys := slices.Sorted(maps.Keys(flat))
	for _, key := range keys {
		parts := strings.Split(key, ".")
		m := out
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[parts[len(parts)-1]] = flat[key]
	}
	return out
}

func renderSettings(flat map[string]any, flatOut bool) map[string]any {
	if flatOut {
		if flat == nil {
			return map[string]any{}
		}
		return flat
	}
	return nest(flat)
}

// parseTimeValue parses an ES time value such as "30s", "1d", "-1".
func parseTimeValue(s string) (int64, error) {
	if s == "-1" || s == "0" {
		return 0, nil
	}
	units := []struct {
		suffix string
		ms     float64
	}{{"nanos", 1e-6}, {"micros", 1e-3}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}}
	sort.SliceStable(units, func(i, j int) bool { return len(units[i].suffix) > len(units[j].suffix) })
	for _, u := range units {
		if num, ok := strings.CutSuffix(strings.ToLower(strings.TrimSpace(s)), u.suffix); ok && num != "" {
			f, err := strconv.ParseFloat(num, 64)
			if err != nil || f < 0 {
				return 0, fmt.Errorf("bad time value %q", s)
			}
			return int64(f * u.ms), nil
		}
	}
	return 0, fmt.Errorf("bad time value %q", s)
}
