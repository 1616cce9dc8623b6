package spec

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/invopop/jsonschema"
	"go.yaml.in/yaml/v3"
)

// day is the unit of the "d" suffix Elasticsearch time values accept.
const day = 24 * time.Hour

// durationPattern is the JSON Schema pattern of a Duration: Go durations
// such as 30s or 1h30m, or whole days such as 90d.
const durationPattern = `^([0-9]+d|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$`

// ParseDuration parses a Go duration ("30s", "1h30m") or a whole number of
// days ("14d"). Negative durations are refused.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseUint(n, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: use a whole number of days such as 14d, or 30s, 5m, 2h", s)
		}
		return Duration(time.Duration(days) * day), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: use 30s, 5m, 2h or 14d", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: must not be negative", s)
	}
	return Duration(d), nil
}

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats whole days as "14d" and anything else as time.Duration does.
func (d Duration) String() string {
	td := time.Duration(d)
	if td != 0 && td%day == 0 {
		return strconv.FormatInt(int64(td/day), 10) + "d"
	}
	return td.String()
}

// UnmarshalYAML accepts a scalar such as 30s or 90d.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("a duration is a scalar such as 30s or 90d")
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML writes the duration as String does.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalJSON writes the duration as a JSON string, as String does.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads what MarshalJSON writes.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as 30s or 90d: %w", err)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// JSONSchema is the schema of a Duration: a string such as 30s or 90d.
func (Duration) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:        "string",
		Pattern:     durationPattern,
		Description: "a duration: 30s, 5m, 2h, 1h30m or whole days such as 14d",
		Examples:    []any{"30s", "14d", "90d"},
	}
}

// TrustAll is the YAML/JSON spelling of Trust{All: true}.
const TrustAll = "all"

// clusterIDPattern is an Elasticsearch cluster ID (and an ECH/ECE
// deployment ID): 32 lowercase hex digits.
var clusterIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// UnmarshalYAML accepts the scalar "all" or a sequence of cluster IDs. The
// IDs themselves are checked by validation, with positions.
func (t *Trust) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value != TrustAll {
			return fmt.Errorf(`trust is "all" or a list of cluster IDs, not %q`, n.Value)
		}
		*t = Trust{All: true}
		return nil
	case yaml.SequenceNode:
		var ids []string
		if err := n.Decode(&ids); err != nil {
			return fmt.Errorf("trust is a list of cluster IDs: %w", err)
		}
		*t = Trust{ClusterIDs: ids}
		return nil
	}
	return errors.New(`trust is "all" or a list of cluster IDs`)
}

// MarshalYAML writes "all" or the list of IDs.
func (t Trust) MarshalYAML() (any, error) {
	if t.All {
		return TrustAll, nil
	}
	return t.ClusterIDs, nil
}

// MarshalJSON writes "all" or the list of IDs.
func (t Trust) MarshalJSON() ([]byte, error) {
	if t.All {
		return json.Marshal(TrustAll)
	}
	if t.ClusterIDs == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(t.ClusterIDs)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (t *Trust) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		if s != TrustAll {
			return fmt.Errorf(`trust is "all" or a list of cluster IDs, not %q`, s)
		}
		*t = Trust{All: true}
		return nil
	}
	var ids []string
	if err := json.Unmarshal(b, &ids); err != nil {
		return fmt.Errorf(`trust is "all" or a list of cluster IDs: %w`, err)
	}
	*t = Trust{ClusterIDs: ids}
	return nil
}

// JSONSchema is the schema of Trust: "all" or a list of 32-hex cluster IDs.
func (Trust) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Description: `"all" clusters of the environment, or a list of Elasticsearch cluster IDs (32 lowercase hex; never deployment IDs)`,
		OneOf: []*jsonschema.Schema{
			{Type: "string", Const: TrustAll},
			{Type: "array", Items: &jsonschema.Schema{Type: "string", Pattern: clusterIDPattern.String()}},
		},
	}
}
