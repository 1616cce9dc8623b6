package reconcile

// The execute stage for roles: intent, PUT or DELETE, commit.

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/esremote/esremote/reconcile/es"
)

// applyRoles writes and deletes roles, recording each in the ledger.
func (ps *passState) applyRoles(ctx context.Context, c *es.Client, cp *ClusterPlan, log *slog.Logger) {
	led := ps.r.ledger
	now := ps.r.opts.Now()
	for _, name := range cp.RoleForgets {
		// The role is gone from the cluster: its record has nothing left
		// to prove.
		ps.commit("role "+name+" gone from "+cp.Local, func() error { return led.SetRole(cp.Local, name, nil) })
	}
	if len(cp.RoleWrites) > 0 {
		intent, done := map[string]*Record{}, map[string]*Record{}
		for name, w := range cp.RoleWrites {
			intent[name] = &Record{Fingerprint: w.fp, Connection: w.conn.Conn.Name, Pending: true, WrittenAt: now}
		}
		if err := led.SetRoles(cp.Local, intent); err != nil {
			// No record, no request: a role written without its record
			// could never be cleaned up.
			for _, w := range cp.RoleWrites {
				w.change.Err = fmt.Errorf("not written: %w", err)
			}
			log.Error("save ledger; roles not written", "err", err)
			return
		}
		for _, name := range sortedKeys(cp.RoleWrites) {
			w := cp.RoleWrites[name]
			if err := c.PutRole(ctx, name, w.body); err != nil {
				w.change.Err = err // es names the operation, the role and the cluster
				log.Warn("put role failed", "role", name, "err", err)
				continue
			}
			w.change.Applied = true
			done[name] = &Record{Fingerprint: w.fp, Connection: w.conn.Conn.Name, WrittenAt: now}
		}
		if len(done) > 0 {
			var applied []*Change
			for name := range done {
				applied = append(applied, cp.RoleWrites[name].change)
			}
			ps.commit("roles "+strings.Join(sortedKeys(done), ", ")+" on "+cp.Local, func() error { return led.SetRoles(cp.Local, done) }, applied...)
		}
	}
	for _, d := range cp.RoleDeletes {
		if err := c.DeleteRole(ctx, d.name); err != nil && !es.IsNotFound(err) {
			d.change.Err = fmt.Errorf("delete role %s: %w", d.name, err)
			continue
		}
		d.change.Applied = true
		ps.commit("deletion of role "+d.name+" on "+cp.Local, func() error { return led.SetRole(cp.Local, d.name, nil) }, d.change)
	}
}
