package sim

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// getRemoteClusters is get-deployment-es-resource-remote-clusters,
// GET /deployments/{id}/elasticsearch/{ref}/remote-clusters (cloud-api.md
// §6, spec S1/S2 "Get certificate based remote clusters"): RemoteResources
// {resources: [RemoteResourceRef{alias, deployment_id,
// elasticsearch_ref_id, skip_unavailable, info}]}, 404
// deployments.deployment_not_found / deployment_resource_not_found.
//
// The platform keeps the list it applied through the PUT, which the sim
// does not serve; the docs say the GET "includes just the remote clusters
// from the same ECE environment" and covers only the certificate model.
// Upstream is silent on how an alias written with the Elasticsearch API
// shows, so the sim lists what the cluster's own settings hold, narrowed
// as the docs say: each enabled proxy-mode alias without a loaded
// credential whose address reaches a deployment of the same control
// plane, on the proxy's certificate port. info (RemoteResourceInfo, all
// required): connected is the connection's socket state, trusted and
// trusted_back the certificate trust each way, compatible the wire
// compatibility of the versions, healthy all of them.
func (h *cloudHandler) getRemoteClusters(rw http.ResponseWriter, r *http.Request, _ *controlPlane) {
	c := h.resource(rw, r)
	if c == nil {
		return
	}
	h.w.syncConns(c)
	al := effectiveAliases(c)
	out := []any{}
	n := c.nodes[0] // the platform's view: the sim takes the first node's
	for _, alias := range slices.Sorted(maps.Keys(n.conns)) {
		a := al[alias]
		if a == nil || a.mode != "proxy" {
			continue
		}
		if _, apiKey := n.loaded[credKey(alias)]; apiKey {
			continue
		}
		x, port := h.w.resolveHost(a.proxyAddress)
		if x == nil || x.Platform != c.Platform || port != PortProxyCertificate {
			continue
		}
		trusted, _ := h.w.trusts(c, x)
		trustedBack, _ := h.w.trusts(x, c)
		connected := n.conns[alias].open
		compatible := wireCompatible(c.Version, x.Version)
		out = append(out, map[string]any{
			"alias": alias, "deployment_id": x.DeploymentID, "elasticsearch_ref_id": x.RefID,
			"skip_unavailable": skipUnavailable(c, a),
			"info": map[string]any{
				"healthy": connected && trusted && trustedBack && compatible, "connected": connected,
				"compatible": compatible, "trusted": trusted, "trusted_back": trustedBack,
			},
		})
	}
	writeJSON(rw, 200, map[string]any{"resources": out})
}

// wireCompatible reports whether two stack versions can talk over the
// transport: the same major, or the last minor of a major (7.17, 8.19)
// with the next major (TransportVersion wire compatibility).
func wireCompatible(a, b string) bool {
	parse := func(v string) [2]int {
		m := semverRe.FindStringSubmatch(v)
		if m == nil {
			return [2]int{}
		}
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		return [2]int{x, y}
	}
	lo, hi := parse(a), parse(b)
	if lo[0] > hi[0] {
		lo, hi = hi, lo
	}
	lastMinor := map[int]int{7: 17, 8: 19}
	return lo[0] == hi[0] || (hi[0] == lo[0]+1 && lo[1] == lastMinor[lo[0]])
}

// getTrustedEnvironments is get-trusted-envs, GET /trusted-environments
// (cloud-api.md §4.3; cloud-sdk-go pkg/client/trusted_environments, read:
// "Returns the list of trusted environments for the organization. If no
// organization is passed in, the organization attached to the user is
// assumed", 200 ElasticsearchClusterTrustSettings, 404
// organization.not_found). Read-only on both platforms; the ECE spec adds
// the organization_id query parameter.
//
// The sim has no organization-level trust of its own, and upstream is
// silent on how the list relates to the deployments' trust; the sim
// answers the environments the organization's deployments trust: the
// union of their trust entries, one per account_id, trust_relationship_id
// or direct (type, scope_id), with trust_all if any entry has it and the
// allowlists merged. A list with no entry is null, as in a deployment's
// trust. An organization_id that is not this control plane's scope is 404.
func (h *cloudHandler) getTrustedEnvironments(rw http.ResponseWriter, r *http.Request, cp *controlPlane) {
	if org := r.URL.Query().Get("organization_id"); org != "" && org != cp.scope() {
		writeCloudError(rw, 404, "organization.not_found", fmt.Sprintf("Organization [%s] could not be found", org))
		return
	}
	out := &Trust{}
	merge := func(all *bool, list *[]string, trustAll bool, allow []string) {
		*all = *all || trustAll
		for _, id := range allow {
			if !slices.Contains(*list, id) {
				*list = append(*list, id)
			}
		}
	}
	for _, name := range h.w.order {
		c := h.w.clusters[name]
		if c.Platform != h.platform || c.trust == nil {
			continue
		}
		for _, a := range c.trust.Accounts {
			i := slices.IndexFunc(out.Accounts, func(e AccountTrust) bool { return e.AccountID == a.AccountID })
			if i < 0 {
				out.Accounts = append(out.Accounts, AccountTrust{AccountID: a.AccountID, Name: a.Name})
				i = len(out.Accounts) - 1
			}
			e := &out.Accounts[i]
			merge(&e.TrustAll, &e.TrustAllowlist, a.TrustAll, a.TrustAllowlist)
		}
		for _, x := range c.trust.External {
			i := slices.IndexFunc(out.External, func(e ExternalTrust) bool { return e.TrustRelationshipID == x.TrustRelationshipID })
			if i < 0 {
				out.External = append(out.External, ExternalTrust{TrustRelationshipID: x.TrustRelationshipID, Name: x.Name})
				i = len(out.External) - 1
			}
			e := &out.External[i]
			merge(&e.TrustAll, &e.TrustAllowlist, x.TrustAll, x.TrustAllowlist)
		}
		for _, d := range c.trust.Direct {
			i := slices.IndexFunc(out.Direct, func(e DirectTrust) bool {
				return strings.EqualFold(e.Type, d.Type) && e.ScopeID == d.ScopeID
			})
			if i < 0 {
				out.Direct = append(out.Direct, DirectTrust{UID: d.UID, Name: d.Name, Type: d.Type, ScopeID: d.ScopeID,
					Certificates: slices.Clone(d.Certificates), AdditionalNodeNames: slices.Clone(d.AdditionalNodeNames)})
				i = len(out.Direct) - 1
			}
			e := &out.Direct[i]
			merge(&e.TrustAll, &e.TrustAllowlist, d.TrustAll, d.TrustAllowlist)
		}
	}
	writeJSON(rw, 200, out)
}
