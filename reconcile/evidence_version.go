package reconcile

// The evidence request by version, and bounded (DESIGN §5 "Versions
// matter"; es-api.md §15). A local cluster's version, from the pass's
// GET /, selects how its _resolve/cluster answer is read and how it is
// asked:
//
//   - up to 8.16.2, and 8.17.0, a remote's security refusal is reported
//     connected:true with the exception's message as error
//     (TransportResolveClusterAction before PR #119793): there the error
//     decides, since the only other connected:true error is the canary's
//     "no such index [...]" (IndexNotFoundException);
//   - 8.16.3–8.16.5 and 8.17.1–8.17.3 fail fast on a connection that is
//     down (DisconnectedStrategy.FAIL_IF_DISCONNECTED, PR #119516, reverted
//     by #124241): the answer says unavailable and the reconnect runs in
//     the background, so a remote that came back reads disconnected once.
//     Those aliases are asked once more after a pause (failFastRetry);
//   - from 8.18.0 the request takes ?timeout= (PR #120542): a remote that
//     does not answer in time is its own entry, connected:false with
//     REMOTE_CONNECTION_TIMEOUT_ERROR, and the other entries are answered.
//
// One request still carries every alias of a cluster. When it gets no
// answer in time anyway (an older version without ?timeout=, or a local
// cluster slow itself), each alias is asked on its own, in parallel, so
// that one black-holed remote leaves only its own links unknown.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/esremote/esremote/reconcile/es"
)

// resolveSemantics is what a local cluster's version says about its
// _resolve/cluster.
type resolveSemantics struct {
	v     es.Version
	known bool
}

// semanticsOf reads a version as GET / reported it; an unreadable one is
// unknown, and unknown takes the harsher reading where they differ.
func semanticsOf(raw string) resolveSemantics {
	v, err := es.ParseVersion(raw)
	return resolveSemantics{v: v, known: err == nil}
}

func (s resolveSemantics) within(from, to [3]int) bool {
	return s.known && s.v.AtLeast(from[0], from[1], from[2]) && !s.v.AtLeast(to[0], to[1], to[2]+1)
}

// refusalConnected: a refusal is connected:true with the error (every
// release before 8.16.3, and 8.17.0; PR #119793 and its backports). An
// unknown version is read this way: then the error decides, which is
// right on every version (a connected:true entry's error is either a
// refusal or the canary's "no such index").
func (s resolveSemantics) refusalConnected() bool {
	return !s.known || !s.v.AtLeast(8, 16, 3) || s.within([3]int{8, 17, 0}, [3]int{8, 17, 0})
}

// failFast: the releases that report a dropped connection unavailable
// and reconnect behind the answer (PR #119516 in 8.16.3 and 8.17.1;
// reverted in 8.16.6 and 8.17.4 by PR #124241; never in 8.18).
func (s resolveSemantics) failFast() bool {
	return s.within([3]int{8, 16, 3}, [3]int{8, 16, 5}) || s.within([3]int{8, 17, 1}, [3]int{8, 17, 3})
}

// hasTimeout: ?timeout= exists (8.18.0+, PR #120542); older versions
// refuse the unknown parameter with a 400.
func (s resolveSemantics) hasTimeout() bool { return s.known && s.v.AtLeast(8, 18, 0) }

// sameRequest reports whether a cluster of semantics o is asked the
// request s asks: the same bounds (?timeout= or not) and the same
// fail-fast retry. An early request asked by the version of the last pass
// (askEarly) is used only when the version read now agrees.
func (s resolveSemantics) sameRequest(o resolveSemantics) bool {
	return s.hasTimeout() == o.hasTimeout() && s.failFast() == o.failFast()
}

// rememberVersion keeps local's version as this pass read it, for the
// next pass's early evidence request.
func (r *Reconciler) rememberVersion(local, version string) {
	r.evidenceMu.Lock()
	defer r.evidenceMu.Unlock()
	if r.versions == nil {
		r.versions = map[string]string{}
	}
	r.versions[local] = version
}

// lastVersion is local's version as the last pass read it.
func (r *Reconciler) lastVersion(local string) (string, bool) {
	r.evidenceMu.Lock()
	defer r.evidenceMu.Unlock()
	v, ok := r.versions[local]
	return v, ok
}

// resolveTimedOut is the error of an entry whose remote did not answer
// within ?timeout= (TransportResolveClusterAction
// .REMOTE_CONNECTION_TIMEOUT_ERROR, 8.18+).
const resolveTimedOut = "Request timed out before receiving a response from the remote cluster"

// DefaultFailFastRetry is how long the engine waits before asking again
// an alias a fail-fast release reported unavailable: the reconnect that
// answer started runs in the background (RemoteClusterService
// .maybeEnsureConnectedAndGetConnection), and a second request made at
// once would meet the same closed connection.
const DefaultFailFastRetry = time.Second

