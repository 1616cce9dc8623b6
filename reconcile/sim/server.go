package sim

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Server serves a World: one HTTP server per cluster, one per control
// plane and one admin server, all on 127.0.0.1.
type Server struct {
	// World is the served world; its Go methods and the servers share state.
	World *World

	addrs      Addresses
	servers    []*http.Server
	done       chan struct{}
	caPEM      []byte
	certPool   *x509.CertPool
	adminToken string
	closeOnce  sync.Once
	// faultHook, when set (tests), is called as a fault starts acting.
	faultHook func(FaultKind)
	wg        sync.WaitGroup
}

// Option configures Start.
type Option func(*options)

type options struct{ tls bool }

// WithTLS serves every endpoint over HTTPS with certificates for
// 127.0.0.1 and localhost from a CA generated in-process (CACertPEM).
func WithTLS() Option { return func(o *options) { o.tls = true } }

// Addresses names every endpoint of a running world and the credential
// to use with it; `esremote sim` prints it and writes it to --addr-file.
type Addresses struct {
	Clusters      map[string]ClusterAddress      `json:"clusters"`
	ControlPlanes map[string]ControlPlaneAddress `json:"control_planes"`
	Admin         AdminAddress                   `json:"admin"`
	// CAFile is the CA of the HTTPS endpoints (set by whoever writes it).
	CAFile string `json:"ca_file,omitempty"`
}

// ClusterAddress is one cluster's URL and facts.
type ClusterAddress struct {
	URL string `json:"url"`
	ClusterInfo
}

// ControlPlaneAddress is one control plane's URL and credentials.
type ControlPlaneAddress struct {
	URL            string `json:"url"`
	APIKey         string `json:"api_key"`
	Username       string `json:"username,omitempty"`
	Password       string `json:"password,omitempty"`
	OrganizationID string `json:"organization_id,omitempty"`
	EnvironmentID  string `json:"environment_id,omitempty"`
	Region         string `json:"region,omitempty"`
}

// AdminAddress is the admin API (faults, edits, state, log); send
// `Authorization: Bearer <token>`.
type AdminAddress struct {
	URL   string `json:"url"`
	Token string `json:"token"`
}

// Start serves w until ctx is done or Close is called.
func Start(ctx context.Context, w *World, opts ...Option) (*Server, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	s := &Server{
		World: w, done: make(chan struct{}), adminToken: randomString(32),
		addrs: Addresses{Clusters: map[string]ClusterAddress{}, ControlPlanes: map[string]ControlPlaneAddress{}},
	}
	var tlsCfg *tls.Config
	if o.tls {
		cfg, caPEM, err := serverTLS()
		if err != nil {
			return nil, fmt.Errorf("generate sim tls: %w", err)
		}
		tlsCfg, s.caPEM = cfg, caPEM
		s.certPool = x509.NewCertPool()
		s.certPool.AppendCertsFromPEM(caPEM)
	}
	listen := func(h http.Handler) (string, error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", fmt.Errorf("listen: %w", err)
		}
		scheme := "http"
		if tlsCfg != nil {
			ln = tls.NewListener(ln, tlsCfg)
			scheme = "https"
		}
		hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
		s.servers = append(s.servers, hs)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			_ = hs.Serve(ln)
		}()
		return scheme + "://" + ln.Addr().String(), nil
	}
	for _, name := range w.Clusters() {
		mux := http.NewServeMux()
		h := &esHandler{w: w, name: name}
		h.routes(s.adder(mux, name, true))
		url, err := listen(mux)
		if err != nil {
			s.Close()
			return nil, err
		}
		info, _ := w.Cluster(name)
		s.addrs.Clusters[name] = ClusterAddress{URL: url, ClusterInfo: info}
	}
	w.mu.Lock()
	platforms := make([]string, 0, len(w.controlPlanes))
	for p := range w.controlPlanes {
		platforms = append(platforms, p)
	}
	w.mu.Unlock()
	for _, p := range platforms {
		mux := http.NewServeMux()
		h := &cloudHandler{w: w, platform: p}
		h.routes(s.adder(mux, p, false))
		url, err := listen(mux)
		if err != nil {
			s.Close()
			return nil, err
		}
		w.mu.Lock()
		cp := w.controlPlanes[p]
		a := ControlPlaneAddress{URL: url, APIKey: cp.spec.APIKey}
		if p == PlatformECH {
			a.OrganizationID = cp.spec.OrganizationID
		} else {
			a.Username, a.Password = cp.spec.Username, cp.spec.Password
			a.EnvironmentID, a.Region = cp.spec.EnvironmentID, cp.spec.Region
		}
		w.mu.Unlock()
		s.addrs.ControlPlanes[p] = a
	}
	adminURL, err := listen(s.adminHandler())
	if err != nil {
		s.Close()
		return nil, err
	}
	s.addrs.Admin = AdminAddress{URL: adminURL, Token: s.adminToken}
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.done:
		}
	}()
	return s, nil
}

