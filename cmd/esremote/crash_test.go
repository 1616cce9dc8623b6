package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"github.com/esremote/esremote/internal/flagship"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/sim"
)

// A real SIGKILL of `esremote apply` in the middle of a key rotation: the
// new key is created on the remote and recorded pending in the ledger,
// and the process dies while the Cloud API keystore PATCH that would
// deliver it is in flight. The restart converges: one valid key, the one
// the ledger records, in the keystore, the link connected, and none of
// the secrets in any output of either run. reconcile's TestCrashDuring*
// cover every other step in-process.
func TestSIGKILLDuringRotation(t *testing.T) {
	bin, err := exec.LookPath("esremote") // the test binary, linked by testscript.Main
	if err != nil {
		t.Fatal(err)
	}
	w := sim.DefaultWorld()
	// The first key is made 80 days in the past: it expires in 10 days,
	// inside rotate_before, so the next apply rotates it.
	// The world's clock runs (the platform's keystore load delay of
	// sim.UserDelays elapses on it), 80 days behind until the rotation.
	var clock sync.Mutex
	offset := -80 * 24 * time.Hour
	w.Now = func() time.Time { clock.Lock(); defer clock.Unlock(); return time.Now().Add(offset) }
	sim.UserDelays.Fill(w) // as `esremote sim` serves it
	srv, err := sim.Start(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	// The ech control plane is behind a proxy that tells the test when the
	// keystore PATCH of the rotation arrives, and holds it.
	arrived, testDone := make(chan struct{}), make(chan struct{})
	var once sync.Once
	holding := false
	var hmu sync.Mutex
	up, _ := url.Parse(srv.ControlPlaneURL(sim.PlatformECH))
	rp := httputil.NewSingleHostReverseProxy(up)
	proxy := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		hmu.Lock()
		hold := holding && r.Method == http.MethodPatch && strings.HasSuffix(r.URL.Path, "/keystore")
		hmu.Unlock()
		if hold {
			// Read the body, so the server notices the client's death.
			_, _ = io.Copy(io.Discard, r.Body)
			once.Do(func() { close(arrived) })
			select {
			case <-r.Context().Done(): // the process died
			case <-testDone:
			}
			return
		}
		rp.ServeHTTP(rw, r)
	}))
	t.Cleanup(proxy.Close)
	t.Cleanup(func() { close(testDone) })

	dir, state := t.TempDir(), t.TempDir()
	env := append(os.Environ(), "STATE_DIRECTORY="+state)
	clusters, secretEnv := simClusters(srv.Addresses(), map[string]string{"cloud-" + sim.PlatformECH: proxy.URL})
	var secrets []string
	for _, name := range slices.Sorted(maps.Keys(secretEnv)) {
		env = append(env, name+"="+secretEnv[name])
		secrets = append(secrets, secretEnv[name])
	}
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("clusters.yaml", clusters)
	write("conn.yaml", rotatingConn)

	var outputs bytes.Buffer
	apply := func(flags ...string) *exec.Cmd {
		cmd := exec.Command(bin, append(append([]string{"apply", "--verify-timeout", "5s", "-v"}, flags...), dir)...)
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = &outputs, &outputs
		return cmd
	}
	if err := apply().Run(); err != nil {
		t.Fatalf("first apply: %v\n%s", err, outputs.String())
	}
	led := func() *reconcile.KeyRecord {
		t.Helper()
		l, err := reconcile.OpenLedger(state)
		if err != nil {
			t.Fatal(err)
		}
		return l.Key("analytics-to-ece-logs")
	}
	first := led()
	clock.Lock()
	offset = 0
	clock.Unlock()
	hmu.Lock()
	holding = true
	hmu.Unlock()

	cmd := apply()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("the rotation never reached the keystore PATCH\n%s", outputs.String())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("apply was not killed: %v", err)
	}
	hmu.Lock()
	holding = false
	hmu.Unlock()
	// What the kill left: a new key on the remote, pending in the ledger,
	// never delivered; the old key still in the keystore.
	dead := led()
	if !dead.Pending || dead.ID == first.ID || dead.Previous == nil || dead.Previous.ID != first.ID {
		t.Fatalf("ledger after the kill: %+v (first key %s)", dead, first.ID)
	}
	if got := activeKeys(srv.World); len(got) != 2 {
		t.Fatalf("active keys after the kill: %v, want the old and the undelivered new one", got)
	}

	// Restart. The rotation's old key goes once the new one has been
	// proven over --rotation-overlap (1s here, on the process's own
	// clock): the restart proves it, an apply after the window ends it.
	outputs.WriteString("\n== restart\n")
	if err := apply("--rotation-overlap", "1s").Run(); err != nil {
		t.Fatalf("apply after the kill: %v\n%s", err, outputs.String())
	}
	if rotating := led(); rotating.Pending || rotating.Previous == nil || rotating.Previous.ID != first.ID || rotating.ProvenAt.IsZero() {
		t.Fatalf("ledger after the restart: %+v; want the first key kept as previous, the new one proven", rotating)
	}
	time.Sleep(1100 * time.Millisecond) // past the window
	outputs.WriteString("\n== after the window\n")
	if err := apply("--rotation-overlap", "1s").Run(); err != nil {
		t.Fatalf("apply after the window: %v\n%s", err, outputs.String())
	}
	final := led()
	if final.Pending || final.Previous != nil || final.ID == first.ID || final.ID == dead.ID {
		t.Fatalf("ledger after the restart: %+v", final)
	}
	if got := activeKeys(srv.World); len(got) != 1 || got[0] != final.ID {
		t.Fatalf("valid keys %v; the ledger knows only %s: a key leaked", got, final.ID)
	}
	ks, err := srv.World.Keystore("ech-analytics")
	if err != nil {
		t.Fatal(err)
	}
	encoded := ks["cluster.remote.ece-prod-logs.credentials"]
	if reconcile.Fingerprint(encoded) != final.Fingerprint {
		t.Fatal("the keystore does not hold the ledger's key")
	}
	if st := srv.World.LinkStatus("ech-analytics", "ece-prod-logs"); !st.Connected {
		t.Fatalf("link not connected after the restart: %+v", st)
	}

	// No secret of any of the three keys, nor any login, in the outputs
	// (debug logs included) or the state dir.
	for _, k := range []string{encoded} {
		secrets = append(secrets, k)
		if raw, err := base64.StdEncoding.DecodeString(k); err == nil {
			if _, s, ok := strings.Cut(string(raw), ":"); ok {
				secrets = append(secrets, s)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(state, "*"))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil {
			outputs.Write(b)
		}
	}
	for _, s := range secrets {
		if len(s) < 8 {
			t.Fatalf("suspiciously short secret")
		}
		if bytes.Contains(outputs.Bytes(), []byte(s)) {
			t.Errorf("a secret appears in the outputs of apply or the state dir")
		}
	}
}

func activeKeys(w *sim.World) []string {
	var out []string
	for _, k := range w.State()["ece-prod-logs"].APIKeys {
		if k.Active && k.Type == "cross_cluster" {
			out = append(out, k.ID)
		}
	}
	return out
}

// rotatingConn is the flagship link (internal/flagship) without its role.
const rotatingConn = flagship.Link
