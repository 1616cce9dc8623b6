package decide

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/world"
	"github.com/esremote/esremote/spec"
)

// The canary's own privileges (DESIGN §5). The evidence request
// GET /_resolve/cluster/<alias>:esremote-canary-<key id> is authorized on
// the local cluster before it leaves, under the credential esremote uses
// there:
//
//   - a request that names only remote indices is refused whole (403)
//     unless one of the credential's local index privileges grants the
//     action, whatever its names (RBACEngine.authorizeIndexAction,
//     Role.checkIndicesAction);
//   - over an API-key alias, the credential needs remote_indices that apply
//     to the alias, or the local cluster refuses it: "… towards remote
//     cluster [<alias>] is unauthorized for … because no remote indices
//     privileges apply for the target cluster"
//     (AuthorizationDenialMessages.remoteActionDenied);
//   - the remote then authorizes the intersection of the key's access and
//     those remote_indices: the canary name must be covered by both, with
//     a privilege that grants indices:admin/resolve/cluster.
//
// A superuser has all of it. _has_privileges cannot be asked about
// remote_indices (RoleDescriptor.parsePrivilegesToCheck: cluster, index,
// application), so esremote reads GET /_security/user/_privileges, which
// lists them, and decides here. The least that grants the action is
// view_index_metadata (IndexPrivilege.VIEW_METADATA_AUTOMATON; read,
// read_cross_cluster, manage and all grant it too).

// CanaryPrefix starts the canary name every managed key's access carries:
// esremote-canary-<key id, lowercase>. No index has that name; it is only
// ever asked for, never read.
const CanaryPrefix = "esremote-canary-"

// CanaryAction is the transport action of the canary request.
const CanaryAction = "indices:admin/resolve/cluster"

// canaryRoleName is the role the fix proposes.
const canaryRoleName = "esremote_canary"

// resolveGrantedBy are the named index privileges that grant
// indices:admin/resolve/cluster (IndexPrivilege: READ_AUTOMATON,
// READ_CROSS_CLUSTER_AUTOMATON, VIEW_METADATA_AUTOMATON, MANAGE_AUTOMATON's
// indices:admin/*, ALL_AUTOMATON).
var resolveGrantedBy = []string{"all", "manage", "read", "read_cross_cluster", "view_index_metadata"}

// CanaryCheck is what the decision needs of one API-key link.
type CanaryCheck struct {
	Conn  string // connection name
	Alias string
	// Managed: the evidence asks the key's canary (a name); otherwise it
	// asks "*", which needs remote_indices on the alias but no name.
	Managed bool
	// Health and Refusal are the link's evidence so far.
	Health  drift.Health
	Refusal string
}

// CanaryVerdict is the decision for one link: the finding to report (nil
// when nothing is missing or nothing can be said), and whether the link's
// refusal is the local credential's, not the key's: then the link is not
// unauthorized (no key is at fault; planKey must not replace it).
type CanaryVerdict struct {
	Finding      *Finding
	LocalRefusal bool
}

// CanaryPrivileges decides, for the API-key links of one local
// cluster, whether the local credential can make their evidence request.
// privs is the credential's GET /_security/user/_privileges (nil when it
// was not read or could not be: then only a refusal that names the local
// credential counts). A link whose evidence proved it connected needs
// nothing, whatever privs say. The fix is one role for every link of the
// cluster that misses something. Pure: table-tested.
func CanaryPrivileges(local string, privs *world.UserPrivileges, links []CanaryCheck) map[string]CanaryVerdict {
	out := map[string]CanaryVerdict{}
	type miss struct {
		link         CanaryCheck
		localIndices bool
		remote       bool
		fromRefusal  bool
	}
	var misses []miss
	localOK := privs == nil || slices.ContainsFunc(privs.Indices, func(g world.PrivilegesGroup) bool { return grantsResolve(g.Privileges) })
	for _, l := range links {
		refusedHere := localRefusal(l.Alias, l.Refusal)
		if l.Health == drift.HealthConnected && !refusedHere {
			continue
		}
		m := miss{link: l, fromRefusal: refusedHere}
		if privs != nil {
			m.localIndices = !localOK
			m.remote = !remoteCovers(privs.RemoteIndices, l.Alias, l.Managed)
		}
		if refusedHere {
			m.remote = true
		}
		if m.localIndices || m.remote {
			misses = append(misses, m)
		}
	}
	if len(misses) == 0 {
		return out
	}
	var aliases []string
	needLocal := false
	for _, m := range misses {
		if m.remote && !slices.Contains(aliases, m.link.Alias) {
			aliases = append(aliases, m.link.Alias)
		}
		needLocal = needLocal || m.localIndices
	}
	slices.Sort(aliases)
	fix := canaryFix(local, needLocal, aliases)
	for _, m := range misses {
		var lacks []string
		if m.localIndices {
			lacks = append(lacks, "a local index privilege granting "+CanaryAction+" (a request that names only remote indices is refused whole without one)")
		}
		if m.remote {
			what := "remote_indices on alias " + m.link.Alias
			if m.link.Managed {
				what += " covering esremote-canary-* with a privilege granting " + CanaryAction
			}
			lacks = append(lacks, what)
		}
		msg := fmt.Sprintf("esremote cannot prove %s: the credential it uses on %s lacks %s; the evidence request is refused by %s itself, so the key is not in question",
			m.link.Alias, local, strings.Join(lacks, ", and "), local)
		if m.fromRefusal {
			msg += " (" + local + " answered: " + m.link.Refusal + ")"
		}
		// The refusal is the credential's when its own cluster made it, or
		// when it is an authorization denial on the remote while the
		// credential's remote_indices lack the name. An authentication
		// failure (a key unknown, expired or invalidated) is the key's,
		// whatever the privileges: it is replaced as before.
		excused := m.fromRefusal || (m.remote && strings.Contains(m.link.Refusal, "towards remote cluster is unauthorized for "))
		out[m.link.Conn] = CanaryVerdict{
			Finding:      &Finding{Severity: drift.SeverityError, Code: CodeCanaryPrivilegeMissing, Message: msg, Fix: fix},
			LocalRefusal: m.link.Health == drift.HealthUnauthorized && excused,
		}
	}
	return out
}

