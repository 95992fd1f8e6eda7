#!/usr/bin/env bash
# Make sure promtool (Debian's prometheus package) is installed for the tests of contrib/: the
# alert rules and the Grafana dashboard's queries. Installs it with apt when missing; never
# downloads a build of its own.
set -eu

if command -v promtool >/dev/null; then
  echo "ensure-promtool: $(promtool --version 2>&1 | head -n 1) is installed"
  exit 0
fi
"$(dirname "$0")/apt-install.sh" ensure-promtool prometheus
promtool --version 2>&1 | head -n 1
