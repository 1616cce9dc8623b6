package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cpuguy83/go-md2man/v2/md2man"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The manual: the examples every command's help ends with, and the man
// pages `make package` installs (esremote __man DIR), one per command,
// headed ESREMOTE-CMD(1), with the sections a man page has (NAME,
// SYNOPSIS, DESCRIPTION, OPTIONS, EXIT STATUS, ENVIRONMENT, FILES,
// EXAMPLES, SEE ALSO). They are kept here, beside each other, rather than
// in each command's file, so that the manual reads as one.

// commandExamples are each command's examples: a comment line saying
// what the next command does, then the command.
var commandExamples = map[string]string{
	"validate": `# check a spec directory offline (CI: on every merge request)
esremote validate connections/
# on the host that runs the daemon: also read every secret the specs name
sudo esremote validate --secrets /etc/esremote/connections
# problems as JSON, for a CI annotator
esremote validate --format json connections/`,
	"plan": `# what apply would change; exit 2 when something would
esremote plan --state-dir /var/lib/esremote /etc/esremote/connections
# one connection, as Markdown for a merge-request comment
esremote plan connections/ --only analytics-to-ece-logs --format markdown
# save the plan for review, then apply exactly that
esremote plan connections/ --out plan.json && esremote apply connections/ --plan plan.json`,
	"apply": `# one reconcile pass: write, verify, report
sudo esremote apply /etc/esremote/connections
# only one connection, waiting up to 30s for the link to connect
sudo esremote apply /etc/esremote/connections --only analytics-to-ece-logs --verify-timeout 30s
# apply a plan saved and reviewed earlier (refused when stale)
esremote apply connections/ --plan plan.json`,
	"run": `# the daemon, as the systemd unit runs it
esremote run /etc/esremote/connections --listen 127.0.0.1:9477
# resync every 10 minutes, alerts to Alertmanager
esremote run /etc/esremote/connections --resync 10m --alertmanager-url http://127.0.0.1:9093`,
	"status": `# the running daemon's connections as a table
esremote status
# the past passes saved in the state dir (the daemon need not run)
sudo esremote status --history`,
	"doctor": `# diagnose one connection step by step
sudo esremote doctor /etc/esremote/connections analytics-to-ece-logs
# through an SSH tunnel: pin the proxy's name to the tunnel's address
esremote doctor connections/ analytics-to-ece-logs --resolve proxy.example.com=127.0.0.1`,
	"import": `# see what would be imported from a cluster's hand-made aliases
sudo esremote import /etc/esremote/connections --cluster ech-analytics --dry-run
# adopt one alias: a spec file in imported/ech-analytics/ and a ledger record
sudo esremote import /etc/esremote/connections --cluster ech-analytics --alias ece-prod-logs`,
	"graph": `# the estate as a Mermaid graph, coloured by health
esremote graph /etc/esremote/connections
# from the specs alone, as Graphviz
esremote graph connections/ --offline --format dot | dot -Tsvg > estate.svg`,
	"sim": `# a simulated world and a spec dir for it (credentials in /tmp/try/sim.json)
esremote sim --specs /tmp/try &
# a world of your own, its addresses and credentials in a private file
esremote sim --world world.yaml --tls --addr-file /tmp/sim.json`,
	"demo": `# the guided tour on the built-in simulated world
esremote demo`,
	"schema": `# the JSON Schema of the spec files, for an editor
esremote schema > esremote.schema.json
# the schema of a saved plan
esremote schema --plan`,
	"state": `# move the ledger from the state dir into the cluster ops-store
sudo esremote state migrate --from /var/lib/esremote --to ops-store --specs /etc/esremote/connections
# the ledger was lost (moved aside, the package purged): rebuild it from what is live, then plan
sudo esremote state recover /etc/esremote/connections --state-dir /var/lib/esremote
sudo esremote plan /etc/esremote/connections`,
	"version": `# one line
esremote version
# the build info and every dependency, as JSON
esremote version --format json`,
}

// completionExamples are the completion command's.
const completionExamples = `# bash, for this shell
source <(esremote completion bash)
# zsh, for every shell
esremote completion zsh > "${fpath[1]}/_esremote"
# fish
esremote completion fish > ~/.config/fish/completions/esremote.fish`

// statefulCommands read or write the state dir.
var statefulCommands = []string{"apply", "doctor", "graph", "import", "plan", "run", "state", "status"}

// secretCommands read the secrets the specs name.
var secretCommands = []string{"apply", "doctor", "graph", "import", "plan", "run", "state", "validate"}

