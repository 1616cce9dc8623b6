#!/usr/bin/env bash
# Installs the .deb that `make package` built, checks it, and purges it.
# Run as root on a Debian host (CI: .ci/run). Fails on any check.
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(ls bin/esremote_*.deb)
want=$(dpkg-deb -f "$deb" Version)
if dpkg -s esremote >/dev/null 2>&1; then
  echo "check-deb: esremote is already installed; refusing to touch it" >&2; exit 1
fi
fail() { echo "check-deb: $*" >&2; exit 1; }
purge() { dpkg --purge esremote >/dev/null; }
trap purge EXIT

# What was there before the install is not the install's doing (a root
# shell that ran esremote without --state-dir makes /var/lib/esremote).
had_state=no; [ -e /var/lib/esremote ] && had_state=yes
dpkg -i "$deb"

# The version from the git tag, through ldflags, is the package's (less the release).
got=$(esremote version | sed -n 1p)
[ "$got" = "esremote ${want%-*}" ] || fail "esremote version says '$got', the package is $want"
echo "check-deb: $got"

# The installed unit is valid where it is, and nothing started or enabled it.
systemd-analyze verify /usr/lib/systemd/system/esremote.service
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl is-active --quiet esremote.service && fail "the install started the service"
  systemctl is-enabled --quiet esremote.service 2>/dev/null && fail "the install enabled the service"
fi
# Nothing DynamicUser=/StateDirectory= make: no user, no state directory.
getent passwd esremote >/dev/null && fail "the install created a user esremote"
[ "$had_state" = no ] && [ -e /var/lib/esremote ] && fail "the install created /var/lib/esremote"

test -f /etc/esremote/connections/README.md || fail "no /etc/esremote/connections/README.md"
grep -q '/etc/esremote/connections/README.md' /var/lib/dpkg/info/esremote.conffiles || fail "README is not a conffile"
test -f /usr/share/doc/esremote/operations.md || fail "no docs"
# Man pages (man-db reads them where the package put them) and completion.
for page in esremote esremote-plan esremote-run; do
  test -s /usr/share/man/man1/$page.1.gz || fail "no man page $page(1)"
done
if command -v man >/dev/null; then
  MANPAGER=cat man 1 esremote-plan 2>/dev/null | grep -q 'changes pending' || fail "man esremote-plan does not render"
fi
test -s /usr/share/bash-completion/completions/esremote || fail "no bash completion"
bash -c 'source /usr/share/bash-completion/completions/esremote && complete -p esremote' >/dev/null || fail "the bash completion does not register"
test -s /usr/share/zsh/vendor-completions/_esremote || fail "no zsh completion"
test -s /usr/share/fish/vendor_completions.d/esremote.fish || fail "no fish completion"
test -f /usr/share/doc/esremote/examples/prometheus/esremote-rules.yml || fail "no example rules"

# Debian policy 12.5 and 12.7: a machine-readable copyright file and the
# changelog, compressed; bash-completion recommended (it loads the script).
cr=/usr/share/doc/esremote/copyright
test -f $cr || fail "no $cr"
sed -n 1p $cr | grep -qx 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' || fail "$cr is not machine-readable (DEP-5 Format: line)"
grep -qx 'Files: \*' $cr && grep -qx 'License: Apache-2.0' $cr || fail "$cr lacks the Files: * stanza or its License"
grep -q '/usr/share/common-licenses/Apache-2.0' $cr || fail "$cr does not point at the license text"
cl=/usr/share/doc/esremote/changelog.gz
gzip -t $cl || fail "$cl is not gzip"
# (sed reads it all: head would close the pipe on zcat, which pipefail counts as a failure)
[ "$(zcat $cl | sed -n 1p)" = "esremote ${want%-*}" ] || fail "$cl does not start with this version (${want%-*})"
[ "$(zcat $cl | grep -c '^  \* ')" -gt 0 ] || fail "$cl lists no change"
dpkg-deb -f "$deb" Recommends | tr ',' '\n' | grep -qx ' *bash-completion' || fail "the package does not recommend bash-completion"

# Purge keeps the ledger (issue 24): a state dir as the service leaves it
# (DynamicUser=: /var/lib/esremote links to /var/lib/private/esremote)
# loses its reports and lock but keeps ledger.json. Only when the host had
# no state of its own before, which is then removed again.
made_state=no
if [ "$had_state" = no ] && [ ! -e /var/lib/private/esremote ]; then
  made_state=yes
  mkdir -p /var/lib/private/esremote/reports
  echo '{"version":1,"installation":"0123456789abcdef"}' > /var/lib/private/esremote/ledger.json
  echo '{}' > /var/lib/private/esremote/reports/last.json
  : > /var/lib/private/esremote/lock
  ln -s private/esremote /var/lib/esremote
fi

trap - EXIT
purge
! dpkg -s esremote >/dev/null 2>&1 || fail "still installed after purge"
[ ! -e /usr/bin/esremote ] || fail "/usr/bin/esremote left after purge"
[ ! -e /etc/esremote/connections/README.md ] || fail "conffile left after purge"
if [ "$made_state" = yes ]; then
  grep -q 0123456789abcdef /var/lib/esremote/ledger.json || fail "purge deleted the ledger"
  [ ! -e /var/lib/private/esremote/reports ] || fail "purge left the reports"
  [ ! -e /var/lib/private/esremote/lock ] || fail "purge left the lock"
  rm -rf /var/lib/private/esremote /var/lib/esremote
fi
echo "check-deb: installed, checked and purged $deb"
