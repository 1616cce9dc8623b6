package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	sd "github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"

	"github.com/spf13/pflag"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/daemon"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/state"
	"github.com/esremote/esremote/reconcile/statedir"
	"github.com/esremote/esremote/spec"
)

func init() {
	register("run", &command{
		summary: "the daemon: watch, reconcile, report, alert",
		usage: "run DIR [--listen ADDR] [--state-dir DIR] [--debounce 250ms:5s] [--resync 5m]\n" +
			"             [--alertmanager-url URL]... [--webhook-url-file FILE] [--slack-webhook-url-file FILE]\n" +
			"             [--alert-label KEY=VALUE]... [--alert-resend-interval 1m]\n" +
			"             [--log-format text|json] [--only NAME] [--reload-token-file FILE [--listen-allow-remote]]\n" +
			"             [--external-url URL]",
		flags:    cmdRun,
		exits:    "0 on a clean stop (SIGTERM or SIGINT), 1 on an error or a second signal",
		values:   map[string][]string{"log-format": {"text", "json"}},
		complete: dirArgs(1),
	})
}

// defaultListen is the daemon's HTTP address: loopback only. Another
// address needs --listen-allow-remote and a token (DESIGN §2), which
// /status and /-/reload then require.
const defaultListen = "127.0.0.1:9477"

// shutdownTimeout bounds how long the HTTP server drains at stop.
const shutdownTimeout = 5 * time.Second

// daemonExtras is what other files of this package add to the daemon:
// HTTP handlers by ServeMux pattern (e.g. "GET /metrics"), observers of
// every pass, load and saved report (metrics, alerts), and what to do at
// stop. cmdRun fills Dir, StateDir and Addr before the setups run, and
// calls the hooks from the loop's goroutines one at a time.
type daemonExtras struct {
	Dir      string // the spec directory
	StateDir string // the state directory of the history
	Addr     string // the address the HTTP API listens on
	// ExternalURL is where people reach the daemon's pages (--external-url,
	// else http://Addr), without a trailing slash: alerts link under it.
	ExternalURL string
	// Resync is the interval of full passes (--resync).
	Resync time.Duration
	// Token is the daemon's token (--reload-token-file), "" without one:
	// the status pages show a request without it the read-only view.
	Token string

	Handlers map[string]http.Handler
	// OnReport observe every report the daemon saves: the whole picture,
	// a retry's connections merged into the last full pass, with the
	// problems of a rejected reload as errors of the spec directory.
	OnReport []func(*drift.Report)
	// OnPass observe every engine pass as it ends: its own result and
	// report (both nil when err says the pass could not run) and how long
	// it took. It runs before the report is saved.
	OnPass []func(res *reconcile.Result, rep *drift.Report, elapsed time.Duration, err error)
	// OnLoad observe every load of the spec directory: problems is nil when
	// the set was accepted (also when unchanged), else the reasons it was
	// rejected ("file:line:col: error: message").
	OnLoad []func(problems []string, at time.Time)
	// OnSet observe every spec set the daemon accepts.
	OnSet []func(*spec.Set)
	// OnError observe every target that failed a pass, once per pass,
	// with the error class that decided its retry (daemon.LoopConfig.OnError).
	OnError []func(target string, class drift.Class)
	// Leadership, with a shared state store, is the daemon's role now.
	Leadership func() *drift.Leadership
	// OnStop run in order once the loop stopped, before cmdRun returns.
	OnStop []func()
}

// stop runs the OnStop funcs.
func (x *daemonExtras) stop() {
	for _, f := range x.OnStop {
		f()
	}
}

// daemonSetup adds to the daemon before its loop starts.
type daemonSetup func(l *daemon.Loop, x *daemonExtras, log *slog.Logger) error

// daemonSetups run before the loop starts; a file adding to the daemon
// appends to it from its init func.
var daemonSetups []daemonSetup

// daemonFlags register flags of `esremote run` (a file's own, e.g. the
// alerting flags) and return the setup that uses their parsed values.
var daemonFlags []func(fs *pflag.FlagSet) daemonSetup