// Close stops every server and ends hanging requests. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		for _, hs := range s.servers {
			_ = hs.Close()
		}
		s.wg.Wait()
	})
	return nil
}

// Addresses returns every endpoint and credential (a copy).
func (s *Server) Addresses() Addresses {
	a := s.addrs
	return a
}

// ClusterURL is the base URL of a simulated cluster ("" when unknown).
func (s *Server) ClusterURL(name string) string { return s.addrs.Clusters[name].URL }

// AdminAPIKey is the encoded admin REST API key of a cluster, for
// `Authorization: ApiKey <key>` or go-elasticsearch's Config.APIKey.
func (s *Server) AdminAPIKey(name string) string { return s.addrs.Clusters[name].APIKey }

// BasicAuth is the admin user of a cluster (it may create cross-cluster keys).
func (s *Server) BasicAuth(name string) (username, password string) {
	c := s.addrs.Clusters[name]
	return c.Username, c.Password
}

// ControlPlaneURL is the base URL (without /api/v1) of "ech" or "ece".
func (s *Server) ControlPlaneURL(platform string) string { return s.addrs.ControlPlanes[platform].URL }

// ControlPlaneAPIKey is the Cloud API key of "ech" or "ece".
func (s *Server) ControlPlaneAPIKey(platform string) string {
	return s.addrs.ControlPlanes[platform].APIKey
}

// AdminURL and AdminToken address the admin API (see README.md).
func (s *Server) AdminURL() string { return s.addrs.Admin.URL }

// AdminToken is the bearer token of the admin API.
func (s *Server) AdminToken() string { return s.adminToken }

// CACertPEM is the CA of the HTTPS endpoints; nil without WithTLS.
func (s *Server) CACertPEM() []byte { return s.caPEM }

// HTTPClient returns a client that trusts the sim's CA.
func (s *Server) HTTPClient() *http.Client {
	if s.certPool == nil {
		return &http.Client{}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.certPool}}}
}

// Log returns the request log (World.Requests).
func (s *Server) Log() []Request { return s.World.Requests() }

// Fault installs a fault (World.AddFault).
func (s *Server) Fault(f Fault) (int, error) { return s.World.AddFault(f) }

