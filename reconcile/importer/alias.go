package importer

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/esremote/esremote/reconcile"
	"github.com/esremote/esremote/reconcile/es"
	"github.com/esremote/esremote/reconcile/statedir"
	"github.com/esremote/esremote/spec"
)

// alias imports one alias: it builds the Connection, renders its file,
// writes it and records the ledger, as opts allow.
func (im *importer) alias(alias string, live, trans liveAlias, info es.RemoteInfo, inKeystore bool, opts Options) (*Alias, error) {
	local := im.local.Name
	rel := filepath.ToSlash(filepath.Join(Dir, local, alias+".yaml"))
	ia := &Alias{Alias: alias, Path: rel}

	// An alias another spec already declares is that spec's business.
	for _, c := range im.set.ConnectionsFrom(local) {
		if c.Alias == alias && c.Pos.File != rel {
			ia.Status, ia.Connection = Skipped, c.Name
			ia.Notes = append(ia.Notes, fmt.Sprintf("already declared by connection %s at %s", c.Name, c.Pos))
			return ia, nil
		}
	}

	// The effective values: transient overrides persistent (es-api.md §3.1).
	eff := liveAlias{}
	for k, v := range live {
		eff[k] = v
	}
	for k, v := range trans {
		eff[k] = v
	}
	if len(trans) > 0 {
		ia.Notes = append(ia.Notes, fmt.Sprintf("has transient settings (%s): imported as their effective values; the first apply makes them persistent", strings.Join(sortedKeys(trans), ", ")))
	}

	c, doc := im.connection(alias, eff, info, inKeystore, ia)
	ia.Connection, ia.Mode, ia.Security = c.Name, c.Settings.Mode, c.Security
	if other := im.set.Connection(c.Name); other != nil && other.Pos.File != rel {
		return nil, fmt.Errorf("alias %s: the connection name %s is already used at %s: rename that connection or import with --alias to pick other aliases", alias, c.Name, other.Pos)
	}
	ia.Content = doc

	// What would plan still show? Desire from the spec against the live keys.
	ep := im.endpoints[c.Remote.Cluster]
	if d, err := reconcile.Desire(c, ep); err != nil {
		ia.Notes = append(ia.Notes, "plan cannot compute this connection: "+err.Error())
	} else {
		for _, k := range d.Keys() {
			_, suffix, _ := es.SplitRemoteKey(k)
			have, ok := live[suffix]
			switch {
			case !ok:
				ia.Notes = append(ia.Notes, fmt.Sprintf("%s is not set on the cluster; the first apply sets it to %s", suffix, d.Settings[k]))
			case es.Normalize(suffix, have.String()) != es.Normalize(suffix, d.Settings[k]):
				ia.Notes = append(ia.Notes, fmt.Sprintf("%s: the first apply changes %s to %s", suffix, have, d.Settings[k]))
			}
		}
	}
	if c.Security == spec.SecurityCertificate && c.Remote.Cluster != "" && im.local.Deployment != nil {
		if rc := im.set.Cluster(c.Remote.Cluster); rc != nil && rc.Deployment != nil {
			ia.Notes = append(ia.Notes, "a certificate link between two declared deployments: esremote manages the trust on both sides; plan shows any trust it would add")
		}
	}

	path := filepath.Join(im.set.Dir, filepath.FromSlash(rel))
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		ia.Status = Created
	case err != nil:
		return nil, fmt.Errorf("alias %s: %w", alias, err)
	case bytes.Equal(undated(old), undated(doc)):
		ia.Status = Unchanged
	case opts.Force:
		ia.Status = Updated
	default:
		ia.Status = Differs
		ia.Notes = append(ia.Notes, "the file no longer says what the cluster holds (edited, or the cluster changed): left alone; --force overwrites it")
		return ia, nil
	}
	if opts.DryRun {
		return ia, nil
	}
	if ia.Status != Unchanged {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("alias %s: %w", alias, err)
		}
		if err := statedir.WriteFileAtomic(path, doc, 0o644); err != nil {
			return nil, fmt.Errorf("alias %s: write %s: %w", alias, rel, err)
		}
	}
	return ia, im.record(ia, c, live)
}

// record writes the ledger for an imported alias: the live persistent
// values as if esremote had written them, and for a hand-made key whose
// credential the operator already supplied, the keystore entry.
func (im *importer) record(ia *Alias, c *spec.Connection, live liveAlias) error {
	led := im.r.Ledger()
	local := im.local.Name
	fps := map[string]string{}
	for suffix, v := range live {
		fps[es.RemoteKey(ia.Alias, suffix)] = reconcile.Fingerprint(es.Normalize(suffix, v.String()))
	}
	if len(fps) > 0 {
		rec := led.Alias(local, ia.Alias)
		if ia.Status != Unchanged || rec == nil || rec.Connection != c.Name {
			if err := led.SetAlias(local, ia.Alias, c.Name, fps, false, im.now); err != nil {
				return err
			}
		}
		ia.recorded = true
	}
	if c.Security == spec.SecurityAPIKey && im.local.Deployment != nil && ia.inKeystore {
		sec, err := c.APIKey.Credentials.Resolve(im.r.Options().Getenv)
		if err != nil {
			// Not supplied yet: the first plan shows the keystore write
			// that delivers it, which is what the operator should see.
			return nil
		}
		key := reconcile.CredentialsKey(ia.Alias)
		if rec := led.Keystore(local, key); rec == nil || rec.Fingerprint != sec.Fingerprint() {
			return led.SetKeystore(local, key, &reconcile.Record{Fingerprint: sec.Fingerprint(), Connection: c.Name, WrittenAt: im.now.UTC()})
		}
	}
	return nil
}
