package doctor

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"
)

// RemoteNetwork is the network the doctor's probes see in the world
// tests: every name resolves to loopback and every dial reaches one TLS
// server that presents a certificate for endpoint, issued by a CA the
// probes trust, valid around the real clock (the world's). It stands for a
// remote that is reachable from the admin host, so what the doctor finds
// comes from the clusters.
func RemoteNetwork(t *testing.T, endpoint string) Network {
	t.Helper()
	at := time.Now()
	c := newCAAt(t, "ECE proxy CA", at)
	addr := serve(t, &tls.Config{Certificates: []tls.Certificate{c.leaf(t, []string{endpoint}, at.Add(-time.Hour), at.Add(24*time.Hour))}})
	return Network{Resolver: loopback{}, Roots: c.pool(),
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
}

// loopback resolves every name to 127.0.0.1.
type loopback struct{}

func (loopback) LookupHost(context.Context, string) ([]string, error) {
	return []string{"127.0.0.1"}, nil
}
