package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// The role parser of PUT /_security/role, after
// x-pack/plugin/core/…/security/authz/RoleDescriptor.java (parse,
// parseIndexWithOptionalRemoteClusters, readStringArray; read in its 8.x
// form, and its behaviour at main through RoleDescriptorTests, read) and
// XContentUtils.readStringArray (read). Fields are read in the order the
// body gives them, and the first error is the answer, as the streaming
// parser does.

// field is one member of a JSON object, in document order.
type field struct {
	key string
	val json.RawMessage
}

// objectFields returns the members of a JSON object in order; ok is false
// when raw is not an object.
func objectFields(raw json.RawMessage) (fields []field, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, false
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		fields = append(fields, field{k, v})
	}
	return fields, true
}

// token is the XContentParser.Token name of a JSON value, as upstream
// error messages print it.
func token(raw json.RawMessage) string {
	s := bytes.TrimSpace(raw)
	if len(s) == 0 {
		return "null"
	}
	switch s[0] {
	case '{':
		return "START_OBJECT"
	case '[':
		return "START_ARRAY"
	case '"':
		return "VALUE_STRING"
	case 't', 'f':
		return "VALUE_BOOLEAN"
	case 'n':
		return "VALUE_NULL"
	}
	return "VALUE_NUMBER"
}

func parseErr(format string, a ...any) *esError {
	return &esError{status: 400, typ: "parse_exception", reason: fmt.Sprintf(format, a...)}
}

// readStringArray is RoleDescriptor.readStringArray: XContentUtils
// .readStringArray's error wrapped in "failed to parse role [<role>]"
// (caused_by keeps the inner message). null gives isNull, an error unless
// allowNull.
func readStringArray(role, name string, raw json.RawMessage, allowNull bool) (list []any, isNull bool, e *esError) {
	wrap := func(inner string) *esError {
		e := parseErr("failed to parse role [%s]", role)
		e.cause = parseErr("%s", inner)
		return e
	}
	switch token(raw) {
	case "VALUE_NULL":
		if allowNull {
			return nil, true, nil
		}
		return nil, false, wrap(fmt.Sprintf("could not parse [%s] field. expected a string array but found null value instead", name))
	case "START_ARRAY":
	default:
		return nil, false, wrap(fmt.Sprintf("could not parse [%s] field. expected a string array but found [%s] value instead", name, token(raw)))
	}
	var items []json.RawMessage
	_ = json.Unmarshal(raw, &items)
	list = []any{}
	for _, it := range items {
		var s string
		if token(it) != "VALUE_STRING" || json.Unmarshal(it, &s) != nil {
			return nil, false, wrap(fmt.Sprintf("could not parse [%s] field. expected a string array but one of the value in the array is [%s]", name, token(it)))
		}
		list = append(list, s)
	}
	return list, false, nil
}

