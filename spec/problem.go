package spec

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/go-multierror"
)

// Severity says whether a Problem makes a spec directory invalid.
type Severity string

// Severities.
const (
	SeverityError   Severity = "error"   // the spec set is rejected
	SeverityWarning Severity = "warning" // reported; the spec set is still used
)

// Problem is one thing wrong with a spec directory, at a position.
type Problem struct {
	Pos      Pos
	Severity Severity
	Message  string
}

// String formats the problem as "PATH:LINE:COL: SEVERITY: MESSAGE".
func (p Problem) String() string {
	return fmt.Sprintf("%s: %s: %s", p.Pos, p.Severity, p.Message)
}

// Error makes a Problem an error; it is the same text as String.
func (p Problem) Error() string { return p.String() }

// String formats a position as "PATH:LINE:COL".
func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column) }

// Problems is a list of problems, in the order Load sorted them.
type Problems []Problem

// Errors returns the problems of severity error.
func (ps Problems) Errors() Problems { return ps.only(SeverityError) }

// Warnings returns the problems of severity warning.
func (ps Problems) Warnings() Problems { return ps.only(SeverityWarning) }

func (ps Problems) only(s Severity) Problems {
	var out Problems
	for _, p := range ps {
		if p.Severity == s {
			out = append(out, p)
		}
	}
	return out
}

// HasErrors reports whether any problem is an error.
func (ps Problems) HasErrors() bool {
	return slices.ContainsFunc(ps, func(p Problem) bool { return p.Severity == SeverityError })
}

// Err returns the errors among the problems as one error, one problem per
// line and no banner, or nil when there are none.
func (ps Problems) Err() error {
	var me *multierror.Error
	for _, p := range ps.Errors() {
		me = multierror.Append(me, p)
	}
	if me != nil {
		me.ErrorFormat = problemLines
	}
	return me.ErrorOrNil()
}

// problemLines is the multierror format: one problem per line, no banner.
func problemLines(errs []error) string {
	lines := make([]string, len(errs))
	for i, err := range errs {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// Sort orders problems by file, line, column, then severity and message,
// as Load returns them, so that output is deterministic.
func (ps Problems) Sort() { ps.sort() }

// sort orders problems by file, line, column, then severity and message so
// that output is deterministic.
func (ps Problems) sort() {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Column, b.Pos.Column),
			cmp.Compare(a.Severity, b.Severity),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

// InvalidError is the error Load returns for a spec directory with at least
// one error-severity problem. Error() lists the errors one per line.
type InvalidError struct {
	// Problems holds every problem found, errors and warnings, sorted.
	Problems Problems
	// Files and Documents count what was read.
	Files, Documents int
}

func (e *InvalidError) Error() string {
	if err := e.Problems.Err(); err != nil {
		return err.Error()
	}
	return "invalid spec"
}

// Unwrap returns the errors as a *multierror.Error.
func (e *InvalidError) Unwrap() error { return e.Problems.Err() }

// AsInvalid reports whether err is (or wraps) an *InvalidError and returns it.
func AsInvalid(err error) (*InvalidError, bool) {
	var ie *InvalidError
	ok := errors.As(err, &ie)
	return ie, ok
}
