package observe

// The evidence request by version (DESIGN §5 "Versions matter"; es-api.md
// §15). A local cluster's version, from the pass's GET /, selects how its
// _resolve/cluster answer is read (Judge) and how it is asked
// (resolveBounded):
//
//   - up to 8.16.2, and 8.17.0, a remote's security refusal is reported
//     connected:true with the exception's message as error
//     (TransportResolveClusterAction before PR #119793): there the error
//     decides, since the only other connected:true error is the canary's
//     "no such index [...]" (IndexNotFoundException);
//   - 8.16.3–8.16.5 and 8.17.1–8.17.3 fail fast on a connection that is
//     down (DisconnectedStrategy.FAIL_IF_DISCONNECTED, PR #119516, reverted
//     by #124241): the answer says unavailable and the reconnect runs in
//     the background, so a remote that came back reads disconnected once.
//     Those aliases are asked once more after a pause (failFastRetry);
//   - from 8.18.0 the request takes ?timeout= (PR #120542): a remote that
//     does not answer in time is its own entry, connected:false with
//     REMOTE_CONNECTION_TIMEOUT_ERROR, and the other entries are answered.

import "github.com/esremote/esremote/reconcile/world"

// Semantics is what a local cluster's version says about its
// _resolve/cluster.
type Semantics struct {
	v     world.Version
	known bool
}

// SemanticsOf reads a version as GET / reported it; an unreadable one is
// unknown, and unknown takes the harsher reading where they differ.
func SemanticsOf(raw string) Semantics {
	v, err := world.ParseVersion(raw)
	return Semantics{v: v, known: err == nil}
}

func (s Semantics) within(from, to [3]int) bool {
	return s.known && s.v.AtLeast(from[0], from[1], from[2]) && !s.v.AtLeast(to[0], to[1], to[2]+1)
}

// RefusalConnected: a refusal is connected:true with the error (every
// release before 8.16.3, and 8.17.0; PR #119793 and its backports). An
// unknown version is read this way: then the error decides, which is
// right on every version (a connected:true entry's error is either a
// refusal or the canary's "no such index").
func (s Semantics) RefusalConnected() bool {
	return !s.known || !s.v.AtLeast(8, 16, 3) || s.within([3]int{8, 17, 0}, [3]int{8, 17, 0})
}

// FailFast: the releases that report a dropped connection unavailable
// and reconnect behind the answer (PR #119516 in 8.16.3 and 8.17.1;
// reverted in 8.16.6 and 8.17.4 by PR #124241; never in 8.18).
func (s Semantics) FailFast() bool {
	return s.within([3]int{8, 16, 3}, [3]int{8, 16, 5}) || s.within([3]int{8, 17, 1}, [3]int{8, 17, 3})
}

// HasTimeout: ?timeout= exists (8.18.0+, PR #120542); older versions
// refuse the unknown parameter with a 400.
func (s Semantics) HasTimeout() bool { return s.known && s.v.AtLeast(8, 18, 0) }

// SameRequest reports whether a cluster of semantics o is asked the
// request s asks: the same bounds (?timeout= or not) and the same
// fail-fast retry. An early request asked by the version of the last pass
// (AskEarly) is used only when the version read now agrees.
func (s Semantics) SameRequest(o Semantics) bool {
	return s.HasTimeout() == o.HasTimeout() && s.FailFast() == o.FailFast()
}

// name is the local cluster's version as a user reads it.
func (s Semantics) name() string {
	if !s.known {
		return "an unknown version"
	}
	return "Elasticsearch " + s.v.String()
}