// localRefusal reports whether a refusal is the local cluster's own for
// alias (AuthorizationDenialMessages.remoteActionDenied names the alias;
// the remote's refusals do not).
func localRefusal(alias, refusal string) bool {
	return strings.Contains(refusal, "towards remote cluster ["+alias+"] is unauthorized for ") &&
		strings.HasSuffix(refusal, "because no remote indices privileges apply for the target cluster")
}

// canaryFix is the role to add to the credential's user: the parts that
// are missing, as the body of PUT /_security/role.
func canaryFix(local string, needLocal bool, aliases []string) string {
	role := world.Role{}
	if needLocal {
		role.Indices = []world.IndicesPrivileges{{Names: []string{CanaryPrefix + "*"}, Privileges: []string{"view_index_metadata"}}}
	}
	if len(aliases) > 0 {
		role.RemoteIndices = []world.RemoteIndicesPrivileges{{Clusters: aliases, Names: []string{CanaryPrefix + "*"}, Privileges: []string{"view_index_metadata"}}}
	}
	b, _ := json.Marshal(role)
	return fmt.Sprintf("on %s, create the role with PUT /_security/role/%s %s and add %s to the roles of the user esremote authenticates as there (Cluster.elasticsearch.auth; for an API key, its owner); view_index_metadata on esremote-canary-* reads no document",
		local, canaryRoleName, b, canaryRoleName)
}

// grantsResolve reports whether one of privileges grants the canary's
// action: a named privilege that includes it, or an action pattern
// matching it.
func grantsResolve(privileges []string) bool {
	for _, p := range privileges {
		p = strings.ToLower(p)
		if slices.Contains(resolveGrantedBy, p) || (strings.Contains(p, ":") && wildcardCovers(p, CanaryAction, false)) {
			return true
		}
	}
	return false
}

// remoteCovers reports whether remote index groups apply to alias and,
// for a managed key's canary, cover every esremote-canary-* name with a
// privilege that grants the action.
func remoteCovers(groups []world.PrivilegesGroup, alias string, canary bool) bool {
	for _, g := range groups {
		if !slices.ContainsFunc(g.Clusters, func(c string) bool { return wildcardCovers(c, alias, false) }) {
			continue
		}
		if !canary {
			return true
		}
		if grantsResolve(g.Privileges) && slices.ContainsFunc(g.Names, func(n string) bool {
			return !strings.HasPrefix(n, "/") && wildcardCovers(n, CanaryPrefix, true)
		}) {
			return true
		}
	}
	return false
}

// wildcardCovers matches Elasticsearch's simple wildcards (* any run, ?
// one character) against s. With prefix, it reports whether the pattern
// matches every string that starts with s: after s is consumed, what is
// left of the pattern must be one or more *. A /regex/ name is not
// decided (the caller treats it as not covering: the harsher reading).
func wildcardCovers(p, s string, prefix bool) bool {
	if s == "" {
		if prefix {
			return p != "" && strings.Trim(p, "*") == ""
		}
		return strings.Trim(p, "*") == ""
	}
	if p == "" {
		return false
	}
	switch p[0] {
	case '*':
		return wildcardCovers(p[1:], s, prefix) || wildcardCovers(p, s[1:], prefix)
	case '?':
		return wildcardCovers(p[1:], s[1:], prefix)
	}
	return p[0] == s[0] && wildcardCovers(p[1:], s[1:], prefix)
}

// CheckCanaryPrivileges records CanaryPrivileges's verdicts on the plans
// of one local cluster: the finding (replacing the one an earlier call
// recorded), and a link whose refusal is the local credential's is not
// unauthorized: its health is unknown, with the evidence saying why.
// Called once the evidence is in, and again after apply's verify
// replaced it.
func CheckCanaryPrivileges(local string, privs *world.UserPrivileges, cps []*ConnectionPlan) {
	var links []CanaryCheck
	for _, p := range cps {
		c := p.Conn
		if c.Security != spec.SecurityAPIKey || c.Policy == spec.PolicyDisabled {
			continue
		}
		links = append(links, CanaryCheck{Conn: c.Name, Alias: c.Alias, Managed: c.APIKey != nil && c.APIKey.Managed,
			Health: p.Health, Refusal: p.Refusal})
	}
	verdicts := CanaryPrivileges(local, privs, links)
	for _, p := range cps {
		p.Findings = slices.DeleteFunc(p.Findings, func(f Finding) bool { return f.Code == CodeCanaryPrivilegeMissing })
		v, ok := verdicts[p.Conn.Name]
		if !ok {
			continue
		}
		p.Findings = append(p.Findings, *v.Finding)
		if v.LocalRefusal && p.Health == drift.HealthUnauthorized {
			p.Health = drift.HealthUnknown
			if p.Evidence != nil {
				e := *p.Evidence
				e.Answer = "not proven: " + local + " refused the request under its own credential's privileges, not the key: " + p.Refusal
				p.Evidence = &e
			}
		}
	}
}
