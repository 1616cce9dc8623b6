package spec

// Remote-cluster ports (es-api.md §10, cloud-api.md §7): the one
// definition esremote uses everywhere (validation, the desired proxy
// address, import, doctor). ECH/ECE's API has no field for the API-key
// port, so these are constants.
const (
	// PortAPIKey is the remote cluster server port (API-key model), also
	// the ECH/ECE platform proxy's port for it.
	PortAPIKey = 9443
	// PortCertificate is the ECH/ECE platform proxy's transport port
	// (certificate model).
	PortCertificate = 9400
	// PortTransport is the transport port: the certificate model toward
	// self-managed remotes only; ECH/ECE never expose it.
	PortTransport = 9300
)

// ProxyPort is the port a proxy_address uses under security model sec.
func ProxyPort(sec Security) int {
	if sec == SecurityCertificate {
		return PortCertificate
	}
	return PortAPIKey
}
