package reconcile

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/observe"
	"github.com/esremote/esremote/reconcile/sim"
)

// goneConn is a second link of ech-analytics, toward an address no
// cluster answers.
const goneConn = `apiVersion: esremote/v1
kind: Connection
name: to-gone
local: ech-analytics
alias: gone
remote: {proxy_address: "gone.example.com:9300", server_name: gone.example.com}
security: certificate
`

// boundedWorld is the flagship pair on version v with a second link of
// ech-analytics toward a black hole, both applied; then the black hole
// holds every connection attempt 5 s, far past the request timeout of
// the reconciler it returns (600 ms).
func boundedWorld(t *testing.T, v string) (*testWorld, *Reconciler) {
	t.Helper()
	tw, _ := flagshipWorld(t, v)
	tw.write("gone.yaml", goneConn)
	tw.pass(ModeApply)
	tw.srv.World.SetConnectWait(5 * time.Second)
	r := tw.reconciler(true)
	r.opts.RequestTimeout = 600 * time.Millisecond
	return tw, r
}

// One black-holed remote does not blind the other links of its cluster:
// on a version without ?timeout= the request for every alias times out and
// each alias is asked on its own; from 8.18 ?timeout= bounds the remote
// that does not answer. Either way the flagship link is judged (its key
// proven by its canary) while the black hole's link alone is unknown. On
// a fail-fast release the request does not wait for the black hole at all.
func TestBlackHoledRemoteLeavesOtherLinksJudged(t *testing.T) {
	for _, v := range []string{"8.16.2", "8.17.2", "8.17.4", "9.4.2"} {
		t.Run(v, func(t *testing.T) {
			tw, r := boundedWorld(t, v)
			tw.srv.World.ResetLog()
			res, err := r.Pass(context.Background(), tw.load(), ModePlan, "")
			if err != nil {
				t.Fatal(err)
			}
			rep := res.Report(drift.TriggerPlan, "")
			flag := findConn(t, rep, "analytics-to-ece-logs")
			if flag.Health != drift.HealthConnected || flag.Evidence == nil || !strings.Contains(flag.Evidence.Answer, "uses key") {
				t.Errorf("%s: the flagship link beside a black hole: health %s, evidence %+v", v, flag.Health, flag.Evidence)
			}
			gone := findConn(t, rep, "to-gone")
			switch {
			case failsFast[v]:
				if gone.Health != drift.HealthDisconnected {
					t.Errorf("%s (fails fast): the black hole's link is %s, want disconnected: %+v", v, gone.Health, gone.Evidence)
				}
			case gone.Health != drift.HealthUnknown:
				t.Errorf("%s: the black hole's link is %s, want unknown: %+v", v, gone.Health, gone.Evidence)
			}
			// From 8.18 the server bounded the black hole (?timeout=); before,
			// the client did, asking the alias on its own. (An old version
			// sent ?timeout= would refuse the whole request with a 400, and
			// the flagship link would be unknown.)
			if observe.SemanticsOf(v).HasTimeout() && (gone.Evidence == nil || !strings.Contains(gone.Evidence.Answer, "?timeout=")) {
				t.Errorf("%s: the black hole's evidence does not come from ?timeout=: %+v", v, gone.Evidence)
			}
		})
	}
}

// A fault that hangs the evidence request naming one alias (the sim's
// hang fault, on every version): the request for all times out, and each
// alias asked on its own leaves only the hung one unknown.
func TestHungEvidenceRequestIsSplitPerAlias(t *testing.T) {
	for _, v := range []string{"8.16.2", "9.4.2"} {
		t.Run(v, func(t *testing.T) {
			tw, r := boundedWorld(t, v)
			tw.srv.World.SetConnectWait(0)
			if _, err := tw.srv.World.AddFault(sim.Fault{Target: "ech-analytics", Path: "/_resolve/cluster/*gone:*", Kind: sim.FaultHang}); err != nil {
				t.Fatal(err)
			}
			res, err := r.Pass(context.Background(), tw.load(), ModePlan, "")
			if err != nil {
				t.Fatal(err)
			}
			rep := res.Report(drift.TriggerPlan, "")
			if c := findConn(t, rep, "analytics-to-ece-logs"); c.Health != drift.HealthConnected {
				t.Errorf("%s: the flagship link beside a hung alias: health %s, evidence %+v", v, c.Health, c.Evidence)
			}
			if c := findConn(t, rep, "to-gone"); c.Health != drift.HealthUnknown {
				t.Errorf("%s: the hung alias's link: health %s, evidence %+v", v, c.Health, c.Evidence)
			}
		})
	}
}
