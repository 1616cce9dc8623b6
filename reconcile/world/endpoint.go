package world

import "net/url"

// URLEndpoint is the endpoint named by the host of an Elasticsearch URL
// (zero when the URL does not parse): the last resort for a remote without
// a deployment, whose REST host is rarely its remote-cluster host
// (decide.EndpointOf).
func URLEndpoint(rawURL string) Endpoint {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Endpoint{}
	}
	return Endpoint{Host: u.Hostname(), ServerName: u.Hostname()}
}
