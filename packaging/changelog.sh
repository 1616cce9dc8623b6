#!/bin/sh
# Prints the package's changelog (/usr/share/doc/esremote/changelog.gz,
# Debian policy 12.7) from the git history: the version being built, then
# every change, newest first, one line each (date, commit, tags, subject).
# Outside a git checkout it says so instead.
set -eu
cd "$(dirname "$0")/.."
echo "esremote $(packaging/version.sh)"
echo
if git rev-parse --git-dir >/dev/null 2>&1; then
  git log --no-merges --date=short --decorate-refs=refs/tags --format='  * %ad %h%d %s'
else
  echo "  (built outside a git checkout: no history to list)"
fi