type runFlags struct {
	listen    string
	stateDir  string
	debounce  string
	resync    time.Duration
	logFormat string
	only      string
	// lockTimeout is how long run waits for the state dir's lock.
	lockTimeout time.Duration
	// allowRemote and tokenFile open the HTTP API beyond loopback.
	allowRemote bool
	tokenFile   string
	// contestThreshold flips within contestWindow make a key contested.
	contestThreshold int
	contestWindow    time.Duration
	// stateStore names the Cluster holding the shared ledger and lease.
	stateStore string
	leaseTTL   time.Duration
	// externalURL is --external-url.
	externalURL string
	// windows are --keystore-grace and --rotation-overlap.
	windows keyWindows
}

// cmdRun is the daemon. It runs until SIGTERM or SIGINT, then stops
// gracefully and exits 0; a second signal exits 1 at once. SIGHUP reloads
// the spec directory. systemd is told READY, RELOADING, STATUS, STOPPING
// and, when WatchdogSec= is set, fed watchdog pings while the loop makes
// progress.
func cmdRun(fs *pflag.FlagSet) runFunc {
	var rf runFlags
	fs.StringVar(&rf.listen, "listen", defaultListen, "HTTP `address` of /healthz, /readyz, /status, /metrics and POST /-/reload")
	fs.StringVar(&rf.stateDir, "state-dir", "", "where the ownership ledger and reports live (default $STATE_DIRECTORY, /var/lib/esremote or $XDG_STATE_HOME/esremote)")
	fs.StringVar(&rf.debounce, "debounce", "250ms:5s", "quiescence `min:max`: act after min without file changes, or max after the first")
	fs.DurationVar(&rf.resync, "resync", daemon.DefaultResync, "interval of full passes (jittered ±10%)")
	fs.StringVar(&rf.logFormat, "log-format", "text", "log format on stderr: text (journald) or json")
	fs.StringVar(&rf.only, "only", "", "reconcile only the connection of this `name`")
	fs.DurationVar(&rf.lockTimeout, "lock-timeout", 0, lockTimeoutUsage)
	fs.BoolVar(&rf.allowRemote, "listen-allow-remote", false, "allow a --listen address other than loopback; needs --reload-token-file")
	fs.StringVar(&rf.tokenFile, "reload-token-file", "", "`file` holding a token (at least 16 characters, mode 0600) that GET /status and POST /-/reload then require as Authorization: Bearer TOKEN")
	fs.IntVar(&rf.contestThreshold, "contest-threshold", reconcile.DefaultContestThreshold, "flips of a key back to the same foreign value, within --contest-window, that make it contested (reported, no longer rewritten)")
	fs.DurationVar(&rf.contestWindow, "contest-window", reconcile.DefaultContestWindow, "how far back flips count toward --contest-threshold, whatever the passes in between")
	fs.StringVar(&rf.stateStore, "state-store", "", stateStoreUsage)
	fs.DurationVar(&rf.leaseTTL, "lease-ttl", state.DefaultLeaseTTL, leaseTTLUsage)
	fs.StringVar(&rf.externalURL, "external-url", "", "`URL` under which people reach this daemon's pages (behind a proxy, a DNS name), as Prometheus's --web.external-url; alerts link to URL/connections/NAME (default http:// and the --listen address)")
	rf.windows.declare(fs)
	setups := slices.Clone(daemonSetups)
	for _, register := range daemonFlags {
		setups = append(setups, register(fs))
	}
	return func(c *cli, args []string) int {
		if len(args) != 1 {
			c.usageOf("run")
			return exitError
		}
		dir := args[0]
		dmin, dmax, err := parseDebounce(rf.debounce)
		if err != nil {
			c.errorf("%v", err)
			return exitError
		}
		if rf.resync <= 0 {
			c.errorf("--resync must be positive")
			return exitError
		}
		if err := checkExternalURL(rf.externalURL); err != nil {
			c.errorf("%v", err)
			return exitError
		}
		if rf.contestThreshold < 1 || rf.contestWindow <= 0 {
			c.errorf("--contest-threshold must be at least 1 and --contest-window positive")
			return exitError
		}
		if err := rf.windows.set(&reconcile.Options{}); err != nil {
			c.errorf("%v", err)
			return exitError
		}
		log, err := newLogger(c.stderr, rf.logFormat, c.getenv)
		if err != nil {
			c.errorf("%v", err)
			return exitError
		}
		stateDir, err := statedir.StateDir(c.getenv, rf.stateDir)
		if err != nil {
			c.errorf("%v", err)
			return exitError
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			c.errorf("spec directory %s: not a directory", dir)
			return exitError
		}
		// The daemon holds the state dir for its lifetime: no apply or second
		// daemon writes the ledger under it.
		lock, ok := c.lockStateDir(stateDir, "esremote run", rf.lockTimeout)
		if !ok {
			return exitError
		}
		defer lock.Release()
		var sh *shared
		// Every write path checks the lock first: a lock file removed or
		// replaced under this daemon stops its writes (statedir.ErrLockLost).
		writeGate := lock.Check
		if rf.stateStore != "" {
			if rf.leaseTTL < 300*time.Millisecond {
				c.errorf("--lease-ttl %s is too short to renew in time", rf.leaseTTL)
				return exitError
			}
			set, problems, err := spec.Load(dir)
			if err != nil {
				for _, p := range problems {
					fmt.Fprintln(c.stderr, p.String())
				}
				c.errorf("%s", firstLine(err))
				c.hintf("--state-store needs the spec set to reach the store cluster; run 'esremote validate %s'", dir)
				return exitError
			}
			client, err := c.storeClient(set, rf.stateStore, 0)
			if err != nil {
				c.errorf("%v", err)
				return exitError
			}
			sh = &shared{client: client, log: log}
			// A host whose specs diverge from the ones last applied never
			// takes the lease (spec_diverged): as leader it would delete
			// what newer specs created.
			sh.guard = &specGuard{dir: dir, store: esApplied{sh}, log: log, digest: set.Digest}
			sh.lease = state.NewLease(state.LeaseConfig{Client: client, TTL: rf.leaseTTL, MayLead: sh.guard.check})
			// Every write path checks the lease: the engine's clients ask it
			// before any request that writes.
			writeGate = gates(lock.Check, sh.lease.Check)
		}
		newRec := func(store reconcile.Store, readOnly bool) (*reconcile.Reconciler, error) {
			opts := reconcile.Options{StateDir: stateDir, Store: store, ReadOnly: readOnly, Getenv: c.getenv, Logger: log,
				ContestThreshold: rf.contestThreshold, ContestWindow: rf.contestWindow,
				Identity: state.HolderName(), WriteGate: writeGate, Wait: journalWaits(log, es.DefaultTimeout)}
			if err := rf.windows.set(&opts); err != nil {
				return nil, err
			}
			return reconcile.New(opts)
		}
		var (
			engine     func() (*reconcile.Reconciler, reconcile.Mode, error)
			retryAfter func(string) time.Duration
			leadership func() *drift.Leadership
		)
		if sh != nil {
			sh.newRec = newRec
			engine, retryAfter, leadership = sh.engine, sh.retryAfter, sh.leadership
		} else {
			if set, _, err := spec.Load(dir); err == nil {
				c.warnDiverged(stateDir, dir, set.Digest)
			}
			// The ledger file: every save re-reads it and keeps what another
			// writer recorded (state.File).
			rec, err := newRec(&state.File{Dir: stateDir, Guard: lock.Check}, false)
			if err != nil {
				c.errorf("%v", err)
				return exitError
			}
			engine = func() (*reconcile.Reconciler, reconcile.Mode, error) { return rec, reconcile.ModeRun, nil }
			retryAfter = rec.RetryAfter
		}

		// Signals are handled here only. Main's context is cancelled by the
		// first SIGINT/SIGTERM too; this channel counts them for the second.
		sigs := make(chan os.Signal, 4)
		signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
		defer signal.Stop(sigs)

		ctx, cancel := context.WithCancel(c.ctx)
		defer cancel()
		changes, err := daemon.Watch(ctx, dir, log)
		if err != nil {
			c.errorf("%v", err)
			return exitError
		}
		hist := drift.NewHistory(stateDir, 0, statedir.Files{})
		extras := &daemonExtras{Dir: dir, StateDir: stateDir, Handlers: map[string]http.Handler{}, Leadership: leadership,
			Resync: rf.resync}
		// The applied record: the state store's (by the leader) or the
		// state dir's, after each writing pass.
		var lastApplied string
		extras.OnPass = append(extras.OnPass, func(_ *reconcile.Result, rep *drift.Report, _ time.Duration, err error) {
			switch {
			case rep == nil:
			case sh != nil:
				sh.guard.setDigest(rep.SpecDigest)
				if err == nil {
					sh.guard.record(ctx, func() bool { return sh.lease.Check() == nil }, rep)
				}
			case err == nil && rep.Mode == drift.ModeRun && rep.SpecDigest != lastApplied:
				recordApplied(stateDir, dir, rep.SpecDigest, log)
				lastApplied = rep.SpecDigest
			}
		})
		cfg := daemon.LoopConfig{
			Dir:         dir,
			Load:        observedLoad(spec.Load, extras),
			Pass:        enginePass(engine, leadership, dir, rf.only, extras),
			RetryAfter:  retryAfter,
			Affected:    daemon.AffectedLocals,
			Changes:     changes,
			Notify:      sdNotifier(log),
			Logger:      log,
			Leadership:  leadership,
			Resync:      rf.resync,
			DebounceMin: dmin,
			DebounceMax: dmax,
			Save: func(r *drift.Report) error {
				_, err := hist.Save(r)
				for _, f := range extras.OnReport {
					f(r)
				}
				return err
			},
		}
		// The error classes' metric is observed where the loop decides.
		cfg.OnError = func(target string, class drift.Class) {
			for _, f := range extras.OnError {
				f(target, class)
			}
		}
		if wd, err := sd.SdWatchdogEnabled(false); err != nil {
			log.Warn("systemd watchdog settings", "err", err)
		} else if wd > 0 {
			cfg.Watchdog = wd / 2 // ping twice per period, as sd_watchdog_enabled(3) advises
		}
		loop, err := daemon.NewLoop(cfg)
		if err != nil {
			c.errorf("%v", err)
			return exitError
		}
		if sh != nil {
			// The lease is stepped for the daemon's lifetime and released when
			// it stops, so a standby takes over at once.
			leaseDone := make(chan struct{})
			go func() {
				defer close(leaseDone)
				sh.run(ctx, func() { loop.PassNow(daemon.TriggerLeader) })
			}()
			defer func() { cancel(); <-leaseDone }()
		}
		token, err := listenToken(c, rf)
		if err != nil {
			return exitError
		}
		ln, err := net.Listen("tcp", rf.listen)
		if err != nil {
			c.errorf("listen on %s: %v", rf.listen, err)
			c.hintf("another esremote may be running; pick another address with --listen")
			return exitError
		}
		extras.Addr, extras.Token = ln.Addr().String(), token
		extras.ExternalURL = strings.TrimSuffix(cmp.Or(rf.externalURL, "http://"+extras.Addr), "/")
		for _, setup := range setups {
			if err := setup(loop, extras, log); err != nil {
				extras.stop()
				ln.Close()
				c.errorf("%v", err)
				return exitError
			}
		}
		srv := &http.Server{Handler: daemon.RequireToken(token, loop.Handler(extras.Handlers)), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http server", "err", err)
			}
		}()
		log.Info("esremote started", "dir", dir, "listen", ln.Addr().String(), "state_dir", stateDir,
			"resync", rf.resync.String(), "debounce", rf.debounce)

		done := make(chan error, 1)
		go func() { done <- loop.Run(ctx) }()
		lockLost := make(chan error, 1)
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			watchLock(ctx, lock, log, func(err error) { lockLost <- err })
		}()
		// The watcher reads the lock: it must be gone before the deferred
		// Release (registered earlier, so run later) writes it.
		defer func() { cancel(); <-watched }()
		stopping, lostLock := false, false
		for {
			select {
			case err := <-lockLost:
				// Another writer may hold a lock of its own by now: stop
				// writing (the gate already refuses), say so, and exit 1 so
				// that systemd restarts a daemon that locks properly.
				log.Error("state dir lock lost: stopping", "err", err)
				c.errorf("%v", err)
				c.hintf("never delete %s while esremote runs: it holds the state dir; restart the daemon (systemctl restart esremote) once no other esremote writes here", filepath.Join(stateDir, statedir.LockFile))
				lostLock = true
				cancel()
			case s := <-sigs:
				if s == syscall.SIGHUP {
					log.Info("reload requested", "signal", s.String())
					loop.Reload()
					continue
				}
				if stopping {
					log.Warn("second signal: exiting now", "signal", s.String())
					return exitError
				}
				stopping = true
				log.Info("stop requested", "signal", s.String())
				cancel()
			case err := <-done:
				extras.stop()
				sctx, scancel := context.WithTimeout(context.Background(), shutdownTimeout)
				_ = srv.Shutdown(sctx)
				scancel()
				if err != nil {
					c.errorf("%v", err)
					return exitError
				}
				if lostLock {
					return exitError
				}
				log.Info("esremote stopped")
				return exitOK
			}
		}
	}
}

