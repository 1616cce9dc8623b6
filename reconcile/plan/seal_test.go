package plan

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
)

// A sealed plan opens only with the key it was sealed with and only as it
// was written; the refusal says which.
func TestPlanSeal(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	other := bytes.Repeat([]byte{2}, 32)
	doc := &Plan{Schema: Schema, CreatedAt: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), SpecDigest: "sha256:ab",
		Clusters: []Cluster{{Local: "a", Observed: map[string]string{"cluster.remote.x.mode": "proxy"},
			Connections: []Connection{{Name: "c", Changes: []Change{{Resource: drift.ResourceClusterSetting, Target: "a", Key: "cluster.remote.x.mode", Action: drift.ActionCreate, Desired: "proxy", Step: "s1"}}}}}},
		Steps: []Step{{ID: "s1", Target: "a", Kind: KindClusterSettings, Body: []byte(`{"persistent":{"cluster.remote.x.mode":"proxy"}}`),
			Precondition: &Precondition{Read: ReadSettings, Digest: "sha256:00"}}}}
	b, err := doc.Sealed(key)
	if err != nil {
		t.Fatal(err)
	}
	open := func(b []byte, key []byte) error {
		t.Helper()
		d, err := Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		return d.CheckSeal(key)
	}
	if err := open(b, key); err != nil {
		t.Fatalf("the sealed plan does not open: %v", err)
	}
	var se *SealError
	for _, tc := range []struct {
		name    string
		b       []byte
		key     []byte
		foreign bool
		says    string
	}{
		{"edited", bytes.Replace(b, []byte(`"desired": "proxy"`), []byte(`"desired": "sniff"`), 1), key, false, "changed after esremote plan wrote it"},
		{"edited step", bytes.Replace(b, []byte(`"target": "a"`), []byte(`"target": "b"`), 1), key, false, "changed after esremote plan wrote it"},
		{"edited precondition", bytes.Replace(b, []byte(`"digest": "sha256:00"`), []byte(`"digest": "sha256:01"`), 1), key, false, "changed after esremote plan wrote it"},
		{"edited seal", bytes.Replace(b, []byte(`"seal": "hmac-sha256:`), []byte(`"seal": "hmac-sha1:`), 1), key, false, "not one esremote makes"},
		{"another state dir", b, other, true, "another state directory"},
		{"a state dir without a key", b, nil, true, "this state directory has none"},
		{"unsealed", bytes.Replace(b, []byte(`"seal"`), []byte(`"sealx"`), 1), key, false, "carries no seal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if bytes.Equal(tc.b, b) && bytes.Equal(tc.key, key) {
				t.Fatal("nothing changed: the case proves nothing")
			}
			err := open(tc.b, tc.key)
			if !errors.As(err, &se) || se.Foreign != tc.foreign || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v (foreign %v), want a seal error saying %q (foreign %v)", err, se != nil && se.Foreign, tc.says, tc.foreign)
			}
		})
	}
	if strings.Contains(string(b), string(key)) {
		t.Fatal("the plan holds its key")
	}
}
