package es

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// A request is logged as one debug event (operation, status, time taken)
// when the logger takes debug events, and costs nothing when it does not.
func TestRequestDebugEvent(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
		f := newFake(t,
			exchange{method: "GET", path: "/_remote/info", resp: `{}`},
			exchange{method: "GET", path: "/_remote/info", status: 503, resp: `{"error":{"type":"x","reason":"y"},"status":503}`})
		var buf bytes.Buffer
		c, err := New(Config{Name: "local-a", URL: f.srv.URL, Username: "esremote", Password: "s3cret-pw",
			Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		_, _ = c.RemoteInfo(context.Background())
		_, _ = c.RemoteInfo(context.Background())
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		switch level {
		case slog.LevelDebug:
			if len(lines) != 2 || !strings.Contains(lines[0], `msg="es request" target=local-a action="get remote info" status=200 took=`) ||
				!strings.Contains(lines[1], "status=503") || strings.Contains(buf.String(), "s3cret-pw") {
				t.Errorf("debug log:\n%s\nwant one event per request, with target, action, status and time, and no secret", buf.String())
			}
		default:
			if buf.Len() != 0 {
				t.Errorf("info log:\n%s\nwant nothing", buf.String())
			}
		}
	}
}
