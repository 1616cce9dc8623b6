package drift

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
)

// WriteJSON writes r as indented JSON (two spaces, one trailing newline),
// with "<redacted>" unescaped. It writes r as it is: call [Report.Sort] and
// [Report.Tally] first for a deterministic order and a current summary.
func WriteJSON(w io.Writer, r *Report) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // "<redacted>" stays readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// TextOptions tune [WriteText].
type TextOptions struct {
	// Color adds ANSI colours; off by default (logs, pipes, journald).
	Color bool
	// All lists connections that are in sync and connected, which are
	// otherwise left out.
	All bool
}

// ANSI colours used by WriteText when TextOptions.Color is set.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

// WriteText writes r for people, like a terraform plan:
//
//	~ connection analytics-to-ece-logs (ech-analytics → ece-prod-logs) [drifted, connected]
//	    + cluster_setting cluster.remote.ece-prod-logs.mode = proxy
//	    ~ cluster_setting cluster.remote.ece-prod-logs.proxy_address: a:9400 → a:9443 (external)
//	    - role old-reader (was {…})
//	    ! warning key_expires_soon: …
//
// then the unmanaged objects, the errors and one summary line. In apply and
// run mode each change ends with [applied], [failed: …] or [not applied].
// The summary line is computed from the connections, so it is right even
// when Summary is stale; the order is r's own (see [Report.Sort]).
// Values that are empty or hold spaces or control characters are quoted, so
// nothing a cluster returns can move the cursor.
func WriteText(w io.Writer, r *Report, opt TextOptions) error {
	bw := bufio.NewWriter(w)
	p := textPrinter{w: bw, color: opt.Color}
	applying := r.Mode == ModeApply || r.Mode == ModeRun
	first := true
	sep := func() {
		if !first {
			p.line("")
		}
		first = false
	}
	for _, c := range r.Connections {
		if !opt.All && quiet(c) {
			continue
		}
		sep()
		sym, col := connectionSymbol(c)
		status := []string{string(c.Sync), string(c.Health)}
		if c.Policy != "" && c.Policy != "enforce" {
			status = append(status, "policy "+c.Policy)
		}
		p.line(p.paint(col, sym) + " connection " + p.paint(ansiBold, safe(c.Name)) +
			" (" + safe(c.Local) + " → " + safe(c.Alias) + ") [" + strings.Join(status, ", ") + "]")
		for _, ch := range c.Changes {
			p.line("    " + p.change(c, ch, applying))
		}
		for _, f := range c.Findings {
			p.line("    " + p.paint(severityColor(f.Severity), "! "+string(f.Severity)) + " " + safe(f.Code) + ": " + safe(f.Message))
			if f.Fix != "" {
				p.line("      fix: " + safe(f.Fix))
			}
		}
		if c.Error != "" {
			if t := errorTarget(r, c.Error); t != "" {
				// Said once, under Errors, with its fix.
				p.line("    " + p.paint(ansiRed, "! error") + ": " + safe(t) + " failed (see Errors below)")
			} else {
				p.line("    " + p.paint(ansiRed, "! error") + ": " + safe(c.Error))
				if c.ErrorFix != "" {
					p.line("      fix: " + safe(c.ErrorFix))
				}
			}
		}
	}
	if len(r.Unmanaged) > 0 {
		sep()
		p.line("Unmanaged (not owned by esremote, left alone):")
		for _, u := range r.Unmanaged {
			s := "  " + p.paint(ansiCyan, "?") + " " + safe(u.Kind) + " " + safe(u.Name) + " on " + safe(u.Target)
			if u.Reason != "" {
				s += ": " + safe(u.Reason)
			}
			p.line(s)
		}
	}
	if len(r.Errors) > 0 {
		sep()
		p.line("Errors:")
		for _, e := range r.Errors {
			p.line("  " + p.paint(ansiRed, "!") + " " + safe(e.Target) + ": " + safe(e.Message))
			if e.Fix != "" {
				p.line("    fix: " + safe(e.Fix))
			}
		}
	}
	sep()
	p.line(p.paint(ansiBold, summaryLine(r)))
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// quiet reports whether a connection has nothing to say.
func quiet(c Connection) bool {
	return c.Sync == SyncInSync && c.Health == HealthConnected &&
		len(c.Changes) == 0 && len(c.Findings) == 0 && c.Error == ""
}

// connectionSymbol is + when every change creates, - when every change
// deletes, ~ for other changes, ! for a failed or contested connection with
// nothing to change, and = otherwise.
func connectionSymbol(c Connection) (string, string) {
	if len(c.Changes) == 0 {
		if c.Sync == SyncFailed || c.Sync == SyncContested || c.Health.Unhealthy() {
			return "!", ansiRed
		}
		return "=", ""
	}
	all := func(a Action) bool {
		for _, ch := range c.Changes {
			if ch.Action != a {
				return false
			}
		}
		return true
	}
	switch {
	case all(ActionCreate):
		return "+", ansiGreen
	case all(ActionDelete):
		return "-", ansiRed
	}
	return "~", ansiYellow
}

func severityColor(s Severity) string {
	switch s {
	case SeverityError:
		return ansiRed
	case SeverityWarning:
		return ansiYellow
	}
	return ansiCyan
}

type textPrinter struct {
	w     *bufio.Writer
	color bool
}

func (p textPrinter) line(s string) {
	p.w.WriteString(s)
	p.w.WriteByte('\n')
}

func (p textPrinter) paint(color, s string) string {
	if !p.color || color == "" {
		return s
	}
	return color + s + ansiReset
}

// change renders one change line without its indent.
func (p textPrinter) change(c Connection, ch Change, applying bool) string {
	var b strings.Builder
	head := safe(string(ch.Resource)) + " " + safe(ch.Key)
	if ch.Target != "" && ch.Target != c.Local {
		head += " on " + safe(ch.Target)
	}
	switch ch.Action {
	case ActionCreate:
		b.WriteString(p.paint(ansiGreen, "+") + " " + head + " = " + value(ch.Desired))
	case ActionDelete:
		b.WriteString(p.paint(ansiRed, "-") + " " + head)
		if ch.Actual != "" {
			b.WriteString(" (was " + value(ch.Actual) + ")")
		}
	default:
		b.WriteString(p.paint(ansiYellow, "~") + " " + head + ": " + value(ch.Actual) + " → " + value(ch.Desired))
	}
	if ch.Origin == OriginExternal {
		b.WriteString(" (external)")
	}
	switch {
	case ch.Error != "":
		b.WriteString(" [" + p.paint(ansiRed, "failed: "+safe(ch.Error)) + "]")
	case !applying:
	case ch.Applied:
		b.WriteString(" [" + p.paint(ansiGreen, "applied") + "]")
	default:
		b.WriteString(" [" + p.paint(ansiYellow, "not applied") + "]")
	}
	return b.String()
}

// value quotes v when it is empty or holds spaces or non-printable
// characters, and shows it as is otherwise.
func value(v string) string {
	if v == "" || strings.ContainsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) {
		// A redacted secret is ours and safe to show bare.
		if strings.HasPrefix(v, RedactedPrefix) && strconv.Quote(v) == `"`+v+`"` {
			return v
		}
		return strconv.Quote(v)
	}
	return v
}

