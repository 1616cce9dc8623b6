package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/esremote/esremote/drift"
)

func init() {
	register("status", &command{
		summary: "ask a running daemon for its last report",
		usage:   "status [--listen ADDR] [--format text|json]",
		run:     cmdStatus,
	})
}

// statusTimeout bounds the request to the daemon.
const statusTimeout = 10 * time.Second

// cmdStatus prints the running daemon's last report (GET /status). It
// exits 1 when the daemon cannot be reached or has no report yet.
func cmdStatus(c *cli, args []string) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	listen := fs.String("listen", defaultListen, "the daemon's HTTP `address` (its --listen)")
	format := fs.String("format", "text", "output format: text or json")
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "usage: esremote %s\n\n%s\n\nflags:\n", commands["status"].usage, commands["status"].summary)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitError
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return exitError
	}
	if *format != "text" && *format != "json" {
		c.errorf("unknown --format %q: use text or json", *format)
		return exitError
	}
	ctx, cancel := context.WithTimeout(c.ctx, statusTimeout)
	defer cancel()
	url := "http://" + *listen + "/status"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		c.errorf("--listen %q: %v", *listen, err)
		return exitError
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.errorf("cannot reach the daemon at %s: %v", *listen, unwrapURLError(err))
		c.hintf("is it running? check 'systemctl status esremote', or pass the daemon's --listen address")
		return exitError
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		c.errorf("daemon at %s: %s: %s", *listen, resp.Status, strings.TrimSpace(string(body)))
		return exitError
	}
	r, err := drift.ReadJSON(resp.Body)
	if err != nil {
		c.errorf("daemon at %s sent an unreadable report: %v", *listen, err)
		return exitError
	}
	if *format == "json" {
		err = drift.WriteJSON(c.stdout, r)
	} else {
		err = drift.WriteText(c.stdout, r, drift.TextOptions{})
	}
	if err != nil {
		c.errorf("write report: %v", err)
		return exitError
	}
	return exitOK
}

// unwrapURLError drops net/http's "Get \"http://…\":" prefix, which
// repeats the address the message already names.
func unwrapURLError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}