// parseRole validates a PUT role body and returns the stored form, as GET
// /_security/role renders it (RoleDescriptor.toXContent: cluster, global
// when set, indices, applications, run_as, metadata,
// transient_metadata {"enabled": true}, remote_indices and remote_cluster
// only when not empty, description when set). The rules:
//
//   - the body is an object whose fields are indices (or its older name
//     index), cluster, run_as, applications (or application), global,
//     metadata (an object), transient_metadata (an object, dropped), type
//     (ignored), remote_indices (from 8.10: roleRemoteIndices),
//     remote_cluster (roleRemoteCluster) and description (from 8.15:
//     RemoteClusterPermissions, TransportVersions.SECURITY_ROLE_DESCRIPTION
//     8_654_00_0 between 8.14.0 and 8.15.0); anything else is
//     "failed to parse role [<role>]. unexpected field [<f>]";
//   - cluster and run_as are string arrays (a string is refused: "could
//     not parse [cluster] field. expected a string array but found
//     [VALUE_STRING] value instead" under "failed to parse role [<role>]");
//   - each indices and remote_indices entry is parseIndexEntry;
//   - remote_cluster is parseRemoteCluster;
//   - PutRoleRequest.validate (RoleDescriptorRequestValidator, read):
//     metadata keys may not start with "_".
//
// Not modelled: the names of cluster, index and application privileges
// are not checked (upstream lists every valid name in the error, a list
// that changes with each version), nor index name expressions, role names
// and reserved roles.
func parseRole(name string, body []byte, version string) (map[string]any, *esError) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, parseErr("request body is required")
	}
	var probe any
	if err := decodeJSON(body, &probe); err != nil {
		return nil, parseErr("failed to parse role [%s]. %v", name, err)
	}
	fields, ok := objectFields(body)
	if !ok {
		return nil, parseErr("failed to parse role [%s]. expected an object but found [%s] instead", name, token(body))
	}
	role := map[string]any{
		"cluster": []any{}, "indices": []any{}, "applications": []any{}, "run_as": []any{},
		"metadata": map[string]any{}, "transient_metadata": map[string]any{"enabled": true},
	}
	unexpected := func(f string) *esError {
		return parseErr("failed to parse role [%s]. unexpected field [%s]", name, f)
	}
	for _, f := range fields {
		switch f.key {
		case "indices", "index":
			list, e := parseIndices(name, f.key, f.val, false)
			if e != nil {
				return nil, e
			}
			role["indices"] = list
		case "remote_indices":
			if !roleRemoteIndices(parseVersion(version)) {
				return nil, unexpected(f.key)
			}
			list, e := parseIndices(name, f.key, f.val, true)
			if e != nil {
				return nil, e
			}
			if len(list) > 0 {
				role["remote_indices"] = list
			} else {
				delete(role, "remote_indices")
			}
		case "cluster", "run_as":
			list, isNull, e := readStringArray(name, f.key, f.val, true)
			if e != nil {
				return nil, e
			}
			if isNull {
				list = []any{}
			}
			role[f.key] = list
		case "applications", "application":
			list, e := parseApplications(name, f.key, f.val)
			if e != nil {
				return nil, e
			}
			role["applications"] = list
		case "global":
			var g any
			_ = decodeJSON(f.val, &g)
			if m, ok := g.(map[string]any); ok && len(m) > 0 {
				role["global"] = m
			} else {
				delete(role, "global")
			}
		case "metadata":
			var m map[string]any
			if token(f.val) != "START_OBJECT" || decodeJSON(f.val, &m) != nil {
				return nil, parseErr("expected field [metadata] to be of type object, but found [%s] instead", token(f.val))
			}
			role["metadata"] = m
		case "transient_metadata":
			if token(f.val) != "START_OBJECT" {
				return nil, unexpected(f.key)
			}
		case "type":
		case "remote_cluster":
			if !roleRemoteCluster(parseVersion(version)) {
				return nil, unexpected(f.key)
			}
			list, e := parseRemoteCluster(name, f.val, version)
			if e != nil {
				return nil, e
			}
			if len(list) > 0 {
				role["remote_cluster"] = list
			} else {
				delete(role, "remote_cluster")
			}
		case "description":
			if !versionAtLeast(version, 8, 15) {
				return nil, unexpected(f.key)
			}
			var s string
			if token(f.val) != "VALUE_STRING" || json.Unmarshal(f.val, &s) != nil {
				return nil, parseErr("expected field [description] to be of type string, but found [%s] instead", token(f.val))
			}
			if s != "" {
				role["description"] = s
			} else {
				delete(role, "description")
			}
		default:
			return nil, unexpected(f.key)
		}
	}
	for k := range role["metadata"].(map[string]any) {
		if strings.HasPrefix(k, "_") {
			return nil, &esError{status: 400, typ: "action_request_validation_exception",
				reason: "Validation Failed: 1: role descriptor metadata keys may not start with [_];"}
		}
	}
	return role, nil
}

