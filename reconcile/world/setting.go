package world

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// SplitRemoteKey splits a flat key "cluster.remote.<alias>.<suffix>" into
// its alias and suffix (e.g. "transport.compress"), where the alias is
// [-\w]+ as Elasticsearch's affix pattern requires (es-api.md §1.1). ok is
// false for other keys, including the cluster-wide ones such as
// "cluster.remote.connections_per_cluster" and "cluster.remote.node.attr".
// It is the one parser of these keys; hand-written because it runs for
// every key of every pass.
func SplitRemoteKey(key string) (alias, suffix string, ok bool) {
	rest, found := strings.CutPrefix(key, RemotePrefix)
	if !found || key == "cluster.remote.node.attr" {
		return "", "", false
	}
	i := strings.IndexByte(rest, '.')
	if i <= 0 || i == len(rest)-1 {
		return "", "", false
	}
	for _, r := range rest[:i] {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "", "", false
		}
	}
	return rest[:i], rest[i+1:], true
}

// IsListSuffix reports whether the per-alias setting suffix holds a list (seeds).
func IsListSuffix(suffix string) bool { return suffix == "seeds" }

// Normalize returns the canonical form of a setting value for comparison:
// booleans lowercased, integers without leading zeros, time values as a
// Go duration string, lists (seeds) split on commas, trimmed and sorted.
// ES stores every scalar as the string sent (es-api.md §3.2), so "18" and
// 18, "true" and true, "60s" and "1m" must compare equal.
func Normalize(suffix, v string) string {
	switch {
	case IsListSuffix(suffix):
		v = strings.Trim(v, "[]")
		var parts []string
		for _, p := range strings.Split(v, ",") {
			p = strings.Trim(strings.TrimSpace(p), `"`)
			if p != "" {
				parts = append(parts, p)
			}
		}
		slices.Sort(parts)
		return strings.Join(parts, ",")
	case suffix == "skip_unavailable" || suffix == "transport.compress" ||
		suffix == "mode" || suffix == "transport.compression_scheme":
		return strings.ToLower(strings.TrimSpace(v))
	case suffix == "proxy_socket_connections" || suffix == "node_connections":
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			return strconv.Itoa(n)
		}
	case suffix == "transport.ping_schedule":
		if d, ok := ParseTimeValue(v); ok {
			return d.String()
		}
	}
	return v
}

// ParseTimeValue parses an Elasticsearch time value ("30s", "5m", "-1",
// "1d", "500ms", "10micros", "100nanos").
func ParseTimeValue(s string) (time.Duration, bool) {
	s = strings.TrimSpace(strings.ToLower(s))
	// "-1" and "0" need no unit (TimeValue.parseTimeValue special-cases
	// both), so "0" and "0s" are the same value.
	switch s {
	case "-1":
		return -1, true
	case "0":
		return 0, true
	}
	units := []struct {
		suffix string
		unit   time.Duration
	}{
		{"nanos", time.Nanosecond}, {"micros", time.Microsecond}, {"ms", time.Millisecond},
		{"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}, {"d", 24 * time.Hour},
	}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.ParseFloat(num, 64)
			if err != nil {
				continue
			}
			return time.Duration(n * float64(u.unit)), true
		}
	}
	return 0, false
}

// FormatTimeValue renders a duration as an Elasticsearch time value using
// the largest unit that divides it exactly.
func FormatTimeValue(d time.Duration) string {
	switch {
	case d < 0:
		return "-1"
	case d == 0:
		return "0s"
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	default:
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
	}
}
