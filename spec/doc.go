// Package spec is esremote's spec language: the v1 kinds Cluster,
// Connection and TrustedEnvironment, their strict position-aware loading
// from a directory of YAML files, defaults, offline validation, secret
// references and the JSON Schema of the files.
//
// Loading is three separate steps, each a pure function of its input:
//
//  1. decode: every *.yaml/*.yml under the directory (recursively; dot-files
//     and dot-directories skipped), several documents per file, each parsed
//     to a yaml.Node tree that is walked by hand so that every problem has a
//     file, line and column, and unknown keys get a "did you mean" hint;
//  2. defaults: mode proxy, ref_id _main, policy enforce, role clusters
//     [alias], api_key.managed;
//  3. validate: every offline check of DESIGN §3. The only I/O is checking
//     that ca_file paths exist. Secrets are never read by Load.
//
// Load returns every problem at once, sorted by file, line and column.
// Secret values are read only by SecretRef.Resolve and are held in a Secret,
// which redacts itself in every output format.
//
// The package does no network I/O, no logging and has no globals that
// change.
package spec