// summaryLine is the one-line verdict shared by the text and Markdown forms.
func summaryLine(r *Report) string {
	var add, change, del, applied, failed, pending int
	var appliedByAction [3]int
	for _, c := range r.Connections {
		for _, ch := range c.Changes {
			i := 1
			switch ch.Action {
			case ActionCreate:
				i = 0
			case ActionDelete:
				i = 2
			}
			switch {
			case ch.Applied:
				applied++
				appliedByAction[i]++
			case ch.Error != "":
				failed++
			default:
				pending++
				switch i {
				case 0:
					add++
				case 1:
					change++
				case 2:
					del++
				}
			}
		}
	}
	var parts []string
	applying := r.Mode == ModeApply || r.Mode == ModeRun
	sum := tally(r.Connections) // not r.Summary, which may be stale
	switch {
	case !r.HasChanges():
		n := sum.Connections
		if sum.InSync == n {
			parts = append(parts, fmt.Sprintf("No changes. %s in sync.", plural(n, "connection")))
		} else {
			parts = append(parts, fmt.Sprintf("No changes. %d of %s in sync.", sum.InSync, plural(n, "connection")))
		}
	case applying:
		parts = append(parts, fmt.Sprintf("Applied: %d added, %d changed, %d deleted.",
			appliedByAction[0], appliedByAction[1], appliedByAction[2]))
		if failed > 0 {
			parts = append(parts, fmt.Sprintf("%d failed.", failed))
		}
		if pending > 0 {
			parts = append(parts, fmt.Sprintf("%d not applied.", pending))
		}
	default:
		parts = append(parts, fmt.Sprintf("Plan: %d to add, %d to change, %d to delete.", add, change, del))
		if failed > 0 {
			parts = append(parts, fmt.Sprintf("%d failed.", failed))
		}
	}
	if sum.Contested > 0 {
		parts = append(parts, fmt.Sprintf("%s contested.", plural(sum.Contested, "connection")))
	}
	if n := sum.Failed; n > 0 {
		parts = append(parts, fmt.Sprintf("%s failed.", plural(n, "connection")))
	}
	if n := sum.Unhealthy; n > 0 {
		parts = append(parts, fmt.Sprintf("%s not connected.", plural(n, "connection")))
	}
	if n := len(r.Errors); n > 0 {
		parts = append(parts, fmt.Sprintf("%s.", plural(n, "error")))
	}
	return strings.Join(parts, " ")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// WriteMarkdown writes r as Markdown for a merge-request comment: a heading
// with the summary line, a table of connections, and tables of changes,
// findings, unmanaged objects and errors when there are any. Table cells are
// escaped so no value can break the table or inject markup.
func WriteMarkdown(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	p := textPrinter{w: bw}
	p.line("### esremote " + word(string(r.Mode)))
	p.line("")
	p.line("**" + mdEscaper.Replace(summaryLine(r)) + "**")
	p.line("")
	meta := "Spec " + code(r.SpecDigest)
	if r.SpecRevision != "" {
		meta += " at " + code(r.SpecRevision)
	}
	meta += ", trigger " + code(string(r.Trigger)) + ", generated " + r.GeneratedAt.UTC().Format("2006-01-02T15:04:05Z07:00") + "."
	p.line(meta)

	if len(r.Connections) > 0 {
		p.line("")
		p.line("| connection | local → alias | security | policy | sync | health | changes |")
		p.line("|---|---|---|---|---|---|---:|")
		for _, c := range r.Connections {
			p.row(cell(c.Name), cell(c.Local)+" → "+cell(c.Alias), word(c.Security), word(c.Policy),
				word(string(c.Sync)), word(string(c.Health)), strconv.Itoa(len(c.Changes)))
		}
	}
	applying := r.Mode == ModeApply || r.Mode == ModeRun
	if r.HasChanges() {
		p.line("")
		p.line("#### Changes")
		p.line("")
		head := "| | connection | resource | target | key | actual | desired | origin |"
		rule := "|---|---|---|---|---|---|---|---|"
		if applying {
			head += " result |"
			rule += "---|"
		}
		p.line(head)
		p.line(rule)
		for _, c := range r.Connections {
			for _, ch := range c.Changes {
				sym := "~"
				switch ch.Action {
				case ActionCreate:
					sym = "+"
				case ActionDelete:
					sym = "-"
				}
				cells := []string{sym, cell(c.Name), word(string(ch.Resource)), cell(ch.Target), code(ch.Key),
					code(ch.Actual), code(ch.Desired), word(string(ch.Origin))}
				if applying {
					cells = append(cells, result(ch))
				} else if ch.Error != "" {
					cells[len(cells)-1] += " (failed: " + cell(ch.Error) + ")"
				}
				p.row(cells...)
			}
		}
	}
	var hasFindings bool
	for _, c := range r.Connections {
		hasFindings = hasFindings || len(c.Findings) > 0 || c.Error != ""
	}
	if hasFindings {
		p.line("")
		p.line("#### Findings")
		p.line("")
		p.line("| severity | connection | code | message | fix |")
		p.line("|---|---|---|---|---|")
		for _, c := range r.Connections {
			for _, f := range c.Findings {
				p.row(word(string(f.Severity)), cell(c.Name), code(f.Code), cell(f.Message), cell(f.Fix))
			}
			if c.Error != "" {
				p.row("error", cell(c.Name), "", cell(c.Error), "")
			}
		}
	}
	if len(r.Unmanaged) > 0 {
		p.line("")
		p.line("#### Unmanaged (left alone)")
		p.line("")
		p.line("| target | kind | name | reason |")
		p.line("|---|---|---|---|")
		for _, u := range r.Unmanaged {
			p.row(cell(u.Target), word(u.Kind), code(u.Name), cell(u.Reason))
		}
	}
	if len(r.Errors) > 0 {
		p.line("")
		p.line("#### Errors")
		p.line("")
		p.line("| target | message |")
		p.line("|---|---|")
		for _, e := range r.Errors {
			p.row(cell(e.Target), cell(e.Message))
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func (p textPrinter) row(cells ...string) {
	p.line("| " + strings.Join(cells, " | ") + " |")
}

func result(ch Change) string {
	switch {
	case ch.Error != "":
		return "failed: " + cell(ch.Error)
	case ch.Applied:
		return "applied"
	}
	return "not applied"
}

// mdEscaper escapes the characters that carry meaning in a GitHub/GitLab
// table cell.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "|", `\|`, "`", "\\`", "*", `\*`, "_", `\_`, "<", "&lt;", ">", "&gt;",
	"[", `\[`, "]", `\]`, "\r\n", " ", "\n", " ", "\r", " ",
)

// word shows an identifier such as a sync value as is when it is made of
// [a-z0-9_.-], which Markdown leaves alone inside a word, and escapes it
// otherwise.
func word(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return cell(s)
		}
	}
	return s
}

// cell escapes s for a Markdown table cell.
func cell(s string) string { return mdEscaper.Replace(printable(s)) }

// code shows s as inline code in a table cell; empty stays empty.
func code(s string) string {
	if s == "" {
		return ""
	}
	s = strings.NewReplacer("|", `\|`, "\r\n", " ", "\n", " ", "\r", " ").Replace(printable(s))
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// safe makes s one line of printable text for a terminal: line breaks and
// other spaces become spaces, control characters U+FFFD.
func safe(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(printable(s))
}

// printable replaces control characters (other than line breaks, which the
// callers fold) with U+FFFD.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || unicode.IsPrint(r) || r == ' ' {
			return r
		}
		if unicode.IsSpace(r) {
			return ' '
		}
		return '\uFFFD'
	}, s)
}

// errorTarget is the target of r's error whose message is msg ("" when
// none): a connection that failed because its cluster did is shown once.
func errorTarget(r *Report, msg string) string {
	for _, e := range r.Errors {
		if e.Message == msg {
			return e.Target
		}
	}
	return ""
}
