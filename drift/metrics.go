package drift

import (
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// metricsNamespace prefixes every esremote series.
const metricsNamespace = "esremote"

// Label values used when a report leaves a field empty, so that no series
// carries an empty label (which Prometheus treats as an absent one).
const (
	originUnknown = "unknown"
	valueUnknown  = "unknown"
)

// Results of a pass, the values of esremote_reconcile_passes_total's
// "result" label.
const (
	// PassSuccess: the pass observed every connection and nothing failed.
	PassSuccess = "success"
	// PassFailure: a connection failed, the report has errors, or the pass
	// produced no report at all.
	PassFailure = "failure"
)

// durationBuckets cover a pass from a few fast local clusters (tens of
// milliseconds) to hundreds of clusters behind slow control planes (minutes).
var durationBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// correctionResources and correctionOrigins are the label values of
// esremote_drift_corrections_total, each pair exported from the start at
// zero: a counter that appears at its first increment has no earlier
// sample, so increase() and rate() miss that increment (the first hand
// edit after a start would not fire EsremoteExternalEdits).
var (
	correctionResources = []Resource{ResourceAPIKey, ResourceKeystore, ResourceTrust, ResourceClusterSetting, ResourceRole}
	correctionOrigins   = []string{string(OriginSpec), string(OriginExternal), originUnknown}
	// connectionOrigins are the origins of esremote_connection_corrections_total,
	// zero for each connection from the first report that has it.
	connectionOrigins = []string{string(OriginSpec), string(OriginExternal)}
)

// syncValues and healthValues are exported as zero when no connection has
// them, so that rate() and absent() work from the first scrape.
var syncValues = []Sync{SyncInSync, SyncDrifted, SyncCorrected, SyncFailed, SyncContested, SyncDisabled}

// Metrics exposes what the daemon knows as Prometheus series (DESIGN §1), in
// a registry of its own (never the global one). The series are documented in
// docs/alerting.md.
//
// Per-connection series describe the latest report only: [Metrics.Observe]
// replaces them whole, so a connection that left the specs disappears from
// /metrics with it. Labels carry only names the specs bound (connection,
// local, alias, target) and fixed enumerations (sync, health, resource,
// origin, result): never a secret, a message or an error text.
//
// A Metrics is safe for concurrent use; a scrape never sees a report half
// applied.
type Metrics struct {
	// mu makes Observe atomic for scrapes: Observe holds it to write,
	// gathering holds it to read.
	mu sync.RWMutex

	reg     *prometheus.Registry // esremote_* series
	runtime *prometheus.Registry // go_* and process_* series

	info        *prometheus.GaugeVec
	synced      *prometheus.GaugeVec
	connected   *prometheus.GaugeVec
	connections *prometheus.GaugeVec
	unhealthy   prometheus.Gauge
	changes     *prometheus.GaugeVec
	corrections *prometheus.CounterVec
	// connCorrections is corrections by connection and origin; counted
	// holds the connections whose series exist.
	connCorrections *prometheus.CounterVec
	counted         map[string]bool
	unmanaged       *prometheus.GaugeVec
	errors          *prometheus.GaugeVec
	// classes counts failed targets by error class (CountError).
	classes *prometheus.CounterVec

	duration    prometheus.Histogram
	passes      *prometheus.CounterVec
	lastPass    prometheus.Gauge
	lastSuccess prometheus.Gauge

	reloadOK   prometheus.Gauge
	reloadTime prometheus.Gauge

	resync    *prometheus.GaugeVec // no labels: absent until SetResync
	buildInfo *prometheus.GaugeVec

	keyExpiry *prometheus.GaugeVec
	caExpiry  *prometheus.GaugeVec
	// leader is 1 while this daemon leads the daemons sharing its state
	// store, 0 while it stands by; absent without a shared store.
	leader *prometheus.GaugeVec
	// leaseTTLMismatch is 1 while this daemon's --lease-ttl differs from
	// the lease holder's.
	leaseTTLMismatch *prometheus.GaugeVec
	// specDiverged is 1 while this daemon's specs diverge from the applied
	// ones.
	specDiverged *prometheus.GaugeVec
	// leadership, when set, is read at every scrape (FollowLeadership).
	leadership func() *Leadership
	// keyAt and caAt remember expiries by connection, so Observe can drop
	// those of connections that left the specs.
	keyAt, caAt map[string]time.Time
}

// NewMetrics returns Metrics with every series registered in a new registry,
// plus the Go runtime and process collectors.
func NewMetrics() *Metrics {
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: metricsNamespace, Name: name, Help: help}, labels)
	}
	m := &Metrics{
		reg:     prometheus.NewRegistry(),
		runtime: prometheus.NewRegistry(),
		info: gauge("connection_info",
			"Always 1: one series per connection of the latest report, its sync and health as labels.",
			"connection", "local", "alias", "security", "policy", "sync", "health"),
		synced: gauge("connection_synced",
			"1 when the connection's configuration matches its spec (sync in_sync or corrected), else 0.",
			"connection"),
		connected: gauge("connection_connected",
			"1 when a request through the link succeeds (connected, or rotating on the old key), 0 when disconnected or unauthorized; absent when unknown.",
			"connection"),
		connections: gauge("connections",
			"Connections of the latest report by sync value.", "sync"),
		unhealthy: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: metricsNamespace, Name: "connections_unhealthy",
			Help: "Connections of the latest report whose health is disconnected or unauthorized."}),
		changes: gauge("drift_changes",
			"Differences between the specs and the targets found by the latest pass, by resource and origin.",
			"resource", "origin"),
		corrections: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "drift_corrections_total",
			Help: "Changes written and acknowledged, by resource and origin."}, []string{"resource", "origin"}),
		connCorrections: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "connection_corrections_total",
			Help: "Changes written and acknowledged, by connection and origin (external: a hand edit reverted)."}, []string{"connection", "origin"}),
		counted: map[string]bool{},
		unmanaged: gauge("unmanaged_objects",
			"Objects on the targets that esremote does not own (reported, never changed), by kind.", "kind"),
		errors: gauge("report_errors",
			"Problems of the latest pass that belong to no single connection (e.g. an unreachable target), by target.",
			"target"),
		classes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "reconcile_errors_total",
			Help: "Targets that failed a pass, by error class (terminal, retryable, throttled): one per target and pass."}, []string{"class"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: metricsNamespace, Name: "reconcile_duration_seconds",
			Help: "Duration of reconcile passes.", Buckets: durationBuckets}),
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "reconcile_passes_total",
			Help: "Reconcile passes by result (success or failure)."}, []string{"result"}),
		lastPass: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: metricsNamespace, Name: "reconcile_last_pass_timestamp_seconds",
			Help: "When the latest pass observed the world, in seconds since the epoch."}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: metricsNamespace, Name: "reconcile_last_success_timestamp_seconds",
			Help: "When the latest successful pass observed the world, in seconds since the epoch."}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: metricsNamespace, Name: "config_last_reload_successful",
			Help: "1 when the latest load of the spec set succeeded, 0 when it was rejected (the last good set keeps running)."}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: metricsNamespace, Name: "config_last_reload_success_timestamp_seconds",
			Help: "When the spec set was last loaded successfully, in seconds since the epoch."}),
		keyExpiry: gauge("api_key_expiry_timestamp_seconds",
			"When the cross-cluster API key of an api_key connection expires, in seconds since the epoch.", "connection"),
		caExpiry: gauge("ca_expiry_timestamp_seconds",
			"When the first CA certificate a certificate connection relies on expires, in seconds since the epoch.", "connection"),
		resync: gauge("resync_interval_seconds",
			"The daemon's interval of full passes (--resync), before its ±10% jitter; absent outside the daemon."),
		buildInfo: gauge("build_info",
			"Always 1: the version, Go version and VCS revision of the running esremote.", "version", "goversion", "revision"),
		leader: gauge("leader",
			"1 while this daemon holds the shared state store's lease (it writes), 0 while it stands by; absent without --state-store."),
		specDiverged: gauge("spec_diverged",
			"1 while this standby's specs are neither the ones the leader last applied nor a fast-forward of them (it will not lead); absent without --state-store."),
		leaseTTLMismatch: gauge("lease_ttl_mismatch",
			"1 while this standby's --lease-ttl differs from the one the lease holder wrote (it waits the holder's); absent without --state-store."),
		keyAt: map[string]time.Time{},
		caAt:  map[string]time.Time{},
	}
	m.reg.MustRegister(m.info, m.synced, m.connected, m.connections, m.unhealthy, m.changes, m.corrections,
		m.connCorrections, m.unmanaged, m.errors, m.classes, m.duration, m.passes, m.lastPass, m.lastSuccess,
		m.reloadOK, m.reloadTime, m.resync, m.buildInfo, m.keyExpiry, m.caExpiry, m.leader, m.leaseTTLMismatch, m.specDiverged)
	for _, r := range correctionResources {
		for _, o := range correctionOrigins {
			m.corrections.WithLabelValues(string(r), o)
		}
	}
	m.runtime.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, s := range syncValues {
		m.connections.WithLabelValues(string(s))
	}
	for _, r := range []string{PassSuccess, PassFailure} {
		m.passes.WithLabelValues(r)
	}
	for _, c := range Classes {
		m.classes.WithLabelValues(string(c))
	}
	return m
}

