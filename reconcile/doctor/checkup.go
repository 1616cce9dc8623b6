package doctor

import (
	"context"
	"fmt"
	"time"

	"github.com/esremote/esremote/reconcile/cloud"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/spec"
)

// Checkup is one connection's checks that need the clusters; Run runs
// all of them, the engine's pass those that send no network probes
// (Parameters, Keystore, APIKey with Cached set). Each check adds its
// step to Report.
type Checkup struct {
	Set  *spec.Set
	Conn *spec.Connection
	// Local is the local cluster's client (Run's resolve and canary).
	Local *es.Client
	// Want is the flat settings the spec wants for the alias; WantErr
	// says why they cannot be computed.
	Want    map[string]string
	WantErr error
	// Live is the alias as _remote/info shows it; Configured whether it
	// is there at all.
	Live       es.RemoteInfo
	Configured bool
	// KeyID is the ledger's key ID of a managed key ("" when none).
	KeyID string
	// Getenv resolves a hand-made key's secret reference.
	Getenv func(string) string
	// Remote returns a remote Cluster's client; Deployment reads a
	// Cluster's deployment (trust). Either may be nil: the checks that
	// need them are skipped.
	Remote     func(ctx context.Context, cl *spec.Cluster) (*es.Client, error)
	Deployment func(ctx context.Context, cl *spec.Cluster) (*cloud.Deployment, error)
	Now        time.Time
	Report     *Report
	// Cached, when non-nil, is the key lookup already done by the pass
	// (empty: the key is not on the remote); APIKey then sends nothing.
	Cached []es.APIKey
}

func (ck *Checkup) add(name string, st Status, cause, evidence, fix string) {
	ck.Report.Add(Step{Name: name, Status: st, Cause: cause, Evidence: evidence, Fix: fix})
}

// address is the proxy address (or first seed) and server name the local
// cluster uses: the live ones when the alias is configured, else the
// spec's.
func (ck *Checkup) address() (addr, serverName string) {
	if ck.Configured {
		if ck.Live.Mode == "sniff" {
			if len(ck.Live.Seeds) > 0 {
				return ck.Live.Seeds[0], ""
			}
			return "", ""
		}
		return ck.Live.ProxyAddress, ck.Live.ServerName
	}
	return ck.Want[es.RemoteKey(ck.Conn.Alias, "proxy_address")], ck.Want[es.RemoteKey(ck.Conn.Alias, "server_name")]
}

// cloudRemote reports whether the remote is an ECH/ECE deployment.
func (ck *Checkup) cloudRemote(host string) bool {
	if rcl := ck.Set.Cluster(ck.Conn.Remote.Cluster); rcl != nil && rcl.Deployment != nil {
		return true
	}
	return CloudHost(host)
}

func (ck *Checkup) applyFix() string {
	return "run esremote apply " + ck.Set.Dir + ": it writes the spec's values (policy " + string(ck.Conn.Policy) + ")"
}

// Parameters checks mode, proxy address, server name and port against the
// security model and the spec.
func (ck *Checkup) Parameters() {
	const step = StepParameters
	c := ck.Conn
	if ck.WantErr != nil {
		ck.add(step, Problem, CauseNotConfigured, "the spec's remote parameters cannot be computed: "+ck.WantErr.Error(),
			"declare the remote cluster's deployment, or give remote.proxy_address and remote.server_name")
		return
	}
	if !ck.Configured {
		ck.add(step, Problem, CauseNotConfigured,
			fmt.Sprintf("alias %s is not in _remote/info of %s: it has no proxy_address or seeds", c.Alias, c.Local), ck.applyFix())
		return
	}
	addr, serverName := ck.address()
	host, port := SplitPort(addr)
	cloud := ck.cloudRemote(host)
	if ck.Live.Mode == "sniff" && cloud {
		ck.add(step, Problem, CauseSniffToCloud, "mode sniff toward an ECH/ECE deployment, which only accepts proxy mode",
			"use mode: proxy with proxy_address <endpoint>:9443 (API key) or :9400 (certificate)")
		return
	}
	sec := string(c.Security)
	if ok, ev, fix := CheckPort(sec, port, cloud); !ok {
		ev = fmt.Sprintf("proxy_address %s with security %s: %s", addr, sec, ev)
		if want := ck.want("proxy_address"); want != "" && want != addr {
			ev += "; the spec wants " + want
			fix = ck.applyFix()
		}
		ck.add(step, Problem, CauseWrongPort, ev, fix)
		return
	}
	if want := ck.want("proxy_address"); want != "" && want != addr {
		ck.add(step, Problem, CauseSettingsDrift, fmt.Sprintf("live proxy_address %s, the spec wants %s", addr, want), ck.applyFix())
		return
	}
	if want := ck.want("server_name"); want != "" && want != serverName {
		ck.add(step, Problem, CauseServerName, fmt.Sprintf("live server_name %q, the spec wants %s", serverName, want), ck.applyFix())
		return
	}
	if ck.Live.Mode == "proxy" && cloud && serverName != host {
		ck.add(step, Problem, CauseServerName,
			fmt.Sprintf("server_name %q is not the proxy host %s: the ECH/ECE proxy routes by the TLS server name", serverName, host),
			"set server_name to the deployment's endpoint, the host of proxy_address")
		return
	}
	ev := fmt.Sprintf("mode %s, proxy_address %s, server_name %s: port %d fits %s", ck.Live.Mode, addr, serverName, port, sec)
	if ck.Live.Mode == "sniff" {
		ev = fmt.Sprintf("mode sniff, seed %s: port %d fits %s", addr, port, sec)
	}
	ck.add(step, OK, "", ev, "")
}

// want is the spec's value of an alias setting suffix ("" when unset).
func (ck *Checkup) want(suffix string) string {
	return ck.Want[es.RemoteKey(ck.Conn.Alias, suffix)]
}
