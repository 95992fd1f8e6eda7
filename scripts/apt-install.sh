#!/usr/bin/env bash
# apt-install.sh NAME PACKAGE...: install Debian packages for the tests (ensure-chromium.sh,
# ensure-promtool.sh), with sudo unless root; fetches the package lists first on a machine that
# has none yet (install fails without them). NAME prefixes the messages.
set -eu
name=$1
shift

if ! command -v apt-get >/dev/null; then
  echo "$name: no apt-get here; install $* yourself" >&2
  exit 1
fi

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

echo "$name: installing Debian's $*"
if ! apt-cache show "$1" >/dev/null 2>&1; then
  $SUDO apt-get update -qq
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@"
