package es

import (
	"net/http"
	"strings"
	"testing"
)

// readBody reads the whole body whatever the Content-Length says (absent,
// right, too small, too large), never more than limit+1 bytes, so that the
// caller's size check still sees a body over the limit.
func TestReadBody(t *testing.T) {
	body := strings.Repeat("x", 1000)
	for _, tc := range []struct {
		length string
		limit  int64
		want   int
	}{
		{"", 4096, 1000},
		{"1000", 4096, 1000},
		{"10", 4096, 1000},
		{"3000", 4096, 1000},
		{"nonsense", 4096, 1000},
		{"1000", 100, 101},
		{"", 100, 101},
	} {
		h := http.Header{}
		if tc.length != "" {
			h.Set("Content-Length", tc.length)
		}
		got, err := readBody(strings.NewReader(body), h, tc.limit)
		if err != nil || len(got) != tc.want || strings.Trim(string(got), "x") != "" {
			t.Errorf("Content-Length %q, limit %d: %d bytes, %v; want %d", tc.length, tc.limit, len(got), err, tc.want)
		}
	}
}