// CountError counts one target that failed a pass with an error of class
// c. The daemon calls it from the switch that decides the target's retry
// (daemon.LoopConfig.OnError), once per target and pass. An empty or
// unknown class counts as retryable, as [Classify] says.
func (m *Metrics) CountError(c Class) {
	if !slices.Contains(Classes, c) {
		c = ClassRetryable
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.classes.WithLabelValues(string(c)).Inc()
}

// Observe records one pass: its report r and how long it took. The daemon
// calls it after every pass, also after a pass that produced no report
// (r nil), which counts as a failure and leaves the per-connection series
// as they were. The per-connection series, drift changes, unmanaged objects
// and report errors are replaced by those of r, and expiries and correction
// counters of connections no longer in r are dropped; a connection new in r
// gets its correction counters at zero. Observe expects the report of a
// full pass (not one narrowed with --only), or a retry's merged into the
// last full one; it counts no corrections: see [Metrics.ObserveCorrections].
func (m *Metrics) Observe(r *Report, duration time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.duration.Observe(duration.Seconds())
	if r == nil {
		m.passes.WithLabelValues(PassFailure).Inc()
		return
	}
	m.info.Reset()
	m.synced.Reset()
	m.connected.Reset()
	m.changes.Reset()
	m.unmanaged.Reset()
	m.errors.Reset()
	for _, s := range syncValues {
		m.connections.WithLabelValues(string(s)).Set(0)
	}
	m.unhealthy.Set(0)

	names := map[string]bool{}
	result := PassSuccess
	for _, c := range r.Connections {
		names[c.Name] = true
		m.info.WithLabelValues(c.Name, c.Local, c.Alias, orUnknown(c.Security), orUnknown(c.Policy),
			orUnknown(string(c.Sync)), orUnknown(string(c.Health))).Set(1)
		m.synced.WithLabelValues(c.Name).Set(boolFloat(c.Sync == SyncInSync || c.Sync == SyncCorrected))
		switch c.Health {
		case HealthConnected, HealthRotating:
			m.connected.WithLabelValues(c.Name).Set(1)
		case HealthDisconnected, HealthUnauthorized:
			m.connected.WithLabelValues(c.Name).Set(0)
			m.unhealthy.Inc()
		}
		if c.Sync != "" {
			m.connections.WithLabelValues(string(c.Sync)).Inc()
		}
		if c.Sync == SyncFailed {
			result = PassFailure
		}
		for _, ch := range c.Changes {
			m.changes.WithLabelValues(string(ch.Resource), changeOrigin(ch)).Inc()
		}
		m.countConnection(c.Name)
	}
	for name := range m.counted {
		if !names[name] {
			delete(m.counted, name)
			for _, o := range connectionOrigins {
				m.connCorrections.DeleteLabelValues(name, o)
			}
		}
	}
	for _, u := range r.Unmanaged {
		m.unmanaged.WithLabelValues(orUnknown(u.Kind)).Inc()
	}
	for _, e := range r.Errors {
		m.errors.WithLabelValues(e.Target).Inc()
		result = PassFailure
	}
	for name := range m.keyAt {
		if !names[name] {
			delete(m.keyAt, name)
			m.keyExpiry.DeleteLabelValues(name)
		}
	}
	for name := range m.caAt {
		if !names[name] {
			delete(m.caAt, name)
			m.caExpiry.DeleteLabelValues(name)
		}
	}

	if r.Leadership != nil {
		m.leader.WithLabelValues().Set(boolFloat(r.Leadership.Role == RoleLeader))
		m.leaseTTLMismatch.WithLabelValues().Set(boolFloat(r.Leadership.TTLMismatch != ""))
		m.specDiverged.WithLabelValues().Set(boolFloat(r.Leadership.SpecDiverged != ""))
	}
	m.passes.WithLabelValues(result).Inc()
	m.lastPass.Set(unixSeconds(r.GeneratedAt))
	if result == PassSuccess {
		m.lastSuccess.Set(unixSeconds(r.GeneratedAt))
	}
}

// ObserveCorrections counts the changes an engine pass applied, by
// resource and origin and by connection and origin. The daemon calls it
// with the report of each pass as the engine made it: a retry's report
// merged into the last full one repeats the changes of the connections it
// did not retry, and those must not count twice.
func (m *Metrics) ObserveCorrections(r *Report) {
	if r == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range r.Connections {
		m.countConnection(c.Name)
		for _, ch := range c.Changes {
			if !ch.Applied {
				continue
			}
			origin := changeOrigin(ch)
			m.corrections.WithLabelValues(string(ch.Resource), origin).Inc()
			if origin != originUnknown {
				m.connCorrections.WithLabelValues(c.Name, origin).Inc()
			}
		}
	}
}

// countConnection exports the correction counters of connection at zero
// unless they exist.
func (m *Metrics) countConnection(name string) {
	if m.counted[name] {
		return
	}
	m.counted[name] = true
	for _, o := range connectionOrigins {
		m.connCorrections.WithLabelValues(name, o)
	}
}

func changeOrigin(ch Change) string {
	if ch.Origin == "" {
		return originUnknown
	}
	return string(ch.Origin)
}

// SetResync records the daemon's resync interval, which rules compare the
// time since the last successful pass against.
func (m *Metrics) SetResync(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.resync.WithLabelValues().Set(d.Seconds())
}

// SetBuildInfo exports esremote_build_info with the running build's
// version, Go version and VCS revision ("unknown" for an empty one).
func (m *Metrics) SetBuildInfo(version, goVersion, revision string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.buildInfo.Reset()
	m.buildInfo.WithLabelValues(orUnknown(version), orUnknown(goVersion), orUnknown(revision)).Set(1)
}

// ObserveReload records a load of the spec set: ok is false when it was
// rejected (the daemon keeps the last good set), and at is when it happened.
// The daemon calls it after its first load and after every reload.
func (m *Metrics) ObserveReload(ok bool, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reloadOK.Set(boolFloat(ok))
	if ok {
		m.reloadTime.Set(unixSeconds(at))
	}
}

// SetKeyExpiry records when the cross-cluster API key of connection expires;
// a zero t (a key that never expires, or no key) removes the series. The
// engine knows the expiry (the report carries it only as a finding), so it
// calls this during or after each pass, before or after Observe.
func (m *Metrics) SetKeyExpiry(connection string, t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	setExpiry(m.keyExpiry, m.keyAt, connection, t)
}

// SetCAExpiry records when the first CA certificate that connection relies
// on expires (of either deployment); a zero t removes the series.
func (m *Metrics) SetCAExpiry(connection string, t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	setExpiry(m.caExpiry, m.caAt, connection, t)
}

func setExpiry(vec *prometheus.GaugeVec, at map[string]time.Time, connection string, t time.Time) {
	if t.IsZero() {
		delete(at, connection)
		vec.DeleteLabelValues(connection)
		return
	}
	at[connection] = t
	vec.WithLabelValues(connection).Set(unixSeconds(t))
}

// Handler serves the metrics in the Prometheus exposition formats, for the
// daemon's /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(prometheus.Gatherers{gatherFunc(m.gather), m.runtime},
		promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// gather reads the esremote series under the read lock, so a scrape sees
// either the previous pass or the new one.
func (m *Metrics) gather() ([]*dto.MetricFamily, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if f := m.leadership; f != nil {
		if ld := f(); ld != nil {
			m.leader.WithLabelValues().Set(boolFloat(ld.Role == RoleLeader))
			m.leaseTTLMismatch.WithLabelValues().Set(boolFloat(ld.TTLMismatch != ""))
			m.specDiverged.WithLabelValues().Set(boolFloat(ld.SpecDiverged != ""))
		}
	}
	return m.reg.Gather()
}

// FollowLeadership makes esremote_leader follow f at every scrape rather
// than the last report: a leader cut off from its state store stops
// writing, and its passes fail without a report, but it must stop
// counting as a leader at once. The daemon calls it before serving.
func (m *Metrics) FollowLeadership(f func() *Leadership) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.leadership = f
}

// gatherFunc turns a function into a prometheus.Gatherer.
type gatherFunc func() ([]*dto.MetricFamily, error)

func (f gatherFunc) Gather() ([]*dto.MetricFamily, error) { return f() }

func orUnknown(s string) string {
	if s == "" {
		return valueUnknown
	}
	return s
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unixSeconds(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}
