#!/bin/sh
# esremote package: after removal. On purge (dpkg only) also the state the
# service kept: the ledger and reports of StateDirectory=. The specs in
# /etc/esremote/connections are yours and are never touched.
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
if [ "${1:-}" = purge ]; then
  rm -rf /var/lib/private/esremote /var/lib/esremote
fi
exit 0
