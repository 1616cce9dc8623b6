package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func init() {
	register("version", &command{
		summary: "print version and build info",
		usage:   "version",
		run:     cmdVersion,
	})
}

func cmdVersion(c *cli, args []string) int {
	fs := c.newFlags("version")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		c.errorf("version takes no arguments")
		return exitError
	}
	fmt.Fprintf(c.stdout, "esremote %s\n%s %s/%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return exitOK
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision", "vcs.time", "vcs.modified":
			fmt.Fprintf(c.stdout, "%s %s\n", s.Key, s.Value)
		}
	}
	for _, m := range info.Deps {
		if m.Replace != nil {
			m = m.Replace
		}
		fmt.Fprintf(c.stdout, "dep %s %s\n", m.Path, m.Version)
	}
	return exitOK
}
