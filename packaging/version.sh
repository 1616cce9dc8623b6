#!/bin/sh
# Prints esremote's version for the binary (ldflags) and the packages, from
# the git tag: v1.2.3 -> 1.2.3; 4 commits after it -> 1.2.3+git4.gabc1234;
# no tag yet -> 0.0.0+git<commits>.g<hash>. ".dirty" marks uncommitted
# changes. Every form is a valid Debian and RPM version that sorts after
# the tag it follows.
set -eu
cd "$(dirname "$0")/.."
dirty=
if ! git diff --quiet HEAD -- 2>/dev/null; then dirty=.dirty; fi
if d=$(git describe --tags --match 'v[0-9]*' 2>/dev/null); then
  # v1.2.3 or v1.2.3-4-gabc1234
  echo "$d" | sed -e 's/^v//' -e 's/-\([0-9]*\)-g\([0-9a-f]*\)$/+git\1.g\2/' -e "s/\$/$dirty/"
elif h=$(git rev-parse --short HEAD 2>/dev/null); then
  echo "0.0.0+git$(git rev-list --count HEAD).g$h$dirty"
else
  echo dev
fi
