#!/bin/sh
# esremote package: after install or upgrade. Creates nothing: the unit's
# DynamicUser= makes the user, StateDirectory= /var/lib/esremote,
# ConfigurationDirectory= /etc/esremote. Never enables or starts the
# service: put your specs in /etc/esremote/connections first (README there).
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
  # An upgrade restarts a service that was running, so it runs the new binary.
  if systemctl is-active --quiet esremote.service; then
    systemctl try-restart esremote.service || true
  fi
fi
exit 0