// parseIndices reads indices (or remote_indices when remote): an array of
// objects (RoleDescriptor.parseIndices, parseRemoteIndices).
func parseIndices(role, name string, raw json.RawMessage, remote bool) ([]any, *esError) {
	what := "indices privileges"
	if remote {
		what = "remote indices privileges"
	}
	if token(raw) != "START_ARRAY" {
		return nil, parseErr("failed to parse %s for role [%s]. expected field [%s] value to be an array, but found [%s] instead", what, role, name, token(raw))
	}
	var items []json.RawMessage
	_ = json.Unmarshal(raw, &items)
	out := []any{}
	for _, it := range items {
		e, err := parseIndexEntry(role, name, it, remote)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// parseIndexEntry is RoleDescriptor.parseIndexWithOptionalRemoteClusters:
// names is a string or a non-empty string array; privileges a string
// array; allow_restricted_indices a boolean (default false); query an
// object (kept as its JSON text), a string (kept; "" is none) or null;
// field_security an object of grant and except (not empty, neither null,
// except only with grant, and except within grant: FieldPermissions
// .buildPermittedFieldsAutomaton); clusters only in remote_indices, where
// it is required (parseRemoteIndex); the 2.x "fields" form and any other
// field are refused. Errors name "indices privileges" for both lists, as
// upstream does.
func parseIndexEntry(role, list string, raw json.RawMessage, remote bool) (map[string]any, *esError) {
	prefix := fmt.Sprintf("failed to parse indices privileges for role [%s]. ", role)
	fields, ok := objectFields(raw)
	if !ok {
		return nil, parseErr("%sexpected field [%s] value to be an array of objects, but found an array element of type [%s]", prefix, list, token(raw))
	}
	var names, privileges, grant, except, clusters []any
	var query *string
	restricted := false
	for _, f := range fields {
		switch f.key {
		case "names":
			switch token(f.val) {
			case "VALUE_STRING":
				var s string
				_ = json.Unmarshal(f.val, &s)
				names = []any{s}
			case "START_ARRAY":
				l, _, e := readStringArray(role, f.key, f.val, false)
				if e != nil {
					return nil, e
				}
				if len(l) == 0 {
					return nil, parseErr("%s[names] cannot be an empty array", prefix)
				}
				names = l
			default:
				return nil, parseErr("%sexpected field [names] value to be a string or an array of strings, but found [%s] instead", prefix, token(f.val))
			}
		case "allow_restricted_indices":
			if token(f.val) != "VALUE_BOOLEAN" {
				return nil, parseErr("%sexpected field [allow_restricted_indices] value to be a boolean, but found [%s] instead", prefix, token(f.val))
			}
			_ = json.Unmarshal(f.val, &restricted)
		case "query":
			switch token(f.val) {
			case "START_OBJECT":
				var buf bytes.Buffer
				_ = json.Compact(&buf, f.val)
				s := buf.String()
				query = &s
			case "VALUE_STRING":
				var s string
				_ = json.Unmarshal(f.val, &s)
				if s != "" {
					query = &s
				}
			case "VALUE_NULL":
			default:
				return nil, parseErr("%sexpected field [query] value to be null, a string, an array, or an object, but found [%s] instead", prefix, token(f.val))
			}
		case "field_security":
			if token(f.val) != "START_OBJECT" {
				return nil, parseErr("%sexpected START_OBJECT but got %s in \"field_security\".", prefix, token(f.val))
			}
			fs, _ := objectFields(f.val)
			if len(fs) == 0 {
				return nil, parseErr("%s\"field_security\" must not be empty.", prefix)
			}
			for _, g := range fs {
				if g.key != "grant" && g.key != "except" {
					return nil, parseErr("%s\"field_security\" only accepts options grant and except, but got: %s", prefix, g.key)
				}
				l, isNull, e := readStringArray(role, g.key, g.val, true)
				if e != nil {
					return nil, e
				}
				if isNull {
					return nil, parseErr("%s%s must not be null.", prefix, g.key)
				}
				if g.key == "grant" {
					grant = l
				} else {
					except = l
				}
			}
		case "privileges":
			l, _, e := readStringArray(role, f.key, f.val, true)
			if e != nil {
				return nil, e
			}
			privileges = l
		case "fields":
			return nil, parseErr(`["fields": [...]] format has changed for field permissions in role [%s], use ["field_security": {"grant":[...],"except":[...]}] instead`, role)
		case "transient_metadata":
			if token(f.val) != "START_OBJECT" {
				return nil, parseErr("failed to parse transient metadata for role [%s]. expected START_OBJECT but got %s in \"transient_metadata\".", role, token(f.val))
			}
		case "clusters":
			if !remote {
				return nil, parseErr("%sunexpected field [clusters]", prefix)
			}
			l, _, e := readStringArray(role, f.key, f.val, false)
			if e != nil {
				return nil, e
			}
			clusters = l
		default:
			return nil, parseErr("%sunexpected field [%s]", prefix, f.key)
		}
	}
	switch {
	case names == nil:
		return nil, parseErr("%smissing required [names] field", prefix)
	case privileges == nil:
		return nil, parseErr("%smissing required [privileges] field", prefix)
	case except != nil && grant == nil:
		return nil, parseErr("%sfield_security requires grant if except is given", prefix)
	}
	if bad := exceptOutsideGrant(grant, except); bad {
		e := parseErr("failed to parse indices privileges for role [%s] - Exceptions for field permissions must be a subset of the granted fields but %s is not a subset of %s",
			role, joinAny(except), joinAny(grant))
		e.cause = &esError{status: 400, typ: "security_exception", reason: fmt.Sprintf(
			"Exceptions for field permissions must be a subset of the granted fields but %s is not a subset of %s", joinAny(except), joinAny(grant))}
		return nil, e
	}
	if remote && clusters == nil {
		return nil, parseErr("failed to parse remote indices privileges for role [%s]. missing required [clusters] field", role)
	}
	out := map[string]any{"names": names, "privileges": privileges, "allow_restricted_indices": restricted}
	if grant != nil {
		fs := map[string]any{"grant": grant}
		if except != nil {
			fs["except"] = except
		}
		out["field_security"] = fs
	}
	if query != nil {
		out["query"] = *query
	}
	if remote {
		out["clusters"] = clusters
	}
	return out, nil
}

func joinAny(l []any) string {
	s := make([]string, len(l))
	for i, v := range l {
		s[i], _ = v.(string)
	}
	return strings.Join(s, ",")
}

// exceptOutsideGrant approximates FieldPermissions' automaton check that
// the except patterns are a subset of the grant patterns, for the * and
// prefix* patterns roles use: an except pattern is covered by a grant
// pattern that is "*", equal to it, or a prefix* whose prefix starts the
// except pattern's literal part.
func exceptOutsideGrant(grant, except []any) bool {
	for _, ev := range except {
		e, _ := ev.(string)
		lit, _, _ := strings.Cut(e, "*")
		covered := slices.ContainsFunc(grant, func(gv any) bool {
			g, _ := gv.(string)
			p, wild := strings.CutSuffix(g, "*")
			return g == "*" || g == e || (wild && !strings.Contains(p, "*") && strings.HasPrefix(lit, p) &&
				(!strings.Contains(e, "*") || len(lit) >= len(p)))
		})
		if !covered {
			return true
		}
	}
	return false
}

// parseApplications reads applications: an array of objects with
// application, privileges and resources (RoleDescriptor
// .parseApplicationPrivileges: resources and privileges are required).
func parseApplications(role, name string, raw json.RawMessage) ([]any, *esError) {
	if token(raw) != "START_ARRAY" {
		return nil, parseErr("failed to parse application privileges for role [%s]. expected field [%s] value to be an array, but found [%s] instead", role, name, token(raw))
	}
	var items []json.RawMessage
	_ = json.Unmarshal(raw, &items)
	out := []any{}
	for _, it := range items {
		var m map[string]any
		if token(it) != "START_OBJECT" || decodeJSON(it, &m) != nil {
			return nil, parseErr("failed to parse application privileges for role [%s]. expected field [%s] value to be an array of objects, but found an array element of type [%s]", role, name, token(it))
		}
		for _, req := range []string{"resources", "privileges"} {
			if _, ok := m[req]; !ok {
				return nil, parseErr("failed to parse application privileges for role [%s]. missing required [%s] field", role, req)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// parseRemoteCluster reads remote_cluster (RoleDescriptor
// .parseRemoteCluster; RoleDescriptorTests.testParseInvalidRemoteCluster
// pins the texts): an array of {clusters, privileges}; each entry needs
// both, and privileges must all be supported
// (RemoteClusterPermissions.getSupportedRemoteClusterPermissions:
// monitor_enrich from 8.15, monitor_stats from 8.17), the message listing
// every privilege given. The group is then built by
// RemoteClusterPermissionGroup's constructor (read): an empty privileges or
// clusters array is 400 "remote cluster groups must not be null or empty"
// (so is an entry with neither), an empty string among them "remote_cluster
// privileges must contain valid non-empty, non-null values [<values>]" or
// "remote_cluster clusters aliases must contain …". An empty
// remote_cluster array is allowed and not shown.
func parseRemoteCluster(role string, raw json.RawMessage, version string) ([]any, *esError) {
	if token(raw) != "START_ARRAY" {
		return nil, parseErr("failed to parse remote_cluster for role [%s]. expected field [remote_cluster] value to be an array", role)
	}
	allowed := remoteClusterPrivileges(parseVersion(version))
	prefix := fmt.Sprintf("failed to parse remote_cluster for role [%s]. ", role)
	var items []json.RawMessage
	_ = json.Unmarshal(raw, &items)
	out := []any{}
	for _, it := range items {
		fields, ok := objectFields(it)
		if !ok {
			return nil, parseErr("%sexpected field [remote_cluster] value to be an array of objects", prefix)
		}
		var clusters, privileges []any
		for _, f := range fields {
			switch f.key {
			case "clusters", "privileges":
				l, _, e := readStringArray(role, f.key, f.val, false)
				if e != nil {
					return nil, e
				}
				if f.key == "clusters" {
					clusters = l
				} else {
					privileges = l
				}
			default:
				return nil, parseErr("%sunexpected field [%s]", prefix, f.key)
			}
		}
		switch {
		case clusters == nil && privileges == nil:
			return nil, badRequest("remote cluster groups must not be null or empty")
		case privileges == nil:
			return nil, parseErr("%s[privileges] must be defined when [clusters] are defined", prefix)
		case clusters == nil:
			return nil, parseErr("%s[clusters] must be defined when [privileges] are defined", prefix)
		}
		for _, p := range privileges {
			if s, _ := p.(string); s != "" && !slices.Contains(allowed, s) {
				return nil, parseErr("%s[%s] are the only values allowed for [privileges] within [remote_cluster]. Found [%s]",
					prefix, strings.Join(allowed, ", "), strings.ReplaceAll(joinAny(privileges), ",", ", "))
			}
		}
		if len(privileges) == 0 || len(clusters) == 0 {
			return nil, badRequest("remote cluster groups must not be null or empty")
		}
		if slices.Contains(privileges, any("")) {
			return nil, badRequest("remote_cluster privileges must contain valid non-empty, non-null values [%s]", strings.ReplaceAll(joinAny(privileges), ",", ", "))
		}
		if slices.Contains(clusters, any("")) {
			return nil, badRequest("remote_cluster clusters aliases must contain valid non-empty, non-null values [%s]", strings.ReplaceAll(joinAny(clusters), ",", ", "))
		}
		out = append(out, map[string]any{"privileges": privileges, "clusters": clusters})
	}
	return out, nil
}
