// Package sim is the simulated Elastic world of DESIGN §7: Elasticsearch
// clusters, the ECH and ECE control planes and the remote-cluster links
// between them, served over HTTP on 127.0.0.1. It is a product feature
// (`esremote sim`, `esremote demo`) and the fake every test and benchmark
// talks to, so it follows the reference facts (es-api.md, cloud-api.md),
// never esremote's own client structs: it imports no esremote package.
//
// A World holds the state; Start serves it:
//
//	w := sim.DefaultWorld()
//	srv, err := sim.Start(ctx, w)
//	defer srv.Close()
//	url, key := srv.ClusterURL("ech-analytics"), srv.AdminAPIKey("ech-analytics")
//
// Go methods on World make out-of-band edits (SetSetting, SetKeystore,
// SetTrust, InvalidateKey, …), inject faults (AddFault), read the request
// log (Requests, RequestCounts) and explain links (LinkStatus). README.md
// documents the world file, the endpoints, the connectivity model and the
// admin API; docs/sim.md is the table of every modelled behaviour and the
// upstream Elasticsearch source it follows (each function that models one
// cites it too). Like real Elasticsearch, the world is slow, asynchronous
// and only partly observable: _remote/info.connected is socket state, a
// keystore change on a deployment loads later, and a settings PUT waits
// for the connections it changes.
package sim
