package main

import (
	"context"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/drift"
	"github.com/esremote/esremote/reconcile/sim"
)

// pageConnections are two links of the default sim world: a managed
// cross-cluster key that connects, and a certificate link to an address the
// sim does not serve from ECH, which stays disconnected.
const pageConnections = managedConnection + `---
apiVersion: esremote/v1
kind: Connection
name: analytics-to-onprem
local: ech-analytics
alias: onprem
remote: {proxy_address: "onprem-search.sim:9400", server_name: onprem-search.sim}
security: certificate
`

// pageToken is the token of the page tests' daemon.
const pageToken = "3f9c2a7e51d04b8c9e6f1a2b3c4d5e6f"

// startPageDaemon runs the daemon in-process against a simulated world with
// pageConnections and the token pageToken, and returns its address and the
// world once its first pass is done.
func startPageDaemon(t *testing.T) (string, *sim.Server) {
	t.Helper()
	w := newSimWorld(t, pageConnections)
	d := w.start(t, "--debounce", "1h:1h", "--reload-token-file", secretFile(t, "token", pageToken+"\n"))
	d.firstPass()
	return d.addr, w.srv
}

// fetch GETs url, with the daemon's token when auth, and returns the
// status and body.
func fetch(t *testing.T, url string, auth bool) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+pageToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// pageReport is the daemon's report, read from /status with the token.
func pageReport(t *testing.T, addr string) *drift.Report {
	t.Helper()
	code, body := fetch(t, "http://"+addr+"/status", true)
	if code != http.StatusOK {
		t.Fatalf("GET /status = %d %s", code, body)
	}
	r, err := drift.ReadJSON(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestStatusPage runs one daemon (its first pass waits out the verify of
// the disconnected link) for every check of the pages.
func TestStatusPage(t *testing.T) {
	addr, srv := startPageDaemon(t)
	t.Run("served", func(t *testing.T) { testStatusPageServed(t, addr) })
	t.Run("connection", func(t *testing.T) { testConnectionPage(t, addr) })
	t.Run("kiosk", func(t *testing.T) { testStatusPageKiosk(t, addr) })
	t.Run("chromium", func(t *testing.T) { testStatusPageInChromium(t, addr) })
	t.Run("wall", func(t *testing.T) { testStatusPageOnWall(t, addr, srv) })
}

// testStatusPageServed: GET / is the status page of the report GET /status
// serves: one row per connection with its sync and health, one edge per
// connection in the graph; self-contained (no script, a CSP that forbids
// any other request).
func testStatusPageServed(t *testing.T, addr string) {
	r := pageReport(t, addr)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/", nil)
	req.Header.Set("Authorization", "Bearer "+pageToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	page := string(body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("GET / = %s %v", resp.Status, resp.Header)
	}
	if len(r.Connections) != 2 {
		t.Fatalf("report has %d connections", len(r.Connections))
	}
	for _, c := range r.Connections {
		row := `<tr data-connection="` + c.Name + `" data-sync="` + string(c.Sync) + `" data-health="` + string(c.Health) + `">`
		if !strings.Contains(page, row) {
			t.Errorf("the page has no row %s", row)
		}
		if !strings.Contains(page, `<g class="link" data-connection="`+c.Name+`">`) {
			t.Errorf("the graph has no edge for %s", c.Name)
		}
	}
	if !strings.Contains(page, "onprem-search.sim:9400") || !strings.Contains(page, "<td>certificate</td>") {
		t.Error("the page does not show the remote address and security model")
	}
	if strings.Contains(page, "<script") {
		t.Error("the page has a script")
	}
	if resp, err := http.Get("http://" + addr + "/nope"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nope = %v %v", resp.Status, err)
	}
}

// chromiumFlags run Debian's chromium headless, with nothing that reaches
// the network on its own, in a profile of its own.
func chromiumFlags(t *testing.T) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}
}

// testStatusPageInChromium opens the daemon's status page for a sim world in
// headless Chromium (Debian package chromium): the rendered DOM shows every
// connection with its health as text, and a screenshot is not blank and
// holds the health colours.
func testStatusPageInChromium(t *testing.T, addr string) {
	chromium := needChromium(t)
	r := pageReport(t, addr)
	run := func(args ...string) []byte { t.Helper(); return runChromium(t, chromium, args...) }

	dom := string(run("--dump-dom", "http://"+addr+"/"))
	for _, c := range r.Connections {
		// The row, and the health in words inside it.
		re := regexp.MustCompile(`(?s)<tr data-connection="` + regexp.QuoteMeta(c.Name) + `"[^>]*data-health="` + string(c.Health) +
			`">.*?<span class="badge"[^>]*>` + string(c.Health) + `</span>.*?</tr>`)
		if !re.MatchString(dom) {
			t.Errorf("the rendered DOM has no row for %s with health %q", c.Name, c.Health)
		}
	}
	if len(r.Connections) != 2 || r.Connections[0].Health == r.Connections[1].Health {
		t.Errorf("want a connected and a disconnected link, got %+v", r.Connections)
	}

	shot := filepath.Join(t.TempDir(), "page.png")
	if dir := os.Getenv("ESREMOTE_SCREENSHOT_DIR"); dir != "" {
		shot = filepath.Join(dir, "status-page.png") // to look at it
	}
	run("--screenshot="+shot, "--window-size=1200,1400", "--hide-scrollbars", "http://"+addr+"/")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	colours, green, red := screenshotColours(img)
	if colours < 16 {
		t.Errorf("screenshot has %d colours: blank", colours)
	}
	if green < 50 || red < 50 {
		t.Errorf("screenshot has %d green (connected) and %d red (disconnected) pixels; want the health colours drawn", green, red)
	}
}

// needChromium returns the path of Debian's chromium, or skips the test
// without it (fails when ESREMOTE_REQUIRE_TOOLS is set, as in CI).
func needChromium(t *testing.T) string {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("ESREMOTE_REQUIRE_TOOLS") != "" {
			t.Fatal("chromium is not installed (ESREMOTE_REQUIRE_TOOLS is set)")
		}
		t.Skip("chromium is not installed (Debian package chromium)")
	}
	return chromium
}

// runChromium runs headless chromium with args and returns its stdout. A
// browser that crashes (killed by a signal, as Chromium 148 now and then
// is on a loaded machine) is run again, twice at most: its crash is not
// what the tests check, and it says nothing of the page.
func runChromium(t *testing.T, chromium string, args ...string) []byte {
	t.Helper()
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
		cmd := exec.CommandContext(ctx, chromium, append(chromiumFlags(t), args...)...)
		out, err := cmd.Output()
		timedOut := ctx.Err() != nil
		cancel()
		if err == nil {
			return out
		}
		var stderr []byte
		ee, ok := err.(*exec.ExitError)
		if ok {
			stderr = ee.Stderr
		}
		if ok && ee.ExitCode() == -1 && !timedOut && try < 3 {
			t.Logf("chromium crashed (%v); running it again", err)
			continue
		}
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr)
	}
}

// screenshotColours counts distinct colours and the pixels close to the
// connected green (#1a7f37) and disconnected red (#cf222e).
func screenshotColours(img image.Image) (distinct, green, red int) {
	seen := map[uint32]bool{}
	near := func(r, g, b, wr, wg, wb uint32) bool {
		d := func(a, b uint32) uint32 {
			if a > b {
				return a - b
			}
			return b - a
		}
		return d(r, wr)+d(g, wg)+d(b, wb) < 40
	}
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			r, g, b = r>>8, g>>8, b>>8
			seen[r<<16|g<<8|b] = true
			if near(r, g, b, 0x1a, 0x7f, 0x37) {
				green++
			}
			if near(r, g, b, 0xcf, 0x22, 0x2e) {
				red++
			}
		}
	}
	return len(seen), green, red
}
