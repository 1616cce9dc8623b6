package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/pflag"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func init() {
	register("version", &command{
		exits:   "0",
		summary: "print version and build info",
		usage:   "version",
		flags:   cmdVersion,
	})
}

func cmdVersion(fs *pflag.FlagSet) runFunc {
	return func(c *cli, pos []string) int {
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
}
