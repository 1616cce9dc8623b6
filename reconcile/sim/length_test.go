package sim

import (
	"strconv"
	"testing"
)

// Every Elasticsearch answer says its length (DefaultRestChannel
// .sendResponse sets content-length on a response that is not chunked),
// large ones included: a client sizes its read by it.
func TestAnswersCarryTheirLength(t *testing.T) {
	srv, _ := startDefault(t)
	for i := range 200 { // an answer larger than net/http's own buffer, which would send it chunked
		if err := srv.World.SetSetting("ech-analytics", "persistent", "cluster.remote.a"+strconv.Itoa(i)+".seeds", "h:9300"); err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range []string{"/", "/_remote/info", "/_cluster/settings?flat_settings=true", "/_no_such_api"} {
		r := es(t, srv, "ech-analytics", "GET", path, nil)
		if got := r.header.Get("Content-Length"); got != strconv.Itoa(len(r.body)) || len(r.body) == 0 {
			t.Errorf("GET %s: Content-Length %q, body %d bytes", path, got, len(r.body))
		}
	}
}
