package main

import (
	"encoding/json"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/esremote/esremote/reconcile/sim"
	"github.com/esremote/esremote/spec"

	"github.com/spf13/pflag"
)

func init() {
	register("sim", &command{
		summary: "serve a simulated ECH + ECE world on loopback",
		usage:   "sim [--world FILE] [--addr-file FILE] [--tls] [--specs DIR]",
		flags:   cmdSim,
		exits:   "0 when stopped, 1 on an error",
	})
}

// cmdSim serves a simulated world until the context ends (SIGINT or
// SIGTERM). Once listening it prints one JSON object naming every
// endpoint and credential, and writes it to --addr-file.
func cmdSim(fs *pflag.FlagSet) runFunc {
	worldFile := fs.String("world", "", "world file (YAML); the built-in default world when empty")
	addrFile := fs.String("addr-file", "", "also write the addresses JSON to this file")
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
		if _, set := w.ConnectWait(); !set {
			// Real Elasticsearch waits up to 10 s per alias whose connection
			// does not come up (RemoteClusterService.updateRemoteCluster).
			w.SetConnectWait(10 * time.Second)
		}
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
			c.hintf("wrote %s: add Connection files there, then run 'esremote plan %s'", filepath.Join(*specsDir, "clusters.yaml"), *specsDir)
		}
		out, err := json.MarshalIndent(addrs, "", "  ")
		if err != nil {
			c.errorf("encode addresses: %v", err)
			return exitError
		}
		out = append(out, '\n')
		if *addrFile != "" {
			if err := simWriteFile(*addrFile, out); err != nil {
				c.errorf("write addr file: %v", err)
				return exitError
			}
		}
		c.stdout.Write(out)
		<-c.ctx.Done()
		return exitOK
	}
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
