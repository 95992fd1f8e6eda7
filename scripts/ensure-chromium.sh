#!/usr/bin/env bash
# Make sure Debian's headless Chromium and its matching chromedriver (same source package, so
# always the same version) are installed for the browser tests. Installs them with apt when
# missing; never downloads a browser build of its own.
set -eu

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  echo "ensure-chromium: $(/usr/bin/chromium --version 2>/dev/null) and chromedriver are installed"
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "ensure-chromium: no apt-get here; install Chromium and chromedriver at /usr/bin/chromium and /usr/bin/chromedriver" >&2
  exit 1
fi

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

echo "ensure-chromium: installing Debian's chromium and chromium-driver"
# A fresh machine has no package lists yet; install fails without them.
if ! apt-cache show chromium-driver >/dev/null 2>&1; then
  $SUDO apt-get update -qq
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core
/usr/bin/chromium --version
