package sim

import "time"

// Delays are the slow parts of the real platforms that a world can model
// and a test could be tempted to leave out.
type Delays struct {
	// ConnectWait is connect_wait (see WorldSpec): how long a settings PUT
	// waits per alias whose connection attempt reaches nothing.
	ConnectWait time.Duration
	// KeystoreReloadDelay is keystore_reload_delay (see ClusterSpec): how
	// long a deployment's platform takes to load a keystore change.
	KeystoreReloadDelay time.Duration
}

// UserDelays are the delays users get: `esremote sim` and `esremote demo`
// serve their worlds with them, and the test harnesses start from them,
// so that a test sees what a user trying a spec on the sim sees.
//
//   - ConnectWait 10 s: RemoteClusterService.updateRemoteCluster(String,
//     Settings) blocks the applier on latch.await(10, TimeUnit.SECONDS)
//     per alias (see World.connectWait; upstream does not bound the
//     attempt itself, so the full wait, the harsher side).
//   - KeystoreReloadDelay 2 s: ECH and ECE load a keystore change on their
//     own schedule after the Cloud API answered (reference cloud-api.md
//     §5); upstream documents no figure, so a short one that still makes
//     every keystore write asynchronous, as it is on the platforms.
var UserDelays = Delays{ConnectWait: 10 * time.Second, KeystoreReloadDelay: 2 * time.Second}

// Fill gives w the delays of d that its world file (or an earlier Set*
// call) left unset: connect_wait when the world did not set it, and
// keystore_reload_delay on every deployment whose nodes all load at once
// and whose world file gave neither keystore_reload_delay nor
// keystore_load_delays. Call it before Start; to run a world faster than
// users get it, set the delay after Fill (SetConnectWait,
// SetKeystoreReloadDelay), saying why.
func (d Delays) Fill(w *World) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.connectWaitOK {
		w.connectWaitD, w.connectWaitOK = d.ConnectWait, true
	}
	for _, name := range w.order {
		c := w.clusters[name]
		if !c.isDeployment() || c.KeystoreReloadDelay != "" || len(c.KeystoreLoadDelays) > 0 {
			continue
		}
		set := false
		for _, n := range c.nodes {
			set = set || n.delay != 0
		}
		if set {
			continue
		}
		for _, n := range c.nodes {
			n.delay = d.KeystoreReloadDelay
		}
	}
}

// Set gives w the delays of d whatever it held: connect_wait, and
// keystore_reload_delay on every deployment. Delays{}.Set(w) is the fast
// world a test asks for explicitly.
func (d Delays) Set(w *World) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.connectWaitD, w.connectWaitOK = d.ConnectWait, true
	for _, name := range w.order {
		if c := w.clusters[name]; c.isDeployment() {
			for _, n := range c.nodes {
				n.delay = d.KeystoreReloadDelay
			}
		}
	}
}
