package reconcile

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// estate is a world of n self-managed local clusters, each with one
// connection to a shared hub.
func estate(t testing.TB, n int) *testWorld {
	spec := sim.WorldSpec{Clusters: []sim.ClusterSpec{{Name: "hub", Version: "8.19.3", Platform: "self-managed"}}}
	for i := range n {
		spec.Clusters = append(spec.Clusters, sim.ClusterSpec{Name: fmt.Sprintf("local-%03d", i), Version: "8.19.3", Platform: "self-managed"})
	}
	w, err := sim.NewWorld(spec)
	if err != nil {
		t.Fatal(err)
	}
	tw := newTestWorld(t.(*testing.T), w)
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: esremote/v1\nkind: Connection\nname: link-%03d\nlocal: local-%03d\nalias: hub\nremote:\n  proxy_address: hub.sim:9400\n  server_name: hub.sim\nsecurity: certificate\nsettings:\n  skip_unavailable: true\n", i, i)
	}
	tw.write("links.yaml", b.String())
	return tw
}

// A steady-state pass sends exactly the reads of DESIGN §5 to every local
// cluster — GET /, GET /_cluster/settings, GET /_remote/info — and nothing
// else: no write, no per-alias request.
func TestSteadyStateRequests(t *testing.T) {
	for _, n := range []int{1, 10, 50, 200} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			if n == 200 && testing.Short() {
				t.Skip("-short")
			}
			tw := estate(t, n)
			r := tw.reconciler(false)
			r.opts.VerifyTimeout = time.Millisecond
			if _, err := r.Pass(t.Context(), tw.load(), ModeApply, ""); err != nil {
				t.Fatal(err)
			}
			tw.srv.World.ResetLog()
			res, err := r.Pass(t.Context(), tw.load(), ModeRun, "")
			if err != nil {
				t.Fatal(err)
			}
			if rep := res.Report(drift.TriggerResync, ""); rep.PendingChanges() != 0 || rep.Summary.InSync != n {
				t.Fatalf("not in sync: %+v", rep.Summary)
			}
			per := map[string][]string{}
			for _, req := range tw.srv.Log() {
				per[req.Target] = append(per[req.Target], req.Endpoint)
			}
			if len(per) != n {
				t.Fatalf("%d targets were asked, want the %d locals: %v", len(per), n, per)
			}
			want := []string{"GET /", "GET /_cluster/settings", "GET /_remote/info"}
			for target, got := range per {
				sort.Strings(got)
				if strings.Join(got, ",") != strings.Join(want, ",") {
					t.Fatalf("%s got %v, want exactly %v", target, got, want)
				}
			}
		})
	}
}
