package drift

import (
	"fmt"
	"html"
	"strings"
	"time"
	"unicode"
)

// The pages ([WriteStatusPage], [WriteConnectionPage]) are written with fmt
// and html.EscapeString, not html/template: any use of text/template in the
// binary turns off the linker's dead code elimination
// (reflect.Value.MethodByName), which made esremote 70% larger. Every value
// from the report, the specs or a cluster goes through esc.

// esc makes s safe and honest in HTML text and attribute values: markup
// is escaped, and characters that would change how the text around them
// reads (bidirectional overrides and isolates, other invisible format and
// control characters) are shown as their code point, "<U+202E>", so that a
// name holding U+202E is not shown reversed.
func esc(s string) string { return html.EscapeString(visible(s)) }

// visible replaces invisible and direction-changing characters with
// "<U+XXXX>". Tabs and newlines stay; everything printable stays.
func visible(s string) string {
	if !strings.ContainsFunc(s, hidden) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if hidden(r) {
			fmt.Fprintf(&b, "<U+%04X>", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// hidden reports whether r changes the reading of the text around it or
// cannot be seen: the Unicode format characters (Cf: the bidi embeddings,
// overrides and isolates U+202A..U+202E and U+2066..U+2069, the marks
// U+200E, U+200F and U+061C, zero-width characters), controls other than
// tab and newline (Cc), and unassigned or private-use code points.
func hidden(r rune) bool {
	switch {
	case r == '\t' || r == '\n':
		return false
	case r == unicode.ReplacementChar:
		return false
	case unicode.In(r, unicode.Cf, unicode.Cc, unicode.Co, unicode.Zl, unicode.Zp):
		return true
	}
	return !unicode.IsPrint(r) && r != ' '
}

// relTime is how long before now t was, in the largest unit that fits
// ("just now", "42 s ago", "3 min ago", "5 h ago", "2 d ago"); a time after
// now reads "in 3 min".
func relTime(now, t time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < 5*time.Second:
		return "just now"
	case d < time.Minute:
		s = fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour:
		s = fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%d h", int(d/time.Hour))
	default:
		s = fmt.Sprintf("%d d", int(d/(24*time.Hour)))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// timeHTML is t relative to now, with the absolute time (UTC, RFC 3339) in
// the element's title and datetime; "-" for a zero time.
func timeHTML(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	abs := t.UTC().Format(time.RFC3339)
	return fmt.Sprintf(`<time datetime="%s" title="%s">%s</time>`, abs, abs, relTime(now, t))
}

// Levels of a verdict, worst last; each page and connection has one, and
// the page takes its colour from it.
const (
	levelOK   = "ok"   // everything connected and in sync
	levelWarn = "warn" // drift, or health not known
	levelBad  = "bad"  // a link down, a failure, a conflict, an error
)

func worse(a, b string) string {
	rank := map[string]int{levelOK: 0, levelWarn: 1, levelBad: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// verdict is the two big words of a page, after Argo CD's Healthy/Synced:
// how many links work, and whether the configuration matches the specs.
type verdict struct {
	Health, Sync string
	// Detail names what else is wrong (errors of no connection), or "".
	Detail string
	Level  string
}

func (v verdict) String() string { return v.Health + " · " + v.Sync }

// verdictOf judges a report: every connection not disabled counts.
func verdictOf(r *Report) verdict {
	s := tally(r.Connections)
	active := s.Connections - s.Disabled
	up, unknown := 0, 0
	for _, c := range r.Connections {
		switch {
		case c.Sync == SyncDisabled:
		case c.Health == HealthConnected || c.Health == HealthRotating:
			up++
		case !c.Health.Unhealthy():
			unknown++
		}
	}
	v := verdict{Level: levelOK}
	switch {
	case s.Connections == 0:
		v.Health = "No connections"
	case active == 0:
		v.Health = fmt.Sprintf("All %d disabled", s.Connections)
	case s.Unhealthy > 0:
		v.Health = fmt.Sprintf("%d of %d not connected", s.Unhealthy, active)
		v.Level = levelBad
	case unknown > 0:
		v.Health = fmt.Sprintf("%d of %d connected", up, active)
		v.Level = levelWarn
	default:
		v.Health = fmt.Sprintf("All %d connected", active)
	}
	var sync []string
	if s.Failed > 0 {
		sync = append(sync, fmt.Sprintf("%d failed", s.Failed))
		v.Level = levelBad
	}
	if s.Contested > 0 {
		sync = append(sync, fmt.Sprintf("%d contested", s.Contested))
		v.Level = levelBad
	}
	if s.Drifted > 0 {
		sync = append(sync, fmt.Sprintf("%d out of sync", s.Drifted))
		v.Level = worse(v.Level, levelWarn)
	}
	switch {
	case len(sync) > 0:
		v.Sync = strings.Join(sync, " · ")
	case s.Corrected > 0:
		v.Sync = fmt.Sprintf("In sync · %d corrected", s.Corrected)
	default:
		v.Sync = "In sync"
	}
	if n := len(r.Errors); n > 0 {
		v.Detail = plural(n, "error") + " outside the connections"
		v.Level = levelBad
	}
	return v
}

// withStale is v with the reason the report may be out of date, which
// makes it bad: an old report must not look green.
func (v verdict) withStale(stale string) verdict {
	if stale == "" {
		return v
	}
	if v.Detail != "" {
		v.Detail = stale + " · " + v.Detail
	} else {
		v.Detail = stale
	}
	v.Level = levelBad
	return v
}

// connectionVerdict judges one connection the same way.
func connectionVerdict(c Connection) verdict {
	v := verdict{Health: healthWord(c.Health), Sync: syncWord(c.Sync), Level: levelOK}
	switch {
	case c.Sync == SyncDisabled:
	case c.Health.Unhealthy():
		v.Level = levelBad
	case c.Health != HealthConnected && c.Health != HealthRotating:
		v.Level = levelWarn
	}
	switch c.Sync {
	case SyncFailed, SyncContested:
		v.Level = levelBad
	case SyncDrifted:
		v.Level = worse(v.Level, levelWarn)
	}
	return v
}

// healthWord is a health value in words, capitalised for a verdict.
func healthWord(h Health) string {
	if h == "" {
		return "Health not known"
	}
	s := string(h)
	return strings.ToUpper(s[:1]) + s[1:]
}

// syncWord is a sync value in words ("In sync", "Corrected").
func syncWord(s Sync) string {
	switch s {
	case SyncInSync:
		return "In sync"
	case SyncDrifted:
		return "Out of sync"
	case "":
		return "Sync not known"
	}
	w := string(s)
	return strings.ToUpper(w[:1]) + w[1:]
}

// levelColor is the page colour of a level.
func levelColor(level string) string {
	switch level {
	case levelBad:
		return "#cf222e"
	case levelWarn:
		return "#9a6700"
	}
	return "#1a7f37"
}

// syncColor is the colour of a sync value's badge. corrected is blue, not
// in_sync's green: the live value had moved and esremote wrote it back.
func syncColor(s Sync) string {
	switch s {
	case SyncInSync:
		return "#1a7f37"
	case SyncCorrected:
		return "#0969da"
	case SyncDrifted, SyncContested:
		return "#9a6700"
	case SyncFailed:
		return "#cf222e"
	}
	return "#57606a"
}

// syncBadge is a sync value as a badge: its word on its colour; corrected
// also carries a mark (↺) so it differs from in_sync without colour.
func syncBadge(s Sync) string {
	word := string(s)
	if s == "" {
		word = "-"
	}
	mark := ""
	switch s {
	case SyncInSync:
		mark = "✓ "
	case SyncCorrected:
		mark = "↺ "
	}
	return fmt.Sprintf(`<span class="badge sync-%s" style="background: %s">%s%s</span>`, esc(string(s)), syncColor(s), mark, esc(word))
}

// healthBadge is a health value as a badge.
func healthBadge(h Health) string {
	word := string(h)
	if h == "" {
		word = "-"
	}
	return fmt.Sprintf(`<span class="badge" style="background: %s">%s</span>`, healthColor(h), esc(word))
}

// pageCSS is the pages' only style: inline, so a page needs nothing else.
// It is sized for a wall screen (1920×1080 seen across a room) and still
// reads on a laptop.
const pageCSS = `body { font: 16px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1f2328; background: #fff; }
body.level-warn, body.level-bad { border: 10px solid var(--level); min-height: 100vh; box-sizing: border-box; }
header.verdict { background: var(--level); color: #fff; padding: 18px 32px 20px; display: flex; flex-wrap: wrap; align-items: baseline; gap: 8px 48px; }
header.verdict h1 { font-size: 64px; line-height: 1.1; margin: 0; font-weight: 700; }
header.verdict .sub { font-size: 28px; font-weight: 600; }
header.verdict .where { margin-left: auto; font-size: 20px; text-align: right; }
header.verdict a { color: #fff; }
main { padding: 12px 32px 32px; }
.columns { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.columns > .graph { flex: 1 1 560px; min-width: 0; }
.columns > .list { flex: 1 1 720px; min-width: 0; overflow-x: auto; }
.columns.stacked > section { flex-basis: 100%; }
#connections td:first-child { overflow-wrap: anywhere; min-width: 10em; }
#facts { width: auto; min-width: 40%; }
#facts th { width: 10em; }
h2 { font-size: 22px; margin: 24px 0 8px; }
.meta { color: #57606a; margin: 6px 0 12px; }
.note { color: #57606a; font-style: italic; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #d0d7de; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
td.level-bad { box-shadow: inset 6px 0 #cf222e; }
td.level-warn { box-shadow: inset 6px 0 #9a6700; }
.badge { display: inline-block; padding: 1px 10px; border-radius: 12px; color: #fff; font-weight: 600; font-size: 14px; white-space: nowrap; }
.badge.sync-corrected { outline: 2px dashed #0969da; outline-offset: 2px; }
.legend span { margin-right: 16px; white-space: nowrap; }
.swatch { display: inline-block; width: 22px; height: 6px; vertical-align: middle; margin-right: 4px; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 14px; }
.err { color: #cf222e; }
svg { width: 100%; height: auto; max-height: 72vh; border: 1px solid #d0d7de; border-radius: 6px; background: #fbfcfd; }
svg text { font-family: "DejaVu Sans Mono", "Liberation Mono", ui-monospace, monospace; }
`

// writeHead writes the page up to and including <body>.
func writeHead(pf func(string, ...any), title string, refresh time.Duration, level string) {
	pf("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	if secs := int(refresh.Seconds()); secs > 0 {
		pf("<meta http-equiv=\"refresh\" content=\"%d\">\n", secs)
	}
	pf("<title>%s</title>\n<style>\n%s</style>\n</head>\n<body class=\"level-%s\" style=\"--level: %s\">\n", esc(title), pageCSS, level, levelColor(level))
}

// kioskNote is what a kiosk view says about what it leaves out.
const kioskNote = `<p class="note" id="kiosk">Read-only view for a screen without the daemon's token: names, states, counts and times only. Error texts, values, evidence, addresses and the spec digest need the token (GET /status with Authorization: Bearer TOKEN).</p>`
