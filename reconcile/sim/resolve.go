package sim

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// resolveRequest is one _resolve/cluster request: the index expressions,
// or none (infoOnly) for the form without an expression.
type resolveRequest struct {
	expressions []string
	infoOnly    bool
}

// indexOptionParams are RestResolveClusterAction.INDEX_OPTIONS_PARAMS.
var indexOptionParams = []string{"allow_no_indices", "expand_wildcards", "ignore_throttled", "ignore_unavailable"}

// parseResolveCluster is RestResolveClusterAction.prepareRequest (read,
// main): routes /_resolve/cluster/{name} and, from 8.18 (PR #119898),
// /_resolve/cluster; the form without a name is clusterInfoOnly and takes
// no index option (400 "No index options are allowed on _resolve/cluster
// when no index expression is specified, but received: [<params>]"). Below
// 8.18 the bare path has no handler: the returned error has status 0.
func parseResolveCluster(r *http.Request, c *cluster) (resolveRequest, *esError) {
	name := r.PathValue("expr")
	if name != "" {
		return resolveRequest{expressions: strings.Split(name, ",")}, nil
	}
	if !resolveWithoutExpression(parseVersion(c.Version)) {
		return resolveRequest{}, &esError{}
	}
	var given []string
	for _, p := range indexOptionParams {
		if r.URL.Query().Has(p) {
			given = append(given, p)
		}
	}
	if len(given) > 0 {
		return resolveRequest{}, badRequest("No index options are allowed on _resolve/cluster when no index expression is specified, but received: [%s]", strings.Join(given, ", "))
	}
	return resolveRequest{infoOnly: true}, nil
}

// group splits the expressions by cluster, as
// RemoteClusterService.groupIndices (RemoteClusterAware.groupClusterIndices
// and ClusterNameExpressionResolver.resolveClusterNames, read) does: an
// expression without ":" is local (key ""); "<cluster>:<index>" goes to
// every configured alias the cluster part names — the alias itself, or the
// aliases a "*" pattern matches (none is no error) — and a cluster part
// that is neither a configured alias nor a pattern is 404
// no_such_remote_cluster_exception "no such remote cluster: [<name>]".
// Each cluster is asked once with all of its indices, in expression
// order. The form without an expression stands for "*:dummy*"
// (TransportResolveClusterAction.DUMMY_INDEX_FOR_OLDER_CLUSTERS): every
// configured remote, never the local cluster, and an empty answer when
// there is none.
func (req resolveRequest) group(n *node) (map[string][]string, *esError) {
	aliases := slices.Sorted(maps.Keys(n.conns))
	out := map[string][]string{}
	exprs := req.expressions
	if req.infoOnly {
		exprs = []string{"*:dummy*"}
	}
	for _, e := range exprs {
		clusterPart, index, remote := strings.Cut(e, ":")
		if !remote {
			out[""] = append(out[""], e)
			continue
		}
		var matched []string
		switch {
		case slices.Contains(aliases, clusterPart):
			matched = []string{clusterPart}
		case strings.Contains(clusterPart, "*"):
			for _, a := range aliases {
				if globMatch(clusterPart, a) {
					matched = append(matched, a)
				}
			}
		default:
			return nil, &esError{status: 404, typ: "no_such_remote_cluster_exception", reason: fmt.Sprintf("no such remote cluster: [%s]", clusterPart)}
		}
		for _, a := range matched {
			out[a] = append(out[a], index)
		}
	}
	return out, nil
}
