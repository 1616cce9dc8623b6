package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/esremote/esremote/reconcile/sim"
	"github.com/esremote/esremote/spec"

	"github.com/spf13/pflag"
)

func init() {
	register("sim", &command{
		summary: "serve a simulated ECH + ECE world on loopback",
		usage:   "sim [--world FILE] [--addr-file FILE] [--tls] [--specs DIR] [--print-credentials]",
		flags:   cmdSim,
		exits:   "0 when stopped, 1 on an error",
	})
}

// cmdSim serves a simulated world until the context ends (SIGINT or
// SIGTERM). Once listening it writes one JSON object naming every
// endpoint and credential to a private file (--addr-file, else
// SPECS/sim.json with --specs) and prints where the endpoints are and how
// to stop it; the credentials reach a terminal only with
// --print-credentials (a shared screen, a recorded session, a scrollback
// must not show the admin token and every password).
func cmdSim(fs *pflag.FlagSet) runFunc {
	worldFile := fs.String("world", "", "world file (YAML); the built-in default world when empty")
	addrFile := fs.String("addr-file", "", "write the addresses JSON, with every credential, to this file (mode 0600); default with --specs: DIR/sim.json")
	printCreds := fs.Bool("print-credentials", false, "print the addresses JSON with every password, API key and the admin token to stdout, instead of the summary")
	useTLS := fs.Bool("tls", false, "serve HTTPS with a generated CA written next to the addr file")
	specsDir := fs.String("specs", "", "write DIR/clusters.yaml declaring every cluster of the world (secrets in DIR/secrets, the CA in DIR/sim-ca.pem; implies --tls), so Connection specs in DIR can be planned and applied at once")
	return func(c *cli, pos []string) int {
		if len(pos) > 0 {
			c.errorf("sim: unexpected argument %q", pos[0])
			return exitError
		}
		w := sim.DefaultWorld()
		if *worldFile != "" {
			// Checked as a spec file is first (sim imports no esremote
			// package): a FIFO or device as --world is refused, not read
			// for ever.
			if _, err := spec.ReadFile(*worldFile, spec.MaxFileSize); err != nil {
				if pe, ok := errors.AsType[*iofs.PathError](err); ok {
					err = pe.Err
				}
				c.errorf("read world file %s: %v", *worldFile, err)
				return exitError
			}
			var err error
			if w, err = sim.LoadWorld(*worldFile); err != nil {
				c.errorf("%v", err)
				return exitError
			}
		}
		// The delays of the real platforms that the world file leaves
		// unset: the same the demo and the tests run with.
		sim.UserDelays.Fill(w)
		if *specsDir != "" {
			*useTLS = true
		}
		var opts []sim.Option
		if *useTLS {
			opts = append(opts, sim.WithTLS())
		}
		srv, err := sim.Start(c.ctx, w, opts...)
		if err != nil {
			c.errorf("start simulated world: %v", err)
			return exitError
		}
		defer srv.Close()
		addrs := srv.Addresses()
		if *useTLS {
			dir := "."
			switch {
			case *addrFile != "":
				dir = filepath.Dir(*addrFile)
			case *specsDir != "":
				dir = *specsDir
				if err := os.MkdirAll(dir, 0o755); err != nil {
					c.errorf("write specs: %v", err)
					return exitError
				}
			}
			caFile, err := filepath.Abs(filepath.Join(dir, "sim-ca.pem"))
			if err == nil {
				err = simWriteFile(caFile, srv.CACertPEM())
			}
			if err != nil {
				c.errorf("write sim CA: %v", err)
				return exitError
			}
			addrs.CAFile = caFile
		}
		if *specsDir != "" {
			if err := writeSimSpecs(*specsDir, srv); err != nil {
				c.errorf("write specs: %v", err)
				return exitError
			}
			state := filepath.Clean(*specsDir) + "-state"
			c.hintf("wrote %s: add Connection files there, then run 'esremote plan --state-dir %s %s'", filepath.Join(*specsDir, "clusters.yaml"), state, *specsDir)
		}
		out, err := json.MarshalIndent(addrs, "", "  ")
		if err != nil {
			c.errorf("encode addresses: %v", err)
			return exitError
		}
		out = append(out, '\n')
		file := *addrFile
		if file == "" && *specsDir != "" {
			file = filepath.Join(*specsDir, "sim.json")
		}
		if file != "" {
			if err := simWriteFile(file, out); err != nil {
				c.errorf("write addr file: %v", err)
				return exitError
			}
		}
		if *printCreds {
			c.stdout.Write(out)
		} else {
			simSummary(c.stdout, addrs, file)
		}
		<-c.ctx.Done()
		return exitOK
	}
}

// simSummary prints what a person needs from a running world, without a
// credential: each endpoint, where the credentials are, how to stop it.
func simSummary(w io.Writer, a sim.Addresses, file string) {
	fmt.Fprintln(w, "simulated world on 127.0.0.1:")
	for _, n := range slices.Sorted(maps.Keys(a.Clusters)) {
		c := a.Clusters[n]
		kind := map[string]string{sim.PlatformECH: "ECH deployment", sim.PlatformECE: "ECE deployment"}[c.Platform]
		if kind == "" {
			kind = "self-managed"
		}
		fmt.Fprintf(w, "  %-18s %-24s %s, Elasticsearch %s\n", n, c.URL, kind, c.Version)
	}
	for _, p := range slices.Sorted(maps.Keys(a.ControlPlanes)) {
		fmt.Fprintf(w, "  %-18s %s\n", p+" control plane", a.ControlPlanes[p].URL)
	}
	fmt.Fprintf(w, "  %-18s %s\n", "admin API", a.Admin.URL)
	if a.CAFile != "" {
		fmt.Fprintf(w, "  %-18s %s\n", "CA", a.CAFile)
	}
	if file != "" {
		fmt.Fprintf(w, "credentials and the admin token: %s (mode 0600; never printed unless --print-credentials)\n", file)
	} else {
		fmt.Fprintln(w, "credentials and the admin token: not printed; run with --addr-file FILE (mode 0600) or --print-credentials")
	}
	fmt.Fprintln(w, "stop it with Ctrl-C (kill %1 when started with &); a restart serves new ports and credentials and rewrites what --specs wrote")
}

// simWriteFile writes a private file via a temporary file and rename,
// so a reader waiting for it never sees it half written.
func simWriteFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".sim-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename %s: %w", path, err)
	}
	return nil
}

// writeSimSpecs writes a spec dir for a running world: clusters.yaml with
// every cluster (secrets named as files under secrets/, 0600), and the
// world's CA as sim-ca.pem. An existing clusters.yaml is replaced (the
// world's ports and credentials are new on every start); other files are
// left alone.
func writeSimSpecs(dir string, srv *sim.Server) error {
	secrets := filepath.Join(dir, "secrets")
	if err := os.MkdirAll(secrets, 0o700); err != nil {
		return err
	}
	yaml, values := simClustersYAML(srv.Addresses(), "sim-ca.pem", func(name string) string {
		return "{file: secrets/" + name + "}"
	})
	for name, v := range values {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(v+"\n"), 0o600); err != nil {
			return err
		}
	}
	if err := simWriteFile(filepath.Join(dir, "sim-ca.pem"), srv.CACertPEM()); err != nil {
		return err
	}
	return simWriteFile(filepath.Join(dir, "clusters.yaml"), []byte(yaml))
}
