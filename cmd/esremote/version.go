package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/pflag"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func init() {
	register("version", &command{
		exits:   "0, 1 on a usage error",
		summary: "print the version (one line), or with --format json the build info and every dependency",
		usage:   "version [--format text|json]",
		flags:   cmdVersion,
		values:  map[string][]string{"format": {"text", "json"}},
	})
}

// versionJSON is `esremote version --format json`.
type versionJSON struct {
	Version   string            `json:"version"`
	GoVersion string            `json:"go_version"`
	Platform  string            `json:"platform"`
	Module    string            `json:"module,omitempty"`
	VCS       map[string]string `json:"vcs,omitempty"`
	Deps      []versionDep      `json:"dependencies"`
}

type versionDep struct {
	Path    string `json:"path"`
	Version string `json:"version"`
	Sum     string `json:"sum,omitempty"`
	// Replaced names the module this one replaces, when it is a replacement.
	Replaced string `json:"replaced,omitempty"`
}

// cmdVersion prints one line, "esremote VERSION", as --version does; the
// build info (Go version, platform, the commit) and the 30-odd modules
// compiled in are for --format json (they were 33 lines of text).
func cmdVersion(fs *pflag.FlagSet) runFunc {
	format := fs.String("format", "text", "output `format`: text (one line) or json (build info and dependencies)")
	return func(c *cli, pos []string) int {
		if len(pos) != 0 {
			c.errorf("version takes no arguments")
			return exitError
		}
		switch *format {
		case "text":
			fmt.Fprintf(c.stdout, "esremote %s\n", version)
			return exitOK
		case "json":
		default:
			c.errorf("unknown format %q: use text or json", *format)
			return exitError
		}
		out := versionJSON{Version: version, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, Deps: []versionDep{}}
		if info, ok := debug.ReadBuildInfo(); ok {
			out.Module = info.Main.Path
			for _, s := range info.Settings {
				switch s.Key {
				case "vcs.revision", "vcs.time", "vcs.modified":
					if out.VCS == nil {
						out.VCS = map[string]string{}
					}
					out.VCS[s.Key[len("vcs."):]] = s.Value
				}
			}
			for _, m := range info.Deps {
				d := versionDep{Path: m.Path, Version: m.Version, Sum: m.Sum}
				if m.Replace != nil {
					d = versionDep{Path: m.Replace.Path, Version: m.Replace.Version, Sum: m.Replace.Sum, Replaced: m.Path}
				}
				out.Deps = append(out.Deps, d)
			}
		}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			c.errorf("encode version: %v", err)
			return exitError
		}
		fmt.Fprintf(c.stdout, "%s\n", b)
		return exitOK
	}
}
