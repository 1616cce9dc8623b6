#!/bin/sh
# esremote package: after removal. On purge (dpkg only) also the state the
# service kept (reports, history, the lock) under StateDirectory=, but NOT
# the ownership ledger: STATE_DIR/ledger.json (and its ledger.json.*
# copies) records which keys, aliases, roles and keystore entries are this
# installation's. Without it a reinstalled esremote would see its own keys
# as another installation's and refuse to write (docs/operations.md,
# "Recovering a lost ledger"). Delete /var/lib/private/esremote by hand to
# forget everything. The specs in /etc/esremote/connections are yours and
# are never touched. $DPKG_ROOT is dpkg's --root (empty on a normal host).
set -e
root=${DPKG_ROOT:-}
if [ -z "$root" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
if [ "${1:-}" = purge ]; then
  # /var/lib/esremote is the state dir itself, or (DynamicUser=) a link to
  # /var/lib/private/esremote: links are never followed, only removed.
  for d in "$root/var/lib/private/esremote" "$root/var/lib/esremote"; do
    if [ -d "$d" ] && [ ! -L "$d" ]; then
      find "$d" -mindepth 1 -maxdepth 1 ! -name ledger.json ! -name 'ledger.json.*' -exec rm -rf {} +
      rmdir "$d" 2>/dev/null || true
    fi
  done
  if [ -L "$root/var/lib/esremote" ] && [ ! -e "$root/var/lib/esremote" ]; then
    rm -f "$root/var/lib/esremote"
  fi
fi
exit 0
