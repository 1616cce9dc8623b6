package sim

import (
	"fmt"
	"slices"
	"strings"
)

// parseReloadRequest reads the optional body of POST
// /_nodes/reload_secure_settings: RestReloadSecureSettingsAction parses it
// with an ObjectParser named "reload_secure_settings" that knows only
// secure_settings_password (a string). An empty password is no password
// (NodesReloadSecureSettingsRequest.hasPassword).
//
// The sim's clusters all have TLS on the transport layer (security
// auto-configuration since 8.0; a secured multi-node cluster fails its
// bootstrap checks without it), so TransportNodesReloadSecureSettingsAction
// .doExecute's refusal of a cluster-wide password without transport TLS
// ("Secure settings cannot be updated cluster wide when TLS for the
// transport layer is not enabled…") is never reached.
func parseReloadRequest(body []byte) (password string, e *esError) {
	if len(strings.TrimSpace(string(body))) == 0 {
		return "", nil
	}
	var raw map[string]any
	if err := decodeJSON(body, &raw); err != nil {
		return "", &esError{status: 400, typ: "x_content_parse_exception", reason: "failed to parse request body: " + err.Error()}
	}
	for k, v := range raw {
		if k != "secure_settings_password" {
			return "", &esError{status: 400, typ: "x_content_parse_exception", reason: fmt.Sprintf("[reload_secure_settings] unknown field [%s]", k)}
		}
		s, ok := v.(string)
		if !ok {
			return "", &esError{status: 400, typ: "x_content_parse_exception", reason: "[reload_secure_settings] failed to parse field [secure_settings_password]"}
		}
		password = s
	}
	return password, nil
}

// reloadNode is TransportNodesReloadSecureSettingsAction.nodeOperation
// (read, 8.x and main) for node i: a missing keystore is an
// IllegalStateException "Keystore is missing"; otherwise the keystore is
// decrypted with the request's password, an empty one when none is given
// ("so that we mimic pre 7.3 API behavior"), and a password that is not the
// keystore's fails KeyStoreWrapper.decrypt with a SecurityException
// "Provided keystore password was incorrect" — whether the keystore has a
// password and the request none, or the keystore none and the request
// one (rest-api-spec nodes.reload_secure_settings/10_basic.yml "wrong
// password" on an unprotected keystore;
// ReloadSecureSettingsWithPasswordProtectedKeystoreRestIT). Either way the
// node keeps what it had loaded and reports the exception.
func (c *cluster) reloadNode(i int, password string) map[string]any {
	if reason := c.nodes[i].broken; reason != "" {
		return map[string]any{"type": "illegal_state_exception", "reason": reason}
	}
	if password != c.keystorePassword {
		return map[string]any{"type": "security_exception", "reason": "Provided keystore password was incorrect"}
	}
	return nil
}

// selectNodes resolves the {node} filter of the path as
// DiscoveryNodes.resolveNodes does for the ids, names and _local/_all the
// sim has: no filter, "_all" or "*" is every node; "_local" is the node
// coordinating the request (local); otherwise each comma-separated node id
// or name (a name may use * wildcards). Nodes are returned in order, each
// once.
func (c *cluster) selectNodes(filter string, local int) []int {
	var out []int
	add := func(i int) {
		if !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	if filter == "" {
		filter = "_all"
	}
	for _, f := range strings.Split(filter, ",") {
		for i := range c.Nodes {
			switch {
			case f == "_all" || f == "*":
				add(i)
			case f == "_local":
				if i == local {
					add(i)
				}
			case f == c.nodeID(i) || globMatch(f, c.nodeNameN(i)):
				add(i)
			}
		}
	}
	slices.Sort(out)
	return out
}

// globMatch matches a name against a pattern with * wildcards only
// (Regex.simpleMatch).
func globMatch(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(name, p)
		if i < 0 {
			return false
		}
		name = name[i+len(p):]
	}
	return strings.HasSuffix(name, parts[len(parts)-1])
}
