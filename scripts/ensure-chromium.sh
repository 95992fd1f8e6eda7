#!/usr/bin/env bash
# Make sure Debian's headless Chromium and its matching chromedriver (same source package, so
# always the same version) are installed for the browser tests. Installs them with apt when
# missing; never downloads a browser build of its own.
set -eu

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  echo "ensure-chromium: $(/usr/bin/chromium --version 2>/dev/null) and chromedriver are installed"
  exit 0
fi
"$(dirname "$0")/apt-install.sh" ensure-chromium chromium chromium-driver fonts-dejavu-core
/usr/bin/chromium --version
