package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/esremote/esremote/reconcile/sim"
)

// BenchmarkDaemonFootprint runs the real daemon (`esremote run`, built
// with go build) as a child process against an in-process sim world with
// a 20 ms round trip, and reads its /proc/PID: resident memory and CPU
// during its start pass and while idle (DESIGN §8: idle under 30 MiB RSS,
// no polling). The world's clusters already hold the settings the specs
// ask for, so the start pass is a steady-state pass: its cost does not
// include the ledger's saves (see BenchmarkPassFirst in reconcile).
func BenchmarkDaemonFootprint(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "esremote")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	for _, conns := range []int{100, 5000} {
		b.Run(fmt.Sprintf("connections=%d", conns), func(b *testing.B) {
			for b.Loop() {
				footprint(b, bin, conns/25, 25)
			}
		})
	}
}

// footprint starts the daemon over locals × aliases connections, waits for
// its start pass, watches it idle, and reports: the start pass's wall
// time (process start to its "pass finished" log line, spec load
// included) and CPU, the peak RSS (VmHWM), the RSS and CPU while idle.
func footprint(b *testing.B, bin string, locals, aliases int) {
	ws := sim.WorldSpec{Clusters: []sim.ClusterSpec{{Name: "hub", Version: "8.19.3", Platform: "self-managed"}}}
	for i := range locals {
		settings := map[string]any{}
		for a := range aliases {
			p := fmt.Sprintf("cluster.remote.hub-%02d.", a)
			settings[p+"mode"] = "proxy"
			settings[p+"proxy_address"] = "hub.sim:9400"
			settings[p+"server_name"] = "hub.sim"
			settings[p+"skip_unavailable"] = "true"
		}
		ws.Clusters = append(ws.Clusters, sim.ClusterSpec{Name: fmt.Sprintf("local-%03d", i), Version: "8.19.3",
			Platform: "self-managed", Settings: settings})
	}
	w, err := sim.NewWorld(ws)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := sim.Start(ctx, w)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	if _, err := srv.Fault(sim.Fault{Kind: sim.FaultLatency, Latency: 20 * time.Millisecond}); err != nil {
		b.Fatal(err)
	}

	dir := b.TempDir()
	env := os.Environ()
	var specs strings.Builder
	for _, name := range w.Clusters() {
		c := srv.Addresses().Clusters[name]
		pw := "ES_PASSWORD_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		env = append(env, pw+"="+c.Password)
		fmt.Fprintf(&specs, "---\napiVersion: esremote/v1\nkind: Cluster\nname: %s\nelasticsearch:\n  url: %s\n  auth: {basic: {username: %s, password: {env: %s}}}\n", name, c.URL, c.Username, pw)
	}
	for i := range locals {
		for a := range aliases {
			fmt.Fprintf(&specs, "---\napiVersion: esremote/v1\nkind: Connection\nname: link-%03d-%02d\nlocal: local-%03d\nalias: hub-%02d\nremote:\n  proxy_address: hub.sim:9400\n  server_name: hub.sim\nsecurity: certificate\nsettings:\n  skip_unavailable: true\n", i, a, i, a)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "specs.yaml"), []byte(specs.String()), 0o644); err != nil {
		b.Fatal(err)
	}

	cmd := exec.Command(bin, "run", "--listen", "127.0.0.1:0", "--state-dir", b.TempDir(), "--log-format", "json", dir)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	finished := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if strings.Contains(sc.Text(), `"msg":"pass finished"`) {
				finished <- sc.Text()
			}
		}
		close(finished)
	}()
	line, ok := <-finished
	if !ok {
		b.Fatal("the daemon exited before its first pass finished")
	}
	pass := time.Since(start)
	if !strings.Contains(line, fmt.Sprintf(`"in_sync":%d`, locals*aliases)) {
		b.Fatalf("start pass not in sync: %s", line)
	}
	for _, r := range srv.Log() {
		if r.Method != "GET" {
			b.Fatalf("the seeded world should need no write; the daemon sent %s %s to %s", r.Method, r.Path, r.Target)
		}
	}
	passCPU := cpuTime(b, cmd.Process.Pid)

	// Idle: after a settling second (the report is saved after the log
	// line), the daemon blocks on its channels and timers; whatever CPU
	// it uses over the window is polling or leaked work.
	const settle, idleWindow = time.Second, 3 * time.Second
	time.Sleep(settle)
	idleFrom := cpuTime(b, cmd.Process.Pid)
	time.Sleep(idleWindow)
	idleCPU := cpuTime(b, cmd.Process.Pid) - idleFrom
	idleRSS := statusKiB(b, cmd.Process.Pid, "VmRSS")
	peak := statusKiB(b, cmd.Process.Pid, "VmHWM")

	b.ReportMetric(float64(pass.Milliseconds()), "startpass-ms")
	b.ReportMetric(float64(passCPU.Milliseconds()), "startpass-cpu-ms")
	b.ReportMetric(float64(peak)/1024, "peak-rss-MiB")
	b.ReportMetric(float64(idleRSS)/1024, "idle-rss-MiB")
	b.ReportMetric(float64(idleCPU.Milliseconds())/idleWindow.Seconds(), "idle-cpu-ms/s")
	b.ReportMetric(0, "ns/op")
}

// statusKiB reads one "Name:  N kB" field of /proc/PID/status.
func statusKiB(b *testing.B, pid int, field string) int {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				b.Fatalf("%s: %v", field, err)
			}
			return n
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// cpuTime is utime+stime of /proc/PID/stat (clock ticks of 10 ms, the
// USER_HZ of Linux on every common architecture).
func cpuTime(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which is in parentheses.
	rest := string(raw[strings.LastIndexByte(string(raw), ')')+2:])
	f := strings.Fields(rest)
	utime, _ := strconv.Atoi(f[11]) // field 14 of proc(5)
	stime, _ := strconv.Atoi(f[12]) // field 15
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
