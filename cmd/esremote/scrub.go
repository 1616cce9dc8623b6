package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/esremote/esremote/spec"
)

// Every credential esremote holds is scrubbed from what it prints, logs,
// saves and sends (spec.Scrub): a proxy or a control plane that echoes a
// request's Authorization header or body into its error would otherwise
// put a key into a report, last.json, the history, metrics or an alert.
// Reports are scrubbed where the engine hands them over (runPass,
// enginePass); the logger and the CLI's own error lines here.

// scrubHandler is a slog.Handler that scrubs the message and every
// attribute of a record before the next handler sees it.
type scrubHandler struct{ next slog.Handler }

func (h scrubHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h scrubHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, spec.Scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(scrubAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h scrubHandler) WithAttrs(as []slog.Attr) slog.Handler {
	for i := range as {
		as[i] = scrubAttr(as[i])
	}
	return scrubHandler{h.next.WithAttrs(as)}
}

func (h scrubHandler) WithGroup(name string) slog.Handler {
	return scrubHandler{h.next.WithGroup(name)}
}

// scrubAttr scrubs an attribute's value; errors and other values are
// scrubbed as the text they would be written as.
func scrubAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(spec.Scrub(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i := range g {
			out[i] = scrubAttr(g[i])
		}
		a.Value = slog.GroupValue(out...)
	case slog.KindAny:
		if s := fmt.Sprint(v.Any()); spec.Scrub(s) != s {
			a.Value = slog.StringValue(spec.Scrub(s))
		}
	}
	return a
}

// scrubWriter scrubs what is written through it, one Write at a time
// (fmt's print functions write each call's output at once).
type scrubWriter struct{ w io.Writer }

func (s scrubWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(s.w, spec.Scrub(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