// checkExternalURL accepts an empty --external-url or an absolute http(s)
// URL without query or fragment (a path prefix is fine: a reverse proxy).
func checkExternalURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--external-url %q: want an absolute http or https URL without query, e.g. https://esremote.example.com", s)
	}
	return nil
}

// minTokenLength is the shortest token the daemon accepts: a token is
// meant to be random (openssl rand -hex 32), not a password.
const minTokenLength = 16

// listenToken checks --listen against --listen-allow-remote and reads the
// token. A non-loopback address serves the report (every cluster and
// connection) and a reload action to the network, so it needs both the
// explicit flag and a token. It reports its errors itself.
func listenToken(c *cli, rf runFlags) (string, error) {
	var token string
	if rf.tokenFile != "" {
		var err error
		if token, err = readToken(c.getenv, rf.tokenFile); err != nil {
			c.errorf("%v", err)
			return "", err
		}
	}
	if loopbackAddr(rf.listen) {
		return token, nil
	}
	if !rf.allowRemote || token == "" {
		err := fmt.Errorf("--listen %s is not a loopback address: /status and /-/reload would be open to the network", rf.listen)
		c.errorf("%v", err)
		c.hintf("keep the default 127.0.0.1:9477, or add --listen-allow-remote and --reload-token-file FILE (a random token, e.g. from openssl rand -hex 32, in a file only esremote can read)")
		return "", err
	}
	return token, nil
}