// manEnvironment is the ENVIRONMENT section for the command name ("" for
// esremote(1) itself).
func manEnvironment(name string) string {
	var b strings.Builder
	all := name == ""
	if all || slices.Contains(statefulCommands, name) {
		b.WriteString("**STATE_DIRECTORY**\n: The state directory when **--state-dir** is not given (systemd's StateDirectory= sets it).\n\n" +
			"**XDG_STATE_HOME**\n: When not root and **STATE_DIRECTORY** is unset, the state directory is $XDG_STATE_HOME/esremote (default ~/.local/state/esremote).\n\n")
	}
	if all || slices.Contains(secretCommands, name) {
		b.WriteString("**CREDENTIALS_DIRECTORY**\n: Where a secret written as {credential: NAME} is read from, as $CREDENTIALS_DIRECTORY/NAME (systemd's LoadCredential= sets it).\n\n" +
			"*VAR*\n: A secret written as {env: VAR} is read from the variable VAR.\n\n")
	}
	if all || name == "run" {
		b.WriteString("**NOTIFY_SOCKET**, **JOURNAL_STREAM**\n: Set by systemd: **run** reports readiness and status with sd_notify, and logs without timestamps to the journal.\n\n")
	}
	if b.Len() == 0 {
		return "None.\n"
	}
	return b.String()
}

// manFiles is the FILES section for the command name ("" for esremote(1)).
func manFiles(name string) string {
	var b strings.Builder
	all := name == ""
	if all || name == "completion" {
		b.WriteString("*/usr/share/bash-completion/completions/esremote*, */usr/share/zsh/vendor-completions/\\_esremote*, */usr/share/fish/vendor\\_completions.d/esremote.fish*\n: The completion scripts the package installs (bash needs the bash-completion package). They call esremote to complete connection names for **--only** and **doctor**.\n\n")
	}
	if all || !slices.Contains([]string{"completion", "demo", "schema", "sim", "version"}, name) {
		b.WriteString("*/etc/esremote/connections/*\n: The spec directory of the packaged service: every *.yaml and *.yml below it, dot-files skipped.\n\n")
	}
	if all || slices.Contains(statefulCommands, name) {
		b.WriteString("*/var/lib/esremote/ledger.json*\n: The ownership ledger: a fingerprint of everything esremote wrote. Never delete it: without it, what esremote made looks hand-made (a conflict).\n\n" +
			"*/var/lib/esremote/reports/*, */var/lib/esremote/last.json*\n: The reports of past passes (**status --history**) and the last one.\n\n" +
			"*/var/lib/esremote/lock*\n: Held (flock) by **apply**, **import**, **run** and **state migrate** while they may write: one writer at a time.\n\n")
	}
	if all || name == "run" || name == "validate" {
		b.WriteString("*/usr/lib/systemd/system/esremote.service*\n: The unit: runs **esremote validate --secrets** before start and reload, then **esremote run**.\n\n")
	}
	if all || name == "sim" {
		b.WriteString("*DIR/clusters.yaml*, *DIR/secrets/*, *DIR/sim.json*, *DIR/sim-ca.pem*\n: What **sim --specs DIR** writes: the Cluster specs of the world, their secrets (0600), every address and credential (0600) and the CA.\n\n")
	}
	if b.Len() == 0 {
		return "None.\n"
	}
	return b.String()
}

// manExitStatus is the EXIT STATUS section.
func manExitStatus(exits string) string {
	return exits + ". A command line esremote refuses (an unknown flag or command) exits 1.\n"
}

// writeManPages writes esremote.1 and esremote-CMD.1 for every visible
// command of root into dir.
func writeManPages(root *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	date := manDate()
	pages := map[string][]byte{"esremote": rootManPage(root, date)}
	for _, cmd := range root.Commands() {
		if cmd.Hidden || cmd.Name() == "help" {
			continue
		}
		pages["esremote-"+cmd.Name()] = commandManPage(cmd, date)
	}
	for name, md := range pages {
		if err := os.WriteFile(filepath.Join(dir, name+".1"), md2man.Render(md), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// manDate is the pages' date: $SOURCE_DATE_EPOCH (reproducible builds),
// else the commit's time, else today.
func manDate() string {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(n, 0).UTC().Format("2006-01-02")
		}
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.time" {
				if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
					return t.UTC().Format("2006-01-02")
				}
			}
		}
	}
	return time.Now().UTC().Format("2006-01-02")
}

