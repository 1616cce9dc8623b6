package main

// testscript commands for the simulated world (reconcile/sim):
//
//	sim-start [WORLD-FILE] [--tls]   start a world in-process; write $WORK/sim.json, set SIM_ADDR_FILE
//	sim-stop                         stop it (also done when the script ends)
//	sim-edit OP CLUSTER [KEY] [VALUE] an out-of-band edit (sim.Edit ops; VALUE is JSON or a plain string)
//	sim-fault TARGET KIND [k=v…]     install a fault (status=N times=N path=GLOB method=M latency=D); sim-fault clear
//	sim-state CLUSTER WHAT           print settings|transient|links|keystore|roles|trust as JSON
//	sim-log [reset]                  print the request counts ("count target endpoint"), or reset them
//	sim-wait FILE                    wait (fsnotify, 30s cap) until FILE exists, e.g. an addr file
//	sim-http ADDRFILE TARGET METHOD PATH [BODY]
//	                                 call a cluster, "ech", "ece" or "admin" named in an addr file with
//	                                 its credential; prints the status line then the body

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/esremote/esremote/reconcile/sim"
)

type simHolder struct{ srv *sim.Server }

type simKey struct{}

func init() {
	scriptSetups = append(scriptSetups, func(env *testscript.Env) error {
		h := &simHolder{}
		env.Values[simKey{}] = h
		env.Defer(func() {
			if h.srv != nil {
				h.srv.Close()
			}
		})
		return nil
	})
	scriptCmds["sim-start"] = cmdSimStart
	scriptCmds["sim-stop"] = cmdSimStop
	scriptCmds["sim-edit"] = cmdSimEdit
	scriptCmds["sim-fault"] = cmdSimFault
	scriptCmds["sim-state"] = cmdSimState
	scriptCmds["sim-log"] = cmdSimLog
	scriptCmds["sim-wait"] = cmdSimWait
	scriptCmds["sim-http"] = cmdSimHTTP
}

func simServer(ts *testscript.TestScript) *sim.Server {
	h := ts.Value(simKey{}).(*simHolder)
	if h.srv == nil {
		ts.Fatalf("no simulated world: run sim-start first")
	}
	return h.srv
}

func cmdSimStart(ts *testscript.TestScript, neg bool, args []string) {
	h := ts.Value(simKey{}).(*simHolder)
	if h.srv != nil {
		ts.Fatalf("sim-start: a world is already running")
	}
	w := sim.DefaultWorld()
	var opts []sim.Option
	for _, a := range args {
		if a == "--tls" {
			opts = append(opts, sim.WithTLS())
			continue
		}
		var err error
		if w, err = sim.LoadWorld(ts.MkAbs(a)); err != nil {
			if neg {
				return
			}
			ts.Fatalf("sim-start: %v", err)
		}
	}
	if neg {
		ts.Fatalf("sim-start: unexpected success")
	}
	sim.UserDelays.Fill(w) // as `esremote sim` serves it
	srv, err := sim.Start(context.Background(), w, opts...)
	if err != nil {
		ts.Fatalf("sim-start: %v", err)
	}
	h.srv = srv
	addrs := srv.Addresses()
	if pem := srv.CACertPEM(); pem != nil {
		addrs.CAFile = ts.MkAbs("sim-ca.pem")
		ts.Check(os.WriteFile(addrs.CAFile, pem, 0o600))
	}
	b, err := json.MarshalIndent(addrs, "", "  ")
	ts.Check(err)
	file := ts.MkAbs("sim.json")
	ts.Check(os.WriteFile(file, b, 0o600))
	ts.Setenv("SIM_ADDR_FILE", file)
	for name, c := range addrs.Clusters {
		env := strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		ts.Setenv("SIM_"+env+"_URL", c.URL)
		ts.Setenv("SIM_"+env+"_ENDPOINT", c.Endpoint)
		ts.Setenv("SIM_"+env+"_CLUSTER_ID", c.ClusterID)
		ts.Setenv("SIM_"+env+"_DEPLOYMENT_ID", c.DeploymentID)
	}
}

func cmdSimStop(ts *testscript.TestScript, neg bool, args []string) {
	h := ts.Value(simKey{}).(*simHolder)
	if h.srv != nil {
		h.srv.Close()
		h.srv = nil
	}
}

