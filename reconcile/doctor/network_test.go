package doctor

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// now is the tests' clock: certificates are valid around it.
var now = time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)

type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t *testing.T, cn string) *ca {
	t.Helper()
	return newCAAt(t, cn, now)
}

// newCAAt makes a CA valid for a year either side of at.
func newCAAt(t *testing.T, cn string, at time.Time) *ca {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: at.Add(-365 * 24 * time.Hour), NotAfter: at.Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &ca{cert: cert, key: key}
}

func (c *ca) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.cert)
	return p
}

// leaf issues a server certificate for sans, valid from nb to na.
func (c *ca) leaf(t *testing.T, sans []string, nb, na time.Time) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: sans[0]}, DNSNames: sans,
		NotBefore: nb, NotAfter: na, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der, c.cert.Raw}, PrivateKey: key}
}

// serve runs a TLS server on loopback until the test ends; it returns its
// address.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if err := c.(*tls.Conn).Handshake(); err != nil {
					return
				}
				_, _ = c.Read(make([]byte, 1))
			}()
		}
	}()
	return ln.Addr().String()
}

const remoteName = "abc123.192.168.44.10.ip.es.io"

func TestProbeTLS(t *testing.T) {
	good := newCA(t, "Elastic Cloud Enterprise Proxy CA")
	other := newCA(t, "Someone Else CA")
	transport := newCA(t, "Elastic Auto Transport CA")
	valid := func(c *ca, sans ...string) tls.Certificate {
		return c.leaf(t, sans, now.Add(-time.Hour), now.Add(90*24*time.Hour))
	}
	cases := []struct {
		name     string
		server   *tls.Config
		security string
		status   Status
		cause    string
		evidence string
	}{
		{"healthy", &tls.Config{Certificates: []tls.Certificate{valid(good, remoteName)}}, "api_key", OK, "",
			"trusted, matches " + remoteName},
		{"wrong SAN", &tls.Config{Certificates: []tls.Certificate{valid(good, "other.example.com")}}, "api_key", Problem, CauseTLSHostname,
			"SANs [other.example.com]: no SAN matches server name " + remoteName},
		{"expired", &tls.Config{Certificates: []tls.Certificate{good.leaf(t, []string{remoteName}, now.Add(-100*24*time.Hour), now.Add(-24*time.Hour))}}, "api_key", Problem, CauseTLSExpired,
			"valid 2026-08-18 to 2026-11-25"},
		{"unknown issuer", &tls.Config{Certificates: []tls.Certificate{valid(other, remoteName)}}, "api_key", Problem, CauseTLSUntrusted,
			`issued by "Someone Else CA"`},
		{"transport port, mutual TLS", &tls.Config{Certificates: []tls.Certificate{valid(transport, remoteName)}, ClientAuth: tls.RequireAnyClientCert}, "api_key", Problem, CauseWrongPort,
			"asked for a client certificate (mutual TLS)"},
		{"transport certificate", &tls.Config{Certificates: []tls.Certificate{valid(transport, remoteName)}}, "certificate", Problem, CauseWrongPort,
			"that is the transport certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := serve(t, tc.server)
			n := Network{Roots: good.pool(), Now: func() time.Time { return now }, Timeout: 5 * time.Second}
			s := n.ProbeTLS(context.Background(), addr, remoteName, tc.security)
			if s.Status != tc.status || s.Cause != tc.cause || !strings.Contains(s.Evidence, tc.evidence) {
				t.Fatalf("got %s %s %q\nwant %s %s containing %q", s.Status, s.Cause, s.Evidence, tc.status, tc.cause, tc.evidence)
			}
			if tc.status == Problem && s.Fix == "" {
				t.Fatalf("problem without a fix: %+v", s)
			}
		})
	}
}

