package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/esremote/esremote/spec"
)

// CheckPort applies the port rules of es-api.md §10 to a proxy address or
// seed: 9443 for API keys, 9400 for certificates toward ECH/ECE, and the
// transport port 9300 never toward ECH/ECE. security is "api_key" or
// "certificate"; cloud says the remote is an ECH/ECE deployment. It
// returns ok, or a problem step's evidence and fix.
func CheckPort(security string, port int, cloud bool) (ok bool, evidence, fix string) {
	switch {
	case security == "api_key" && port == spec.PortAPIKey:
		return true, "", ""
	case security == "api_key" && port == spec.PortTransport:
		return false, "port 9300 is the transport port; the API-key model connects to the remote cluster server",
			"use port 9443 in proxy_address"
	case security == "api_key":
		return false, fmt.Sprintf("port %d is not the remote cluster server port the API-key model uses", port),
			"use port 9443 in proxy_address"
	case cloud && port == spec.PortCertificate:
		return true, "", ""
	case cloud && port == spec.PortTransport:
		return false, "port 9300 is the transport port, which ECH/ECE never expose; the certificate model goes through the platform proxy on 9400",
			"use port 9400 in proxy_address"
	case cloud:
		return false, fmt.Sprintf("port %d: toward ECH/ECE the certificate model uses the platform proxy on 9400", port),
			"use port 9400 in proxy_address"
	case port == spec.PortAPIKey:
		return false, "port 9443 is the remote cluster server, which needs a cross-cluster API key",
			"use the remote's transport port (9300 by default) for the certificate model, or switch to security: api_key"
	}
	return true, "", ""
}

// CloudHost reports whether host looks like an ECH or ECE endpoint
// (found.io, elastic-cloud.com, elstc.co, ip.es.io).
func CloudHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, d := range []string{".found.io", ".elastic-cloud.com", ".elastic.cloud", ".elstc.co", ".ip.es.io"} {
		if strings.HasSuffix(host, d) {
			return true
		}
	}
	return false
}

// Resolver looks up host names; *net.Resolver implements it.
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Network is how the probes reach a remote. The zero value uses the real
// network, the system roots and the wall clock.
type Network struct {
	// Resolver defaults to net.DefaultResolver.
	Resolver Resolver
	// Dial defaults to a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Roots verify the remote's certificate as the local cluster would;
	// nil means the system roots (ECH's remote cluster server has a
	// publicly trusted certificate).
	Roots *x509.CertPool
	// Now is the clock for certificate expiry (default time.Now).
	Now func() time.Time
	// Timeout bounds each probe (default 5s).
	Timeout time.Duration
	// Resolve pins host names to addresses, like curl --resolve: the DNS
	// probe answers the pinned address and the TCP and TLS probes dial it
	// (an SSH tunnel, a port forward, a test world). The server name sent
	// is unchanged.
	Resolve map[string]string
}

func (n Network) timeout() time.Duration {
	if n.Timeout > 0 {
		return n.Timeout
	}
	return 5 * time.Second
}

func (n Network) dial(ctx context.Context, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, n.timeout())
	defer cancel()
	if host, port, err := net.SplitHostPort(addr); err == nil {
		if pinned, ok := n.Resolve[strings.ToLower(host)]; ok {
			addr = net.JoinHostPort(pinned, port)
		}
	}
	if n.Dial != nil {
		return n.Dial(ctx, "tcp", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// ProbeDNS resolves the host of addr.
func (n Network) ProbeDNS(ctx context.Context, addr string) Step {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return Step{Name: StepDNS, Status: Problem, Cause: CauseNotConfigured,
			Evidence: fmt.Sprintf("%q is not host:port", addr), Fix: "set proxy_address to host:port"}
	}
	if net.ParseIP(host) != nil {
		return Step{Name: StepDNS, Status: OK, Evidence: host + " is an IP address"}
	}
	if pinned, ok := n.Resolve[strings.ToLower(host)]; ok {
		return Step{Name: StepDNS, Status: OK, Evidence: host + " is pinned to " + pinned + " (--resolve); DNS not asked"}
	}
	r := n.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, n.timeout())
	defer cancel()
	ips, err := r.LookupHost(ctx, host)
	if err != nil || len(ips) == 0 {
		return Step{Name: StepDNS, Status: Problem, Cause: CauseDNS,
			Evidence: fmt.Sprintf("%s does not resolve: %v", host, err),
			Fix:      "check the host of proxy_address (the remote deployment's endpoint) and the resolver of the local nodes"}
	}
	return Step{Name: StepDNS, Status: OK, Evidence: host + " resolves to " + strings.Join(ips, ", ")}
}

// ProbeTCP opens and closes a TCP connection to addr.
func (n Network) ProbeTCP(ctx context.Context, addr string) Step {
	c, err := n.dial(ctx, addr)
	if err != nil {
		return Step{Name: StepTCP, Status: Problem, Cause: CauseUnreachable,
			Evidence: fmt.Sprintf("connect to %s: %v", addr, unwrapOp(err)),
			Fix:      "check the port, that the remote cluster server is enabled (remote_cluster_server.enabled, 9443) and that firewalls or traffic filters let the local cluster in"}
	}
	c.Close()
	return Step{Name: StepTCP, Status: OK, Evidence: "connected to " + addr}
}