func cmdSimEdit(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: sim-edit OP CLUSTER [KEY] [VALUE]")
	}
	e := sim.Edit{Op: args[0], Cluster: args[1]}
	if e.Op == "advance_clock" {
		e.Cluster, e.Duration = "", args[1]
	}
	if len(args) > 2 {
		e.Key = args[2]
	}
	if len(args) > 3 {
		v := args[3]
		if !json.Valid([]byte(v)) {
			q, _ := json.Marshal(v)
			v = string(q)
		}
		e.Value = json.RawMessage(v)
	}
	err := simServer(ts).World.Apply(e)
	if neg {
		if err == nil {
			ts.Fatalf("sim-edit: unexpected success")
		}
		return
	}
	ts.Check(err)
}

func cmdSimFault(ts *testscript.TestScript, neg bool, args []string) {
	w := simServer(ts).World
	if len(args) == 1 && args[0] == "clear" {
		w.ClearFaults()
		return
	}
	if len(args) < 2 {
		ts.Fatalf("usage: sim-fault TARGET KIND [status=N times=N path=GLOB method=M latency=D] | sim-fault clear")
	}
	f := sim.Fault{Target: args[0], Kind: sim.FaultKind(args[1])}
	for _, kv := range args[2:] {
		k, v, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "status":
			f.Status, err = strconv.Atoi(v)
		case "times":
			f.Times, err = strconv.Atoi(v)
		case "path":
			f.Path = v
		case "method":
			f.Method = v
		case "latency":
			f.Latency, err = time.ParseDuration(v)
		default:
			ts.Fatalf("sim-fault: unknown option %q", k)
		}
		ts.Check(err)
	}
	_, err := w.AddFault(f)
	ts.Check(err)
}

func cmdSimState(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: sim-state CLUSTER settings|transient|links|keystore|roles|trust")
	}
	st, ok := simServer(ts).World.State()[args[0]]
	if !ok {
		ts.Fatalf("sim-state: no cluster %q", args[0])
	}
	var v any
	switch args[1] {
	case "settings":
		v = st.Persistent
	case "transient":
		v = st.Transient
	case "links":
		v = st.Links
	case "keystore":
		v = st.Keystore
	case "roles":
		v = st.Roles
	case "trust":
		v = st.Trust
	default:
		ts.Fatalf("sim-state: unknown part %q", args[1])
	}
	b, err := json.MarshalIndent(v, "", "  ")
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "%s\n", b)
}

func cmdSimLog(ts *testscript.TestScript, neg bool, args []string) {
	w := simServer(ts).World
	if len(args) == 1 && args[0] == "reset" {
		w.ResetLog()
		return
	}
	fmt.Fprint(ts.Stdout(), sim.FormatCounts(w.RequestCounts()))
}

func cmdSimWait(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: sim-wait FILE")
	}
	file := ts.MkAbs(args[0])
	watcher, err := fsnotify.NewWatcher()
	ts.Check(err)
	defer watcher.Close()
	ts.Check(watcher.Add(filepath.Dir(file)))
	timeout := time.After(30 * time.Second)
	for {
		if _, err := os.Stat(file); err == nil {
			return
		}
		select {
		case <-watcher.Events:
		case err := <-watcher.Errors:
			ts.Fatalf("sim-wait: %v", err)
		case <-timeout:
			ts.Fatalf("sim-wait: %s did not appear within 30s", args[0])
		}
	}
}

func cmdSimHTTP(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 4 {
		ts.Fatalf("usage: sim-http ADDRFILE TARGET METHOD PATH [BODY]")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	var addrs sim.Addresses
	ts.Check(json.Unmarshal(b, &addrs))
	var url, authz string
	switch target := args[1]; target {
	case "admin":
		url, authz = addrs.Admin.URL, "Bearer "+addrs.Admin.Token
	case "ech", "ece":
		cp := addrs.ControlPlanes[target]
		url, authz = cp.URL, "ApiKey "+cp.APIKey
	default:
		c, ok := addrs.Clusters[target]
		if !ok {
			ts.Fatalf("sim-http: no target %q", target)
		}
		url, authz = c.URL, "ApiKey "+c.APIKey
		if strings.HasPrefix(args[3], "/_security/cross_cluster/") {
			authz = "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password))
		}
	}
	var body io.Reader
	if len(args) > 4 {
		body = strings.NewReader(args[4])
	}
	req, err := http.NewRequest(args[2], url+args[3], body)
	ts.Check(err)
	req.Header.Set("Authorization", authz)
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Timeout: 30 * time.Second}
	if addrs.CAFile != "" {
		pem, err := os.ReadFile(addrs.CAFile)
		ts.Check(err)
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	}
	resp, err := client.Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "%d\n%s", resp.StatusCode, out)
	if neg != (resp.StatusCode >= 300) {
		ts.Fatalf("sim-http: status %d", resp.StatusCode)
	}
}