// resolveAnswer is a _resolve/cluster answer for a set of aliases: the
// entries, the error of an alias whose own request failed (errs), or the
// error of the one request that carried them all (err).
type resolveAnswer struct {
	res  map[string]es.ResolvedCluster
	errs map[string]error
	err  error
	// timeout is the ?timeout= sent (zero when none).
	timeout time.Duration
	// retried lists the aliases asked again after a fail-fast answer.
	retried map[string]bool
}

// errorOf is the error that left alias without an entry, if any.
func (a resolveAnswer) errorOf(alias string) error {
	if a.err != nil {
		return a.err
	}
	return a.errs[alias]
}

// evidenceBounds are the timeouts of the evidence request: the server's
// ?timeout= (where the version has it) and the client's deadline for the
// request that carries every alias. Both leave room inside the request
// timeout: the answer of a cluster whose one remote hangs still comes,
// and an alias asked on its own after a timeout still has the full
// request timeout.
func (r *Reconciler) evidenceBounds(sem resolveSemantics) (server, whole time.Duration) {
	rt := r.opts.RequestTimeout
	if sem.hasTimeout() {
		return rt / 2, rt
	}
	return 0, rt / 2
}

// resolveBounded asks _resolve/cluster for exprs (alias → "alias:target")
// on a local cluster of semantics sem: one request for all, with
// ?timeout= where the version has it; when that request gets no answer
// in time, one request per alias, in parallel; and on a fail-fast
// release, the aliases answered unavailable once more after a pause.
func (r *Reconciler) resolveBounded(ctx context.Context, c *es.Client, sem resolveSemantics, exprs map[string]string) resolveAnswer {
	server, whole := r.evidenceBounds(sem)
	ans := resolveAnswer{timeout: server}
	ans.res, ans.err = c.ResolveClusterWith(ctx, joinExprs(exprs), es.ResolveOptions{Timeout: server, Deadline: whole})
	if errors.Is(ans.err, es.ErrTimeout) && len(exprs) > 1 && ctx.Err() == nil {
		ans = r.resolveEach(ctx, c, server, exprs)
	}
	if sem.failFast() && ans.err == nil {
		r.failFastRetry(ctx, c, sem, exprs, &ans)
	}
	return ans
}

// resolveEach asks each alias on its own, in parallel, with the full
// request timeout each.
func (r *Reconciler) resolveEach(ctx context.Context, c *es.Client, server time.Duration, exprs map[string]string) resolveAnswer {
	ans := resolveAnswer{res: map[string]es.ResolvedCluster{}, errs: map[string]error{}, timeout: server}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for alias, expr := range exprs {
		wg.Go(func() {
			res, err := c.ResolveClusterWith(ctx, expr, es.ResolveOptions{Timeout: server})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				ans.errs[alias] = err
				return
			}
			if rc, ok := res[alias]; ok {
				ans.res[alias] = rc
			}
		})
	}
	wg.Wait()
	return ans
}

// failFastRetry asks again, once, after Options.FailFastRetry, the
// aliases a fail-fast release answered unavailable (connected:false, no
// error): that answer only says the connection was down when the request
// came, and the request itself started the reconnect. The second answer
// stands, whatever it says; a second request that fails keeps the first.
func (r *Reconciler) failFastRetry(ctx context.Context, c *es.Client, sem resolveSemantics, exprs map[string]string, ans *resolveAnswer) {
	again := map[string]string{}
	for alias, expr := range exprs {
		if ans.errs[alias] != nil {
			continue
		}
		if rc, ok := ans.res[alias]; ok && !rc.Connected && rc.Error == "" {
			again[alias] = expr
		}
	}
	if len(again) == 0 {
		return
	}
	t := time.NewTimer(r.opts.FailFastRetry)
	select {
	case <-ctx.Done():
		t.Stop()
		return
	case <-t.C:
	}
	server, whole := r.evidenceBounds(sem)
	var second resolveAnswer
	second.res, second.err = c.ResolveClusterWith(ctx, joinExprs(again), es.ResolveOptions{Timeout: server, Deadline: whole})
	ans.retried = map[string]bool{}
	for alias := range again {
		if second.errorOf(alias) != nil {
			continue
		}
		if rc, ok := second.res[alias]; ok {
			ans.res[alias] = rc
			ans.retried[alias] = true
		}
	}
}

// joinExprs is the index expression of one request for every alias, in a
// stable order.
func joinExprs(exprs map[string]string) string {
	out := make([]string, 0, len(exprs))
	for _, e := range exprs {
		out = append(out, e)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}