// loopbackAddr reports whether a listen address is on loopback only:
// localhost or a loopback IP. An empty host (":9477") is every interface.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// readToken reads the daemon's token from a file as secrets are read
// (only its owner may read it; one trailing newline is trimmed).
func readToken(getenv func(string) string, file string) (string, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", fmt.Errorf("--reload-token-file: %w", err)
	}
	s, err := spec.SecretRef{File: abs}.Resolve(getenv)
	if err != nil {
		return "", fmt.Errorf("--reload-token-file: %w", err)
	}
	if err := checkToken(s.Reveal()); err != nil {
		return "", fmt.Errorf("--reload-token-file %s: %w: use a random one, e.g. openssl rand -hex 32", file, err)
	}
	return s.Reveal(), nil
}

// minTokenRunes is the fewest distinct characters a token may have: a
// hex token of 16 characters or more has nearly all 16; a file of spaces
// or of one repeated character is not a secret.
const minTokenRunes = 8

// checkToken refuses a token no client could send or anyone could guess:
// shorter than minTokenLength, holding white space or control characters
// (a file of blank lines or spaces would lock the operator out: an HTTP
// client trims the header), or made of fewer than minTokenRunes distinct
// characters. The error never contains the token.
func checkToken(tok string) error {
	if len(tok) < minTokenLength {
		return fmt.Errorf("the token is shorter than %d characters", minTokenLength)
	}
	distinct := map[rune]bool{}
	for _, r := range tok {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
			return errors.New("the token holds white space or control characters")
		}
		distinct[r] = true
	}
	if len(distinct) < minTokenRunes {
		return fmt.Errorf("the token has only %d distinct characters", len(distinct))
	}
	return nil
}