func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

// ProbeTLS performs a TLS handshake with addr, sending serverName as SNI,
// and checks what the local cluster would: the chain against n.Roots, the
// SANs against serverName and the validity dates. security ("api_key" or
// "certificate") decides whether a server asking for a client certificate
// (the transport interface) is a wrong port.
func (n Network) ProbeTLS(ctx context.Context, addr, serverName, security string) Step {
	host, _, _ := net.SplitHostPort(addr)
	if serverName == "" {
		serverName = host
	}
	now := time.Now
	if n.Now != nil {
		now = n.Now
	}
	raw, err := n.dial(ctx, addr)
	if err != nil {
		return Step{Name: StepTLS, Status: Skipped, Evidence: "no TCP connection: " + unwrapOp(err).Error()}
	}
	defer raw.Close()
	askedClientCert := false
	cfg := &tls.Config{
		ServerName: serverName,
		// Verification is done below, by hand, so that every problem of
		// the chain is named instead of the first error tls returns.
		InsecureSkipVerify: true, //nolint:gosec // verified in verifyChain
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			askedClientCert = true
			return &tls.Certificate{}, nil
		},
	}
	conn := tls.Client(raw, cfg)
	ctx, cancel := context.WithTimeout(ctx, n.timeout())
	defer cancel()
	herr := conn.HandshakeContext(ctx)
	if herr == nil && askedClientCert {
		// TLS 1.3: a server that requires the certificate says so on the
		// first read, after the client's handshake finished.
		_ = conn.SetReadDeadline(time.Now().Add(n.timeout()))
		_, herr = conn.Read(make([]byte, 1))
		if herr != nil && (errors.Is(herr, context.DeadlineExceeded) || isTimeout(herr)) {
			herr = nil
		}
	}
	state := conn.ConnectionState()
	if askedClientCert {
		issuer := ""
		if len(state.PeerCertificates) > 0 {
			issuer = " (certificate issued by " + state.PeerCertificates[0].Issuer.String() + ")"
		}
		if security == "api_key" || herr != nil {
			return Step{Name: StepTLS, Status: Problem, Cause: CauseWrongPort,
				Evidence: addr + " asked for a client certificate (mutual TLS): that is the transport interface, not the remote cluster server" + issuer,
				Fix:      "point proxy_address at the remote cluster server port 9443 (API key) or the ECH/ECE proxy on 9400 (certificate), not the transport port"}
		}
	}
	if herr != nil && len(state.PeerCertificates) == 0 {
		return Step{Name: StepTLS, Status: Problem, Cause: CauseTLSUntrusted,
			Evidence: fmt.Sprintf("TLS handshake with %s (SNI %s) failed: %v", addr, serverName, herr),
			Fix:      "check that the address names a TLS endpoint of the remote cluster (9443 or 9400) and that server_name is a valid host name"}
	}
	return verifyChain(state.PeerCertificates, serverName, n.Roots, now())
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// verifyChain checks a presented chain the way the local cluster would,
// naming the first problem: expiry, then the issuer, then the SANs.
func verifyChain(chain []*x509.Certificate, serverName string, roots *x509.CertPool, now time.Time) Step {
	leaf := chain[0]
	desc := fmt.Sprintf("certificate %q issued by %q, valid %s to %s, SANs [%s]",
		leaf.Subject.CommonName, leaf.Issuer.CommonName, leaf.NotBefore.UTC().Format(time.DateOnly),
		leaf.NotAfter.UTC().Format(time.DateOnly), strings.Join(sans(leaf), ", "))
	if strings.Contains(leaf.Issuer.CommonName, "Transport CA") {
		return Step{Name: StepTLS, Status: Problem, Cause: CauseWrongPort, Evidence: desc + ": that is the transport certificate",
			Fix: "point proxy_address at port 9443 (API key) or 9400 (certificate on ECH/ECE), not the transport port"}
	}
	if now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return Step{Name: StepTLS, Status: Problem, Cause: CauseTLSExpired, Evidence: desc + ": not valid at " + now.UTC().Format(time.RFC3339),
			Fix: "renew the remote's certificate (its remote cluster server or proxy certificate)"}
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now}); err != nil {
		return Step{Name: StepTLS, Status: Problem, Cause: CauseTLSUntrusted, Evidence: desc + ": the issuer is not trusted (" + err.Error() + ")",
			Fix: "give the local cluster the remote's CA (trusted environment for the certificate model, xpack.security.remote_cluster_client.ssl.certificate_authorities for API keys)"}
	}
	if err := leaf.VerifyHostname(serverName); err != nil {
		return Step{Name: StepTLS, Status: Problem, Cause: CauseTLSHostname, Evidence: desc + ": no SAN matches server name " + serverName,
			Fix: "set server_name to a name the certificate holds (on ECH/ECE the deployment's endpoint), or reissue the certificate with it"}
	}
	return Step{Name: StepTLS, Status: OK, Evidence: desc + ": trusted, matches " + serverName}
}

func sans(c *x509.Certificate) []string {
	out := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	return out
}

// SplitPort returns the host and port of an address; port 0 when missing.
func SplitPort(addr string) (string, int) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	port, _ := strconv.Atoi(p)
	return host, port
}
