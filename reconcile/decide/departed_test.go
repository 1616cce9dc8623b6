package decide

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/reconcile/ledger"
	"github.com/esremote/esremote/spec"
)

// TestDecideDeparted is the departed family's table: what the ledger still
// owns on a cluster that left the specs is named (unreachable_owned) or,
// for a managed key whose connection and local both left, invalidated on
// its remote; a cluster still declared, or owning nothing, gets nothing.
func TestDecideDeparted(t *testing.T) {
	key := &ledger.KeyRecord{Local: "gone", Alias: "a", Remote: "r", ID: "k1", Name: "esremote-c"}
	for _, tc := range []struct {
		name     string
		clusters []string // declared
		conns    []string // declared
		ledger   func(*ledger.Ledger) error
		want     []string
	}{
		{"nothing owned", []string{"r"}, nil, func(*ledger.Ledger) error { return nil }, nil},
		{"still declared", []string{"gone", "r"}, nil, func(l *ledger.Ledger) error {
			return l.SetAlias("gone", "a", "c", map[string]string{"cluster.remote.a.mode": "x"}, false, time.Unix(0, 0))
		}, nil},
		{"alias and role left behind", []string{"r"}, nil, func(l *ledger.Ledger) error {
			if err := l.SetAlias("gone", "a", "c", map[string]string{"cluster.remote.a.mode": "x"}, false, time.Unix(0, 0)); err != nil {
				return err
			}
			return l.SetRole("gone", "reader", &ledger.Record{Fingerprint: "sha256:x", Connection: "c"})
		}, []string{"gone: error unreachable_owned: cluster gone left the specs, but esremote still owns 1 alias (a), 1 role (reader)"}},
		{"key of a removed connection", []string{"r"}, nil, func(l *ledger.Ledger) error { return l.SetKey("c", key) },
			[]string{"gone: api_key delete r esremote-c (k1)"}},
		{"key of a connection still declared", []string{"r"}, []string{"c"}, func(l *ledger.Ledger) error { return l.SetKey("c", key) }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			led, err := ledger.OpenStore(nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.ledger(led); err != nil {
				t.Fatal(err)
			}
			set := &spec.Set{}
			for _, c := range tc.clusters {
				set.Clusters = append(set.Clusters, &spec.Cluster{Name: c})
			}
			for _, c := range tc.conns {
				set.Connections = append(set.Connections, &spec.Connection{Name: c, Local: "gone"})
			}
			var got []string
			for _, cp := range Departed(set, led) {
				if cp.Err != nil {
					msg, _, _ := strings.Cut(cp.Err.Error(), " there and")
					got = append(got, cp.Local+": error "+msg)
				}
				for _, d := range cp.Deletions {
					for _, ch := range d.Changes {
						got = append(got, fmt.Sprintf("%s: %s %s %s %s", cp.Local, ch.Resource, ch.Action, ch.Target, ch.Key))
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("%q\nwant %q", got, tc.want)
			}
			if again := Departed(set, led); !reflect.DeepEqual(again, Departed(set, led)) {
				t.Fatal("Departed is not deterministic")
			}
		})
	}
}
