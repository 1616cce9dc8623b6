#!/bin/sh
# esremote package: before removal (not before an upgrade): stop the service
# and disable it, so no unit is left pointing at a missing binary.
set -e
case "${1:-}" in
  remove|0) # dpkg: remove; rpm: 0 packages left
    if [ -d /run/systemd/system ]; then
      systemctl disable --now esremote.service >/dev/null 2>&1 || true
    fi
    ;;
esac
exit 0