// enginePass adapts the Reconciler to the Loop: a daemon pass in ModeRun
// whose report names the spec revision. A retry of failing targets runs
// the engine on those local clusters only (one read of each, as a full
// pass would). Each pass is handed to x.OnPass as it ends.
func enginePass(engine func() (*reconcile.Reconciler, reconcile.Mode, error), leadership func() *drift.Leadership,
	dir, only string, x *daemonExtras) daemon.PassFunc {
	return func(ctx context.Context, req daemon.PassRequest) (*drift.Report, error) {
		start := time.Now()
		var res *reconcile.Result
		rec, mode, err := engine()
		switch {
		case err != nil:
		case req.Targets == nil || only != "":
			res, err = rec.Pass(ctx, req.Set, mode, only)
		default:
			res, err = rec.PassTargets(ctx, req.Set, mode, req.Targets)
		}
		var rep *drift.Report
		if err == nil {
			rep = res.Report(req.Trigger, reconcile.SpecRevision(dir))
			addRemoteErrors(rep, res)
			if leadership != nil {
				rep.Leadership = leadership()
			}
			// Before history, /status, metrics and alerts see it: see scrub.go.
			spec.ScrubAll(rep)
			addFixes(req.Set, rep)
		} else {
			res = nil
		}
		for _, f := range x.OnPass {
			f(res, rep, time.Since(start), err)
		}
		if err != nil {
			// The loop reports the failed pass: name its target, scrubbed.
			err = &daemon.PassError{Target: errTarget(err), Err: scrubbedError{err}}
		}
		return rep, err
	}
}

