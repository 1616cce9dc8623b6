package doctor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/spec"
)

// remoteInfo reports what _remote/info says of the alias.
func (ck *Checkup) remoteInfo() {
	const step = StepRemoteInfo
	switch {
	case !ck.Configured:
		ck.add(step, Skipped, "", "the alias is not configured", "")
	case ck.Live.Connected && ck.Live.Mode == "sniff":
		ck.add(step, OK, "", fmt.Sprintf("connected, %d of %d nodes (socket state: says nothing of the credential; see resolve_cluster)", ck.Live.NumNodesConnected, ck.Live.MaxConnectionsPerCluster), "")
	case ck.Live.Connected:
		ck.add(step, OK, "", fmt.Sprintf("connected, %d of %d proxy sockets (socket state: says nothing of the credential; see resolve_cluster)", ck.Live.NumProxySocketsConnected, ck.Live.MaxProxySocketConnections), "")
	default:
		fix := "no step above explains it: the steps below and the local cluster's log (RemoteClusterService lines about " +
			ck.Conn.Alias + ") say why; Elasticsearch retries the connection by itself"
		if first := ck.firstProblem(); first != "" {
			fix = "fix the " + first + " problem above first; Elasticsearch retries the connection by itself"
		}
		ck.add(step, Problem, CauseDisconnected, "connected: false (a successful settings update proves nothing)", fix)
	}
}

// firstProblem names the first step reported so far that found a
// problem, or "".
func (ck *Checkup) firstProblem() string {
	for _, s := range ck.Report.Steps {
		if s.Status == Problem {
			return s.Name
		}
	}
	return ""
}

// resolve asks _resolve/cluster, which contacts the remote, and maps the
// error it reports to a known cause.
func (ck *Checkup) resolve(ctx context.Context) {
	const step = StepResolveCluster
	alias := ck.Conn.Alias
	if !ck.Configured {
		ck.add(step, Skipped, "", "the alias is not configured", "")
		return
	}
	m, err := ck.Local.ResolveCluster(ctx, alias+":*")
	if errors.Is(err, es.ErrUnsupported) {
		ck.add(step, Skipped, "", "the local cluster has no _resolve/cluster (needs 8.13+)", "")
		return
	}
	text := ""
	rc, ok := m[alias]
	switch {
	case err != nil:
		text = err.Error()
	case !ok:
		text = "_resolve/cluster does not list " + alias
	case rc.Connected:
		ev := "connected"
		if rc.Version != nil {
			ev += ", remote runs " + rc.Version.Number
		}
		if rc.MatchingIndices != nil {
			ev += fmt.Sprintf(", matching indices: %t", *rc.MatchingIndices)
		}
		ck.add(step, OK, "", ev, "")
		return
	case rc.Error != "":
		text = rc.Error
	default:
		// No error: the local cluster found the remote unavailable
		// (TransportResolveClusterAction reports no error for
		// ExceptionsHelper.isRemoteUnavailableException). The cause is in
		// the network probes, or in the local cluster's log.
		ck.unavailable(step, "the local cluster reports "+alias+" unavailable (connected: false, no error)")
		return
	}
	ck.addMatched(step, text)
}

// unavailable adds a problem for a remote the local cluster found
// unavailable without an error body: the cause is an earlier check's
// problem, else a failed probe, else the path from the nodes.
func (ck *Checkup) unavailable(step, text string) {
	if p := ck.firstCheckProblem(); p != nil {
		ck.add(step, Problem, p.Cause, text+"; it follows from the "+p.Name+" problem above", "fix the "+p.Name+" problem first")
		return
	}
	if p := ck.firstProbeProblem(); p != nil {
		ck.add(step, Problem, p.Cause, text+"; the "+p.Name+" probe from this host failed too: "+p.Evidence, p.Fix)
		return
	}
	ck.add(step, Problem, CauseUnreachable, text+"; DNS, TCP and TLS from this host pass, so look at the path from the local cluster's nodes",
		"read the local cluster's log for ProxyConnectionStrategy or RemoteClusterService lines about "+ck.Conn.Alias+", and check traffic filters between the clusters")
}

// reachedRemote are the causes whose error body the remote itself wrote
// (its security refused the request): the transport got there.
var reachedRemote = map[string]bool{CauseKeyInvalid: true, CauseWrongKeyType: true, CausePrivileges: true}

