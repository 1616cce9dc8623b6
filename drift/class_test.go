package drift

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// classified is an adapter's error in miniature.
type classified struct {
	class Class
	wait  time.Duration
}

func (e classified) Error() string                      { return string(e.class) }
func (e classified) ErrorClass() (Class, time.Duration) { return e.class, e.wait }

func TestClassify(t *testing.T) {
	throttled := classified{ClassThrottled, 30 * time.Second}
	for _, tc := range []struct {
		name  string
		err   error
		class Class
		wait  time.Duration
	}{
		{"nil", nil, "", 0},
		{"unclassified is retryable", errors.New("boom"), ClassRetryable, 0},
		{"adapter", classified{ClassTerminal, 0}, ClassTerminal, 0},
		{"through wrapping", fmt.Errorf("put settings on a: %w", throttled), ClassThrottled, 30 * time.Second},
		{"Terminal", Terminal(errors.New("environment variable X is empty or not set")), ClassTerminal, 0},
		{"Terminal wrapped", fmt.Errorf("cluster a: %w", Terminal(errors.New("x"))), ClassTerminal, 0},
		{"outer Classifier decides", Terminal(fmt.Errorf("x: %w", throttled)), ClassTerminal, 0},
		{"join: retryable over terminal", errors.Join(Terminal(errors.New("a")), errors.New("b")), ClassRetryable, 0},
		{"join: throttled over both, its wait", errors.Join(Terminal(errors.New("a")), errors.New("b"), throttled), ClassThrottled, 30 * time.Second},
		{"join of terminals", errors.Join(Terminal(errors.New("a")), classified{ClassTerminal, 0}), ClassTerminal, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			class, wait := Classify(tc.err)
			if class != tc.class || wait != tc.wait {
				t.Errorf("Classify = %q, %s; want %q, %s", class, wait, tc.class, tc.wait)
			}
		})
	}
}

func TestTerminalKeepsMessageAndChain(t *testing.T) {
	base := errors.New("credential db: no such file")
	err := Terminal(base)
	if err.Error() != base.Error() || !errors.Is(err, base) || !IsTerminal(err) {
		t.Errorf("Terminal(%v) = %v (is base: %t, terminal: %t)", base, err, errors.Is(err, base), IsTerminal(err))
	}
	if Terminal(nil) != nil {
		t.Error("Terminal(nil) is not nil")
	}
}

func TestMerge(t *testing.T) {
	for _, tc := range []struct{ a, b, want Class }{
		{"", "", ""},
		{"", ClassTerminal, ClassTerminal},
		{ClassTerminal, ClassRetryable, ClassRetryable},
		{ClassRetryable, ClassThrottled, ClassThrottled},
		{ClassThrottled, ClassTerminal, ClassThrottled},
	} {
		if got := Merge(tc.a, tc.b); got != tc.want {
			t.Errorf("Merge(%q, %q) = %q, want %q", tc.a, tc.b, got, tc.want)
		}
		if got := Merge(tc.b, tc.a); got != tc.want {
			t.Errorf("Merge(%q, %q) = %q, want %q", tc.b, tc.a, got, tc.want)
		}
	}
}

// Every class has its series from the first scrape, and CountError counts
// into the class's series only.
func TestMetricsErrorsByClass(t *testing.T) {
	m := NewMetrics()
	got := string(esremoteSeries(t, m))
	for _, c := range Classes {
		if want := `esremote_reconcile_errors_total{class="` + string(c) + `"} 0`; !strings.Contains(got, want+"\n") {
			t.Errorf("want %q before any error in\n%s", want, got)
		}
	}
	m.CountError(ClassTerminal)
	m.CountError(ClassThrottled)
	m.CountError(ClassThrottled)
	m.CountError("") // a report from before the classes: retryable
	got = string(esremoteSeries(t, m))
	for _, want := range []string{`{class="terminal"} 1`, `{class="throttled"} 2`, `{class="retryable"} 1`} {
		if !strings.Contains(got, "esremote_reconcile_errors_total"+want+"\n") {
			t.Errorf("want esremote_reconcile_errors_total%s in\n%s", want, got)
		}
	}
}
