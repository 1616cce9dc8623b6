package daemon

import (
	"bytes"
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/esremote/esremote/drift"
)

// reloadTimeout bounds how long POST /-/reload waits for the loop.
const reloadTimeout = 30 * time.Second

// Handler serves the daemon's HTTP API (DESIGN §2):
//
//	GET  /healthz    200 while Run runs and neither a pass nor the loop itself is stuck (liveness; not cluster health)
//	GET  /readyz     200 once a full pass of a valid spec set finished, the last reload was accepted and the loop is not stuck
//	GET  /status     the last report as JSON (drift.WriteJSON), 503 before the first one
//	GET  /           (mounted by the caller) the status page of the same report
//	POST /-/reload   reload the spec directory; 200, or 400 with the problems when rejected
//
// extra mounts more handlers by pattern (http.ServeMux syntax), e.g.
// {"GET /metrics": promhttp.Handler()}; they may not override the above.
func (l *Loop) Handler(extra map[string]http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if st := l.Status(); !st.Alive {
			msg := "not alive"
			if st.Stuck != "" {
				msg += ": loop stuck: " + st.Stuck
			}
			http.Error(w, msg, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		st := l.Status()
		switch {
		case st.Stuck != "":
			http.Error(w, "loop stuck: "+st.Stuck, http.StatusServiceUnavailable)
		case len(st.ReloadErrors) > 0:
			noun := "problems"
			if len(st.ReloadErrors) == 1 {
				noun = "problem"
			}
			http.Error(w, fmt.Sprintf("spec reload rejected (%d %s); see /status", len(st.ReloadErrors), noun), http.StatusServiceUnavailable)
		case !st.Ready:
			http.Error(w, "first pass not finished", http.StatusServiceUnavailable)
		default:
			fmt.Fprintln(w, "ready")
		}
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		st := l.Status()
		if st.Report == nil {
			http.Error(w, "no pass has finished yet", http.StatusServiceUnavailable)
			return
		}
		var buf bytes.Buffer
		if err := drift.WriteJSON(&buf, st.Report); err != nil {
			http.Error(w, "encode report: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(buf.Bytes())
	})
	mux.HandleFunc("POST /-/reload", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), reloadTimeout)
		defer cancel()
		if err := l.ReloadWait(ctx); err != nil {
			code := http.StatusBadRequest
			if ctx.Err() != nil {
				code = http.StatusServiceUnavailable
			}
			msg := err.Error()
			for _, p := range l.Status().ReloadErrors {
				msg += "\n" + p
			}
			http.Error(w, msg, code)
			return
		}
		fmt.Fprintln(w, "reloaded")
	})
	for pattern, h := range extra {
		mux.Handle(pattern, h)
	}
	return mux
}

// tokenPaths are the endpoints RequireToken guards: the report names every
// cluster and connection and quotes their errors, and a reload is an
// action. Liveness, readiness and metrics stay open to probes and
// scrapers. The status pages (GET / and /connections/NAME, mounted by the
// caller) are not guarded here: they open without the token for a wall
// screen and an alert's link, and show such a request a read-only view
// without error texts, values or evidence (the caller checks the token).
var tokenPaths = []string{"/status", "/-/reload"}

// RequireToken wraps the daemon's handler so that GET /status (and the
// paths under it) and POST /-/reload answer 401 unless the request carries
// "Authorization: Bearer TOKEN". The comparison takes the same time
// whatever the guess. An empty token guards nothing.
func RequireToken(token string, h http.Handler) http.Handler {
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		guarded := slices.ContainsFunc(tokenPaths, func(p string) bool { return r.URL.Path == p || strings.HasPrefix(r.URL.Path, p+"/") })
		if guarded && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="esremote"`)
			http.Error(w, "this endpoint needs the daemon's token: send Authorization: Bearer TOKEN (the content of --reload-token-file)", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