func TestProbeDNSAndTCP(t *testing.T) {
	n := Network{Resolver: fakeResolver{"remote.example.com": {"192.0.2.7"}}}
	if s := n.ProbeDNS(context.Background(), "remote.example.com:9443"); s.Status != OK || !strings.Contains(s.Evidence, "192.0.2.7") {
		t.Fatalf("resolvable host: %+v", s)
	}
	if s := n.ProbeDNS(context.Background(), "typo.example.com:9443"); s.Status != Problem || s.Cause != CauseDNS {
		t.Fatalf("unknown host: %+v", s)
	}
	// A port nobody listens on: take one, then close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if s := n.ProbeTCP(context.Background(), addr); s.Status != OK {
		t.Fatalf("listening port: %+v", s)
	}
	ln.Close()
	if s := n.ProbeTCP(context.Background(), addr); s.Status != Problem || s.Cause != CauseUnreachable {
		t.Fatalf("closed port: %+v", s)
	}
}

type fakeResolver map[string][]string

func (f fakeResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	if ips, ok := f[host]; ok {
		return ips, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func TestCheckPort(t *testing.T) {
	cases := []struct {
		security string
		port     int
		cloud    bool
		ok       bool
	}{
		{"api_key", 9443, true, true},
		{"api_key", 9300, true, false},
		{"api_key", 9400, true, false},
		{"certificate", 9400, true, true},
		{"certificate", 9300, true, false},
		{"certificate", 9300, false, true},
		{"certificate", 9443, false, false},
	}
	for _, tc := range cases {
		ok, ev, fix := CheckPort(tc.security, tc.port, tc.cloud)
		if ok != tc.ok || (!ok && (ev == "" || fix == "")) {
			t.Errorf("CheckPort(%s, %d, cloud=%t) = %t %q %q", tc.security, tc.port, tc.cloud, ok, ev, fix)
		}
	}
}

// Every failure signature of anchors.md §5.2 maps to its cause.
func TestMatch(t *testing.T) {
	cases := map[string]string{
		"remote cluster handshake action requires channel profile to be [_remote_cluster], but got [default]": CauseWrongPort,
		"action [cluster:internal/remote_cluster/handshake] is unauthorized for user [anonymous_foo]":         CauseWrongPort,
		"failed to establish trust with server; issuer CN=Elastic Auto Transport CA":                          CauseWrongPort,
		"SSLHandshakeException: Received fatal alert: bad_certificate":                                        CauseWrongPort,
		"Empty client certificate chain": CauseWrongPort,
		"Cross cluster requests through the dedicated remote cluster server port require transport header [_cross_cluster_access_credentials] but none found. Make sure you have configured remote": CauseNoCredentials,
		"authentication expected API key type of [cross_cluster], but API key [abc] has type [rest]":                                                                                                CauseWrongKeyType,
		"[ApiKeyAuthenticator] Authentication using apikey failed - invalid credentials for API key [abc]":                                                                                          CauseKeyInvalid,
		"unable to authenticate user [abc] for action [cluster:internal/remote_cluster/handshake]":                                                                                                  CauseKeyInvalid,
		"action [indices:data/read/search] towards remote cluster is unauthorized for user [foo]":                                                                                                   CausePrivileges,
		"because no remote indices privileges apply for the target cluster":                                                                                                                         CauseNoRemoteIndices,
		"no such remote cluster: [x]": CauseUnknownAlias,
		"[DiagnosticTrustManager] failed to establish trust with server at [x]; PKIX path building failed":      CauseTLSUntrusted,
		"client did not trust this server's certificate, closing connection":                                    CauseNotTrustedByRemote,
		"[ProxyConnectionStrategy] failed to open any proxy connections to cluster [my]: connect_exception":     CauseUnreachable,
		"[SniffConnectionStrategy] fetching nodes from external cluster [my] failed":                            CauseUnreachable,
		"transport connection to [node] closed by remote":                                                       CauseUnreliable,
		"authentication via API key not supported: An API key cannot be used to create a cross-cluster API key": CauseKeyCreateCredential,
	}
	for text, want := range cases {
		k, ok := Match(text)
		if !ok || k.Cause != want || k.Fix == "" {
			t.Errorf("Match(%q) = %+v %t, want cause %s", text, k, ok, want)
		}
	}
	if _, ok := Match("all good"); ok {
		t.Error("matched an unknown text")
	}
}