func manHeader(b *bytes.Buffer, title, date, name, short string) {
	fmt.Fprintf(b, "%% %q \"1\" %q \"esremote %s\" \"esremote manual\"\n\n# NAME\n%s \\- %s\n\n", title, date, version, name, short)
}

// manEscape keeps text from being read as Markdown emphasis or a list.
func manEscape(s string) string {
	return strings.NewReplacer("*", "\\*", "_", "\\_", "`", "\\`").Replace(s)
}

func manFlags(b *bytes.Buffer, fs *pflag.FlagSet) {
	if !fs.HasAvailableFlags() {
		return
	}
	b.WriteString("# OPTIONS\n")
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		name, usage := pflag.UnquoteUsage(f)
		head := "**--" + f.Name + "**"
		if f.Shorthand != "" {
			head = "**-" + f.Shorthand + "**, " + head
		}
		if name != "" {
			head += " *" + name + "*"
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0s" && f.DefValue != "[]" && f.DefValue != "0" {
			usage += " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(b, "%s\n: %s\n\n", head, manEscape(usage))
	})
}

func manExamples(b *bytes.Buffer, examples string) {
	if examples == "" {
		return
	}
	b.WriteString("# EXAMPLES\n```\n" + examples + "\n```\n\n")
}

func commandManPage(cmd *cobra.Command, date string) []byte {
	var b bytes.Buffer
	name := cmd.Name()
	manHeader(&b, "ESREMOTE-"+strings.ToUpper(name), date, "esremote-"+name, cmd.Short)
	usage, exits, examples := cmd.Use, "0 on success, 1 on an error", commandExamples[name]
	if def, ok := commands[name]; ok {
		usage, exits = def.usage, def.exits
	} else if name == "completion" {
		exits, examples = "0; 1 for an unknown shell", completionExamples
	}
	// A usage of several lines (run's) is one synopsis.
	fmt.Fprintf(&b, "# SYNOPSIS\n**esremote** %s\n\n", manEscape(strings.Join(strings.Fields(usage), " ")))
	desc := cmd.Short
	if def, ok := commands[name]; ok {
		desc = def.summary
	}
	b.WriteString("# DESCRIPTION\n" + manEscape(desc) + ".\n\n")
	manFlags(&b, cmd.Flags())
	b.WriteString("# EXIT STATUS\n" + manEscape(manExitStatus(exits)) + "\n")
	b.WriteString("# ENVIRONMENT\n" + manEnvironment(name) + "\n")
	b.WriteString("# FILES\n" + manFiles(name) + "\n")
	manExamples(&b, examples)
	b.WriteString("# SEE ALSO\n**esremote**(1)\n")
	return b.Bytes()
}

func rootManPage(root *cobra.Command, date string) []byte {
	var b bytes.Buffer
	manHeader(&b, "ESREMOTE", date, "esremote", "keeps Elasticsearch cross-cluster connections true to YAML specs")
	b.WriteString("# SYNOPSIS\n**esremote** *command* [*flags*] [*args*]\n\n")
	b.WriteString("# DESCRIPTION\nesremote keeps Elasticsearch cross-cluster connections true to YAML files in git: " +
		"**plan** shows what differs, **apply** corrects it and verifies the link, **run** (a systemd service) does that continuously.\n\n" +
		"Flags go anywhere on the line; **--** ends them. Results go to stdout; diagnostics to stderr as \"esremote: error: ...\" and \"esremote: hint: ...\".\n\n# COMMANDS\n")
	var see []string
	for _, cmd := range root.Commands() {
		if cmd.Hidden || cmd.Name() == "help" {
			continue
		}
		fmt.Fprintf(&b, "**%s**\n: %s; see **esremote-%s**(1).\n\n", cmd.Name(), manEscape(cmd.Short), cmd.Name())
		see = append(see, "**esremote-"+cmd.Name()+"**(1)")
	}
	b.WriteString("# EXIT STATUS\n0 success; 1 an error (invalid specs, a conflict, a failed write); 2 **plan**: changes pending; 3 **apply**: converged but a link is not connected. Each command's page has its own.\n\n")
	b.WriteString("# ENVIRONMENT\n" + manEnvironment("") + "\n")
	b.WriteString("# FILES\n" + manFiles("") + "\n")
	b.WriteString("# EXAMPLES\n```\nesremote validate connections/\nesremote plan --state-dir /var/lib/esremote /etc/esremote/connections\nsudo systemctl enable --now esremote\nesremote status\n```\n\n")
	b.WriteString("# SEE ALSO\n" + strings.Join(see, ", ") + ", **systemd.exec**(5)\n")
	return b.Bytes()
}
