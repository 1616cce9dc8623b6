package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkLoad loads 5,000 connections, each with its own remote cluster,
// from 50 files (DESIGN §8: a large fleet, one directory).
func BenchmarkLoad(b *testing.B) {
	dir := b.TempDir()
	genBench(b, dir)
	b.ReportAllocs()
	for b.Loop() {
		set, problems, err := Load(dir)
		if err != nil || len(problems) != 0 || len(set.Connections) != benchConnections {
			b.Fatalf("Load: %v, %d problems, %v", err, len(problems), problems)
		}
	}
}

// benchConnections is how many connections genBench writes.
const benchConnections = 5000

// genBench writes benchConnections connections, each with its own remote
// Cluster, over 50 files, plus the local clusters, into dir.
func genBench(b testing.TB, dir string) {
	const connections, files = benchConnections, 50
	if err := os.WriteFile(filepath.Join(dir, "local.yaml"), []byte(baseClusters), 0o644); err != nil {
		b.Fatal(err)
	}
	for f := range files {
		var sb strings.Builder
		for i := f * connections / files; i < (f+1)*connections/files; i++ {
			fmt.Fprintf(&sb, `apiVersion: esremote/v1
kind: Cluster
name: remote-%[1]d
elasticsearch:
  url: https://r%[1]d.ip.es.io:9243
  auth: {basic: {username: esremote, password: {credential: remote-%[1]d-es}}}
deployment:
  platform: ece
  api: https://ece.example.com:12443
  auth: {api_key: {credential: ece-api}}
  id: %032[1]x
---
apiVersion: esremote/v1
kind: Connection
name: link-%[1]d
local: ech-a
alias: remote-%[1]d
remote:
  cluster: remote-%[1]d
security: api_key
api_key:
  access:
    search: [{names: ["logs-*"]}]
  expiration: 90d
  rotate_before: 14d
settings:
  skip_unavailable: true
  proxy_socket_connections: 18
roles:
  - name: reader-%[1]d
    remote_indices: [{names: ["logs-*"], privileges: [read, read_cross_cluster]}]
---
`, i)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("links-%02d.yaml", f)), []byte(sb.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}
