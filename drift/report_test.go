package drift

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestTally(t *testing.T) {
	r := New(ModeApply, TriggerApply, at)
	for _, c := range []struct {
		s Sync
		h Health
	}{
		{SyncInSync, HealthConnected}, {SyncInSync, HealthDisconnected}, {SyncDrifted, HealthUnknown},
		{SyncCorrected, HealthConnected}, {SyncFailed, HealthDisconnected}, {SyncContested, HealthConnected},
	} {
		r.Connections = append(r.Connections, Connection{Sync: c.s, Health: c.h})
	}
	r.Summary = Summary{Connections: 99} // stale, must be replaced
	r.Tally()
	want := Summary{Connections: 6, InSync: 2, Drifted: 1, Corrected: 1, Failed: 1, Contested: 1, Unhealthy: 2}
	if r.Summary != want {
		t.Errorf("Tally: got %+v, want %+v", r.Summary, want)
	}
}

func TestSort(t *testing.T) {
	r := New(ModePlan, TriggerPlan, at)
	r.Connections = []Connection{
		{Name: "b", Changes: []Change{
			{Resource: ResourceRole, Key: "r"},
			{Resource: ResourceClusterSetting, Target: "x", Key: "z"},
			{Resource: "something_new", Key: "a"},
			{Resource: ResourceClusterSetting, Target: "x", Key: "a"},
			{Resource: ResourceTrust, Key: "t"},
			{Resource: ResourceKeystore, Key: "k"},
			{Resource: ResourceAPIKey, Key: "key"},
		}, Findings: []Finding{
			{Severity: SeverityInfo, Code: "a"}, {Severity: SeverityError, Code: "z"},
			{Severity: SeverityWarning, Code: "b"}, {Severity: SeverityError, Code: "a"},
		}},
		{Name: "a"},
	}
	r.Unmanaged = []Unmanaged{{Target: "t2", Name: "a"}, {Target: "t1", Name: "b"}}
	r.Errors = []ReportError{{Target: "t2"}, {Target: "t1", Message: "b"}, {Target: "t1", Message: "a"}}
	r.Sort()

	if r.Connections[0].Name != "a" {
		t.Errorf("connections not sorted by name: %v", r.Connections)
	}
	var keys []string
	for _, ch := range r.Connections[1].Changes {
		keys = append(keys, string(ch.Resource)+":"+ch.Key)
	}
	if got, want := strings.Join(keys, " "), "api_key:key keystore:k trust:t cluster_setting:a cluster_setting:z role:r something_new:a"; got != want {
		t.Errorf("changes not in apply order:\n got %s\nwant %s", got, want)
	}
	var codes []string
	for _, f := range r.Connections[1].Findings {
		codes = append(codes, string(f.Severity)+":"+f.Code)
	}
	if got, want := strings.Join(codes, " "), "error:a error:z warning:b info:a"; got != want {
		t.Errorf("findings not most serious first:\n got %s\nwant %s", got, want)
	}
	if r.Unmanaged[0].Target != "t1" || r.Errors[0].Message != "a" || r.Errors[2].Target != "t2" {
		t.Errorf("unmanaged or errors not sorted: %v %v", r.Unmanaged, r.Errors)
	}
}

func TestPendingChanges(t *testing.T) {
	if r := inSyncReport(); r.HasChanges() || r.PendingChanges() != 0 {
		t.Errorf("in-sync report: HasChanges %v, PendingChanges %d", r.HasChanges(), r.PendingChanges())
	}
	if r := planReport(); !r.HasChanges() || r.PendingChanges() != 5 {
		t.Errorf("plan: HasChanges %v, PendingChanges %d, want true, 5", r.HasChanges(), r.PendingChanges())
	}
	// After apply: 2 applied, 1 failed, 2 held back by the report policy.
	if r := applyReport(); !r.HasChanges() || r.PendingChanges() != 2 {
		t.Errorf("apply: HasChanges %v, PendingChanges %d, want true, 2", r.HasChanges(), r.PendingChanges())
	}
}

// TestJSONEmptyLists checks the contract that lists are [] and never null,
// also for a report built without New and marshalled with encoding/json.
func TestJSONEmptyLists(t *testing.T) {
	r := Report{Connections: []Connection{{Name: "c"}}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.Contains(s, "null") {
		t.Errorf("null in %s", s)
	}
	for _, want := range []string{`"schema":1`, `"unmanaged":[]`, `"errors":[]`, `"changes":[]`, `"findings":[]`} {
		if !strings.Contains(s, want) {
			t.Errorf("%s missing from %s", want, s)
		}
	}
	if strings.Contains(s, "spec_revision") || strings.Contains(s, "contested") {
		t.Errorf("empty optional fields present in %s", s)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, applyReport()); err != nil {
		t.Fatal(err)
	}
	first := buf.String()
	r, err := ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	if buf.String() != first {
		t.Errorf("round trip changed the report:\n%s\n---\n%s", first, buf.String())
	}
}

func TestReadJSONSchema(t *testing.T) {
	for _, in := range []string{`{"schema": 2}`, `{}`, `{"schema": 1`} {
		if _, err := ReadJSON(strings.NewReader(in)); err == nil {
			t.Errorf("ReadJSON(%s): no error", in)
		}
	}
}

func TestRedacted(t *testing.T) {
	for in, want := range map[string]string{
		"sha256:0123456789abcdef": "<redacted> sha256:01234567",
		"0123456789abcdef":        "<redacted> sha256:01234567",
		"abc":                     "<redacted> sha256:abc",
		"":                        "<redacted>",
		"sha256:":                 "<redacted>",
	} {
		if got := Redacted(in); got != want {
			t.Errorf("Redacted(%q) = %q, want %q", in, got, want)
		}
	}
}
