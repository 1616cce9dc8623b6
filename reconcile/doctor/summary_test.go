package doctor

import (
	"strings"
	"testing"
)

// The summary names the first problem's cause only when it adds
// something: "the first is dns: fix it first", not "dns (dns)"; a cause
// that differs from the step stays ("parameters (wrong_port)").
func TestSummaryNamesCauseOnce(t *testing.T) {
	for _, tc := range []struct {
		step Step
		want string
	}{
		{Step{Name: "dns", Status: Problem, Cause: "dns"}, "1 problem; the first is dns: fix it first\n"},
		{Step{Name: "parameters", Status: Problem, Cause: "wrong_port"}, "1 problem; the first is parameters (wrong_port): fix it first\n"},
	} {
		var b strings.Builder
		if err := WriteText(&b, &Report{Connection: "c", Steps: []Step{tc.step}}); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(b.String(), tc.want) {
			t.Errorf("summary:\n%s\nwant it to end %q", b.String(), tc.want)
		}
	}
}
