package observe

// The evidence request, bounded (DESIGN §5; es-api.md §15). One request
// carries every alias of a cluster, bounded by what its version has
// (Semantics). When it gets no answer in time anyway (an older version
// without ?timeout=, or a local cluster slow itself), each alias is asked
// on its own, in parallel, so that one black-holed remote leaves only its
// own links unknown.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/world"
)

// DefaultFailFastRetry is how long an evidence request waits before asking
// again an alias a fail-fast release reported unavailable: the reconnect
// that answer started runs in the background (RemoteClusterService
// .maybeEnsureConnectedAndGetConnection), and a second request made at
// once would meet the same closed connection.
const DefaultFailFastRetry = time.Second

// Asker asks links for their evidence: its clock and the bounds of its
// requests (the Reconciler's options).
type Asker struct {
	// Now is the clock the evidence is stamped with and judged fresh by.
	Now func() time.Time
	// RequestTimeout is the client's request timeout: the evidence
	// request's bounds are cut from it (bounds).
	RequestTimeout time.Duration
	// FailFastRetry is the pause before asking again an alias a fail-fast
	// release answered unavailable (DefaultFailFastRetry).
	FailFastRetry time.Duration
}

// resolveAnswer is a _resolve/cluster answer for a set of aliases: the
// entries, the error of an alias whose own request failed (errs), or the
// error of the one request that carried them all (err).
type resolveAnswer struct {
	res  map[string]world.ResolvedCluster
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

// bounds are the timeouts of the evidence request: the server's
// ?timeout= (where the version has it) and the client's deadline for the
// request that carries every alias. Both leave room inside the request
// timeout: the answer of a cluster whose one remote hangs still comes,
// and an alias asked on its own after a timeout still has the full
// request timeout.
func (a Asker) bounds(sem Semantics) (server, whole time.Duration) {
	rt := a.RequestTimeout
	if sem.HasTimeout() {
		return rt / 2, rt
	}
	return 0, rt / 2
}

// resolveBounded asks _resolve/cluster for exprs (alias → "alias:target")
// on a local cluster of semantics sem: one request for all, with
// ?timeout= where the version has it; when that request gets no answer
// in time, one request per alias, in parallel; and on a fail-fast
// release, the aliases answered unavailable once more after a pause.
func (a Asker) resolveBounded(ctx context.Context, c *es.Client, sem Semantics, exprs map[string]string) resolveAnswer {
	server, whole := a.bounds(sem)
	ans := resolveAnswer{timeout: server}
	ans.res, ans.err = c.ResolveClusterWith(ctx, joinExprs(exprs), es.ResolveOptions{Timeout: server, Deadline: whole})
	if errors.Is(ans.err, es.ErrTimeout) && len(exprs) > 1 && ctx.Err() == nil {
		ans = resolveEach(ctx, c, server, exprs)
	}
	if sem.FailFast() && ans.err == nil {
		a.failFastRetry(ctx, c, sem, exprs, &ans)
	}
	return ans
}

// resolveEach asks each alias on its own, in parallel, with the full
// request timeout each.
func resolveEach(ctx context.Context, c *es.Client, server time.Duration, exprs map[string]string) resolveAnswer {
	ans := resolveAnswer{res: map[string]world.ResolvedCluster{}, errs: map[string]error{}, timeout: server}
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

// failFastRetry asks again, once, after FailFastRetry, the aliases a
// fail-fast release answered unavailable (connected:false, no error):
// that answer only says the connection was down when the request came,
// and the request itself started the reconnect. The second answer
// stands, whatever it says; a second request that fails keeps the first.
func (a Asker) failFastRetry(ctx context.Context, c *es.Client, sem Semantics, exprs map[string]string, ans *resolveAnswer) {
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
	t := time.NewTimer(a.FailFastRetry)
	select {
	case <-ctx.Done():
		t.Stop()
		return
	case <-t.C:
	}
	server, whole := a.bounds(sem)
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