// firstCheckProblem is the first problem a check of the clusters found
// (parameters, keystore, key, trust), not a probe or remote_info.
func (ck *Checkup) firstCheckProblem() *Step {
	for i := range ck.Report.Steps {
		s := &ck.Report.Steps[i]
		switch s.Name {
		case StepDNS, StepTCP, StepTLS, StepRemoteInfo:
			continue
		}
		if s.Status == Problem {
			return s
		}
	}
	return nil
}

// firstProbeProblem is the first network probe that found a problem.
func (ck *Checkup) firstProbeProblem() *Step {
	for _, name := range []string{StepDNS, StepTCP, StepTLS} {
		if s := ck.Report.Step(name); s != nil && s.Status == Problem {
			return s
		}
	}
	return nil
}

// addMatched adds a problem whose cause comes from a known error string.
func (ck *Checkup) addMatched(step, text string) {
	if k, ok := Match(text); ok {
		ck.add(step, Problem, k.Cause, text+" ("+k.Meaning+")", k.Fix)
		return
	}
	ck.add(step, Problem, CauseDisconnected, text,
		"read the local cluster's log for ProxyConnectionStrategy or RemoteClusterService lines about "+ck.Conn.Alias)
}

// canary runs a size-0 search through the alias when a role of the
// connection grants reading there.
func (ck *Checkup) canary(ctx context.Context) {
	const step = StepCanary
	pattern := ""
	for _, role := range ck.Conn.Roles {
		for _, ri := range role.RemoteIndices {
			if grantsAlias(ri.Clusters, ck.Conn.Alias) && len(ri.Names) > 0 &&
				slices.ContainsFunc(ri.Privileges, func(p string) bool { return p == "read" || p == "all" }) && pattern == "" {
				pattern = ri.Names[0]
			}
		}
	}
	if pattern == "" {
		ck.add(step, Skipped, "", "no role of the connection grants read through the alias", "")
		return
	}
	if !ck.Configured {
		ck.add(step, Skipped, "", "the alias is not configured", "")
		return
	}
	index := ck.Conn.Alias + ":" + pattern
	res, err := ck.Local.Search(ctx, index, nil)
	if err != nil && strings.Contains(err.Error(), "action [indices:data/read/search] is unauthorized for ") {
		// The local cluster's own refusal (RBACEngine: no local index
		// privilege grants the search): the connection's roles are for
		// other users, esremote's credential need not search.
		ck.add(step, Skipped, "", "esremote's credential on "+ck.Conn.Local+" may not search "+index+" itself: "+err.Error(), "")
		return
	}
	if err != nil {
		ck.addMatched(step, err.Error())
		return
	}
	if res.Clusters != nil && (res.Clusters.Skipped > 0 || res.Clusters.Failed > 0) {
		text := fmt.Sprintf("search %s (size 0): %d of %d clusters skipped or failed", index, res.Clusters.Skipped+res.Clusters.Failed, res.Clusters.Total)
		for _, f := range res.Shards.Failures {
			ck.addMatched(step, text+": "+f.Reason.Reason)
			return
		}
		ck.unavailable(step, text+" (skip_unavailable, no error)")
		return
	}
	ck.add(step, OK, "", fmt.Sprintf("search %s (size 0): %d hits, %d shards", index, res.Hits.Total.Value, res.Shards.Total), "")
}

// privileges checks the local credential's own privileges for the link's
// evidence request (DESIGN §5: the request is authorized on the local
// cluster before it leaves). The engine reads and decides; a read that
// fails (an API key with role descriptors of its own cannot list its
// privileges) leaves the step skipped: the resolve_cluster step still
// shows a refusal.
func (ck *Checkup) privileges(ctx context.Context, r Engine) {
	const step = StepPrivileges
	if ck.Conn.Security != spec.SecurityAPIKey {
		ck.add(step, Skipped, "", "the certificate model: the local cluster sends the request without checking remote_indices; the remote checks the user's roles by name", "")
		return
	}
	missing, evidence, fix, err := r.CanaryPrivileges(ctx, ck.Local, ck.Conn)
	switch {
	case err != nil:
		ck.add(step, Skipped, "", "GET /_security/user/_privileges: "+err.Error(), "")
	case missing:
		ck.add(step, Problem, CauseCanaryPrivileges, evidence, fix)
	default:
		ck.add(step, OK, "", evidence, "")
	}
}