// errTarget is the cluster an error of the engine concerns ("" when it
// names none).
func errTarget(err error) string {
	var ee *es.Error
	if errors.As(err, &ee) {
		return ee.Target
	}
	return ""
}

// scrubbedError reads as its error with every credential scrubbed.
type scrubbedError struct{ err error }

func (e scrubbedError) Error() string { return spec.Scrub(e.err.Error()) }
func (e scrubbedError) Unwrap() error { return e.err }

// observedLoad wraps the spec loader so that x.OnLoad hears of every load
// and whether it was accepted.
func observedLoad(load daemon.LoadFunc, x *daemonExtras) daemon.LoadFunc {
	return func(dir string) (*spec.Set, spec.Problems, error) {
		set, problems, err := load(dir)
		var lines []string
		if err != nil {
			for _, p := range problems.Errors() {
				lines = append(lines, p.String())
			}
			if len(lines) == 0 {
				lines = []string{err.Error()}
			}
		}
		now := time.Now()
		for _, f := range x.OnLoad {
			f(lines, now)
		}
		if err == nil && set != nil {
			for _, f := range x.OnSet {
				f(set)
			}
		}
		return set, problems, err
	}
}

// sdNotifier maps the Loop's lifecycle to sd_notify(3). Without
// $NOTIFY_SOCKET (not under systemd) every call is a no-op.
func sdNotifier(log *slog.Logger) func(daemon.Notification) {
	return func(n daemon.Notification) {
		var state string
		switch n.Kind {
		case daemon.NotifyReady:
			state = sd.SdNotifyReady + "\nSTATUS=" + n.Status
		case daemon.NotifyReloading:
			// Type=notify-reload wants MONOTONIC_USEC with RELOADING=1.
			state = fmt.Sprintf("%s\nMONOTONIC_USEC=%d", sd.SdNotifyReloading, monotonicUsec())
		case daemon.NotifyStatus:
			state = "STATUS=" + n.Status
		case daemon.NotifyStopping:
			state = sd.SdNotifyStopping + "\nSTATUS=stopping"
		case daemon.NotifyWatchdog:
			state = sd.SdNotifyWatchdog
		default:
			return
		}
		if _, err := sd.SdNotify(false, state); err != nil {
			log.Warn("sd_notify", "err", err)
		}
	}
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, the clock systemd
// compares RELOADING=1 against.
func monotonicUsec() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return ts.Nano() / 1000
}

// parseDebounce parses "min:max" (consul-template's wait); a single
// duration means min, with max four times it.
func parseDebounce(s string) (time.Duration, time.Duration, error) {
	lo, hi, two := strings.Cut(s, ":")
	dmin, err := time.ParseDuration(lo)
	if err != nil || dmin <= 0 {
		return 0, 0, fmt.Errorf("--debounce %q: want min:max, e.g. 250ms:5s", s)
	}
	dmax := 4 * dmin
	if two {
		if dmax, err = time.ParseDuration(hi); err != nil || dmax < dmin {
			return 0, 0, fmt.Errorf("--debounce %q: want min:max with max ≥ min, e.g. 250ms:5s", s)
		}
	}
	return dmin, dmax, nil
}

// newLogger builds the daemon's logger, which scrubs credentials from
// every line (scrub.go). Under journald ($JOURNAL_STREAM
// set) text lines leave out the time, which the journal records itself.
func newLogger(w io.Writer, format string, getenv func(string) string) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	switch format {
	case "json":
		return slog.New(scrubHandler{slog.NewJSONHandler(w, opts)}), nil
	case "text":
		if getenv("JOURNAL_STREAM") != "" {
			opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
				if len(groups) == 0 && a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			}
		}
		return slog.New(scrubHandler{slog.NewTextHandler(w, opts)}), nil
	default:
		return nil, fmt.Errorf("unknown --log-format %q: use text or json", format)
	}
}