// adder returns the route registration function for one target: it
// wraps every handler with the product header, faults and the request log.
func (s *Server) adder(mux *http.ServeMux, target string, es bool) func(string, http.HandlerFunc) {
	return func(pattern string, fn http.HandlerFunc) {
		mux.HandleFunc(pattern, s.wrap(target, pattern, es, fn))
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.ResponseWriter.Write(b)
}

func (s *Server) wrap(target, pattern string, es bool, fn http.HandlerFunc) http.HandlerFunc {
	endpoint := strings.TrimSuffix(pattern, "{$}")
	return func(rw http.ResponseWriter, r *http.Request) {
		entry := Request{Target: target, Method: r.Method, Path: r.URL.Path, Endpoint: endpoint, OpaqueID: r.Header.Get("X-Opaque-Id")}
		if !strings.Contains(pattern, " ") {
			entry.Endpoint = r.Method + " " + endpoint
		}
		if es {
			r = r.WithContext(context.WithValue(r.Context(), logNodeKey{}, &entry.Node))
			r = r.WithContext(context.WithValue(r.Context(), logHeldKey{}, &entry.Held))
		}
		rec := &statusRecorder{ResponseWriter: rw}
		defer func() {
			entry.Status = rec.status
			s.World.record(entry)
		}()
		if es {
			rw.Header().Set("X-Elastic-Product", "Elasticsearch")
		}
		var flags faultFlags
		for _, f := range s.World.matchFaults(target, r) {
			entry.Fault = string(f.Kind)
			if s.faultHook != nil {
				s.faultHook(f.Kind)
			}
			switch f.Kind {
			case FaultLatency:
				t := time.NewTimer(f.Latency)
				select {
				case <-t.C:
				case <-r.Context().Done():
				case <-s.done:
				}
				t.Stop()
			case FaultStatus:
				status := f.Status
				if status == 0 {
					status = 500
				}
				faultAnswer(rec, status, es)
				return
			case FaultRateLimit:
				if !es {
					rw.Header().Set("x-ratelimit-limit", "1000")
					rw.Header().Set("x-ratelimit-remaining", "0")
					rw.Header().Set("x-ratelimit-interval", "1m0s")
				} else {
					// A proxy or gateway in front of Elasticsearch may ask
					// for a pause; esremote must honour it.
					rw.Header().Set("Retry-After", "30")
				}
				faultAnswer(rec, 429, es)
				return
			case FaultReset:
				if hj, ok := rw.(http.Hijacker); ok {
					if conn, _, err := hj.Hijack(); err == nil {
						if tc, ok := conn.(*net.TCPConn); ok {
							_ = tc.SetLinger(0)
						} else if tlc, ok := conn.(*tls.Conn); ok {
							if tc, ok := tlc.NetConn().(*net.TCPConn); ok {
								_ = tc.SetLinger(0)
							}
						}
						_ = conn.Close()
					}
				}
				return
			case FaultHang:
				select {
				case <-r.Context().Done():
				case <-s.done:
				}
				return
			case FaultUnacknowledged:
				flags.unacknowledged = true
			}
		}
		fn(rec, withFaultFlags(r, flags))
	}
}

// faultAnswer writes the body the real server sends with such a status.
func faultAnswer(rw http.ResponseWriter, status int, es bool) {
	if !es {
		code, msg := "internal.server.error", "We have failed you."
		switch status {
		case 429:
			code, msg = "root.rate_limited", "Too many requests. Please retry later."
		case 503:
			code, msg = "root.service_unavailable", "The service is temporarily unavailable."
		}
		writeCloudError(rw, status, code, msg)
		return
	}
	e := &esError{status: status, typ: "exception", reason: "simulated failure"}
	switch status {
	case 429:
		e.typ, e.reason = "es_rejected_execution_exception", "rejected execution of coordinating operation"
	case 503:
		e.typ, e.reason = "master_not_discovered_exception", "no master node"
	}
	writeESError(rw, e)
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = encodeJSON(rw, v)
}

// serverTLS makes a CA and a leaf certificate for 127.0.0.1 and localhost.
func serverTLS() (*tls.Config, []byte, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now().Add(-time.Hour)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "esremote sim CA"},
		NotBefore: now, NotAfter: now.Add(10 * 365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now, NotAfter: now.Add(10 * 365 * 24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	cert := tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, caPEM, nil
}

// errAdmin marks admin requests that are the caller's fault.
var errAdmin = errors.New("bad admin request")
